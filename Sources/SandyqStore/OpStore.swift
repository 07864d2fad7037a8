import Foundation
import SandyqCore
import SandyqCrypto

/// The node's SQLite file: ciphertext envelopes, version vectors, settings, peers.
public final class OpStore: @unchecked Sendable {
    public let db: Database
    public static let fileName = "sandyq.db"

    public init(path: String) throws(StoreError) {
        db = try Database(path: path)
        // WAL: readers never block the writer and a crash mid-write leaves the last commit intact.
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
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

    /// Ops of `author` with seq above `after`, in order.
    public func envelopes(author: SigningPublicKey, after: UInt64) throws -> [Envelope] {
        var out: [Envelope] = []
        try db.prepare("SELECT envelope FROM ops WHERE author = ? AND seq > ? ORDER BY seq").rows([.blob(author.bytes), .int(Int64(after))]) { s in
            out.append(try Envelope(decoding: s.blob(0)))
        }
        return out
    }

    /// Everything this store holds that a holder of `known` lacks.
    public func envelopes(missingFrom known: VersionVector) throws -> [Envelope] {
        var out: [Envelope] = []
        for (author, _) in try versionVector().heads {
            out += try envelopes(author: author, after: known[author])
        }
        return out
    }

    /// Author -> highest contiguous seq, so gaps are asked for again.
    public func versionVector() throws(StoreError) -> VersionVector {
        var heads: [SigningPublicKey: UInt64] = [:]
        var current: SigningPublicKey?
        var expect: UInt64 = 1
        let s = try db.prepare("SELECT DISTINCT author, seq FROM ops ORDER BY author, seq")
        try s.bind([])
        while try s.step() {
            guard let a = try? SigningPublicKey(bytes: s.blob(0)) else { throw .corrupt("op author of the wrong length") }
            let seq = UInt64(s.int(1))
            if a != current { current = a; expect = 1 }
            if seq == expect { heads[a] = seq; expect += 1 }
        }
        return VersionVector(heads)
    }

    /// The last op of an author's chain on this node: (seq, id).
    public func chainHead(of author: SigningPublicKey) throws(StoreError) -> (seq: UInt64, id: OpID)? {
        let s = try db.prepare("SELECT seq, id FROM ops WHERE author = ? ORDER BY seq DESC LIMIT 1")
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
    public func importEnvelopes(_ envelopes: [Envelope], project: ProjectID) throws -> ImportReport {
        var report = ImportReport()
        let exists = try db.prepare("SELECT 1 FROM ops WHERE id = ?")
        let atSeq = try db.prepare("SELECT id FROM ops WHERE author = ? AND seq = ?")
        let insert = try db.prepare("INSERT INTO ops(id, author, seq, envelope) VALUES(?, ?, ?, ?)")
        let fork = try db.prepare("INSERT OR IGNORE INTO forks(author, seq) VALUES(?, ?)")
        try db.transaction {
            var seen: Set<OpID> = []
            // Chain order, so a batch can carry an op and its predecessor together.
            for env in envelopes.sorted(by: { ($0.author, $0.seq) < ($1.author, $1.seq) }) {
                guard env.project == project else { report.refuse(env, .wrongProject); continue }
                try exists.bind([.blob(env.id.bytes)])
                let known = try exists.step()
                if known || seen.contains(env.id) { report.known += 1; continue }
                do throws(OpError) { try env.verifySignature() } catch { report.refuse(env, error); continue }
                var siblings: [OpID] = []
                try atSeq.rows([.blob(env.author.bytes), .int(Int64(env.seq))]) { s in siblings.append(try OpID(bytes: s.blob(0))) }
                if env.seq > 1 {
                    var before: [OpID] = []
                    try atSeq.rows([.blob(env.author.bytes), .int(Int64(env.seq - 1))]) { s in before.append(try OpID(bytes: s.blob(0))) }
                    if !before.isEmpty && !before.contains(env.prev) { report.refuse(env, .brokenChain); continue }
                }
                try insert.run([.blob(env.id.bytes), .blob(env.author.bytes), .int(Int64(env.seq)), .blob(env.encoded)])
                seen.insert(env.id)
                report.new += 1
                report.newIDs.append(env.id)
                if !siblings.isEmpty {
                    // Two ops at one (author, seq): evidence of a stolen key. Keep both, flag it.
                    try fork.run([.blob(env.author.bytes), .int(Int64(env.seq))])
                    report.forks += 1
                }
            }
        }
        return report
    }

    // MARK: integrity

    /// SQLite's own check plus a decode of every stored envelope. Empty means clean.
    public func integrityProblems() throws -> [String] {
        var problems: [String] = []
        try db.prepare("PRAGMA integrity_check").rows { s in
            let t = s.text(0)
            if t != "ok" { problems.append("sqlite: \(t)") }
        }
        guard problems.isEmpty else { return problems }
        var bad = 0
        try db.prepare("SELECT id, envelope FROM ops").rows { s in
            guard let env = try? Envelope(decoding: s.blob(1)), env.id.bytes == s.blob(0),
                  (try? env.verifySignature()) != nil else { bad += 1; return }
        }
        if bad > 0 { problems.append("\(bad) stored ops fail to decode or verify") }
        return problems
    }
}

public struct ImportReport: Sendable {
    public var new = 0
    public var known = 0
    public var forks = 0
    public var refused: [(id: OpID, author: SigningPublicKey, seq: UInt64, reason: OpError)] = []
    public var newIDs: [OpID] = []

    public init() {}

    mutating func refuse(_ env: Envelope, _ why: OpError) { refused.append((env.id, env.author, env.seq, why)) }

    public mutating func merge(_ o: ImportReport) {
        new += o.new; known += o.known; forks += o.forks; refused += o.refused; newIDs += o.newIDs
    }
}
