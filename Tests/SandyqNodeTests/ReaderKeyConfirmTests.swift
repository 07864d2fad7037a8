import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// While a coordinator keeps a retired reader key, it names the writers that may still seal to
/// it (ops.md section 4, "Retiring the reader key", "Who may still seal to a retired key"):
/// what the destroy step waits on.
@Suite("Node: the writers a retired key waits on")
struct ReaderKeyConfirmTests {
    static func fingerprints(_ nodes: Node...) -> [String] { nodes.map(\.nodeID).sorted().map(\.fingerprint) }

    static func row(_ c: WithdrawnCheck, _ n: Node) -> WithdrawnCheck.MemberConfirmation? {
        c.members.first { $0.nodeId == n.nodeID.description }
    }

    /// A founder and a reporter that wrote one case, each holding the other's ops.
    static func withReporter(_ dir: TempDir) throws -> (f: Node, r: Node) {
        let (f, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: f)
        _ = try r.addCase(RoleKit.doc("Дело репортёра", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
        return (f, r)
    }

    /// A founder and a second coordinator that wrote one case (so announced its key), each
    /// holding the other's ops; `f` given, it is the founder.
    static func withCoordinator(_ dir: TempDir, founder: Node? = nil) throws -> (f: Node, c: Node) {
        let f = try founder ?? RoleKit.founder(dir).0
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        _ = try c.addCase(RoleKit.doc("Дело второго координатора", person: "Айгуль Нурланова"))
        try NodeFixture.syncBothWays(f, c)
        return (f, c)
    }

    /// A founder, a reporter and a second coordinator, each of which wrote one case.
    static func withWriters(_ dir: TempDir) throws -> (f: Node, c: Node, r: Node) {
        let (f, r) = try withReporter(dir)
        let (_, c) = try withCoordinator(dir, founder: f)
        try NodeFixture.syncBothWays(f, r)
        return (f, c, r)
    }

    @Test("a reporter shows it holds the withdrawer's new key by an op sealed to it, not by one sealed to the old key; a coordinator by its acknowledgement; a lawyer is never waited on")
    func writersShowTheNewKey() throws {
        let dir = try TempDir()
        let (f, c, r) = try Self.withWriters(dir)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: f)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Пятый"))
        // Before any withdrawal nothing is retired and nobody is waited on.
        #expect(try f.checkWithdrawn().retiredKeysWaitOn.isEmpty)

        _ = try f.withdraw(gone.description, reason: "свидетель отозвал согласие")
        var check = try f.checkWithdrawn()
        #expect(check.retiredKeys == 1)
        #expect(check.retiredKeysWaitOn == Self.fingerprints(c, r), "\(check.retiredKeysWaitOn)")
        #expect(Self.row(check, c)?.holdsNewKey == false && Self.row(check, r)?.holdsNewKey == false)
        #expect(Self.row(check, l)?.holdsNewKey == nil, "a lawyer writes nothing: it is not waited on")

        // The reporter writes before it has seen the new key: sealed to the old one, which
        // shows nothing.
        _ = try r.addCase(RoleKit.doc("Дело до новости", person: "Нурлан Бекетов"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c, r))
        // Given the announcement, its next op is sealed to the new key: shown.
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        check = try f.checkWithdrawn()
        #expect(check.retiredKeysWaitOn == Self.fingerprints(c))
        #expect(Self.row(check, r)?.holdsNewKey == true)

        // A bundle of the second coordinator's from before the news shows nothing.
        let early = dir.sub("c-to-f-early.sandyq")
        _ = try c.exportBundle(to: [f.nodeID], out: early)
        _ = try f.importBundle(early)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c))
        // Once it has received the announcement, its next bundle's vector, which covers the
        // announcement, shows it, though it wrote nothing.
        try NodeFixture.sync(f, to: c)
        let out = dir.sub("c-to-f.sandyq")
        _ = try c.exportBundle(to: [f.nodeID], out: out)
        _ = try f.importBundle(out)
        check = try f.checkWithdrawn()
        #expect(check.retiredKeysWaitOn.isEmpty, "\(check.retiredKeysWaitOn)")
        // With nobody left to wait on, that import destroyed the retired key.
        #expect(check.retiredKeys == 0 && check.oldCopiesShut == true, "\(check)")
        #expect(Self.row(check, c)?.holdsNewKey == nil)
    }

    @Test("attack on the wait: a writer's op sealed to the new key arrives while an earlier op of its, sealed to the old key, has not; the writer is still waited on until the gap closes")
    func aGapKeepsTheWriterWaitedOn() throws {
        let dir = try TempDir()
        let (f, r) = try Self.withReporter(dir)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Шестой"))
        _ = try f.withdraw(gone.description)
        // Written offline before the news: sealed to the old key.
        _ = try r.addCase(RoleKit.doc("Дело в дороге", person: "Асель Сулейменова"))
        let known = try f.versionVector()
        let early = try r.envelopes(missingFrom: known)
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        let late = try r.envelopes(missingFrom: known).filter { e in !early.contains { $0.id == e.id } }
        #expect(!early.isEmpty && !late.isEmpty)
        // Only the later op arrives (another route carried it): it awaits its predecessor.
        _ = try f.importEnvelopes(late)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(r), "an op past a gap showed the writer")
        _ = try f.importEnvelopes(early)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn.isEmpty)
    }

    @Test("a writer revoked after the withdrawal is waited on until its last op that counts has arrived")
    func aRevokedWriterIsWaitedOnUntilItsLastOp() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: f)
        _ = try r.addCase(RoleKit.doc("Дело репортёра", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
        try NodeFixture.syncBothWays(f, c)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Седьмой"))
        _ = try f.withdraw(gone.description)
        // The reporter writes offline, before the news (sealed to the old key); its stick
        // reaches the second coordinator, which learns of the reporter's seizure and revokes it
        // after that op. The withdrawer hears of the revocation before it gets the op.
        _ = try r.addCase(RoleKit.doc("Дело в дороге", person: "Асель Сулейменова"))
        try NodeFixture.sync(r, to: c)
        _ = try c.revoke(r.nodeID, after: .lastHeld)
        let revocation = try c.envelopes(missingFrom: try f.versionVector()).filter { $0.author == c.nodeID.signingKey }
        _ = try f.importEnvelopes(revocation)
        #expect(try f.view().membership.members[r.nodeID.signingKey]?.isRevoked == true)
        // (The second coordinator is waited on too: it has neither written to the new key nor
        // acknowledged it.)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c, r), "a revoked writer's op still on its way may be sealed to the retired key")
        try NodeFixture.sync(c, to: f)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c), "its last counted op is here: nothing more of it can come")
    }

    @Test("attack on the wait: a coordinator's vector covering the announcement arrives ahead of its own op sealed to the old key; it is still waited on until that op is here")
    func anAcknowledgementAheadOfItsOwnOps() throws {
        let dir = try TempDir()
        let (f, c) = try Self.withCoordinator(dir)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Восьмой"))
        _ = try f.withdraw(gone.description)
        // Written before the news, so sealed to the withdrawer's old key.
        _ = try c.addCase(RoleKit.doc("Дело в дороге", person: "Асель Сулейменова"))
        try NodeFixture.sync(f, to: c)
        // Its vector (which covers the announcement and that op) reaches the withdrawer, the
        // op does not: a session cut after the vectors were exchanged.
        try f.store.acknowledge(try c.versionVector(), by: c.nodeID)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c), "an acknowledgement ahead of the writer's own ops showed it")
        try NodeFixture.sync(c, to: f)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn.isEmpty)
    }

    @Test("attack on the wait: a seizer of a reporter's key writes with the new key at the seq where the reporter's own offline op, sealed to the old key, stands; once both are here the reporter is waited on")
    func aForkShowsNothing() throws {
        let dir = try TempDir()
        // The second coordinator stays waited on throughout, so nothing is destroyed here.
        let (f, c, r) = try Self.withWriters(dir)
        let pid = try #require(try f.project())
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Девятый"))
        _ = try f.withdraw(gone.description)
        let newKey = try #require(try f.storedReaderKey()).keys.publicKey
        // The seizer's copy of the key, given the announcement, writes the next seq sealed to the
        // new key; the reporter, offline, writes the same seq sealed to the old one.
        let forged = try RoleKit.crafted(by: r, project: pid, try CaseEditor.create(RoleKit.doc("Подделка", person: "Никто")), readers: [newKey])
        _ = try r.addCase(RoleKit.doc("Дело в дороге", person: "Асель Сулейменова"))
        let genuine = try r.envelopes(missingFrom: try f.versionVector())
        #expect(genuine.contains { $0.seq == forged.seq })
        _ = try f.importEnvelopes([forged])
        // Alone, the forged op shows the key: a seized key can always say that much (ops.md
        // section 4, "Destroying the retired keys", what a seized writer's key can do).
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c))
        _ = try f.importEnvelopes(genuine)
        #expect(try !f.store.forks().filter { $0.author == r.nodeID.signingKey }.isEmpty, "the two ops at one seq are a fork")
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c, r), "a forked chain showed the new key")
    }

    @Test("a second withdrawal before the next change: while the key is due to be retired again nobody has shown the next one; after it, each writer shows the newest key")
    func aRetirementDueWaitsOnEveryone() throws {
        let dir = try TempDir()
        let (f, c, r) = try Self.withWriters(dir)
        let first = try f.addCase(RoleKit.doc("Первое дело к отзыву", person: "Свидетель Десятый"))
        let second = try f.addCase(RoleKit.doc("Второе дело к отзыву", person: "Свидетель Одиннадцатый"))
        try NodeFixture.syncBothWays(f, c)
        _ = try f.withdraw(first.description)
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после первой новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c))
        // The second coordinator withdraws the other case; the withdrawer applies it on import
        // and retires its key again at its next change.
        _ = try c.withdraw(second.description)
        try NodeFixture.sync(c, to: f)
        #expect(try f.checkWithdrawn().rotationDue)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c, r), "while due, the reporter's op shows only the key about to be retired")
        _ = try f.addCase(RoleKit.doc("Дело после второй новости", person: "Нурлан Бекетов"))
        #expect(try f.retiredReaderKeys().count == 2)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c, r))
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после второй новости репортёра", person: "Асель Сулейменова"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.checkWithdrawn().retiredKeysWaitOn == Self.fingerprints(c))
    }
}
