import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// Nothing is sealed to a reporter but by the reporter itself, so it seals its own entries to a
/// key of its own that no other node needs to know, and replaces it as soon as a withdrawal
/// reaches it (ops.md section 4, "A reporter's own key"): an old stick's withdrawn ops then open
/// with nothing a seized reporter's home holds.
@Suite("Node: a reporter's own key, replaced at each withdrawal")
struct ReporterSelfKeyTests {
    @Test("attack: a seized reporter's laptop, unlocked under duress, and its old stick: after the withdrawal reaches the reporter no key its home holds opens the withdrawn case's ops, and it still reads its kept case, in this process and the next")
    func oldStickShutOnTheReporter() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let gone = try r.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Пятнадцатый"))
        let kept = try r.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
        let stick = try r.envelopes(missingFrom: VersionVector())
        let goneOps = try ReaderKeyDestroyTests.ops(of: gone, in: stick, try r.view())
        #expect(!goneOps.isEmpty)
        #expect(try goneOps.allSatisfy { try ReaderKeyDestroyTests.anyHeldKeyOpens($0, r) }, "before the withdrawal the reporter reads its case")
        let rowBefore = try #require(try r.store.setting(Node.readerKeySetting), "the reporter keeps no key of its own")

        _ = try f.withdraw(gone.description, reason: "свидетель отозвал согласие")
        try NodeFixture.sync(f, to: r)
        for e in goneOps { #expect(try !ReaderKeyDestroyTests.anyHeldKeyOpens(e, r), "a key the reporter's home holds still opens a withdrawn op of its old stick") }
        for file in try ReaderKeyDestroyTests.homeBytes(dir, "r") { #expect(!ReaderKeyDestroyTests.contains(file, rowBefore), "the old key's row is still in a file of the home") }
        let check = try r.checkWithdrawn()
        #expect(check.oldCopiesShut == true && check.clean, "\(check)")
        var v = try r.view()
        #expect(v.cases[kept] != nil && v.cases[gone] == nil)
        v = try NodeFixture.open(dir, "r").view()
        #expect(v.cases[kept] != nil && v.cases[gone] == nil)
        // What it writes next opens for the coordinator as before.
        let later = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.view().cases[later] != nil)
    }

