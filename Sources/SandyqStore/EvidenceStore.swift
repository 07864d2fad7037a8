import SandyqCore

/// Sealed chunks of attached files. The store never sees a file key: it keeps and hands back
/// the chunk bytes only.
extension OpStore {
    /// Stores one chunk; storing the same (fid, index) again changes nothing. `pending` is the
    /// attach's wall time until its record lands, 0 for a chunk whose record is known.
    public func putChunk(fid: [UInt8], index: Int, count: Int, bytes: [UInt8], pending: Int64 = 0) throws(StoreError) {
        try db.prepare("INSERT OR IGNORE INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(?, ?, ?, ?, ?)")
            .run([.blob(fid), .int(Int64(index)), .int(Int64(count)), .blob(bytes), .int(pending)])
    }

    /// The indexes held for a file, ascending.
    public func chunkIndexes(fid: [UInt8], includingPending: Bool = false) throws(StoreError) -> [Int] {
        let s = try db.prepare("SELECT idx FROM evidence_chunks WHERE fid = ?\(includingPending ? "" : " AND pending = 0") ORDER BY idx")
        var out: [Int] = []
        do { try s.rows([.blob(fid)]) { out.append(Int($0.int(0))) } } catch { throw Self.storeError(error) }
        return out
    }

    /// The indexes below `count` this store lacks.
    public func missingChunks(fid: [UInt8], count: Int) throws(StoreError) -> [Int] {
        let have = Set(try chunkIndexes(fid: fid))
        return (0..<count).filter { !have.contains($0) }
    }

    /// Each file held: its id, its chunk count and how many of its chunks are here.
    public func chunkSummaries() throws(StoreError) -> [(fid: [UInt8], count: Int, present: Int)] {
        let s = try db.prepare("SELECT fid, max(count), count(*) FROM evidence_chunks WHERE pending = 0 GROUP BY fid ORDER BY fid")
        var out: [(fid: [UInt8], count: Int, present: Int)] = []
        do { try s.rows { out.append(($0.blob(0), Int($0.int(1)), Int($0.int(2)))) } } catch { throw Self.storeError(error) }
        return out
    }

    /// One chunk's bytes, or nil.
    public func chunk(fid: [UInt8], index: Int) throws(StoreError) -> [UInt8]? {
        let s = try db.prepare("SELECT chunk FROM evidence_chunks WHERE fid = ? AND idx = ? AND pending = 0")
        try s.bind([.blob(fid), .int(Int64(index))])
        return try s.step() ? s.blob(0) : nil
    }

    /// Makes an attach's chunks part of the store, in the transaction its record lands in;
    /// refuses unless all `count` are there.
    public func confirmChunks(fid: [UInt8], count: Int) throws(StoreError) {
        let s = try db.prepare("SELECT count(*) FROM evidence_chunks WHERE fid = ? AND idx < ?")
        try s.bind([.blob(fid), .int(Int64(count))])
        _ = try s.step()
        guard s.int(0) == Int64(count) else {
            throw .corrupt("attach: \(s.int(0)) of \(count) chunks were stored; nothing was recorded")
        }
        try db.prepare("UPDATE evidence_chunks SET pending = 0 WHERE fid = ?").run([.blob(fid)])
    }

    /// Drops the chunks of an attach that did not finish.
    public func dropPendingChunks(fid: [UInt8]) throws(StoreError) {
        try db.prepare("DELETE FROM evidence_chunks WHERE fid = ? AND pending != 0").run([.blob(fid)])
    }

    /// Drops chunks an attach left before it crashed: pending and older than `before` (ms),
    /// so an attach under way in another process keeps its own.
    @discardableResult
    public func sweepPendingChunks(before: Int64) throws(StoreError) -> Int {
        try db.prepare("DELETE FROM evidence_chunks WHERE pending != 0 AND pending < ?").run([.int(before)])
        return db.changes
    }

    /// Test and repair hook: replaces a stored chunk's bytes.
    public func replaceChunk(fid: [UInt8], index: Int, bytes: [UInt8]) throws(StoreError) {
        try db.prepare("UPDATE evidence_chunks SET chunk = ? WHERE fid = ? AND idx = ?").run([.blob(bytes), .blob(fid), .int(Int64(index))])
    }

    /// Test and repair hook: removes one chunk.
    public func deleteChunk(fid: [UInt8], index: Int) throws(StoreError) {
        try db.prepare("DELETE FROM evidence_chunks WHERE fid = ? AND idx = ?").run([.blob(fid), .int(Int64(index))])
    }

    static func storeError(_ e: any Error) -> StoreError { (e as? StoreError) ?? .io("\(e)") }
}
