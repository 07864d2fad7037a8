import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// What is sealed to a coordinator goes to its reader key once it has announced one, so the box
/// key of its node id (in the key file, on every stick as a bundle recipient) stops opening new
/// content (ops.md section 4, "Sealing to reader keys"); backup pieces carry the reader key
/// (backup.md, version 2 of the secret).
@Suite("Node: sealing to reader keys, and pieces that carry them")
struct ReaderKeySealingTests {
    static func cases(_ n: Node, _ envs: [Envelope], readers: [BoxKeyPair]) throws -> Set<CaseID> {
        Set(ProjectView(project: try #require(try n.project()), envelopes: envs, readers: readers).cases.keys)
    }

    @Test("coordinators' and reporters' writes open with coordinators' reader keys and not with their node ids' box keys, once announced")
    func newContentShutsToTheBoxKey() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2"), r = try RoleKit.make(dir, "r")
        try RoleKit.admit(c, as: .coordinator, by: f)
        try RoleKit.admit(r, as: .reporter, by: f)
        // Written before c2 announced: sealed to c2's node id (the fallback ops.md names).
        let early = try f.addCase(RoleKit.doc("Дело до ключа", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, c)
        #expect(RoleKit.readable(try c.envelopes(missingFrom: VersionVector()), project: pid, by: c.identity.box).contains(early))

        let byC = try c.addCase(RoleKit.doc("Дело второго координатора", person: "Асель Сулейменова"))
        try NodeFixture.syncBothWays(f, c)
        try NodeFixture.syncBothWays(f, r)
        let byF = try f.addCase(RoleKit.doc("Дело основателя", person: "Жанна Ахметова"))
        let byR = try r.addCase(RoleKit.doc("Дело репортёра", person: "Нурлан Бекетов"))
        try NodeFixture.syncBothWays(f, r)
        try NodeFixture.syncBothWays(f, c)

        let all = try f.envelopes(missingFrom: VersionVector())
        let fresh: Set = [byC, byF, byR]
        for n in [f, c] {
            let held = try #require(try n.storedReaderKey()).keys
            #expect(try f.view().membership.readerKeys[n.nodeID.signingKey]?.key == held.publicKey)
            // The node id's box key alone: none of what was written after the announcements.
            #expect(try Self.cases(n, all, readers: [n.identity.box]).isDisjoint(with: fresh), "\(n.nodeID.fingerprint)'s box key opened new content")
            // Its reader key alone: all of it; both keys: everything, the early case too.
            #expect(try Self.cases(n, all, readers: [held]).isSuperset(of: fresh))
            #expect(try Self.cases(n, all, readers: try n.openingKeys()).isSuperset(of: fresh.union([early])))
            #expect(try n.view().cases.keys.contains(byR))
        }
        // A reporter announces none: it reads its own writes with a key of its own, not its box key.
        #expect(try f.view().membership.readerKeys[r.nodeID.signingKey] == nil)
        let own = try #require(try r.storedReaderKey()).keys
        #expect(RoleKit.readable(try r.envelopes(missingFrom: VersionVector()), project: pid, by: own).contains(byR))
        #expect(!RoleKit.readable(try r.envelopes(missingFrom: VersionVector()), project: pid, by: r.identity.box).contains(byR))
    }

    @Test("a founder's every key entry (project name, cases, withdrawal note) opens with its reader key and none with its box key")
    func everyEntryOfTheFounder() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let id = try f.addCase(RoleKit.doc("Дело", person: "Человек"))
        _ = try f.addCase(RoleKit.doc("Другое дело", person: "Другой человек"))
        _ = try f.withdraw(id.description, reason: "отозвано свидетелем")
        let all = try f.envelopes(missingFrom: VersionVector())
        // The withdrawal retired the key the earlier entries were sealed to: the reader key and
        // the retired one, never the box key.
        let held = [try #require(try f.storedReaderKey()).keys] + (try f.retiredReaderKeys()).map(\.keys)
        #expect(held.count == 2)
        var entries = 0
        for e in all where e.kind == .sealed && e.author == f.nodeID.signingKey {
            guard let body = try? SealedBody(decoding: e.body), body.sealedKeys != nil || body.parentKeys != nil else { continue }
            entries += 1
            #expect(body.openSessionKey(with: f.identity.box) == nil && body.openParentKey(with: f.identity.box) == nil)
            #expect(held.contains { body.openSessionKey(with: $0) != nil || body.openParentKey(with: $0) != nil })
        }
        #expect(entries >= 2, "the name, and the case's and the note's sessions")
        #expect(ProjectView(project: pid, envelopes: all, reader: f.identity.box).projectName.survivors.isEmpty)
        #expect(!ProjectView(project: pid, envelopes: all, readers: try f.openingKeys()).projectName.survivors.isEmpty)
        #expect(try f.withdrawalRecords().first?.why == "отозвано свидетелем")
    }

    @Test("a coordinator restored from 3 of 5 pieces reads what was sealed to its reader key; pieces without the key would not")
    func piecesCarryTheReaderKey() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        let written = Set(try (0..<3).map { try f.addCase(RoleKit.doc("Дело \($0)", person: "Человек \($0)")) })
        try NodeFixture.syncBothWays(f, c)

        let pieces = try f.splitBackup(threshold: 3, count: 5)
        let backup = try NodeBackup.combine([pieces[4], pieces[0], pieces[2]].enumerated().map { ("p\($0.offset)", $0.element) })
        let held = try #require(try f.storedReaderKey())
        #expect(backup.reader?.epoch == held.epoch)
        #expect(backup.secret.count == NodeBackup.readerLength)

        let restored = try Node.restore(backup, home: dir.sub("restored"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
        #expect(try restored.storedReaderKey()?.keys.publicKey == held.keys.publicKey)
        _ = try NodeFixture.sync(c, to: restored)
        #expect(Set(try restored.view().cases.keys).isSuperset(of: written))

        // The same pieces without the reader key (version 1): the box key opens none of it.
        let v1 = NodeBackup(signingSeed: backup.signingSeed, boxSecret: backup.boxSecret, writeOnly: backup.writeOnly,
                            project: backup.project, networkKey: backup.networkKey)
        let old = try Node.restore(v1, home: dir.sub("restored-v1"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
        #expect(try old.backupPiecesStatus().awaitingSync)
        _ = try NodeFixture.sync(c, to: old)
        #expect(try old.storedReaderKey() == nil)
        #expect(Set(try old.view().cases.keys).isDisjoint(with: written))
        // Those pieces are out of date, and the node says so once it has synced.
        let s = try old.backupPiecesStatus()
        #expect(s.recorded && s.piecesReaderEpoch == 0 && s.readerEpoch == 1 && !s.current && !s.awaitingSync, "\(s)")
    }

    /// A founder whose pieces hold epoch 1 loses its key row and announces epoch 2; its device
    /// is then lost, and the pieces rebuild it on a fresh home, opened as a new process would.
    static func restoredFromStalePieces(_ dir: TempDir) throws -> (restored: Node, c2: Node, early: CaseID, between: CaseID) {
        let (f, _) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        let early = try c.addCase(RoleKit.doc("Дело эпохи 1", person: "Гульнара Бекова"))
        try NodeFixture.syncBothWays(f, c)
        let pieces = try f.splitBackup(threshold: 2, count: 3)
        try f.store.deleteSetting(Node.readerKeySetting)
        // A new process finds the row gone (the founder's home is "c").
        let f2 = try NodeFixture.open(dir, "c")
        _ = try f2.addCase(RoleKit.doc("Дело после потери ключа", person: "Марат Искаков"))
        try NodeFixture.syncBothWays(f2, c)
        let between = try c.addCase(RoleKit.doc("Дело эпохи 2", person: "Айгерим Нурова"))
        try NodeFixture.syncBothWays(f2, c)
        #expect(try c.view().membership.readerKeys[f.nodeID.signingKey]?.epoch == 2)
        let backup = try NodeBackup.combine([("a", pieces[0]), ("b", pieces[2])])
        #expect(backup.reader?.epoch == 1)
        // The restore and its first sync, in a process that ends before the next starts.
        try {
            let r = try Node.restore(backup, home: dir.sub("restored"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
            _ = try NodeFixture.sync(c, to: r)
        }()
        // As a sync that needed no view leaves a home: no cached keys, no view snapshot.
        let fresh = try NodeFixture.open(dir, "restored")
        try fresh.store.forgetSessionKeys(tags: try fresh.store.sealedSessionKeys().map(\.tag))
        try fresh.store.deleteSettings(prefix: Node.snapshotPrefix)
        return (fresh, c, early, between)
    }

    @Test("pieces older than the node's reader key say so until new pieces are split")
    func stalePiecesAreNamed() throws {
        let dir = try TempDir()
        let (r, _, _, _) = try Self.restoredFromStalePieces(dir)
        let s = try r.backupPiecesStatus()
        #expect(s.recorded && s.piecesReaderEpoch == 1 && s.readerEpoch == 2 && !s.current, "\(s)")
        let set = try r.splitBackupSet(threshold: 2, count: 3)
        #expect(try !r.backupPiecesStatus().current, "a set split and not yet handed out counts")
        try r.recordPieces(set)
        let pieces = set.pieces
        let again = try NodeFixture.open(dir, "restored").backupPiecesStatus()
        #expect(again.current && again.piecesReaderEpoch == 3 && again.readerEpoch == 3 && again.backupId == pieces[0].backup
                    && again.threshold == 2 && again.shares == 3, "\(again)")
        // A record that no longer opens reads as none: the advice is to split again.
        try r.store.setSetting(Node.piecesSetting, [1, 2, 3])
        #expect(try !r.backupPiecesStatus().recorded)
    }

    @Test("restored from pieces older than its last epoch, a coordinator's withdrawal note is sealed to a key it holds, not to the lost one")
    func staleRestoreSealsToWhatItHolds() throws {
        let dir = try TempDir()
        let (r, c, early, _) = try Self.restoredFromStalePieces(dir)
        _ = try r.withdraw(early.description, reason: "свидетель отозвал согласие")
        #expect(try r.withdrawalRecords().first?.why == "свидетель отозвал согласие", "the node cannot read its own note")
        _ = try NodeFixture.sync(r, to: c)
        #expect(try c.withdrawalRecords().first?.why == "свидетель отозвал согласие")
    }

    @Test("restored from pieces older than its last epoch, a coordinator reads what the old key opens before its first change replaces the key")
    func staleRestoreKeepsWhatTheOldKeyOpens() throws {
        let dir = try TempDir()
        let (r, _, early, between) = try Self.restoredFromStalePieces(dir)
        _ = try r.addCase(RoleKit.doc("Дело после восстановления", person: "Ерлан Жумабаев"))
        #expect(try r.storedReaderKey()?.epoch == 3, "a new epoch above the announced one")
        let fresh = try NodeFixture.open(dir, "restored")
        let cases = try fresh.view().cases.keys
        #expect(cases.contains(early), "what epoch 1 sealed was not read and cached before the key was replaced")
        // What was sealed to epoch 2 (the key the lost store made) opens on no device of this node.
        #expect(!cases.contains(between))
    }
}
