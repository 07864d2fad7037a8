import SandyqCrypto
import Synchronization

/// The view's cases by id. A view restored from a snapshot keeps each case as its encoded
/// bytes and decodes it when first read: a command that shows one case of 10,000 decodes one,
/// where decoding them all cost most of a restore.
public struct CaseTable: Sendable, Sequence {
    /// Cases built by applying ops, or changed since the snapshot: they win over `encoded`.
    var decoded: [CaseID: CaseState] = [:]
    var encoded: EncodedCases?

    init() {}

    init(encoded: EncodedCases) { self.encoded = encoded }

    public subscript(id: CaseID) -> CaseState? {
        get { decoded[id] ?? encoded?.state(id) }
        set { decoded[id] = newValue; if newValue == nil { precondition(encoded?.index[id] == nil, "a restored case is never removed") } }
    }

    /// Where ops are applied: an encoded case is decoded once and then changed in place.
    subscript(id: CaseID, default make: @autoclosure () -> CaseState) -> CaseState {
        get { self[id] ?? make() }
        _modify {
            if decoded[id] == nil, let c = encoded?.state(id) { decoded[id] = c }
            yield &decoded[id, default: make()]
        }
    }

    /// Only for a table built from ops, never one restored: restored cases stay.
    mutating func removeValue(forKey id: CaseID) -> CaseState? {
        precondition(encoded == nil, "a restored case is never removed")
        return decoded.removeValue(forKey: id)
    }

    public var count: Int {
        guard let encoded else { return decoded.count }
        return encoded.index.count + decoded.keys.count { encoded.index[$0] == nil }
    }

    public var isEmpty: Bool { count == 0 }

    public var keys: [CaseID] {
        guard let encoded else { return Array(decoded.keys) }
        return Array(encoded.index.keys) + decoded.keys.filter { encoded.index[$0] == nil }
    }

    /// Every case; decodes those not read yet, on every core.
    public var values: [CaseState] {
        guard let encoded else { return Array(decoded.values) }
        let restored = encoded.all().filter { decoded[$0.key] == nil }.map(\.value)
        return restored + Array(decoded.values)
    }

    public func makeIterator() -> Array<(key: CaseID, value: CaseState)>.Iterator {
        guard encoded != nil else { return decoded.map { ($0.key, $0.value) }.makeIterator() }
        return values.map { (key: $0.id, value: $0) }.makeIterator()
    }

    /// The encoded bytes of a case no op has changed since the restore, to copy into a new
    /// snapshot as they are (its author indexes are the table's, which a new snapshot keeps).
    func untouchedBytes(_ id: CaseID) -> ArraySlice<UInt8>? {
        guard decoded[id] == nil, let encoded, let range = encoded.index[id] else { return nil }
        return encoded.bytes[range]
    }
}

/// A snapshot's cases as bytes, decoded one at a time on first read. The bytes are the
/// plaintext of the cases: they are zeroed when the last view holding them goes.
final class EncodedCases: @unchecked Sendable {
    // Never changed after init; the decoded cases sit behind the mutex.
    private(set) var bytes: [UInt8]
    let authors: [SigningPublicKey]
    let index: [CaseID: Range<Int>]
    private let cache = Mutex<[CaseID: CaseState]>([:])

    init(bytes: [UInt8], authors: [SigningPublicKey], index: [CaseID: Range<Int>]) {
        self.bytes = bytes
        self.authors = authors
        self.index = index
    }

    deinit { bytes.zeroize() }

    func state(_ id: CaseID) -> CaseState? {
        guard let range = index[id] else { return nil }
        if let c = cache.withLock({ $0[id] }) { return c }
        // The bytes were walked once when indexed, so they decode; should they not, the case
        // reads as empty rather than crash a reader.
        let c = (try? decode(range)) ?? CaseState(id: id)
        cache.withLock { $0[id] = c }
        return c
    }

    /// How many cases were decoded (for tests).
    var decodedCount: Int { cache.withLock { $0.count } }

    func all() -> [CaseID: CaseState] {
        var done = cache.withLock { $0 }
        guard done.count < index.count else { return done }
        let missing = index.filter { done[$0.key] == nil }.map { $0 }
        let states = Parallel.map(missing.count, minimum: 64) { i in (try? self.decode(missing[i].value)) ?? CaseState(id: missing[i].key) }
        for c in states { done[c.id] = c }
        cache.withLock { $0 = done }
        return done
    }

    private func decode(_ range: Range<Int>) throws -> CaseState {
        var r = SnapshotReader(ByteReader(bytes, offset: range.lowerBound), authors: authors)
        return try r.caseState()
    }
}
