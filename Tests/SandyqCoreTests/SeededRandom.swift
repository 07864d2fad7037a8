import Foundation
import SandyqCore

/// SplitMix64: a tiny, fast, seedable PRNG so a failing property run can be replayed.
/// Every property failure message carries the seed; rerun one with `SANDYQ_SEED=<seed>`
/// (decimal or 0x-hex, comma-separated for several).
///
/// What the seed fixes: every choice the test makes (which replica writes what, which
/// ops are delivered when, partitions, wall clocks, key seeds, case and element ids).
/// What it does not fix: libsodium's random session ids and nonces, so op ids (and hence
/// deterministic tie-breaks between concurrent writes) differ from run to run.
struct SeededRandom: RandomNumberGenerator, Sendable {
    let seed: UInt64
    private var mix: SplitMix64

    init(seed: UInt64) {
        self.seed = seed
        mix = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { mix.next() }

    /// `count` pseudo-random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count {
            var v = next()
            for _ in 0..<8 { out.append(UInt8(truncatingIfNeeded: v)); v >>= 8 }
        }
        return Array(out.prefix(count))
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }

    /// An index in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int.random(in: 0..<n, using: &self) }

    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }

    /// The fixed default seeds, or those in `SANDYQ_SEED`.
    static let seeds: [UInt64] = {
        if let env = ProcessInfo.processInfo.environment["SANDYQ_SEED"] {
            let parsed = env.split(separator: ",").compactMap { part -> UInt64? in
                let s = part.trimmingCharacters(in: .whitespaces)
                if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
                return UInt64(s)
            }
            if !parsed.isEmpty { return parsed }
        }
        return [0x5A4E_D10C_0000_0001, 0x000C_A5E5_2024_0405, 0x0DEC_AF00_D174_0274]
    }()
}
