import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqStore

/// Schema 7: the mailbox's memory of each peer lives in its peers row, not in
/// `lastsent:`/`lastack:`/`needsack:` settings rows.
@Suite struct PeerLedgerTests {
    /// Takes a store back to schema 6's peers table (its rows stay): migrations 11's and 13's columns too.
    static let undoMigrationSeven = """
        ALTER TABLE peers DROP COLUMN bundle_created;
        ALTER TABLE peers DROP COLUMN heard_at;
        ALTER TABLE peers DROP COLUMN last_sent;
        ALTER TABLE peers DROP COLUMN last_ack_seen;
        ALTER TABLE peers DROP COLUMN owes_ack;

        """

    /// A store written by schema 6, with the settings rows an older mailbox left.
    @Test func migrationSevenMovesMailboxSettingsIntoTheLedger() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        let known = Founder(), fresh = Founder(), author = Founder()
        let sent = VersionVector([author.author: 5]), seen = VersionVector([author.author: 3])
        let acked = VersionVector([author.author: 2])
        do {
            let store = try OpStore(path: path)
            try store.db.execute(Self.undoMigrationSeven + "PRAGMA user_version = 6;")
            // The old code's own SQL: peers rows, settings rows keyed `prefix:NODE`.
            try store.db.prepare("INSERT INTO peers(node, address, acked, pinned) VALUES(?, ?, ?, 1)")
                .run([.text(known.nodeID.description), .text("10.0.0.9:7447"), .blob(acked.encoded())])
            let setting = try store.db.prepare("INSERT OR REPLACE INTO settings(key, value) VALUES(?, ?)")
            try setting.run([.text("lastsent:\(known.nodeID)"), .blob(sent.encoded())])
            try setting.run([.text("lastack:\(known.nodeID)"), .blob(seen.encoded())])
            try setting.run([.text("needsack:\(fresh.nodeID)"), .blob([1])])
            try setting.run([.text("author-limits"), .blob([UInt8](repeating: 1, count: 16))])
        }
        let store = try OpStore(path: path)
        #expect(try store.schemaVersion() == OpStore.supportedSchema)

        let k = try #require(try store.peer(known.nodeID))
        #expect(k.lastSent == sent)
        #expect(k.lastAckSeen == seen)
        #expect(k.owesAck == false)
        #expect(k.acked == acked, "what the row held stays")
        #expect(k.address == "10.0.0.9:7447" && k.pinned)

        let f = try #require(try store.peer(fresh.nodeID), "a peer known only by a settings row gets a row")
        #expect(f.owesAck)
        #expect(f.lastSent == nil && f.lastAckSeen == nil)
        #expect(f.address == nil && !f.pinned)

        for prefix in ["lastsent:", "lastack:", "needsack:"] {
            #expect(try store.settings(prefix: prefix).isEmpty, "\(prefix) rows are gone")
        }
        #expect(try store.setting("author-limits") != nil, "other settings stay")
    }

    @Test func recordingASentBundleClearsTheOwedAck() throws {
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let peer = Founder(), author = Founder()
        try store.setOwesAck(to: peer.nodeID)
        #expect(try store.peer(peer.nodeID)?.owesAck == true)
        let mine = VersionVector([author.author: 4]), theirs = VersionVector([author.author: 1])
        try store.recordSent(mine, ackSeen: theirs, to: peer.nodeID)
        let row = try #require(try store.peer(peer.nodeID))
        #expect(row.owesAck == false)
        #expect(row.lastSent == mine && row.lastAckSeen == theirs)
        // Acknowledging leaves the mailbox columns alone.
        try store.acknowledge(mine, by: peer.nodeID)
        #expect(try store.peer(peer.nodeID)?.lastSent == mine)
        #expect(try store.acknowledged(by: peer.nodeID) == mine)
    }

    @Test("a bundle newer than any before it from that peer replaces its row, so a loss shows; an older one, read late, and a TCP vector are merged; a creation time from the far future is not believed")
    func newestBundleReplaces() throws {
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let peer = Founder(), a = Founder(), b = Founder()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let t = UInt64(now - 10_000)
        try store.acknowledge(VersionVector([a.author: 9, b.author: 3]), by: peer.nodeID, created: t)
        #expect(try store.acknowledged(by: peer.nodeID) == VersionVector([a.author: 9, b.author: 3]))
        // The peer lost a's ops from seq 5 (a lifted withdrawal) and says so in a newer bundle.
        try store.acknowledge(VersionVector([a.author: 4, b.author: 3]), by: peer.nodeID, created: t + 1)
        #expect(try store.acknowledged(by: peer.nodeID) == VersionVector([a.author: 4, b.author: 3]))
        // The same bundle again, and an older one off a stick: merged, as before.
        try store.acknowledge(VersionVector([a.author: 4, b.author: 2]), by: peer.nodeID, created: t + 1)
        #expect(try store.acknowledged(by: peer.nodeID) == VersionVector([a.author: 4, b.author: 3]))
        try store.acknowledge(VersionVector([a.author: 6]), by: peer.nodeID, created: t - 5)
        #expect(try store.acknowledged(by: peer.nodeID) == VersionVector([a.author: 6, b.author: 3]))
        // A TCP session's vector carries no creation time: merged.
        try store.acknowledge(VersionVector([a.author: 1, b.author: 5]), by: peer.nodeID)
        #expect(try store.acknowledged(by: peer.nodeID) == VersionVector([a.author: 6, b.author: 5]))
        // A clock two days ahead: merged, and it does not make the next true bundle look older.
        try store.acknowledge(VersionVector([b.author: 6]), by: peer.nodeID, created: UInt64(now + 2 * 86_400_000))
        #expect(try store.acknowledged(by: peer.nodeID) == VersionVector([a.author: 6, b.author: 6]))
        try store.acknowledge(VersionVector([b.author: 7]), by: peer.nodeID, created: t + 2)
        #expect(try store.acknowledged(by: peer.nodeID) == VersionVector([b.author: 7]))
    }
}
