import Testing
@testable import SandyqCrypto

/// Box keys of small order: libsodium refuses to seal to them (Protocol/ops.md, "Keys of small order").
@Suite("Crypto: box keys of small order")
struct SmallOrderKeyTests {
    /// The small-order X25519 encodings below p, p to p + 1, and each with the ignored top bit set.
    static let smallOrder: [[UInt8]] = {
        let base = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ].map { s in stride(from: 0, to: 64, by: 2).map { UInt8(s.dropFirst($0).prefix(2), radix: 16)! } }
        return base + base.map { var k = $0; k[31] |= 0x80; return k }
    }()

    @Test("every small-order encoding decodes and opens no sealed box; generated and decoded keys do")
    func classified() throws {
        for bytes in Self.smallOrder {
            #expect(!(try BoxPublicKey(bytes: bytes)).opensSealedBoxes, "\(bytes)")
        }
        for _ in 0..<200 {
            let pair = BoxKeyPair()
            #expect(pair.publicKey.opensSealedBoxes)
            let decoded = try BoxPublicKey(bytes: pair.publicKey.bytes)
            #expect(decoded.opensSealedBoxes && decoded == pair.publicKey)
            #expect(try pair.open(decoded.seal([1, 2, 3])) == [1, 2, 3])
        }
    }
}

extension SmallOrderKeyTests {
    @Test("sealing to one anyway is a trap, never a box of zeros sent on")
    func sealingTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = try! BoxPublicKey(bytes: [1] + [UInt8](repeating: 0, count: 31)).seal([1, 2, 3])
        }
    }
}
