import SandyqCore

/// Sealed chunks of attached files. The store never sees a file key: it keeps and hands back
/// the chunk bytes only.
extension OpStore {
    /// Stores one chunk; storing the same (fid, index) again changes nothing. `pending` is the
    /// attach's wall time until its record lands, 0 for a chunk whose record is known.
    public func putChunk(fid: [UInt8], index: Int, count: Int, bytes: [UInt8], pending: Int64 = 0) throws(StoreError) {
        if pending != 0 {
            try db.prepare("INSERT OR IGNORE INTO evidence_pending(fid, started) VALUES(?, ?)").run([.blob(fid), .int(pending)])
        }
        try db.prepare("INSERT OR IGNORE INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(?, ?, ?, ?, ?)")
            .run([.blob(fid), .int(Int64(index)), .int(Int64(count)), .blob(bytes), .int(pending != 0 ? 1 : 0)])
    }

    /// Stores an attach's chunks of one file in one transaction: a commit per chunk made each
    /// 1 MiB wait for its own sync. Pending as `putChunk` with `pending` != 0 is.
    public func putPendingChunks(fid: [UInt8], count: Int, _ chunks: [(index: Int, bytes: [UInt8])], started: Int64) throws(StoreError) {
        guard !chunks.isEmpty else { return }
        do {
            try db.transaction {
                for c in chunks { try putChunk(fid: fid, index: c.index, count: count, bytes: c.bytes, pending: started) }
            }
        } catch { throw Self.storeError(error) }
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
        try db.prepare("UPDATE evidence_chunks SET pending = 0 WHERE fid = ? AND pending != 0").run([.blob(fid)])
        try db.prepare("DELETE FROM evidence_pending WHERE fid = ?").run([.blob(fid)])
    }

    /// Drops the chunks of an attach that did not finish.
    public func dropPendingChunks(fid: [UInt8]) throws(StoreError) {
        try db.prepare("DELETE FROM evidence_chunks WHERE fid = ? AND pending != 0").run([.blob(fid)])
        try db.prepare("DELETE FROM evidence_pending WHERE fid = ?").run([.blob(fid)])
    }

    /// Drops chunks an attach left before it crashed: pending and older than `before` (ms),
    /// so an attach under way in another process keeps its own.
    @discardableResult
    public func sweepPendingChunks(before: Int64) throws(StoreError) -> Int {
        let swept = try db.prepare("""
            DELETE FROM evidence_chunks WHERE pending != 0 AND (
                (pending > 1 AND pending < ?1)
                OR fid IN (SELECT fid FROM evidence_pending WHERE started < ?1)
                OR (pending = 1 AND fid NOT IN (SELECT fid FROM evidence_pending)))
            """)
        try swept.run([.int(before)])
        let n = db.changes
        try db.prepare("DELETE FROM evidence_pending WHERE started < ?").run([.int(before)])
        return n
    }

    /// Test and repair hook: replaces a stored chunk's bytes.
    public func replaceChunk(fid: [UInt8], index: Int, bytes: [UInt8]) throws(StoreError) {
        try db.prepare("UPDATE evidence_chunks SET chunk = ? WHERE fid = ? AND idx = ?").run([.blob(bytes), .blob(fid), .int(Int64(index))])
    }

    /// Test and repair hook: removes one chunk.
    /// Drops every row of these files: chunks, holding records, this node's own word on them.
    /// Run inside `scrubbing` so the chunks leave no copy behind. Returns the chunks deleted.
    @discardableResult
    public func dropFiles(_ fids: [[UInt8]]) throws(StoreError) -> Int {
        var n = 0
        let count = try db.prepare("SELECT count(*) FROM evidence_chunks WHERE fid = ?")
        for f in fids {
            try count.bind([.blob(f)])
            if try count.step() { n += Int(count.int(0)) }
            for table in ["evidence_chunks", "evidence_held", "evidence_local", "evidence_pending"] {
                try db.prepare("DELETE FROM \(table) WHERE fid = ?").run([.blob(f)])
            }
        }
        return n
    }

