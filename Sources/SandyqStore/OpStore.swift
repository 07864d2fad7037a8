import Foundation
import SandyqCore
import SandyqCrypto

/// The node's SQLite file: ciphertext envelopes, version vectors, settings, peers.
public final class OpStore: @unchecked Sendable {
    public let db: Database
    public static let fileName = "sandyq.db"
    /// Tests run another process's scrub here, between a checkpoint and the clearing of the mark.
    public var afterScrubCheckpointForTests: (() -> Void)?

    public init(path: String) throws(StoreError) {
        db = try Database(path: path)
        // WAL: readers never block the writer and a crash mid-write leaves the last commit intact.
        // secure_delete for the connection's whole life: whatever any delete or replace frees
        // (a snapshot rewritten, a chunk replaced) is overwritten, not left in free pages.
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;")
        try migrate()
    }

    public static var supportedSchema: Int { Migrations.latest }

    public func schemaVersion() throws(StoreError) -> Int {
        let s = try db.prepare("PRAGMA user_version")
        _ = try s.step()
        return Int(s.int(0))
    }

    private func migrate() throws(StoreError) {
        let v = try schemaVersion()
        if v > Migrations.latest { throw .newerSchema(found: v, supported: Migrations.latest) }
        guard v < Migrations.latest else { return }
        do {
            try db.transaction {
                for i in v..<Migrations.latest {
                    try db.execute(Migrations.all[i])
                    try db.execute("PRAGMA user_version = \(i + 1)")
                }
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw .io("migration failed: \(error)")
        }
    }

    // MARK: settings

    public func setting(_ key: String) throws(StoreError) -> [UInt8]? {
        let s = try db.prepare("SELECT value FROM settings WHERE key = ?")
        try s.bind([.text(key)])
        return try s.step() ? s.blob(0) : nil
    }

    public func setSetting(_ key: String, _ value: [UInt8]) throws(StoreError) {
        try db.prepare("INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .run([.text(key), .blob(value)])
    }

    public func deleteSetting(_ key: String) throws(StoreError) {
        try db.prepare("DELETE FROM settings WHERE key = ?").run([.text(key)])
    }

    /// Deletes a mark only if it still holds the value read before the work it marks: another
    /// process's newer mark stays.
    func deleteSetting(_ key: String, ifStill value: [UInt8]) throws(StoreError) {
        try db.prepare("DELETE FROM settings WHERE key = ? AND value = ?").run([.text(key), .blob(value)])
    }

    /// Settings whose key starts with `prefix` (for rewriting an old kind of row).
    public func settings(prefix: String) throws(StoreError) -> [(key: String, value: [UInt8])] {
        var out: [(key: String, value: [UInt8])] = []
        let s = try db.prepare("SELECT key, value FROM settings WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")
        try s.bind([.text(prefix)])
        while try s.step() { out.append((s.text(0), s.blob(1))) }
        return out
    }

    /// Runs `body` in one transaction (deleted content is overwritten by zeros: `secure_delete`
    /// is on for every connection), then moves
    /// the log into the main file and empties it: what `body` deletes leaves no copy in free
    /// pages or the write-ahead log. The emptying cannot finish while another connection reads
    /// (a desk serving a page, another command): the transaction marks the scrub pending, and
    /// only a checkpoint that finished clears the mark (`finishScrub`), so neither a busy reader
    /// nor a crash before the checkpoint leaves the old bytes unsaid.
    public func scrubbing<R>(_ body: () throws -> R) throws -> R {
        let r = try db.transaction {
            let r = try body()
            // A fresh value per scrub: a process that saw an older one finish clears only that.
            try setSetting(Self.scrubPendingSetting, Random.bytes(16))
            return r
        }
        // What was deleted is committed; a checkpoint that fails leaves the mark to say so.
        _ = try? finishScrub()
        return r
    }

    static let scrubPendingSetting = "scrub-pending"

    /// Marks a scrub inside a transaction the caller runs (one that also stores ops, so cannot be
    /// `scrubbing`'s own); the caller calls `finishScrub` once it has committed.
    public func markScrubPending() throws(StoreError) {
        try setSetting(Self.scrubPendingSetting, Random.bytes(16))
    }

    /// Whether a scrub's checkpoint has not finished: the file or its log may still hold what
    /// it deleted. On read-only storage the store opens only with an empty log (`Database`), so
    /// the main file already holds every page as the scrub left it and a mark is stale.
    public func scrubPending() throws(StoreError) -> Bool {
        guard try setting(Self.scrubPendingSetting) != nil else { return false }
        return !(db.isReadOnly && Self.logIsEmpty(db.path))
    }

    static func logIsEmpty(_ path: String) -> Bool {
        var st = stat()
        return stat(path + "-wal", &st) != 0 || st.st_size == 0
    }

    /// Empties the write-ahead log into the main file and clears the mark it finished for; true
    /// once nothing a scrub deleted is left in either. `waitMillis` bounds the wait for other
    /// connections: a retry (at open, in a check, after an import) waits briefly and leaves
    /// the mark for the next one.
    @discardableResult
    public func finishScrub(waitMillis: Int32 = 5000) throws(StoreError) -> Bool {
        guard let mark = try setting(Self.scrubPendingSetting) else { return true }
        guard !db.isReadOnly else { return Self.logIsEmpty(db.path) }
        return try db.waitingAtMost(milliseconds: waitMillis) { () throws(StoreError) -> Bool in
            guard try checkpointed() else { return false }
            afterScrubCheckpointForTests?()
            // Only the mark this checkpoint covered: another process's newer scrub keeps its own.
            try deleteSetting(Self.scrubPendingSetting, ifStill: mark)
            return true
        }
    }

    /// A truncating checkpoint, and whether it finished: busy 0 and an emptied log. A reader
    /// that kept it from copying every frame sets busy; no log at all (-1) is not a finish.
    private func checkpointed() throws(StoreError) -> Bool {
        let s = try db.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
        return try s.step() && s.int(0) == 0 && s.int(1) == 0
    }

    /// Runs `body` in one transaction: every store call inside lands together, or none does.
    public func atomically<R>(_ body: () throws -> R) throws -> R { try db.transaction(body) }

    // MARK: grants (keyed tags, computed by the node)

    /// The session tags recorded as granted to the recipient tagged `recipient`.
    public func grantedSessions(to recipient: [UInt8]) throws(StoreError) -> Set<[UInt8]> {
        var out: Set<[UInt8]> = []
        let s = try db.prepare("SELECT session FROM grants WHERE recipient = ?")
        try s.bind([.blob(recipient)])
        while try s.step() { out.insert(s.blob(0)) }
        return out
    }

    public func recordGrants(to recipient: [UInt8], sessions: [[UInt8]]) throws {
        guard !sessions.isEmpty else { return }
        let insert = try db.prepare("INSERT OR IGNORE INTO grants(recipient, session) VALUES(?, ?)")
        try db.transaction {
            for t in sessions { try insert.run([.blob(recipient), .blob(t)]) }
        }
    }

    /// Recipient tags still owed every session key this node holds (coordinators it added).
    public func grantDebts() throws(StoreError) -> Set<[UInt8]> {
        var out: Set<[UInt8]> = []
        let s = try db.prepare("SELECT recipient FROM grant_debts")
        try s.bind([])
        while try s.step() { out.insert(s.blob(0)) }
        return out
    }

    public func setGrantDebt(_ recipient: [UInt8], owed: Bool) throws(StoreError) {
        if owed {
            try db.prepare("INSERT OR IGNORE INTO grant_debts(recipient) VALUES(?)").run([.blob(recipient)])
        } else {
            try db.prepare("DELETE FROM grant_debts WHERE recipient = ?").run([.blob(recipient)])
        }
    }

    public func project() throws(StoreError) -> ProjectID? {
        guard let b = try setting("project") else { return nil }
        guard let p = try? ProjectID(bytes: b) else { throw .corrupt("stored project id has the wrong length") }
        return p
    }

    public func setProject(_ p: ProjectID) throws(StoreError) { try setSetting("project", p.bytes) }

    // MARK: ops

    public var opCount: Int {
        get throws(StoreError) {
            let s = try db.prepare("SELECT count(*) FROM ops")
            _ = try s.step()
            return Int(s.int(0))
        }
    }

    /// Every envelope, in author-chain order.
    public func allEnvelopes() throws -> [Envelope] {
        var out: [Envelope] = []
        try db.prepare("SELECT envelope FROM ops ORDER BY author, seq").rows { s in
            out.append(try Envelope(decoding: s.blob(0)))
        }
        return out
    }

    /// The envelopes of these op ids that this store holds, by the `id` column's unique index.
    public func envelopes(ids: [OpID]) throws -> [Envelope] {
        var out: [Envelope] = []
        let s = try db.prepare("SELECT envelope FROM ops WHERE id = ?")
        for id in ids {
            try s.rows([.blob(id.bytes)]) { row in out.append(try Envelope(decoding: row.blob(0))) }
        }
        return out
    }

    public static let membershipSQL = "SELECT envelope FROM ops WHERE kind != 1"

    /// Drops the bytes of the sealed ops `ops` names and keeps a stub of each (id, author, seq)
    /// in `withdrawn`. Run inside `scrubbing`, so deleted pages are zeroed and the log is
    /// checkpointed. A named membership op is kept: withdrawal is for content, never for who
    /// belongs. Returns how many ops it deleted.
    @discardableResult
    public func withdraw(_ ops: [WithdrawnOp]) throws -> Int {
        let held = try db.prepare("SELECT kind, author, seq FROM ops WHERE id = ?")
        let delete = try db.prepare("DELETE FROM ops WHERE id = ? AND kind = 1")
        let stub = try db.prepare("INSERT OR IGNORE INTO withdrawn(id, author, seq) VALUES(?, ?, ?)")
        var deleted = 0
        for o in ops {
            try held.bind([.blob(o.id.bytes)])
            var author = o.author.bytes, seq = Int64(o.seq)
            if try held.step() {
                if held.int(0) == Int64(Envelope.Kind.membership.rawValue) { continue }
                // A held op's place is its own (its id signs author and seq), not what the
                // withdrawal claims: a wrong claim would cut a gap in one chain and a stub into another.
                author = held.blob(1); seq = held.int(2)
                try delete.run([.blob(o.id.bytes)]); deleted += 1
            }
            try stub.run([.blob(o.id.bytes), .blob(author), .int(seq)])
        }
        if deleted > 0 { heldBytes = nil }
        return deleted
    }

    /// Deletes session key cache rows by tag.
    public func forgetSessionKeys(tags: [[UInt8]]) throws(StoreError) {
        let s = try db.prepare("DELETE FROM session_keys WHERE tag = ?")
        for t in tags { try s.run([.blob(t)]) }
    }

    /// Ids of the ops withdrawn here (their stubs).
    public func withdrawnIDs() throws -> Set<OpID> {
        var out = Set<OpID>()
        try db.prepare("SELECT id FROM withdrawn").rows { out.insert(try OpID(bytes: $0.blob(0))) }
        return out
    }

    /// Drops the stubs of `ids`, and in the same transaction notes a bundle owed to each of
    /// `owing`: those ops count as missing again, so sync brings them back from any peer that
    /// kept them. Returns how many stubs it dropped.
    @discardableResult
    public func unstub(_ ids: [OpID], owing: [NodeID] = []) throws -> Int {
        try db.transaction {
            let s = try db.prepare("DELETE FROM withdrawn WHERE id = ?")
            var n = 0
            for id in ids { try s.run([.blob(id.bytes)]); n += db.changes }
            if n > 0 { for p in owing { try setOwesAck(to: p) } }
            return n
        }
    }

    /// Membership ops only: what a node needs to decide who may connect, without reading the log.
    public func membershipEnvelopes() throws -> [Envelope] {
        var out: [Envelope] = []
        // Written exactly as the partial index `ops_kind` is (`kind != 1`), or SQLite scans the
        // whole log: that scan, run five times per sync, was most of a one-op TCP delta.
        try db.prepare(Self.membershipSQL).rows { s in
            let env = try Envelope(decoding: s.blob(0))
            if env.kind == .membership { out.append(env) }
        }
        return out
    }

    /// Changes whenever a membership op is stored or removed: how many there are and the
    /// newest row, read from the partial index alone. Lets a server check that what it derived
    /// from them still holds without deriving it again.
    public func membershipStamp() throws -> [Int64] {
        var out: [Int64] = []
        try db.prepare("SELECT count(*), coalesce(max(rowid), 0) FROM ops WHERE kind != 1").rows { s in
            out = [s.int(0), s.int(1)]
        }
        return out
    }

    /// The authors of membership ops, from the partial index alone: a reporter is handed only
    /// these of everyone else's, so no other author's ops need reading for it.
    public func membershipAuthors() throws -> Set<SigningPublicKey> {
        var out: Set<SigningPublicKey> = []
        try db.prepare("SELECT DISTINCT author FROM ops WHERE kind != 1").rows { s in
            guard let k = try? SigningPublicKey(bytes: s.blob(0)) else { throw StoreError.corrupt("op author of the wrong length") }
            out.insert(k)
        }
        return out
    }

    /// Ops of `author` with seq above `after`, in order.
    public func envelopes(author: SigningPublicKey, after: UInt64) throws -> [Envelope] {
        var out: [Envelope] = []
        try db.prepare("SELECT envelope FROM ops WHERE author = ? AND seq > ? ORDER BY seq").rows([.blob(author.bytes), .int(Self.sqlSeq(after))]) { s in
            out.append(try Envelope(decoding: s.blob(0)))
        }
        return out
    }

    /// Ops of `author` that this store received after the op `id` (by row), in seq order; none
    /// when `id` is not held. A new row's id is above every row held (a VACUUM that renumbers
    /// keeps their order), so while `id` is held these are what arrived after it.
    public func envelopes(author: SigningPublicKey, storedAfter id: OpID) throws -> [Envelope] {
        var out: [Envelope] = []
        try db.prepare("SELECT envelope FROM ops WHERE author = ?1 AND rowid > (SELECT rowid FROM ops WHERE id = ?2) ORDER BY seq")
            .rows([.blob(author.bytes), .blob(id.bytes)]) { s in
                out.append(try Envelope(decoding: s.blob(0)))
            }
        return out
    }

    /// A seq bound for a query. Stored seqs are below 2^62 (Envelope refuses more), so a
    /// bound beyond Int64 (a vector built in memory) means "above everything", not a trap.
    static func sqlSeq(_ seq: UInt64) -> Int64 { Int64(clamping: seq) }

    /// Everything this store holds that a holder of `known` lacks.
    public func envelopes(missingFrom known: VersionVector) throws -> [Envelope] {
        var out: [Envelope] = []
        try forEachEnvelope(missingFrom: known) { out.append($0) }
        return out
    }

    /// Author -> highest contiguous seq, so gaps are asked for again.
    /// One aggregate pass settles every author whose chain has neither gaps nor forks (then
    /// its op count equals its top seq); only the others are walked seq by seq. Walking every
    /// row made each TCP sync of a 100,000-op replica cost tens of milliseconds per vector.
    public func versionVector() throws(StoreError) -> VersionVector {
        var heads: [SigningPublicKey: UInt64] = [:]
        var irregular: [SigningPublicKey] = []
        var forked: Set<SigningPublicKey> = []
        for f in try forks() { forked.insert(f.author) }
        // Withdrawn ops' stubs count as held. Two aggregates, each on its own index, summed here:
        // one over a union made SQLite copy the whole ops table first.
        var top: [SigningPublicKey: (max: Int64, count: Int64)] = [:]
        for table in ["ops", "withdrawn"] {
            let agg = try db.prepare("SELECT author, max(seq), count(*) FROM \(table) GROUP BY author")
            try agg.bind([])
            while try agg.step() {
                guard let a = try? SigningPublicKey(bytes: agg.blob(0)) else { throw .corrupt("op author of the wrong length") }
                let t = top[a] ?? (0, 0)
                top[a] = (max(t.max, agg.int(1)), t.count + agg.int(2))
            }
        }
        for (a, t) in top {
            if t.max == t.count && !forked.contains(a) { heads[a] = UInt64(t.max) } else { irregular.append(a) }
        }
        let walk = try db.prepare("SELECT seq FROM ops WHERE author = ?1 UNION SELECT seq FROM withdrawn WHERE author = ?1 ORDER BY seq")
        for a in irregular {
            var expect: UInt64 = 1
            try walk.bind([.blob(a.bytes)])
            while try walk.step(), UInt64(walk.int(0)) == expect { heads[a] = expect; expect += 1 }
        }
        return VersionVector(heads)
    }

    /// Envelope bytes held per author, for the per-author limits at import. Only rows added
    /// since the last call are read: summing the whole table, once per served member, read
    /// every page of a 100,000-op store for each of a thousand members.
    public func bytesByAuthor() throws(StoreError) -> [SigningPublicKey: Int] {
        var c = heldBytes ?? HeldBytes()
        let s = try db.prepare("SELECT author, sum(length(envelope)), count(*), max(rowid) FROM ops WHERE rowid > ? GROUP BY author")
        try s.bind([.int(c.watermark)])
        var top = c.watermark
        while try s.step() {
            guard let a = try? SigningPublicKey(bytes: s.blob(0)) else { continue }
            c.bytes[a, default: 0] += Int(s.int(1))
            c.rows += s.int(2)
            top = max(top, s.int(3))
        }
        c.watermark = top
        // Ops are only ever added, so their rowids run 1...n; if not (a VACUUM may renumber
        // them), no watermark can be trusted and every call sums the whole table. Inside a
        // transaction the rows read may roll back, so nothing is kept.
        guard c.rows == top, !db.inTransaction else {
            heldBytes = nil
            var out: [SigningPublicKey: Int] = [:]
            let all = try db.prepare("SELECT author, sum(length(envelope)) FROM ops GROUP BY author")
            try all.bind([])
            while try all.step() {
                if let a = try? SigningPublicKey(bytes: all.blob(0)) { out[a] = Int(all.int(1)) }
            }
            return out
        }
        heldBytes = c
        return c.bytes
    }

    struct HeldBytes {
        var watermark: Int64 = 0
        var rows: Int64 = 0
        var bytes: [SigningPublicKey: Int] = [:]
    }
    private var heldBytes: HeldBytes?

    /// Seqs missing below the highest one held, per author: a relay that drops an op
    /// (a revocation, say) and forwards later ones leaves such a hole.
    public func chainGaps() throws(StoreError) -> [(author: SigningPublicKey, missing: [ClosedRange<UInt64>])] {
        var out: [(SigningPublicKey, [ClosedRange<UInt64>])] = []
        let agg = try db.prepare("SELECT author, max(seq), count(DISTINCT seq) FROM ops GROUP BY author")
        try agg.bind([])
        var irregular: [SigningPublicKey] = []
        while try agg.step() {
            if agg.int(1) == agg.int(2) { continue }
            guard let a = try? SigningPublicKey(bytes: agg.blob(0)) else { throw .corrupt("op author of the wrong length") }
            irregular.append(a)
        }
        let walk = try db.prepare("SELECT DISTINCT seq FROM ops WHERE author = ? ORDER BY seq")
        for a in irregular {
            var missing: [ClosedRange<UInt64>] = []
            var expect: UInt64 = 1
            try walk.bind([.blob(a.bytes)])
            while try walk.step() {
                let seq = UInt64(walk.int(0))
                if seq > expect { missing.append(expect...(seq - 1)) }
                expect = seq + 1
            }
            if !missing.isEmpty { out.append((a, missing)) }
        }
        return out
    }

    /// The head of one author's chain, held or a stub: an import links to it, a writer continues it.
    static let chainHeadSQL = """
        SELECT seq, id FROM (SELECT seq, id FROM ops WHERE author = ?1 ORDER BY seq DESC LIMIT 1)
        UNION ALL SELECT seq, id FROM (SELECT seq, id FROM withdrawn WHERE author = ?1 ORDER BY seq DESC LIMIT 1)
        ORDER BY seq DESC LIMIT 1
        """

    /// Where `author`'s next op goes: after its highest held op and every stub that follows it
    /// without a gap (its own withdrawn ops), passing over the stubs further up. A stub's
    /// place is the withdrawal's claim when the op was never held here, so a coordinator's key
    /// could name any seq: far above, it must not move the head (at 2^62 - 1 every later op
    /// would be refused); a seq taken again would fork the chain on every node holding the stub.
    public func ownChain(_ author: SigningPublicKey) throws(StoreError) -> (seq: UInt64, id: OpID, taken: [UInt64: OpID])? {
        let top = try db.prepare("SELECT seq, id FROM ops WHERE author = ?1 ORDER BY seq DESC LIMIT 1")
        try top.bind([.blob(author.bytes)])
        var head: (seq: UInt64, id: OpID)?
        if try top.step() {
            guard let id = try? OpID(bytes: top.blob(1)) else { throw .corrupt("op id of the wrong length") }
            head = (UInt64(top.int(0)), id)
        }
        var taken: [UInt64: OpID] = [:]
        let stubs = try db.prepare("SELECT seq, id FROM withdrawn WHERE author = ?1 AND seq > ?2")
        try stubs.bind([.blob(author.bytes), .int(Int64(head?.seq ?? 0))])
        while try stubs.step() {
            guard let id = try? OpID(bytes: stubs.blob(1)) else { throw .corrupt("op id of the wrong length") }
            taken[UInt64(stubs.int(0))] = id
        }
        while let next = taken.removeValue(forKey: (head?.seq ?? 0) + 1) { head = ((head?.seq ?? 0) + 1, next) }
        if head == nil && taken.isEmpty { return nil }
        return (head?.seq ?? 0, head?.id ?? .zero, taken)
    }

    /// The ops and stubs of `author`'s chain from `from` to `to`, by id: what a writer checks
    /// before its own commit, without decoding the ops.
    public func chainIDs(_ author: SigningPublicKey, from: UInt64, to: UInt64) throws(StoreError) -> (held: Set<OpID>, stubs: Set<OpID>) {
        var held = Set<OpID>(), stubs = Set<OpID>()
        for (table, into) in [("ops", 0), ("withdrawn", 1)] {
            let s = try db.prepare("SELECT id FROM \(table) WHERE author = ?1 AND seq BETWEEN ?2 AND ?3")
            try s.bind([.blob(author.bytes), .int(Self.sqlSeq(from)), .int(Self.sqlSeq(to))])
            while try s.step() {
                guard let id = try? OpID(bytes: s.blob(0)) else { throw .corrupt("op id of the wrong length") }
                if into == 0 { held.insert(id) } else { stubs.insert(id) }
            }
        }
        return (held, stubs)
    }

    /// The highest op of `author`'s chain this store knows: held, or withdrawn and kept as a stub.
    public func chainHead(of author: SigningPublicKey) throws(StoreError) -> (seq: UInt64, id: OpID)? {
        let s = try db.prepare(Self.chainHeadSQL)
        try s.bind([.blob(author.bytes)])
        guard try s.step() else { return nil }
        guard let id = try? OpID(bytes: s.blob(1)) else { throw .corrupt("op id of the wrong length") }
        return (UInt64(s.int(0)), id)
    }

    public func forks() throws(StoreError) -> [(author: SigningPublicKey, seq: UInt64)] {
        var out: [(SigningPublicKey, UInt64)] = []
        let s = try db.prepare("SELECT author, seq FROM forks ORDER BY author, seq")
        try s.bind([])
        while try s.step() {
            if let a = try? SigningPublicKey(bytes: s.blob(0)) { out.append((a, UInt64(s.int(1)))) }
        }
        return out
    }

    /// Verifies each envelope (project, signature, chain link) and stores the good ones in one
    /// transaction. Importing the same ops again changes nothing. A bad op is refused with a
    /// reason; its good neighbours still land.
    /// `verified: true` is for ops this node just signed itself: checking its own fresh
    /// signatures cost half of every write.
    public func importEnvelopes(_ envelopes: [Envelope], project: ProjectID,
                                screen: ((Envelope) -> CoreError?)? = nil, verified: Bool = false) throws -> ImportReport {
        var done = false
        return try importBatches(project: project, screen: screen, verified: verified) {
            defer { done = true }
            return done ? nil : envelopes
        }
    }

    /// The streaming form: `next` yields batches until nil, all applied in one transaction,
    /// so a killed import leaves the store as it was and a rerun completes it.
    /// `screen` refuses ops on grounds the store cannot judge (the author's role).
    /// With `prefetch`, a second thread runs `next` (for a bundle: decrypt, decode, hash) and
    /// the signature checks while this one writes SQLite; the halves cost about the same.
    public func importBatches(project: ProjectID, screen: ((Envelope) -> CoreError?)? = nil, verified: Bool = false,
                              prefetch: Bool = false, _ next: () throws -> [Envelope]?) throws -> ImportReport {
        @Sendable func prepare(_ batch: [Envelope]) -> (sorted: [Envelope], authentic: [Bool]?) {
            // Chain order, so a batch can carry an op and its predecessor together.
            let sorted = batch.sorted(by: { ($0.author, $0.seq) < ($1.author, $1.seq) })
            return (sorted, verified ? nil : Self.authenticate(sorted))
        }
        guard prefetch else {
            return try importPrepared(project: project, screen: screen) { try next().map(prepare) }
        }
        return try withoutActuallyEscaping(next) { next in
            let pipe = Prefetch<Result<(sorted: [Envelope], authentic: [Bool]?)?, any Error>>(depth: 2)
            let source = Source(next)
            let producer = Thread {
                do {
                    while let batch = try source.next?() {
                        guard pipe.put(.success(prepare(batch))) else { break }
                    }
                    _ = pipe.put(.success(nil))
                } catch {
                    _ = pipe.put(.failure(error))
                }
                pipe.finish()
            }
            producer.stackSize = 1 << 22
            producer.start()
            // `next` must not outlive this call: stop the producer, wait for it, and drop the
            // reference (the Thread object may outlive its work), whatever happens.
            defer { pipe.cancelAndWait(); source.next = nil }
            return try importPrepared(project: project, screen: screen) { try pipe.take().get() }
        }
    }

    private func importPrepared(project: ProjectID, screen: ((Envelope) -> CoreError?)?,
                                _ next: () throws -> (sorted: [Envelope], authentic: [Bool]?)?) throws -> ImportReport {
        var report = ImportReport()
        // A withdrawn op's stub counts as held: the op never lands again, and its successor
        // still links to it.
        // Stubs are looked up by id first (below), so only held ops are left to find here.
        let exists = try db.prepare("SELECT 1 FROM ops WHERE id = ?1")
        // A stub never held here sits where the withdrawal claimed; the op's id signs its real
        // place, so a stub found by id moves there (ops.md known gap 13). None held: no lookups.
        // Read to the end (rows resets it): a statement left stepping holds a read snapshot that
        // a serve session's later write transaction cannot upgrade once another session wrote.
        var anyStubs = false
        try db.prepare("SELECT EXISTS(SELECT 1 FROM withdrawn)").rows([]) { anyStubs = $0.int(0) != 0 }
        let stubAt = try db.prepare("SELECT author, seq FROM withdrawn WHERE id = ?1")
        let moveStub = try db.prepare("UPDATE withdrawn SET author = ?2, seq = ?3 WHERE id = ?1")
        let atSeq = try db.prepare("SELECT id FROM ops WHERE author = ?1 AND seq = ?2 UNION ALL SELECT id FROM withdrawn WHERE author = ?1 AND seq = ?2")
        let head = try db.prepare(Self.chainHeadSQL)
        let insert = try db.prepare("INSERT INTO ops(id, author, seq, kind, envelope) VALUES(?, ?, ?, ?, ?)")
        let fork = try db.prepare("INSERT OR IGNORE INTO forks(author, seq) VALUES(?, ?)")
        // Each author's highest stored op, kept current as ops land: an op above it can be
        // neither known nor a fork, so the common case (new ops extending a chain) costs one
        // insert and no lookups.
        var tips: [SigningPublicKey: (seq: UInt64, id: OpID)?] = [:]
        func tip(_ a: SigningPublicKey) throws -> (seq: UInt64, id: OpID)? {
            if let t = tips[a] { return t }
            try head.bind([.blob(a.bytes)])
            let t: (seq: UInt64, id: OpID)? = try head.step() ? (UInt64(head.int(0)), try OpID(bytes: head.blob(1))) : nil
            tips[a] = t
            return t
        }
        var lastNewAuthor: SigningPublicKey?
        try db.transaction {
            while let (sorted, authentic) = try next() {
                for (i, env) in sorted.enumerated() {
                    guard env.project == project else { report.refuse(env, .wrongProject); continue }
                    // Seqs are stored as Int64: never convert one that does not fit (decoding already refuses it).
                    guard env.seq < 1 << 62 else { report.refuse(env, .malformed("seq out of range")); continue }
                    if anyStubs {
                        var place: (author: [UInt8], seq: UInt64)?
                        try stubAt.rows([.blob(env.id.bytes)]) { place = ($0.blob(0), UInt64($0.int(1))) }
                        if let place {
                            if place.author != env.author.bytes || place.seq != env.seq {
                                try moveStub.run([.blob(env.id.bytes), .blob(env.author.bytes), .int(Int64(env.seq))])
                                tips[env.author] = nil
                            }
                            report.known += 1
                            continue
                        }
                    }
                    let t = try tip(env.author)
                    let above = t.map { env.seq > $0.seq } ?? true
                    if !above {
                        try exists.bind([.blob(env.id.bytes)])
                        if try exists.step() { report.known += 1; continue }
                    }
                    if let authentic, !authentic[i] { report.refuse(env, .badSignature); continue }
                    if let why = screen?(env) { report.refuse(env, why); continue }
                    var siblings: [OpID] = []
                    if !above {
                        try atSeq.rows([.blob(env.author.bytes), .int(Int64(env.seq))]) { s in siblings.append(try OpID(bytes: s.blob(0))) }
                    }
                    if env.seq > 1, let t, env.seq <= t.seq + 1, !(env.seq == t.seq + 1 && env.prev == t.id) {
                        var before: [OpID] = []
                        try atSeq.rows([.blob(env.author.bytes), .int(Int64(env.seq - 1))]) { s in before.append(try OpID(bytes: s.blob(0))) }
                        if !before.isEmpty && !before.contains(env.prev) { report.refuse(env, .brokenChain); continue }
                    }
                    try insert.run([.blob(env.id.bytes), .blob(env.author.bytes), .int(Int64(env.seq)),
                                    .int(Int64(env.kind.rawValue)), .blob(env.encoded)])
                    if above { tips[env.author] = (env.seq, env.id) }
                    report.new += 1
                    if env.kind == .membership { report.newMembership += 1 }
                    // Batches come sorted by author: one set insert per run, not per op.
                    if env.author != lastNewAuthor { report.newAuthors.insert(env.author); lastNewAuthor = env.author }
                    if !siblings.isEmpty {
                        // Two ops at one (author, seq): evidence of a stolen key. Keep both, flag it.
                        try fork.run([.blob(env.author.bytes), .int(Int64(env.seq))])
                        report.forks += 1
                    }
                }
            }
            // With the ops, so a crash or a failed scrub after this commit still leaves it said.
            if report.newMembership > 0 { try setSetting(Self.membershipUnappliedSetting, Random.bytes(16)) }
        }
        return report
    }

    static let membershipUnappliedSetting = "membership-unapplied"

    /// A mark that membership ops landed whose withdrawals (or lifts) the node has not yet
    /// carried out: a fresh value each time, so clearing one a node read before it applied
    /// never clears a newer one (`clearMembershipUnapplied`).
    public func membershipUnapplied() throws(StoreError) -> [UInt8]? { try setting(Self.membershipUnappliedSetting) }

    public func clearMembershipUnapplied(_ mark: [UInt8]) throws(StoreError) {
        try deleteSetting(Self.membershipUnappliedSetting, ifStill: mark)
    }

    /// Which ops of a chain-ordered batch are their authors' own. An op is if its signature
    /// verifies, or if the same author's authentic op at the next seq names it as `prev`: the
    /// author signed that hash. So one verification per chain head vouches for the run below
    /// it (ops.md section 6). The vouch is per author, so one member cannot vouch for bytes
    /// that claim another's key.
    public static func authenticate(_ sorted: [Envelope]) -> [Bool] {
        var ok = [Bool](repeating: false, count: sorted.count)
        var vouched: [OpID: UInt64] = [:]
        var author: SigningPublicKey?
        for i in sorted.indices.reversed() {
            let env = sorted[i]
            if env.author != author { author = env.author; vouched.removeAll(keepingCapacity: true) }
            if vouched[env.id] == env.seq || (try? env.verifySignature()) != nil {
                ok[i] = true
                if env.seq > 1 { vouched[env.prev] = env.seq - 1 }
            }
        }
        return ok
    }

    /// Calls `body` with every envelope a holder of `known` lacks, one at a time, in chain
    /// order, without loading the log into memory.
    public func forEachEnvelope(missingFrom known: VersionVector, _ body: (Envelope) throws -> Void) throws {
        var authors: [[UInt8]] = []
        try db.prepare("SELECT DISTINCT author FROM ops ORDER BY author").rows { authors.append($0.blob(0)) }
        let s = try db.prepare("SELECT envelope FROM ops WHERE author = ? AND seq > ? ORDER BY seq")
        for a in authors {
            guard let author = try? SigningPublicKey(bytes: a) else { throw StoreError.corrupt("op author of the wrong length") }
            // Everything above what the peer holds, including ops past a gap in our own copy.
            try s.rows([.blob(a), .int(Self.sqlSeq(known[author]))]) { row in
                try body(try Envelope(decoding: row.blob(0)))
            }
        }
    }

    /// The stored bytes of every op above `known`, as `forEachEnvelope` orders them, without
    /// decoding: the store holds only ops it checked on the way in, and export copies them as
    /// they are. `reading` picks the authors whose ops are read at all. The bytes are valid only
    /// inside `body`.
    public func forEachEncodedEnvelope(missingFrom known: VersionVector, reading: (SigningPublicKey) -> Bool = { _ in true },
                                       _ body: (SigningPublicKey, UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachEncodedEnvelope(missingFrom: known, reading: reading, ids: false) { author, _, p in try body(author, p) }
    }

    /// The same, with each op's stored id (the bundle writer links an op to the one before it).
    public func forEachEncodedEnvelopeWithID(missingFrom known: VersionVector, reading: (SigningPublicKey) -> Bool = { _ in true },
                                             _ body: (SigningPublicKey, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachEncodedEnvelope(missingFrom: known, reading: reading, ids: true) { author, id, p in try body(author, id, p) }
    }

    private func forEachEncodedEnvelope(missingFrom known: VersionVector, reading: (SigningPublicKey) -> Bool, ids: Bool,
                                        _ body: (SigningPublicKey, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        var authors: [[UInt8]] = []
        try db.prepare("SELECT DISTINCT author FROM ops ORDER BY author").rows { authors.append($0.blob(0)) }
        let s = try db.prepare("SELECT envelope\(ids ? ", id" : "") FROM ops WHERE author = ? AND seq > ? ORDER BY seq")
        let least = Envelope.headerLength + 4 + Signature.length
        for a in authors {
            guard let author = try? SigningPublicKey(bytes: a) else { throw StoreError.corrupt("op author of the wrong length") }
            guard reading(author) else { continue }
            try s.rows([.blob(a), .int(Self.sqlSeq(known[author]))]) { row in
                try row.withBlob(0) { p in
                    // What decoding would catch first: a row that is not an envelope of this version.
                    guard p.count >= least, p[0] == Envelope.version else { throw StoreError.corrupt("a stored op is not an envelope") }
                    guard ids else { return try body(author, UnsafeRawBufferPointer(start: nil, count: 0), p) }
                    try row.withBlob(1) { id in
                        guard id.count == OpID.length else { throw StoreError.corrupt("a stored op id of the wrong length") }
                        try body(author, id, p)
                    }
                }
            }
        }
    }

    // MARK: peers (the ledger)

    /// The vector a peer is known to hold, from the bundles and sessions it sent us.
    public func acknowledged(by peer: NodeID) throws(StoreError) -> VersionVector {
        let s = try db.prepare("SELECT acked FROM peers WHERE node = ?")
        try s.bind([.text(peer.description)])
        guard try s.step(), !s.isNull(0) else { return VersionVector() }
        guard let v = try? VersionVector(decoding: s.blob(0)) else { throw .corrupt("stored peer vector is malformed") }
        return v
    }

    /// Raises what `peer` is known to hold to include `vector`, and notes when it said so
    /// (`at`, wall ms; now when nil). A vector from a bundle the peer created (`created`, the
    /// peer's own clock) later than any before it replaces the row instead: a node can lose
    /// ops (a withdrawal lifted when its author's revocation arrives), and only its newest
    /// word says so. A `created` more than a day ahead of this node's clock is not believed
    /// (it would leave every later bundle looking older); such a bundle, and an older one
    /// read late off a stick, are merged as before.
    public func acknowledge(_ vector: VersionVector, by peer: NodeID, at: Int64? = nil, created: UInt64? = nil) throws(StoreError) {
        var v = try acknowledged(by: peer)
        let when = at ?? Int64(Date().timeIntervalSince1970 * 1000)
        var newest: Int64?
        if let c = created.map(Int64.init(clamping:)), c <= when &+ Self.createdAhead {
            let s = try db.prepare("SELECT bundle_created FROM peers WHERE node = ?")
            try s.bind([.text(peer.description)])
            let last = try s.step() && !s.isNull(0) ? s.int(0) : nil
            if last.map({ c > $0 }) ?? true { newest = c }
        }
        if newest != nil { v = vector } else { v.merge(vector) }
        try db.prepare("""
            INSERT INTO peers(node, acked, heard_at, bundle_created) VALUES(?1, ?2, ?3, ?4)
            ON CONFLICT(node) DO UPDATE SET acked = excluded.acked, heard_at = excluded.heard_at,
                bundle_created = coalesce(?4, bundle_created)
            """).run([.text(peer.description), .blob(v.encoded()), .int(when), newest.map { .int($0) } ?? .null])
    }

    /// How far ahead of this node's clock a bundle's `created` may be and still be believed.
    public static let createdAhead: Int64 = 86_400_000

    /// When each peer last told this node what it holds (wall ms), by node id.
    public func heardAt() throws(StoreError) -> [NodeID: Int64] {
        let s = try db.prepare("SELECT node, heard_at FROM peers WHERE heard_at IS NOT NULL")
        var out: [NodeID: Int64] = [:]
        while try s.step() { if let id = NodeID(string: s.text(0)) { out[id] = s.int(1) } }
        return out
    }

    /// Notes that `peer` sent ops it should hear back about (the mailbox writes it a bundle).
    public func setOwesAck(to peer: NodeID) throws(StoreError) {
        try db.prepare("INSERT INTO peers(node, owes_ack) VALUES(?, 1) ON CONFLICT(node) DO UPDATE SET owes_ack = 1")
            .run([.text(peer.description)])
    }

    /// Notes a bundle written to `peer`: this node's vector then, the peer's acknowledged
    /// vector then, and that nothing is owed to it any more.
    public func recordSent(_ mine: VersionVector, ackSeen: VersionVector, to peer: NodeID) throws(StoreError) {
        try db.prepare("""
            INSERT INTO peers(node, last_sent, last_ack_seen, owes_ack) VALUES(?, ?, ?, 0)
            ON CONFLICT(node) DO UPDATE SET last_sent = excluded.last_sent,
                last_ack_seen = excluded.last_ack_seen, owes_ack = 0
            """).run([.text(peer.description), .blob(mine.encoded()), .blob(ackSeen.encoded())])
    }

    /// Remembers `peer` at `address`; `pinned` when a person named this key for this address.
    public func setAddress(_ address: String, for peer: NodeID, pinned: Bool = true) throws(StoreError) {
        try db.prepare("""
            INSERT INTO peers(node, address, pinned) VALUES(?, ?, ?)
            ON CONFLICT(node) DO UPDATE SET address = excluded.address, pinned = excluded.pinned
            """).run([.text(peer.description), .text(address), .int(pinned ? 1 : 0)])
        // One key per address: a new pin replaces the old one there.
        if pinned {
            try db.prepare("UPDATE peers SET pinned = 0 WHERE address = ? AND node != ?").run([.text(address), .text(peer.description)])
        }
    }

    /// One peer's row of the ledger.
    public struct PeerRecord: Sendable {
        public let node: NodeID
        public let address: String?
        public let acked: VersionVector
        /// The address was pinned by hand for this node's key.
        public let pinned: Bool
        /// This node's vector when it last wrote the peer a bundle.
        public let lastSent: VersionVector?
        /// What the peer had acknowledged when that bundle was written.
        public let lastAckSeen: VersionVector?
        /// The peer sent ops since: it should get a bundle back, news or not.
        public let owesAck: Bool

        public init(node: NodeID, address: String?, acked: VersionVector, pinned: Bool = false,
                    lastSent: VersionVector? = nil, lastAckSeen: VersionVector? = nil, owesAck: Bool = false) {
            self.node = node; self.address = address; self.acked = acked; self.pinned = pinned
            self.lastSent = lastSent; self.lastAckSeen = lastAckSeen; self.owesAck = owesAck
        }
    }

    /// Every peers row whose node id parses (a row of any other text names no node).
    public func peers() throws(StoreError) -> [PeerRecord] {
        try peerRows(where: "", [])
    }

    public func peer(_ id: NodeID) throws(StoreError) -> PeerRecord? {
        try peerRows(where: "WHERE node = ?", [.text(id.description)]).first
    }

    private func peerRows(where clause: String, _ values: [Statement.Value]) throws(StoreError) -> [PeerRecord] {
        func vector(_ s: Statement, _ i: Int32) -> VersionVector? {
            s.isNull(i) ? nil : try? VersionVector(decoding: s.blob(i))
        }
        var out: [PeerRecord] = []
        let s = try db.prepare("SELECT node, address, acked, pinned, last_sent, last_ack_seen, owes_ack FROM peers \(clause) ORDER BY node")
        try s.bind(values)
        while try s.step() {
            guard let id = NodeID(string: s.text(0)) else { continue }
            out.append(PeerRecord(node: id, address: s.isNull(1) ? nil : s.text(1), acked: vector(s, 2) ?? VersionVector(),
                                  pinned: s.int(3) != 0, lastSent: vector(s, 4), lastAckSeen: vector(s, 5), owesAck: s.int(6) != 0))
        }
        return out
    }

    /// The node pinned for exactly `address`, if any.
    public func pinnedPeer(at address: String) throws(StoreError) -> NodeID? {
        let s = try db.prepare("SELECT node FROM peers WHERE address = ? AND pinned = 1 LIMIT 1")
        try s.bind([.text(address)])
        return try s.step() ? NodeID(string: s.text(0)) : nil
    }

    // MARK: mailbox

    public struct OutboxEntry: Sendable {
        public let file: String
        /// Nil when the row names no node id: the mailbox removes such a file.
        public let peer: NodeID?
        /// Nil once the peer said it imported the bundle.
        public let bundleID: BundleID?
        public let vector: VersionVector

        public init(file: String, peer: NodeID?, bundleID: BundleID?, vector: VersionVector) {
            self.file = file; self.peer = peer; self.bundleID = bundleID; self.vector = vector
        }
    }

    public func outbox() throws(StoreError) -> [OutboxEntry] {
        var out: [OutboxEntry] = []
        let s = try db.prepare("SELECT file, peer, bundle_id, vector FROM outbox ORDER BY file")
        try s.bind([])
        while try s.step() {
            out.append(OutboxEntry(file: s.text(0), peer: NodeID(string: s.text(1)), bundleID: BundleID(bytes: s.blob(2)),
                                   vector: (try? VersionVector(decoding: s.blob(3))) ?? VersionVector()))
        }
        return out
    }

    public func recordOutbox(_ e: OutboxEntry) throws(StoreError) {
        try db.prepare("INSERT OR REPLACE INTO outbox(file, peer, bundle_id, vector) VALUES(?, ?, ?, ?)")
            .run([.text(e.file), .text(e.peer?.description ?? ""), .blob(e.bundleID?.bytes ?? []), .blob(e.vector.encoded())])
    }

    public func forgetOutbox(file: String) throws(StoreError) {
        try db.prepare("DELETE FROM outbox WHERE file = ?").run([.text(file)])
    }

    public func recordImportedBundle(_ id: BundleID) throws(StoreError) {
        try db.prepare("INSERT OR IGNORE INTO imported_bundles(bundle_id, seq) VALUES(?, (SELECT coalesce(max(seq), 0) + 1 FROM imported_bundles))")
            .run([.blob(id.bytes)])
    }

    public func hasImportedBundle(_ id: BundleID) throws(StoreError) -> Bool {
        let s = try db.prepare("SELECT 1 FROM imported_bundles WHERE bundle_id = ?")
        try s.bind([.blob(id.bytes)])
        return try s.step()
    }

    /// The most recently imported bundle ids, newest first.
    public func recentImportedBundles(limit: Int = 64) throws(StoreError) -> [BundleID] {
        var out: [BundleID] = []
        let s = try db.prepare("SELECT bundle_id FROM imported_bundles ORDER BY seq DESC LIMIT ?")
        try s.bind([.int(Int64(limit))])
        while try s.step() { if let id = BundleID(bytes: s.blob(0)) { out.append(id) } }
        return out
    }

    // MARK: session key cache

    /// Every cached (tag, sealed) pair. The node computes the tag (a keyed hash of the session
    /// id) and seals the id with the key, so the table names no session.
    public func sealedSessionKeys() throws(StoreError) -> [(tag: [UInt8], sealed: [UInt8])] {
        var out: [(tag: [UInt8], sealed: [UInt8])] = []
        let s = try db.prepare("SELECT tag, sealed FROM session_keys")
        try s.bind([])
        while try s.step() { out.append((s.blob(0), s.blob(1))) }
        return out
    }

    /// Inserts the rows in one write transaction, only if no other connection has committed
    /// since `PRAGMA data_version` read `seen` (nil: whatever happened). Returns whether it did.
    /// A withdrawal another process committed after the caller read the log deletes cached
    /// keys; a caller whose keys predate it must not write them back.
    @discardableResult
    public func cacheSessionKeys(_ entries: [(tag: [UInt8], sealed: [UInt8])], ifDataVersion seen: Int64? = nil) throws -> Bool {
        guard !entries.isEmpty else { return true }
        let insert = try db.prepare("INSERT OR IGNORE INTO session_keys(tag, sealed) VALUES(?, ?)")
        return try db.transaction {
            if let seen, try dataVersion() != seen { return false }
            for e in entries { try insert.run([.blob(e.tag), .blob(e.sealed)]) }
            return true
        }
    }

    // MARK: integrity

    /// SQLite's own check plus a decode of every stored envelope. Empty means clean.
    public func integrityProblems() throws -> [String] {
        var problems: [String] = []
        do {
            try db.prepare("PRAGMA integrity_check").rows { s in
                let t = s.text(0)
                if t != "ok" { problems.append("sqlite: \(t)") }
            }
        } catch let StoreError.corrupt(why) {
            // So damage reads as a problem with advice, not as a failed command.
            return ["sqlite: \(why)"]
        }
        guard problems.isEmpty else { return problems }
        var bad = 0
        var chain: [Envelope] = []
        func settle() {
            bad += Self.authenticate(chain).filter { !$0 }.count
            chain.removeAll(keepingCapacity: true)
        }
        try db.prepare("SELECT id, envelope FROM ops ORDER BY author, seq").rows { s in
            guard let env = try? Envelope(decoding: s.blob(1)), env.id.bytes == s.blob(0) else { bad += 1; return }
            if let last = chain.last, last.author != env.author { settle() }
            chain.append(env)
        }
        settle()
        if bad > 0 { problems.append("\(bad) stored ops fail to decode or verify") }
        return problems
    }
}

public struct ImportReport: Sendable {
    public var new = 0
    public var known = 0
    public var forks = 0
    /// Of `new`, the membership ops: who may write changed.
    public var newMembership = 0
    /// The authors of the `new` ops: a revoked author's chain decides which of its ops count.
    public var newAuthors: Set<SigningPublicKey> = []
    public var refused: [(id: OpID, author: SigningPublicKey, seq: UInt64, reason: CoreError)] = []

    public init() {}

    mutating func refuse(_ env: Envelope, _ why: CoreError) { refused.append((env.id, env.author, env.seq, why)) }

    public mutating func merge(_ o: ImportReport) {
        new += o.new; known += o.known; forks += o.forks; newMembership += o.newMembership
        newAuthors.formUnion(o.newAuthors); refused += o.refused
    }
}

/// Holds the caller's non-escaping `next` for the producer thread, until the call returns.
private final class Source: @unchecked Sendable {
    var next: (() throws -> [Envelope]?)?
    init(_ next: @escaping () throws -> [Envelope]?) { self.next = next }
}

/// A bounded hand-off from one producer thread to one consumer.
private final class Prefetch<T>: @unchecked Sendable {
    private let cond = NSCondition()
    private var items: [T] = []
    private let depth: Int
    private var cancelled = false
    private var finished = false

    init(depth: Int) { self.depth = depth }

    /// False when the consumer gave up: the producer should stop.
    func put(_ item: T) -> Bool {
        cond.lock(); defer { cond.unlock() }
        while items.count >= depth && !cancelled { cond.wait() }
        guard !cancelled else { return false }
        items.append(item)
        cond.broadcast()
        return true
    }

    func take() -> T {
        cond.lock(); defer { cond.unlock() }
        while items.isEmpty { cond.wait() }
        cond.broadcast()
        return items.removeFirst()
    }

    func finish() {
        cond.lock(); finished = true; cond.broadcast(); cond.unlock()
    }

    func cancelAndWait() {
        cond.lock(); defer { cond.unlock() }
        cancelled = true
        cond.broadcast()
        while !finished { cond.wait() }
    }
}

// MARK: reading the log by row

/// Rows are numbered in the order ops were stored and ops are never deleted, so a reader that
/// remembers the last row it read catches up on exactly the ops stored since.
extension OpStore {
    /// Changes whenever another connection (another process on this home, or a session's own
    /// connection) commits; this connection's own commits leave it as it was.
    public func dataVersion() throws(StoreError) -> Int64 {
        let s = try db.prepare("PRAGMA data_version")
        _ = try s.step()
        return s.int(0)
    }

    /// The last row stored; 0 for an empty log.
    public func lastRow() throws(StoreError) -> Int64 {
        let s = try db.prepare("SELECT coalesce(max(rowid), 0) FROM ops")
        _ = try s.step()
        return s.int(0)
    }

    /// Every envelope stored up to `row`, in author-chain order: a rebuild reads exactly what a
    /// later `envelopes(afterRow:)` does not, even while another process imports.
    public func allEnvelopes(throughRow row: Int64) throws -> [Envelope] {
        var out: [Envelope] = []
        // `+rowid` keeps SQLite on the (author, seq) index instead of sorting the whole log.
        try db.prepare("SELECT envelope FROM ops WHERE +rowid <= ? ORDER BY author, seq").rows([.int(row)]) { s in
            out.append(try Envelope(decoding: s.blob(0)))
        }
        return out
    }

    /// The envelopes stored after `row`, and the last row among them (`row` when none).
    public func envelopes(afterRow row: Int64) throws -> (envelopes: [Envelope], through: Int64) {
        var out: [Envelope] = []
        var last = row
        try db.prepare("SELECT rowid, envelope FROM ops WHERE rowid > ? ORDER BY rowid").rows([.int(row)]) { s in
            last = max(last, s.int(0))
            out.append(try Envelope(decoding: s.blob(1)))
        }
        return (out, last)
    }

    /// Deletes every setting whose key starts with `prefix`: a value stored in parts.
    public func deleteSettings(prefix: String) throws(StoreError) {
        try db.prepare("DELETE FROM settings WHERE substr(key, 1, length(?1)) = ?1").run([.text(prefix)])
    }

    /// How many ops are stored up to `row` and the id at `row`: what a reader that covered the
    /// log up to there checks, so it never trusts a mark that belongs to another log.
    public func logMark(throughRow row: Int64) throws(StoreError) -> (count: Int64, id: OpID?) {
        let c = try db.prepare("SELECT count(*) FROM ops WHERE rowid <= ?")
        try c.bind([.int(row)])
        _ = try c.step()
        let count = c.int(0)
        let i = try db.prepare("SELECT id FROM ops WHERE rowid = ?")
        try i.bind([.int(row)])
        return (count, try i.step() ? try? OpID(bytes: i.blob(0)) : nil)
    }
}
