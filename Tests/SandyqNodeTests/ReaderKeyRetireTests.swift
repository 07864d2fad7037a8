import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// A withdrawal retires the reader key of every coordinator that applies it (ops.md section 4,
/// "Retiring the reader key"): a new epoch, announced; a self-grant of what the view keeps,
/// sealed to the new key alone; the old key kept, opening only, for what writers seal to it
/// before they see the new one. Destroying the retired key: `ReaderKeyDestroyTests`.
@Suite("Node: a withdrawal retires the reader key")
struct ReaderKeyRetireTests {
    /// The grant-only ops `author` wrote that `reader` opens (not in `since`), and the sessions
    /// they grant.
    static func grantOps(_ reader: Node, by author: Node, since: Set<OpID> = []) throws -> (ops: [Envelope], sessions: Set<SessionID>) {
        let v = try reader.view()
        var ops: [Envelope] = [], sessions = Set<SessionID>()
        for e in try reader.envelopes(missingFrom: VersionVector()) where e.kind == .sealed && e.author == author.nodeID.signingKey && !since.contains(e.id) {
            guard let p = Node.payload(of: e, in: v), !p.mutations.isEmpty else { continue }
            let granted = p.mutations.compactMap { m -> SessionID? in if case let .grant(s, _) = m { s } else { nil } }
            guard granted.count == p.mutations.count else { continue }
            ops.append(e)
            sessions.formUnion(granted)
        }
        return (ops, sessions)
    }

    /// The sessions `node` granted to itself after `since`, and the ops that did.
    static func selfGranted(_ node: Node, since: Set<OpID>) throws -> (ops: [Envelope], sessions: Set<SessionID>) {
        try grantOps(node, by: node, since: since)
    }

    /// The sessions the ops themselves were sealed in.
    static func sessions(of ops: [Envelope]) -> Set<SessionID> {
        Set(ops.compactMap { e in (try? SealedBody(decoding: e.body)).map { SessionID(author: e.author, body: $0) } })
    }

    static func opens(_ e: Envelope, with keys: BoxKeyPair) -> Bool {
        guard let b = try? SealedBody(decoding: e.body) else { return false }
        return b.openSessionKey(with: keys) != nil || b.openParentKey(with: keys) != nil
    }