    @Test("the reporter's next change grants its kept sessions to the new key: with the key cache and the snapshot lost it reads its kept cases, not the withdrawn one")
    func keptCasesReadWithTheCacheLost() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        // One batch: one parent derives both sessions, so the parent row must go and the kept
        // session stay.
        let ids = try r.importCases([RoleKit.doc("Дело к отзыву", person: "Свидетель Шестнадцатый"),
                                     RoleKit.doc("Дело остаётся", person: "Ерлан Калиев")])
        try NodeFixture.syncBothWays(f, r)
        let stick = try r.envelopes(missingFrom: VersionVector())
        let goneOps = try ReaderKeyDestroyTests.ops(of: ids[0], in: stick, try r.view())
        _ = try f.withdraw(ids[0].description)
        try NodeFixture.sync(f, to: r)
        for e in goneOps { #expect(try !ReaderKeyDestroyTests.anyHeldKeyOpens(e, r), "a cached parent of the batch still derives the withdrawn session") }
        let later = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        try r.store.db.execute("DELETE FROM session_keys")
        try r.store.deleteSettings(prefix: Node.snapshotPrefix)
        let reopened = try NodeFixture.open(dir, "r")
        let v = try reopened.view()
        for c in [ids[1], later] { #expect(v.cases[c] != nil, "a kept case no longer reads with the cache lost") }
        #expect(v.cases[ids[0]] == nil)
        for e in goneOps { #expect(try !ReaderKeyDestroyTests.anyHeldKeyOpens(e, reopened), "the self-grant opens a withdrawn op") }
    }

    @Test("a desk open on the reporter's home, which wrote before a command replaced the key, pays the self-grant with its next change")
    func anotherProcessPaysTheSelfGrant() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let desk = try NodeFixture.open(dir, "r")
        let kept = try desk.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        let gone = try desk.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Двадцатый"))
        try NodeFixture.syncBothWays(f, r)
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: r)
        let later = try desk.addCase(RoleKit.doc("Дело с рабочего стола", person: "Жанна Ахметова"))
        try r.store.db.execute("DELETE FROM session_keys")
        try r.store.deleteSettings(prefix: Node.snapshotPrefix)
        let v = try NodeFixture.open(dir, "r").view()
        for c in [kept, later] { #expect(v.cases[c] != nil, "a kept case no longer reads with the cache lost: the desk's change did not pay the self-grant") }
        #expect(v.cases[gone] == nil)
    }

    @Test("attack: a second withdrawal's old stick is not opened through the first replacement's self-grant, whose cached key would hand out the second case's key")
    func aSecondWithdrawalLeavesNoGrantOpen() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let first = try r.addCase(RoleKit.doc("Первое дело к отзыву", person: "Свидетель Семнадцатый"))
        let second = try r.addCase(RoleKit.doc("Второе дело к отзыву", person: "Свидетель Восемнадцатый"))
        let kept = try r.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
        let stick = try r.envelopes(missingFrom: VersionVector())
        let secondOps = try ReaderKeyDestroyTests.ops(of: second, in: stick, try r.view())
        _ = try f.withdraw(first.description)
        try NodeFixture.sync(f, to: r)
        // The self-grant, sealed to the second key, carries the second case's session.
        _ = try r.addCase(RoleKit.doc("Дело после первой новости", person: "Жанна Ахметова"))
        _ = try f.withdraw(second.description)
        try NodeFixture.sync(f, to: r)
        for e in secondOps { #expect(try !ReaderKeyDestroyTests.anyHeldKeyOpens(e, r), "a key the reporter's home gives (through a grant) opens the second withdrawn case") }
        #expect(try r.view().cases[kept] != nil)
        #expect(try r.checkWithdrawn().oldCopiesShut == true)
    }

    @Test("pieces a reporter split before the replacement hold the old key: they read as out of date and say why; pieces split after are current")
    func piecesSplitBeforeAreOutOfDate() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        try r.setNetworkKey(try #require(try f.networkKey()))
        let gone = try r.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Девятнадцатый"))
        try NodeFixture.syncBothWays(f, r)
        try r.recordPieces(try r.splitBackupSet(threshold: 2, count: 3))
        #expect(try r.backupPiecesStatus().current)
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: r)
        var status = try r.backupPiecesStatus()
        #expect(!status.current && status.holdDestroyedKey, "\(status)")
        try r.recordPieces(try r.splitBackupSet(threshold: 2, count: 3))
        status = try r.backupPiecesStatus()
        #expect(status.current && !status.holdDestroyedKey, "\(status)")
    }

