import Testing
import SandyqTestSupport
@testable import SandyqCrypto

/// Box keys of small order: libsodium refuses to seal to them (Protocol/ops.md, "Keys of small order").
@Suite("Crypto: box keys of small order")
struct SmallOrderKeyTests {
    static let smallOrder = SmallOrderKeys.encodings

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