    @Test("the withdrawer moves to a new reader key and keeps the old one to open what a writer that has not seen the new one seals to it; its self-grant carries what is kept and nothing withdrawn")
    func aWithdrawalRetiresTheKey() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: f)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Первый"))
        let kept = try f.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        // Admitted after both: the founder's grants at its admission carry both cases' keys.
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        // c announces its reader key with its first change.
        _ = try c.addCase(RoleKit.doc("Первое дело второго координатора", person: "Айгуль Нурланова"))
        try NodeFixture.syncBothWays(f, c)
        try NodeFixture.syncBothWays(f, r)
        let seen = try f.view()
        let admissionGrants = Self.sessions(of: try Self.grantOps(c, by: f).ops)
        #expect(!admissionGrants.isEmpty)
        let stick = Set(try f.envelopes(missingFrom: VersionVector()).map(\.id))
        let before = try #require(try f.storedReaderKey())

        _ = try f.withdraw(gone.description, reason: "свидетель отозвал согласие")
        let after = try #require(try f.storedReaderKey())
        #expect(after.epoch == before.epoch + 1 && after.keys.publicKey != before.keys.publicKey)
        #expect(try f.retiredReaderKeys().map(\.epoch) == [before.epoch])
        #expect(try f.retiredReaderKeys().first?.keys.publicKey == before.keys.publicKey)
        #expect(try f.view().membership.readerKeys[f.nodeID.signingKey]?.key == after.keys.publicKey)
        let check = try f.checkWithdrawn()
        #expect(check.clean && check.readerEpoch == after.epoch && check.retiredKeys == 1 && !check.rotationDue, "\(check)")

        // The self-grant: sealed to the new key alone; every session of the kept case, none of
        // the withdrawn one's.
        let grant = try Self.selfGranted(f, since: stick)
        #expect(!grant.ops.isEmpty)
        #expect(grant.ops.contains { Self.opens($0, with: after.keys) })
        for e in grant.ops { #expect(!Self.opens(e, with: before.keys) && !Self.opens(e, with: f.identity.box)) }
        let keptSessions = try #require(seen.caseSessions[kept]), goneSessions = try #require(seen.caseSessions[gone])
        #expect(grant.sessions.isSuperset(of: keptSessions))
        #expect(grant.sessions.isDisjoint(with: goneSessions), "a withdrawn session's key was granted again")

        // A reporter that has not seen the new key seals to the old one: the withdrawer reads it
        // with the retired key, which is the only one of its keys that opens it.
        let late = try r.addCase(RoleKit.doc("Дело репортёра после отзыва", person: "Нурлан Бекетов"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.view().cases[late] != nil)
        let lateOps = try f.envelopes(missingFrom: VersionVector()).filter { $0.author == r.nodeID.signingKey && $0.kind == .sealed && !stick.contains($0.id) }
        #expect(lateOps.contains { Self.opens($0, with: before.keys) })
        #expect(!lateOps.contains { Self.opens($0, with: after.keys) })

        // A second coordinator retires too, at its next change (nothing written on import). Its
        // self-grant leaves out the sessions of the grants it was given at its admission, which
        // still carry the withdrawn case's key (ops.md, "Withdrawal", limit 7): through them its
        // new key would open the withdrawn case on an old stick.
        try NodeFixture.sync(f, to: c)
        let cBefore = try #require(try c.storedReaderKey())
        let cStick = Set(try c.envelopes(missingFrom: VersionVector()).map(\.id))
        #expect(try c.checkWithdrawn().rotationDue)
        _ = try c.addCase(RoleKit.doc("Дело второго координатора", person: "Асель Сулейменова"))
        #expect(try c.storedReaderKey()?.epoch == cBefore.epoch + 1)
        #expect(try c.retiredReaderKeys().map(\.keys.publicKey) == [cBefore.keys.publicKey])
        #expect(try !c.checkWithdrawn().rotationDue)
        let cGrant = try Self.selfGranted(c, since: cStick)
        #expect(cGrant.sessions.isSuperset(of: keptSessions))
        #expect(cGrant.sessions.isDisjoint(with: admissionGrants), "a grant op's session went into the self-grant")
        #expect(cGrant.sessions.isDisjoint(with: goneSessions))

        // With its retired key and its key cache lost, the withdrawer still reads the kept case
        // (from the self-grant): what its view held does not need the retired key any more.
        try f.store.deleteSettings(prefix: Node.retiredReaderKeyPrefix)
        try f.store.db.execute("DELETE FROM session_keys")
        try f.store.deleteSettings(prefix: Node.snapshotPrefix)
        let reopened = try NodeFixture.open(dir, "c")
        #expect(try reopened.retiredReaderKeys().isEmpty)
        #expect(try reopened.view().cases[kept] != nil)
    }

    @Test("a write-only coordinator, which others seal to like any coordinator, retires its key too")
    func writeOnlyCoordinatorRetires() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let w = try RoleKit.make(dir, "w", writeOnly: true)
        try RoleKit.admit(w, as: .coordinator, by: f)
        _ = try w.addCase(RoleKit.doc("Дело с ноутбука", person: "Асель Сулейменова"))
        try NodeFixture.syncBothWays(f, w)
        let wKey = try #require(try w.storedReaderKey())
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Четвёртый"))
        try NodeFixture.syncBothWays(f, w)
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: w)
        #expect(try w.checkWithdrawn().rotationDue)
        _ = try w.addCase(RoleKit.doc("Ещё дело с ноутбука", person: "Жанна Ахметова"))
        #expect(try w.storedReaderKey()?.epoch == wKey.epoch + 1)
        #expect(try w.retiredReaderKeys().map(\.epoch) == [wKey.epoch])
    }

    @Test("attack on the race: another process on the home applies a second withdrawal while the desk builds its self-grant; the desk's retirement is refused, and the next one leaves out both withdrawals")
    func aWithdrawalMeanwhileStopsTheSelfGrant() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let one = try f.addCase(RoleKit.doc("Первое дело к отзыву", person: "Свидетель Один"))
        let two = try f.addCase(RoleKit.doc("Второе дело к отзыву", person: "Свидетель Два"))
        let kept = try f.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        _ = try c.addCase(RoleKit.doc("Дело второго координатора", person: "Асель Сулейменова"))
        try NodeFixture.syncBothWays(f, c)
        let seen = try f.view()
        let twoSessions = try #require(seen.caseSessions[two])
        let stick = Set(try f.envelopes(missingFrom: VersionVector()).map(\.id))
        _ = try c.withdraw(one.description)
        try NodeFixture.sync(c, to: f)
        #expect(try f.checkWithdrawn().rotationDue)

        // The desk (f) starts its next change; meanwhile a command on the same home imports c's
        // withdrawal of the second case.
        f.beforeRetiringForTests = {
            do {
                let command = try NodeFixture.open(dir, "c")
                _ = try c.withdraw(two.description)
                try NodeFixture.sync(c, to: command)
            } catch { Issue.record("the other process failed: \(error)") }
        }
        RoleKit.expectNodeError(.conflict, "a retirement built before another process applied a withdrawal") {
            _ = try f.addCase(RoleKit.doc("Дело с рабочего стола", person: "Жанна Ахметова"))
        }
        f.beforeRetiringForTests = nil
        _ = try f.addCase(RoleKit.doc("Дело с рабочего стола", person: "Жанна Ахметова"))
        let grant = try Self.selfGranted(f, since: stick)
        #expect(grant.sessions.isSuperset(of: try #require(seen.caseSessions[kept])))
        #expect(grant.sessions.isDisjoint(with: twoSessions), "the self-grant carries a key the second withdrawal took")
        #expect(try f.storedReaderKey()?.epoch == 2)
        #expect(try !f.checkWithdrawn().rotationDue)
    }

    @Test("a coordinator that held only stubs of what was withdrawn (the withdrawal arrived before the ops) retires its key all the same")
    func stubsAloneRetire() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        _ = try c.addCase(RoleKit.doc("Дело второго координатора", person: "Асель Сулейменова"))
        try NodeFixture.syncBothWays(f, c)
        let cKey = try #require(try c.storedReaderKey())
        // Sealed to c's key; c is offline until after the withdrawal, so it never holds these ops.
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Второй"))
        let old = try f.envelopes(missingFrom: VersionVector()).filter { $0.kind == .sealed && $0.author == f.nodeID.signingKey }
        #expect(old.contains { Self.opens($0, with: cKey.keys) })
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: c)
        #expect(try c.checkWithdrawn().opsHeld == 0)
        #expect(try c.checkWithdrawn().rotationDue)
        _ = try c.addCase(RoleKit.doc("Ещё одно дело", person: "Жанна Ахметова"))
        #expect(try c.storedReaderKey()?.epoch == cKey.epoch + 1)
        #expect(try c.retiredReaderKeys().map(\.epoch) == [cKey.epoch])
    }

    @Test("a coordinator restored from 3 of 5 pieces split after a withdrawal reads the archive (by the self-grant alone, too) and what a writer that missed the new key sealed to the retired one")
    func piecesAfterARetireReadTheArchive() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2"), r = try RoleKit.make(dir, "r")
        try RoleKit.admit(c, as: .coordinator, by: f)
        try RoleKit.admit(r, as: .reporter, by: f)
        let kept = Set(try (0..<3).map { try f.addCase(RoleKit.doc("Дело \($0)", person: "Человек \($0)")) })
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Третий"))
        try NodeFixture.syncBothWays(f, c)
        try NodeFixture.syncBothWays(f, r)
        let retiredKey = try #require(try f.storedReaderKey())
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: c)

        let pieces = try f.splitBackup(threshold: 3, count: 5)
        let backup = try NodeBackup.combine([pieces[1], pieces[3], pieces[4]].enumerated().map { ("p\($0.offset)", $0.element) })
        #expect(backup.reader?.epoch == 2)
        #expect(backup.retired.map(\.epoch) == [1])
        #expect(backup.secret.unsafeCopy.first == NodeBackup.retiredVersion)
        // The device is lost; a reporter that never saw the new key sends a case meanwhile, which
        // the restored coordinator reads only with the retired key the pieces carry.
        let late = try r.addCase(RoleKit.doc("Дело репортёра после отзыва", person: "Нурлан Бекетов"))
        try NodeFixture.sync(r, to: c)
        let restored = try Node.restore(backup, home: dir.sub("restored"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
        #expect(try restored.retiredReaderKeys().map(\.keys.publicKey) == [retiredKey.keys.publicKey])
        _ = try NodeFixture.sync(c, to: restored)
        let v = try restored.view()
        #expect(Set(v.cases.keys).isSuperset(of: kept.union([late])))
        #expect(v.cases[gone] == nil)

        // Without the retired key and any cached key, the self-grant alone reads the archive.
        try restored.store.deleteSettings(prefix: Node.retiredReaderKeyPrefix)
        try restored.store.db.execute("DELETE FROM session_keys")
        try restored.store.deleteSettings(prefix: Node.snapshotPrefix)
        let cold = try NodeFixture.open(dir, "restored")
        #expect(Set(try cold.view().cases.keys).isSuperset(of: kept))
    }

    @Test("a coordinator restored from pieces split before a withdrawal keeps their key, retired, when it moves past it: a writer that missed the withdrawal still seals to it")
    func aStaleRestoreKeepsItsKeyRetired() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2"), r = try RoleKit.make(dir, "r")
        try RoleKit.admit(c, as: .coordinator, by: f)
        try RoleKit.admit(r, as: .reporter, by: f)
        _ = try c.addCase(RoleKit.doc("Дело второго координатора", person: "Асель Сулейменова"))
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Пятый"))
        try NodeFixture.syncBothWays(f, c)
        try NodeFixture.syncBothWays(f, r)
        let old = try #require(try f.storedReaderKey())
        let pieces = try f.splitBackup(threshold: 2, count: 3)
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: c)
        // f's device is lost; it comes back from the older pieces, syncs, and makes a change.
        let backup = try NodeBackup.combine([pieces[0], pieces[2]].enumerated().map { ("p\($0.offset)", $0.element) })
        let restored = try Node.restore(backup, home: dir.sub("restored"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
        _ = try NodeFixture.sync(c, to: restored)
        _ = try restored.addCase(RoleKit.doc("Дело после восстановления", person: "Жанна Ахметова"))
        #expect(try restored.storedReaderKey()?.epoch == old.epoch + 2)
        #expect(try restored.retiredReaderKeys().map(\.keys.publicKey) == [old.keys.publicKey])
        // The reporter never saw epoch 2 or 3: its case is sealed to epoch 1, which the restored
        // coordinator still opens.
        let late = try r.addCase(RoleKit.doc("Дело репортёра", person: "Нурлан Бекетов"))
        try NodeFixture.sync(r, to: restored)
        #expect(try restored.view().cases[late] != nil)
    }

    @Test("a second withdrawal retires a second key, and its self-grant leaves out the first self-grant's session, through which the new key would open every key the first carried, the second withdrawal's included")
    func aSecondSelfGrantLeavesTheFirstOut() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let one = try f.addCase(RoleKit.doc("Первое дело к отзыву", person: "Свидетель Один"))
        let two = try f.addCase(RoleKit.doc("Второе дело к отзыву", person: "Свидетель Два"))
        let kept = try f.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        let start = Set(try f.envelopes(missingFrom: VersionVector()).map(\.id))
        _ = try f.withdraw(one.description)
        let first = try Self.selfGranted(f, since: start)
        let firstSessions = Self.sessions(of: first.ops)
        #expect(firstSessions.count == 1)
        let middle = Set(try f.envelopes(missingFrom: VersionVector()).map(\.id))
        _ = try f.withdraw(two.description)
        #expect(try f.storedReaderKey()?.epoch == 3)
        #expect(try f.retiredReaderKeys().map(\.epoch) == [2, 1])
        let second = try Self.selfGranted(f, since: middle)
        #expect(!second.sessions.isEmpty)
        #expect(second.sessions.isDisjoint(with: firstSessions), "the second self-grant carries the first one's key")
        #expect(try f.view().cases[kept] != nil && f.view().cases[two] == nil)
    }
}
