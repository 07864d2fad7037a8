/// Shamir's secret sharing over GF(2^8), byte by byte (Protocol/backup.md, "Splitting").
/// The field is GF(2)[x] / (x^8 + x^4 + x^3 + x + 1), AES's polynomial 0x11b. Each secret byte is
/// the constant term of its own random polynomial of degree threshold - 1; share x (1...count)
/// holds every polynomial's value at x. Any `threshold` shares give the constant terms back by
/// Lagrange interpolation at 0; fewer are consistent with every secret equally.
public enum Shamir {
    /// One share: its x-coordinate and one value per secret byte.
    public struct Share: Sendable, Equatable {
        public let x: UInt8
        public let y: [UInt8]
        public init(x: UInt8, y: [UInt8]) { self.x = x; self.y = y }
    }

    /// Splits `secret` into `count` shares, any `threshold` of which rebuild it. `coefficients`
    /// gives (threshold - 1) × secret.count bytes: byte i's polynomial takes bytes
    /// [i × (threshold - 1) ..< (i + 1) × (threshold - 1)] as its coefficients of x^1, x^2, …
    /// It is the crypto module's random source except in known-answer tests.
    public static func split(_ secret: SecureBytes, threshold: Int, count: Int,
                             coefficients: (Int) -> [UInt8] = Random.bytes) throws(CryptoError) -> [Share] {
        guard threshold >= 2, threshold <= count, count <= 255 else {
            throw .invalidParameters("a split needs 2 ≤ threshold ≤ shares ≤ 255, got \(threshold) of \(count)")
        }
        guard secret.count > 0 else { throw .invalidParameters("nothing to split") }
        let degree = threshold - 1
        var coeff = coefficients(degree * secret.count)
        defer { coeff.zeroize() }
        guard coeff.count == degree * secret.count else {
            throw .invalidLength(what: "coefficients", expected: degree * secret.count, got: coeff.count)
        }
        var ys = [[UInt8]](repeating: [UInt8](repeating: 0, count: secret.count), count: count)
        secret.withUnsafeBytes { s in
            for i in 0..<s.count {
                for xi in 1...count {
                    // Horner: ((a_d x + a_{d-1}) x + …) x + secret byte.
                    var acc: UInt8 = 0
                    for j in stride(from: degree - 1, through: 0, by: -1) {
                        acc = GF256.multiply(acc ^ coeff[i * degree + j], UInt8(xi))
                    }
                    ys[xi - 1][i] = acc ^ s[i]
                }
            }
        }
        return ys.enumerated().map { Share(x: UInt8($0.offset + 1), y: $0.element) }
    }

    /// The secret the shares interpolate to at x = 0. It cannot tell a wrong share from a right
    /// one: callers check what it returns (the node's public key, in a backup).
    public static func combine(_ shares: [Share]) throws(CryptoError) -> SecureBytes {
        guard let length = shares.first?.y.count, length > 0 else { throw .invalidParameters("no shares") }
        guard shares.allSatisfy({ $0.y.count == length && $0.x != 0 }) else {
            throw .invalidParameters("shares differ in length, or one has x = 0")
        }
        guard Set(shares.map(\.x)).count == shares.count else { throw .invalidParameters("a share is given twice") }
        // Lagrange basis at 0: l_i = Π_{j≠i} x_j / (x_j − x_i); minus is xor in this field.
        let basis = shares.indices.map { i -> UInt8 in
            var num: UInt8 = 1, den: UInt8 = 1
            for j in shares.indices where j != i {
                num = GF256.multiply(num, shares[j].x)
                den = GF256.multiply(den, shares[j].x ^ shares[i].x)
            }
            return GF256.multiply(num, GF256.inverse(den))
        }
        var out = [UInt8](repeating: 0, count: length)
        defer { out.zeroize() }
        for (i, s) in shares.enumerated() {
            for k in 0..<length { out[k] ^= GF256.multiply(s.y[k], basis[i]) }
        }
        return SecureBytes(out)
    }
}

/// Arithmetic in GF(2^8) modulo 0x11b, without tables: the same steps for every value, so
/// no secret-dependent memory access or branch.
public enum GF256 {
    public static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a, b = b, p: UInt8 = 0
        for _ in 0..<8 {
            p ^= a & (0 &- (b & 1))
            // Shift a left; if its top bit fell off, reduce by 0x1b (the low byte of 0x11b).
            a = (a << 1) ^ (0x1b & (0 &- (a >> 7)))
            b >>= 1
        }
        return p
    }

    /// a^254, which is a^-1 for a ≠ 0 (and 0 for 0).
    public static func inverse(_ a: UInt8) -> UInt8 {
        var result: UInt8 = 1, base = a, e = 254
        while e > 0 {
            if e & 1 == 1 { result = multiply(result, base) }
            base = multiply(base, base)
            e >>= 1
        }
        return result
    }
}