    public func deleteChunk(fid: [UInt8], index: Int) throws(StoreError) {
        try db.prepare("DELETE FROM evidence_chunks WHERE fid = ? AND idx = ?").run([.blob(fid), .int(Int64(index))])
    }

    /// One file in a holding statement, as kept.
    public struct Holding: Sendable, Equatable {
        public let fid: [UInt8]
        public let holder: [UInt8]
        public let count: Int
        public let verified: Bool
        public let createdMillis: Int64
    }

    /// Keeps a verified statement: for each file it lists, it replaces the holder's older word.
    /// A statement older than the one kept for a file changes nothing for that file, and a
    /// statement no file row points to any more is dropped. `complete`: the statement lists
    /// every whole file its holder has, so the holder's older word on a file it leaves out is
    /// dropped too. Returns how many file rows it updated or dropped.
    @discardableResult
    public func recordHolding(statement: [UInt8], holder: [UInt8], createdMillis: Int64,
                              files: [(fid: [UInt8], count: Int, verified: Bool)], complete: Bool = false) throws(StoreError) -> Int {
        do {
            return try db.transaction { () throws -> Int in
                try db.prepare("INSERT INTO evidence_statements(holder, created, statement) VALUES(?, ?, ?)")
                    .run([.blob(holder), .int(createdMillis), .blob(statement)])
                let id = db.lastInsertRowID
                let put = try db.prepare("""
                    INSERT INTO evidence_held(fid, holder, count, verified, created, statement) VALUES(?, ?, ?, ?, ?, ?)
                    ON CONFLICT(fid, holder) DO UPDATE SET count = excluded.count, verified = excluded.verified,
                        created = excluded.created, statement = excluded.statement
                    WHERE excluded.created >= evidence_held.created
                    """)
                var changed = 0
                for f in files {
                    try put.run([.blob(f.fid), .blob(holder), .int(Int64(f.count)), .int(f.verified ? 1 : 0), .int(createdMillis), .int(id)])
                    changed += db.changes
                }
                if complete {
                    try db.prepare("DELETE FROM evidence_held WHERE holder = ? AND statement != ? AND created < ?")
                        .run([.blob(holder), .int(id), .int(createdMillis)])
                    changed += db.changes
                }
                try db.execute("DELETE FROM evidence_statements WHERE id NOT IN (SELECT DISTINCT statement FROM evidence_held)")
                return changed
            }
        } catch { throw Self.storeError(error) }
    }

    /// Who said they hold `fid`, newest word per holder.
    public func holdings(fid: [UInt8]) throws(StoreError) -> [Holding] {
        try holdings("WHERE fid = ? ORDER BY holder", [.blob(fid)])
    }

    /// The files `holder` said it holds.
    public func holdings(holder: [UInt8]) throws(StoreError) -> [Holding] {
        try holdings("WHERE holder = ? ORDER BY fid", [.blob(holder)])
    }

    private func holdings(_ clause: String, _ values: [Statement.Value]) throws(StoreError) -> [Holding] {
        let s = try db.prepare("SELECT fid, holder, count, verified, created FROM evidence_held \(clause)")
        var out: [Holding] = []
        do {
            try s.rows(values) { out.append(Holding(fid: $0.blob(0), holder: $0.blob(1), count: Int($0.int(2)), verified: $0.int(3) != 0,
                                                  createdMillis: $0.int(4))) }
        } catch { throw Self.storeError(error) }
        return out
    }

    /// The signed statement behind a holder's word on `fid`, as received.
    public func holdingStatement(fid: [UInt8], holder: [UInt8]) throws(StoreError) -> [UInt8]? {
        let s = try db.prepare("""
            SELECT s.statement FROM evidence_held h JOIN evidence_statements s ON s.id = h.statement
            WHERE h.fid = ? AND h.holder = ?
            """)
        try s.bind([.blob(fid), .blob(holder)])
        return try s.step() ? s.blob(0) : nil
    }

    /// This node's own word on a file: when it last checked it whole (ms, 0 never) and when it
    /// let its copy go (ms, 0 never).
    public struct LocalFile: Sendable, Equatable {
        public let fid: [UInt8]
        public let count: Int
        public let verifiedMillis: Int64
        public let releasedMillis: Int64
    }

