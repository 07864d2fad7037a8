import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import SandyqStore

/// The session key cache (`session_keys`) at rest: a seizer who opens the SQLite file must not
/// learn from it which sessions (so which cases) this node reads.
@Suite struct SessionListAtRestTests {
    static let pw = SecureBytes(Array(NodeFixture.passphrase.utf8))

    /// Every blob and text value of every row of `session_keys`, read with raw SQL.
    static func rawSessionRows(_ home: String) throws -> [[UInt8]] {
        let db = try Database(path: Node.databasePath(home))
        let s = try db.prepare("SELECT * FROM session_keys")
        try s.bind([])
        var out: [[UInt8]] = []
        while try s.step() { out.append(s.blob(0)); out.append(s.blob(1)) }
        return out
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= hay.count else { return false }
        return (0...(hay.count - needle.count)).contains { Array(hay[$0..<$0 + needle.count]) == needle }
    }

    @Test("a lawyer's and a coordinator's stored session list names none of the sessions in the ops")
    func sessionListDoesNotPinpointSharedCases() throws {
        let dir = try TempDir()
        let c = try NodeFixture.make(dir, "c"), l = try NodeFixture.make(dir, "l")
        let pid = try c.createProject(name: "Сессии")
        try l.join(pid)
        _ = try c.addMember(l.nodeID, role: .lawyer)
        var docs: [CaseDocument] = []
        for i in 0..<4 { var d = CaseDocument(); d.title = "Дело \(i)"; docs.append(d) }
        let ids = try c.importCases(docs)
        try c.share(ids[1].description, with: l.nodeID)
        try NodeFixture.sync(c, to: l)
        #expect(Set(try l.view().cases.keys) == [ids[1]], "the lawyer reads the shared case")
        _ = try c.view()

        // The seizer: every sealing session and parent id in the ops, against every byte of session_keys.
        let sessions = try l.store.allEnvelopes().flatMap { e -> [(author: [UInt8], id: [UInt8])] in
            guard e.kind == .sealed, let b = try? SealedBody(decoding: e.body) else { return [] }
            return [(e.author.bytes, b.sessionID)] + (b.parentID.map { [(e.author.bytes, $0)] } ?? [])
        }
        #expect(sessions.count >= 7)
        for (name, home) in [("lawyer", dir.sub("l")), ("coordinator", dir.sub("c"))] {
            let rows = try Self.rawSessionRows(home)
            #expect(!rows.isEmpty, "\(name): the cache is used")
            var named = 0
            for s in sessions where rows.contains(where: { Self.contains($0, s.id) }) { named += 1 }
            #expect(named == 0, "\(name): \(named) session id(s) of the ops appear in session_keys")
            for s in sessions { #expect(!rows.contains { Self.contains($0, s.author + s.id) }, "\(name)") }
        }

        // The cache still works: a reopened lawyer reads the same, and each row opens.
        let reopened = try NodeFixture.open(dir, "l")
        #expect(try reopened.view().digest == (try l.view().digest))
        #expect(try reopened.store.sealedSessionKeys().count == (try l.view().sessionKeys.count + l.view().parentKeys.count))
    }

    @Test("a store from before the change drops its readable session list on open, and reads the same")
    func oldSessionListIsDropped() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir, "c", project: "Старая схема")
        var d = CaseDocument(); d.title = "Дело"
        _ = try c.addCase(d)
        let digest = try c.view().digest
        let sids = try c.store.allEnvelopes().compactMap { e -> SessionID? in
            guard e.kind == .sealed, let b = try? SealedBody(decoding: e.body) else { return nil }
            return SessionID(author: e.author, body: b)
        }
        // Put the store back as the previous schema wrote it: sid in the clear.
        let db = try Database(path: Node.databasePath(dir.sub("c")))
        try db.execute("DROP TABLE session_keys; CREATE TABLE session_keys (sid BLOB PRIMARY KEY, sealed BLOB NOT NULL); DROP TABLE IF EXISTS grants; DROP TABLE IF EXISTS grant_debts; ALTER TABLE peers DROP COLUMN pinned; ALTER TABLE peers DROP COLUMN last_sent; ALTER TABLE peers DROP COLUMN last_ack_seen; ALTER TABLE peers DROP COLUMN owes_ack; ALTER TABLE peers DROP COLUMN heard_at; ALTER TABLE peers DROP COLUMN bundle_created; PRAGMA user_version = 3")
        for sid in sids { try db.prepare("INSERT INTO session_keys(sid, sealed) VALUES(?, zeroblob(72))").run([.blob(sid.bytes)]) }

        let reopened = try NodeFixture.open(dir, "c")
        #expect(try reopened.store.schemaVersion() == OpStore.supportedSchema)
        #expect(try reopened.view().digest == digest)
        let rows = try Self.rawSessionRows(dir.sub("c"))
        #expect(!rows.isEmpty, "the cache is rebuilt")
        for sid in sids { #expect(!rows.contains { Self.contains($0, sid.local) }) }
    }
}
