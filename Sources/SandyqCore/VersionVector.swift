import SandyqCrypto

/// Author -> highest contiguous seq held. "What do you lack" costs O(authors), not O(ops).
public struct VersionVector: Hashable, Sendable {
    public private(set) var heads: [SigningPublicKey: UInt64] = [:]

    public init(_ heads: [SigningPublicKey: UInt64] = [:]) { self.heads = heads.filter { $0.value > 0 } }

    public subscript(author: SigningPublicKey) -> UInt64 {
        get { heads[author] ?? 0 }
        set { heads[author] = newValue == 0 ? nil : newValue }
    }

    /// Pointwise maximum.
    public mutating func merge(_ other: VersionVector) {
        for (a, s) in other.heads where s > self[a] { self[a] = s }
    }

    /// True when this vector holds everything `other` does.
    public func covers(_ other: VersionVector) -> Bool {
        other.heads.allSatisfy { self[$0.key] >= $0.value }
    }

    /// Ops in `self` that `other` lacks.
    public func missing(from other: VersionVector) -> Int {
        heads.reduce(0) { $0 + Int($1.value - min($1.value, other[$1.key])) }
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 8 + heads.count * 40)
        w.varint(UInt64(heads.count))
        for (a, s) in heads.sorted(by: { $0.key < $1.key }) { w.raw(a.bytes); w.varint(s) }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes)
        let n = try r.varint()
        guard n <= 1 << 20 else { throw CoreError.decodeMalformed("vector too large") }
        for _ in 0..<n {
            let k = try SigningPublicKey(bytes: try r.raw(32)), seq = try r.varint()
            // The same bound as an envelope's seq: stores keep it in a signed 64-bit column.
            guard seq < 1 << 62 else { throw CoreError.decodeMalformed("vector seq out of range") }
            heads[k] = seq
        }
        try r.expectEnd()
    }
}
