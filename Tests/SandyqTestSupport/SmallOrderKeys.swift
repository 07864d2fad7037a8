import SandyqCrypto

/// X25519 encodings of small order (Protocol/ops.md, "Keys of small order"), for the tests of
/// every layer that must leave them out.
public enum SmallOrderKeys {
    /// The values below p, p - 1 to p + 1, and each with the ignored top bit set: 14 in all.
    public static let encodings: [[UInt8]] = {
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

    /// A point of order 8 (the one the op vector `membership_reader_key_small_order` uses).
    public static let order8 = try! BoxPublicKey(bytes: encodings[2])
}
