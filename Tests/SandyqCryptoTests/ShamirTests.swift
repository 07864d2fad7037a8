import Testing
import SandyqCrypto

/// GF(2^8) and Shamir's sharing (Protocol/backup.md, "Splitting"), against a log/exp-table field
/// built here over the generator 3: a second, independent way to multiply.
@Suite struct ShamirTests {
    static let table: (exp: [UInt8], log: [Int]) = {
        var exp = [UInt8](repeating: 0, count: 255), log = [Int](repeating: 0, count: 256)
        var v = 1
        for i in 0..<255 {
            exp[i] = UInt8(v); log[v] = i
            v ^= (v << 1) ^ (v & 0x80 != 0 ? 0x11b : 0)
            v &= 0xff
        }
        return (exp, log)
    }()

    static func referenceMultiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        a == 0 || b == 0 ? 0 : table.exp[(table.log[Int(a)] + table.log[Int(b)]) % 255]
    }

    @Test func multiplicationMatchesTheTableFieldForEveryPair() {
        // FIPS-197 section 4.2's worked products first.
        #expect(GF256.multiply(0x57, 0x83) == 0xc1)
        #expect(GF256.multiply(0x57, 0x13) == 0xfe)
        var wrong = 0
        for a in 0...255 { for b in 0...255 where GF256.multiply(UInt8(a), UInt8(b)) != Self.referenceMultiply(UInt8(a), UInt8(b)) { wrong += 1 } }
        #expect(wrong == 0)
    }

    @Test func everyNonZeroElementHasItsInverse() {
        for a in 1...255 { #expect(GF256.multiply(UInt8(a), GF256.inverse(UInt8(a))) == 1, "\(a)") }
        #expect(GF256.inverse(0) == 0)
    }

    /// Every K of N shares rebuild the secret, whichever K and in any order.
    @Test(arguments: [(2, 2), (2, 3), (3, 5), (4, 7), (5, 5)])
    func anyThresholdOfTheSharesRebuild(_ k: Int, _ n: Int) throws {
        let secret = SecureBytes(randomCount: 122)
        let shares = try Shamir.split(secret, threshold: k, count: n)
        #expect(shares.map(\.x) == (1...n).map(UInt8.init))
        for subset in Self.subsets(of: Array(0..<n), size: k) {
            #expect(try Shamir.combine(subset.map { shares[$0] }) == secret, "shares \(subset.map { $0 + 1 })")
            #expect(try Shamir.combine(subset.reversed().map { shares[$0] }) == secret, "shares \(subset.map { $0 + 1 }) reversed")
        }
        // Fewer than K interpolate a lower-degree polynomial: not the secret (but for chance).
        if k > 2 {
            let short = try Shamir.combine(Array(shares.prefix(k - 1)))
            #expect(short != secret)
        }
    }

    /// K − 1 shares reveal nothing: for a one-byte secret, whatever two shares of a 3-of-5 split
    /// hold, each of the 256 possible third shares completes them to a different secret, so every
    /// secret 0...255 is exactly as consistent with the two as any other.
    @Test func fewerThanThresholdSharesLeaveEverySecretEquallyPossible() throws {
        for value in [0, 1, 0x5a, 255] {
            let shares = try Shamir.split(SecureBytes([UInt8(value)]), threshold: 3, count: 5)
            let held = [shares[0], shares[3]]
            var reached = [Int](repeating: 0, count: 256)
            for y in 0...255 {
                let s = try Shamir.combine(held + [Shamir.Share(x: 5, y: [UInt8(y)])])
                s.withUnsafeBytes { reached[Int($0[0])] += 1 }
            }
            #expect(reached.allSatisfy { $0 == 1 }, "secret \(value): some candidate is reached \(reached.max() ?? 0) times, another \(reached.min() ?? 0)")
        }
    }

    /// And a single share of a 2-of-N split, over all coefficients, is spread evenly over all 256
    /// values for every secret: its distribution does not depend on the secret.
    @Test func oneShareIsUniformWhateverTheSecret() throws {
        for value in [0, 0x80, 255] {
            var seen = [Int](repeating: 0, count: 256)
            for c in 0...255 {
                let shares = try Shamir.split(SecureBytes([UInt8(value)]), threshold: 2, count: 3, coefficients: { _ in [UInt8(c)] })
                seen[Int(shares[2].y[0])] += 1
            }
            #expect(seen.allSatisfy { $0 == 1 }, "secret \(value)")
        }
    }

    @Test func impossibleSplitsAndCombinationsAreRefused() {
        let s = SecureBytes([1, 2, 3])
        #expect(throws: CryptoError.self) { try Shamir.split(s, threshold: 1, count: 3) }
        #expect(throws: CryptoError.self) { try Shamir.split(s, threshold: 4, count: 3) }
        #expect(throws: CryptoError.self) { try Shamir.split(s, threshold: 2, count: 256) }
        #expect(throws: CryptoError.self) { try Shamir.split(s, threshold: 2, count: 3, coefficients: { _ in [0] }) }
        #expect(throws: CryptoError.self) { try Shamir.combine([]) }
        let a = Shamir.Share(x: 1, y: [1, 2]), b = Shamir.Share(x: 2, y: [3])
        #expect(throws: CryptoError.self) { try Shamir.combine([a, b]) }
        #expect(throws: CryptoError.self) { try Shamir.combine([a, a]) }
        #expect(throws: CryptoError.self) { try Shamir.combine([a, Shamir.Share(x: 0, y: [1, 2])]) }
    }

    static func subsets(of items: [Int], size: Int) -> [[Int]] {
        guard size > 0 else { return [[]] }
        guard items.count >= size else { return [] }
        let rest = Array(items.dropFirst())
        return subsets(of: rest, size: size - 1).map { [items[0]] + $0 } + subsets(of: rest, size: size)
    }
}