    public func localFiles() throws(StoreError) -> [LocalFile] {
        let s = try db.prepare("SELECT fid, count, verified, released FROM evidence_local ORDER BY fid")
        var out: [LocalFile] = []
        do { try s.rows { out.append(LocalFile(fid: $0.blob(0), count: Int($0.int(1)), verifiedMillis: $0.int(2), releasedMillis: $0.int(3))) } }
        catch { throw Self.storeError(error) }
        return out
    }

    public func localFile(fid: [UInt8]) throws(StoreError) -> LocalFile? {
        let s = try db.prepare("SELECT fid, count, verified, released FROM evidence_local WHERE fid = ?")
        try s.bind([.blob(fid)])
        return try s.step() ? LocalFile(fid: s.blob(0), count: Int(s.int(1)), verifiedMillis: s.int(2), releasedMillis: s.int(3)) : nil
    }

    /// Notes that every chunk of `fid` opened and the whole matched its record (`at` ms), or,
    /// with `at` 0, that it has not.
    public func setVerified(fid: [UInt8], count: Int, at: Int64) throws(StoreError) {
        try db.prepare("""
            INSERT INTO evidence_local(fid, count, verified) VALUES(?, ?, ?)
            ON CONFLICT(fid) DO UPDATE SET count = excluded.count, verified = excluded.verified
            """).run([.blob(fid), .int(Int64(count)), .int(at)])
    }

    /// Deletes this node's chunks of `fid` (their pages overwritten) and notes when, in one
    /// transaction.
    public func releaseChunks(fid: [UInt8], count: Int, at: Int64) throws(StoreError) {
        do {
            try scrubbing {
                try db.prepare("DELETE FROM evidence_chunks WHERE fid = ? AND pending = 0").run([.blob(fid)])
                try db.prepare("""
                    INSERT INTO evidence_local(fid, count, released) VALUES(?, ?, ?)
                    ON CONFLICT(fid) DO UPDATE SET released = excluded.released
                    """).run([.blob(fid), .int(Int64(count)), .int(at)])
            }
        } catch { throw Self.storeError(error) }
    }

    /// Gives the freed pages back to the file system: after a release the file would otherwise
    /// keep its size, and a seized laptop's store would show that it once held a large file.
    public func compact() throws(StoreError) {
        try db.execute("VACUUM")
        if try scrubPending() { _ = try? finishScrub() } else { try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Stores the chunks handed in as one transaction: a batch lands whole or not at all, and a
    /// cut between batches keeps the earlier ones. A chunk already held is left as it is unless
    /// `replace` says the held one is bad. Returns how many rows changed.
    @discardableResult
    public func putReceivedChunks(_ chunks: [(fid: [UInt8], index: Int, count: Int, bytes: [UInt8], replace: Bool)]) throws(StoreError) -> Int {
        guard !chunks.isEmpty else { return 0 }
        do {
            return try db.transaction { () throws -> Int in
                let keep = try db.prepare("INSERT OR IGNORE INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(?, ?, ?, ?, 0)")
                let swap = try db.prepare("INSERT OR REPLACE INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(?, ?, ?, ?, 0)")
                var n = 0
                for c in chunks {
                    try (c.replace ? swap : keep).run([.blob(c.fid), .int(Int64(c.index)), .int(Int64(c.count)), .blob(c.bytes)])
                    n += db.changes
                }
                return n
            }
        } catch { throw Self.storeError(error) }
    }

    /// The count recorded with the chunks held for `fid` (the largest, if they disagree), or nil.
    public func chunkCount(fid: [UInt8]) throws(StoreError) -> Int? {
        let s = try db.prepare("SELECT max(count) FROM evidence_chunks WHERE fid = ? AND pending = 0")
        try s.bind([.blob(fid)])
        guard try s.step(), s.int(0) > 0 else { return nil }
        return Int(s.int(0))
    }

    static func storeError(_ e: any Error) -> StoreError { (e as? StoreError) ?? .io("\(e)") }
}