    @Test("a write-only reporter keeps no key of its own and seals nothing to itself; a lawyer keeps none either")
    func writeOnlyAndLawyersKeepNone() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let w = try RoleKit.make(dir, "w", writeOnly: true)
        try RoleKit.admit(w, as: .reporter, by: f)
        _ = try w.addCase(RoleKit.doc("Дело без копии", person: "Ерлан Калиев"))
        #expect(try w.store.setting(Node.readerKeySetting) == nil)
        #expect(try w.checkWithdrawn().oldCopiesShut == nil)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: f)
        #expect(try l.store.setting(Node.readerKeySetting) == nil)
    }

    @Test("a reporter promoted to coordinator announces the key it holds, and a coordinator's new case is sealed to it")
    func promotionAnnouncesTheHeldKey() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let held = try #require(try r.storedReaderKey())
        // A second add with a more capable role (another coordinator's, or an older build's).
        let pid = try #require(try f.project())
        let head = try #require(try f.store.chainHead(of: f.nodeID.signingKey))
        let w = OpWriter(keys: f.identity.signing, project: pid, seq: head.seq, prev: head.id, clock: HybridClock())
        _ = try f.importEnvelopes([w.membership(.add(member: r.nodeID, role: .coordinator))])
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело нового координатора", person: "Айгуль Нурланова"))
        try NodeFixture.sync(r, to: f)
        let announced = try #require(try f.storedMembership().readerKeys[r.nodeID.signingKey])
        #expect(announced.key == held.keys.publicKey && announced.epoch == held.epoch)
        let c = try f.addCase(RoleKit.doc("Дело координатора", person: "Нурлан Бекетов"))
        try NodeFixture.sync(f, to: r)
        #expect(try r.view().cases[c] != nil)
    }

    @Test("a reporter restored from pieces applies earlier withdrawals to its own ops before it has them back: its key stays, and its kept cases, arriving after, read")
    func aRestoredReporterKeepsItsKey() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        try r.setNetworkKey(try #require(try f.networkKey()))
        let gone = try r.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Двадцать второй"))
        try NodeFixture.syncBothWays(f, r)
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: r)
        let kept = try r.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
        let pieces = try r.splitBackup(threshold: 2, count: 3)
        let backup = try NodeBackup.combine([("a", pieces[0]), ("b", pieces[1])])
        let restored = try Node.restore(backup, home: dir.sub("restored"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
        // The coordinator's ops land first (the withdrawal among them), the reporter's own after.
        let all = try f.envelopes(missingFrom: VersionVector())
        _ = try restored.importEnvelopes(all.filter { $0.author != r.nodeID.signingKey })
        _ = try restored.importEnvelopes(all.filter { $0.author == r.nodeID.signingKey })
        let v = try restored.view()
        #expect(v.cases[kept] != nil, "the restored reporter replaced the key its kept ops are sealed to before they arrived")
        #expect(v.cases[gone] == nil)
    }

    @Test("attack on the race: another process on the reporter's home replaces its key while the desk seals a case to the old one; the desk seals again, to the new key")
    func aReplacementMeanwhileIsSealedTo() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let pid = try #require(try f.project())
        let gone = try r.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Двадцать третий"))
        try NodeFixture.syncBothWays(f, r)
        _ = try r.view()
        let command = try NodeFixture.open(dir, "r")
        var once = true
        r.beforeWriteCommitForTests = {
            guard once else { return }
            once = false
            // As a withdrawal applied at another process's open would leave it: due, no new
            // membership op since the desk read its stamp.
            try? command.store.setSetting(Node.readerRetireDueSetting, Random.bytes(16))
            _ = try? command.replaceSelfKeyIfDue()
        }
        let id = try r.addCase(RoleKit.doc("Дело со стола репортёра", person: "Асель Сулейменова"))
        #expect(!once)
        let key = try #require(try r.storedReaderKey()).keys
        #expect(RoleKit.readable(try r.envelopes(missingFrom: VersionVector()), project: pid, by: key).contains(id), "sealed to the replaced key after the home held the new one")
        _ = gone
    }

    @Test("a reporter promoted to coordinator while its replacement's self-grant is owed pays it at its next change")
    func aPromotionPaysTheOwedSelfGrant() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let pid = try #require(try f.project())
        let kept = try r.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        let gone = try r.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Двадцать четвёртый"))
        try NodeFixture.syncBothWays(f, r)
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: r)
        #expect(try r.store.setting(Node.selfGrantOwedSetting) != nil)
        let head = try #require(try f.store.chainHead(of: f.nodeID.signingKey))
        let w = OpWriter(keys: f.identity.signing, project: pid, seq: head.seq, prev: head.id, clock: HybridClock())
        _ = try f.importEnvelopes([w.membership(.add(member: r.nodeID, role: .coordinator))])
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело координатора", person: "Нурлан Бекетов"))
        #expect(try r.store.setting(Node.selfGrantOwedSetting) == nil)
        try r.store.db.execute("DELETE FROM session_keys")
        try r.store.deleteSettings(prefix: Node.snapshotPrefix)
        #expect(try NodeFixture.open(dir, "r").view().cases[kept] != nil, "with the cache lost the promoted reporter no longer reads its kept case")
    }
}
