/// A hybrid logical clock: 48 bits of milliseconds, 16 bits of counter. It orders a node's
/// own writes even when its wall clock steps back, and it only breaks ties between
/// concurrent writes: causality comes from `supersedes`, so a skewed clock never wins a field forever.
public struct HybridClock: Sendable {
    public private(set) var last: UInt64 = 0

    public init(last: UInt64 = 0) { self.last = last }

    public static func pack(millis: UInt64, counter: UInt16) -> UInt64 { millis << 16 | UInt64(counter) }
    public static func millis(_ t: UInt64) -> UInt64 { t >> 16 }

    /// The next timestamp for a local write, given the wall clock in milliseconds.
    public mutating func tick(wallMillis: UInt64) -> UInt64 {
        let wall = Self.pack(millis: wallMillis, counter: 0)
        last = wall > last ? wall : last + 1
        return last
    }

    /// Moves past a timestamp seen on a received op.
    public mutating func observe(_ t: UInt64) { if t > last { last = t } }

    /// A writer's clock after reading a log whose greatest clock is `seen`. It follows clocks
    /// read from peers, but not past `maxLeadMillis` ahead of its own wall clock: otherwise one
    /// device set years ahead would date every other node's later writes years ahead too.
    public static func resuming(after seen: UInt64, wallMillis: UInt64, maxLeadMillis: UInt64 = 86_400_000) -> HybridClock {
        HybridClock(last: min(seen, pack(millis: wallMillis + maxLeadMillis, counter: 0)))
    }
}
