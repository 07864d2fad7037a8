import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// Once every writer has shown it holds a coordinator's new reader key, the coordinator destroys
/// the keys it retired at a withdrawal (ops.md section 4, "Destroying the retired keys"): an old
/// stick's withdrawn ops then open with nothing its home holds, while everything kept, what
/// writers sealed to the retired key before they saw the new one included, still reads, from the
/// key cache or, with the cache lost, from the self-grants.
@Suite("Node: retired reader keys are destroyed")
struct ReaderKeyDestroyTests {
    /// Every symmetric key `node`'s home gives: what its box keys open in its log's entries,
    /// each cached session key, the sessions cached parents derive, and, to a fixpoint, every key
    /// a grant in an op those keys open carries (a seizer reads the log too).
    static func reachableKeys(_ node: Node) throws -> (boxes: [BoxKeyPair], sessions: [SymmetricKey], parents: [SymmetricKey]) {
        let boxes = try node.openingKeys()
        let cached = node.cachedKeys()
        var sessions = Array(cached.sessions.values), parents = Array(cached.parents.values)
        let log = try node.envelopes(missingFrom: VersionVector()).filter { $0.kind == .sealed }
        var seen = Set(sessions.map { $0.secret.unsafeCopy })
        var grew = true
        while grew {
            grew = false
            for e in log {
                guard let b = try? SealedBody(decoding: e.body) else { continue }
                var tries = sessions + parents.map { b.derivedKey(parent: $0, author: e.author) }
                if let k = b.openSessionKey(with: boxes) { tries.append(k) }
                if let p = b.openParentKey(with: boxes) { tries.append(b.derivedKey(parent: p, author: e.author)) }
                for k in tries {
                    guard let plain = try? b.open(with: k, header: e.header), let p = try? Payload(decoding: plain) else { continue }
                    if seen.insert(k.secret.unsafeCopy).inserted { sessions.append(k); grew = true }
                    for case let .grant(_, key) in p.mutations where seen.insert(key).inserted {
                        if let g = try? SymmetricKey(SecureBytes(key)) { sessions.append(g); grew = true }
                    }
                }
            }
        }
        return (boxes, sessions, parents)
    }

    /// Whether any key `node`'s home gives (`reachableKeys`) opens `e`.
    static func anyHeldKeyOpens(_ e: Envelope, _ node: Node) throws -> Bool {
        guard let b = try? SealedBody(decoding: e.body) else { return false }
        let r = try reachableKeys(node)
        if b.openSessionKey(with: r.boxes) != nil || b.openParentKey(with: r.boxes) != nil { return true }
        let keys = r.sessions + r.parents.map { b.derivedKey(parent: $0, author: e.author) }
        return keys.contains { (try? b.open(with: $0, header: e.header)) != nil }
    }

    /// The sealed ops of `c`'s sessions in `envs`, by `v`'s sessions.
    static func ops(of c: CaseID, in envs: [Envelope], _ v: ProjectView) throws -> [Envelope] {
        let sessions = try #require(v.caseSessions[c])
        return envs.filter { e in
            e.kind == .sealed && (try? SealedBody(decoding: e.body)).map { sessions.contains(SessionID(author: e.author, body: $0)) } == true
        }
    }

    /// Every file of a home, read whole.
    static func homeBytes(_ dir: TempDir, _ name: String) throws -> [[UInt8]] {
        let home = dir.sub(name)
        return try FileManager.default.contentsOfDirectory(atPath: home).compactMap { f in
            FileManager.default.contents(atPath: home + "/" + f).map { Array($0) }
        }
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count, let first = needle.first else { return false }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == first && Array(hay[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }

    @Test("after the reporter shows the new key, the withdrawer destroys the retired one: its old stick opens with nothing the home holds, the retired row's bytes are gone from the files, and what the reporter sealed to the retired key meanwhile still reads with the key cache lost")
    func destroyShutsTheOldStick() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Седьмой"))
        let kept = try f.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
        // The old stick: a copy of the founder's ops from before the withdrawal.
        let stick = try f.envelopes(missingFrom: VersionVector())
        let goneSessions = try #require(try f.view().caseSessions[gone])
        let goneOps = stick.filter { e in
            e.kind == .sealed && (try? SealedBody(decoding: e.body)).map { goneSessions.contains(SessionID(author: e.author, body: $0)) } == true
        }
        #expect(!goneOps.isEmpty)
        #expect(try goneOps.allSatisfy { try Self.anyHeldKeyOpens($0, f) }, "before the withdrawal the founder reads the case")

        _ = try f.withdraw(gone.description, reason: "свидетель отозвал согласие")
        let retiredRow = try #require(try f.store.settings(prefix: Node.retiredReaderKeyPrefix).first?.value)
        // Before the withdrawal reached it: sealed to the retired key.
        let between = try r.addCase(RoleKit.doc("Дело в пути", person: "Асель Сулейменова"))
        try NodeFixture.sync(r, to: f)
        var check = try f.checkWithdrawn()
        #expect(check.retiredKeys == 1 && check.oldCopiesShut == false, "\(check)")
        #expect(check.retiredKeysWaitOn == ReaderKeyConfirmTests.fingerprints(r))
        #expect(try goneOps.contains { try Self.anyHeldKeyOpens($0, f) }, "the retired key still opens the old stick")
        #expect(try Self.homeBytes(dir, "c").contains { Self.contains($0, retiredRow) }, "the search for the row finds nothing even now: it shows nothing below")

        // The reporter gets the new key, writes with it, and sends that back: the wait is over
        // and the import destroys the retired key.
        try NodeFixture.sync(f, to: r)
        let after = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        check = try f.checkWithdrawn()
        #expect(check.retiredKeys == 0 && check.oldCopiesShut == true && check.clean, "\(check)")
        #expect(check.retiredKeysWaitOn.isEmpty)
        #expect(try f.retiredReaderKeys().isEmpty)
        for e in goneOps { #expect(try !Self.anyHeldKeyOpens(e, f), "a key the home holds still opens a withdrawn op of the old stick") }
        for file in try Self.homeBytes(dir, "c") { #expect(!Self.contains(file, retiredRow), "the retired key's row is still in a file of the home") }
        var v = try f.view()
        #expect(v.cases[gone] == nil)
        for c in [kept, between, after] { #expect(v.cases[c] != nil) }

        // With the key cache and the snapshot lost, the new key reads it all: the first
        // self-grant (at the retirement) and the second (at the destroy, for what the reporter
        // sealed to the retired key in between).
        try f.store.db.execute("DELETE FROM session_keys")
        try f.store.deleteSettings(prefix: Node.snapshotPrefix)
        let reopened = try NodeFixture.open(dir, "c")
        v = try reopened.view()
        for c in [kept, between, after] { #expect(v.cases[c] != nil, "a kept case no longer reads with the cache lost") }
        #expect(v.cases[gone] == nil)
        #expect(try reopened.checkWithdrawn().oldCopiesShut == true)
    }

    @Test("pieces split between the retirement and the destroy hold the retired key: once it is destroyed they are out of date and say why; pieces split after are current")
    func piecesSplitBeforeTheDestroyAreOutOfDate() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Десятый"))
        _ = try f.withdraw(gone.description)
        try f.recordPieces(try f.splitBackupSet(threshold: 2, count: 3))
        var status = try f.backupPiecesStatus()
        #expect(status.current && !status.holdDestroyedKey, "\(status)")
        // A second set, split now and handed out (recorded) only after the destroy.
        let late = try f.splitBackupSet(threshold: 2, count: 3)
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.retiredReaderKeys().isEmpty)
        status = try f.backupPiecesStatus()
        #expect(!status.current && status.holdDestroyedKey, "\(status)")
        try f.recordPieces(late)
        status = try f.backupPiecesStatus()
        #expect(!status.current && status.holdDestroyedKey, "a set split before the destroy and recorded after: \(status)")
        try f.recordPieces(try f.splitBackupSet(threshold: 2, count: 3))
        status = try f.backupPiecesStatus()
        #expect(status.current && !status.holdDestroyedKey, "\(status)")
    }

    @Test("attack on the destroy: a second withdrawal's old stick is not opened through the first self-grant, which a retired key sealed and whose cached key would hand out the second case's keys")
    func aSecondDestroyLeavesNoGrantOpen() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let first = try f.addCase(RoleKit.doc("Первое дело к отзыву", person: "Свидетель Одиннадцатый"))
        let second = try f.addCase(RoleKit.doc("Второе дело к отзыву", person: "Свидетель Двенадцатый"))
        let kept = try f.addCase(RoleKit.doc("Дело остаётся", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
        let stick = try f.envelopes(missingFrom: VersionVector())
        let secondOps = try Self.ops(of: second, in: stick, try f.view())
        #expect(!secondOps.isEmpty)
        // The first withdrawal, shown and destroyed: the first self-grant (sealed to the key that
        // is now the reader key) carries the second case's key.
        _ = try f.withdraw(first.description)
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после первой новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.checkWithdrawn().oldCopiesShut == true)
        _ = try f.view()
        // The second withdrawal, shown and destroyed.
        _ = try f.withdraw(second.description)
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после второй новости", person: "Нурлан Бекетов"))
        try NodeFixture.sync(r, to: f)
        let check = try f.checkWithdrawn()
        #expect(check.oldCopiesShut == true && check.clean, "\(check)")
        for e in secondOps { #expect(try !Self.anyHeldKeyOpens(e, f), "a key the home gives (through a grant) opens the second withdrawn case") }
        #expect(try f.view().cases[kept] != nil)
    }

    @Test("attack on the destroy: a seized reporter's key writes a junk grant of its own session to the coordinator's new key; the destroy still self-grants that session, which reads after the key cache is lost")
    func aJunkGrantDoesNotCoverASession() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let pid = try #require(try f.project())
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Тринадцатый"))
        try NodeFixture.syncBothWays(f, r)
        _ = try f.withdraw(gone.description)
        // The reporter writes before it hears: sealed to the retired key.
        let between = try r.addCase(RoleKit.doc("Дело в пути", person: "Асель Сулейменова"))
        try NodeFixture.sync(r, to: f)
        let sid = try #require(try f.view().caseSessions[between]?.first)
        // The seizer's op continues the reporter's chain, sealed to the new key (so it shows it),
        // and "grants" the coordinator that session under a key that is not its key.
        let newKey = try #require(try f.storedReaderKey()).keys.publicKey
        let junk = try RoleKit.crafted(by: r, project: pid, [.grant(session: sid, key: Random.bytes(32))], readers: [newKey])
        _ = try f.importEnvelopes([junk])
        #expect(try f.checkWithdrawn().oldCopiesShut == true)
        try f.store.db.execute("DELETE FROM session_keys")
        try f.store.deleteSettings(prefix: Node.snapshotPrefix)
        let reopened = try NodeFixture.open(dir, "c")
        #expect(try reopened.view().cases[between] != nil, "the junk grant kept the session out of the self-grant")
    }

    @Test("an op the view does not read (its author not yet admitted) whose key reached the coordinator only in a grant the retired key opens: the destroy keeps that key, so the op reads once its author is admitted, with the key cache lost too")
    func aKeyOnlyAGrantOffersOutlivesTheDestroy() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let pid = try #require(try f.project())
        // A newcomer writes before any coordinator here admits it, sealed to a key that is not
        // the founder's: only a grant can give the founder its session.
        let w = try RoleKit.make(dir, "w")
        try w.join(pid)
        let elsewhere = BoxKeyPair()
        let waiting = CaseID.random()
        let op = try RoleKit.crafted(by: w, project: pid, try CaseEditor.create(RoleKit.doc("Дело новичка", person: "Гульнар Омарова"), id: waiting),
                                     readers: [elsewhere.publicKey])
        let body = try SealedBody(decoding: op.body)
        let sid = SessionID(author: op.author, body: body)
        // A writer's batch derives its session from a parent key.
        let parent = try #require(body.openParentKey(with: [elsewhere]))
        let key = body.derivedKey(parent: parent, author: op.author)
        // The reporter passes the session on, sealed to the founder's reader key of the moment.
        let firstKey = try #require(try f.storedReaderKey()).keys.publicKey
        let grant = try RoleKit.crafted(by: r, project: pid, [.grant(session: sid, key: key.secret.unsafeCopy)], readers: [firstKey])
        _ = try f.importEnvelopes([op])
        _ = try r.importEnvelopes([grant])
        try NodeFixture.sync(r, to: f)
        #expect(try f.view().cases[waiting] == nil, "the newcomer's op reads before its admission: this test shows nothing")

        // A withdrawal retires that key; the reporter shows the new one, and the destroy follows.
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Четырнадцатый"))
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.checkWithdrawn().oldCopiesShut == true)

        _ = try f.addMember(w.nodeID, role: .reporter)
        #expect(try f.view().cases[waiting] != nil, "the destroy dropped the only key of an op that was waiting for its author's admission")
        try f.store.db.execute("DELETE FROM session_keys")
        try f.store.deleteSettings(prefix: Node.snapshotPrefix)
        #expect(try NodeFixture.open(dir, "c").view().cases[waiting] != nil, "with the key cache lost, the second self-grant does not carry the waiting op's session")
    }

    @Test("a coordinator restored from pieces imports its own announcement like any op, and a writer's op sealed to the new key may land before it: that op still shows the key")
    func aRestoredHomeSeesWhatLandedBeforeItsAnnouncement() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let gone = try r.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Двадцать первый"))
        try NodeFixture.syncBothWays(f, r)
        _ = try f.withdraw(gone.description)
        try NodeFixture.sync(f, to: r)
        let backup = try NodeBackup.combine(Array(try f.splitBackup(threshold: 2, count: 3).prefix(2)).enumerated().map { ("\($0.offset)", $0.element) })
        #expect(!backup.retired.isEmpty, "the pieces hold no retired key: this test shows nothing")
        // The reporter shows the new key; the founder's device is lost before that arrives.
        _ = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        let restored = try Node.restore(backup, home: dir.sub("restored"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
        // The reporter's ops land first, the founder's (its announcement, the stubs) after.
        let mine = try r.envelopes(missingFrom: VersionVector()).filter { $0.author == r.nodeID.signingKey }
        _ = try restored.importEnvelopes(mine)
        _ = try restored.importEnvelopes(try f.envelopes(missingFrom: VersionVector()))
        // The withdrawal applied again here retires at the first change, which announces anew on
        // this home. With no withdrawal in force (a seized key's, lifted since), nothing is due and
        // the imported announcement stays the current one: that state, without building the lift.
        try restored.store.deleteSetting(Node.readerRetireDueSetting)
        let check = try restored.checkWithdrawn()
        #expect(check.retiredKeys > 0 && !check.rotationDue, "\(check)")
        #expect(check.retiredKeysWaitOn.isEmpty, "the reporter's op sealed to the new key landed before the announcement and no longer shows it: \(check.retiredKeysWaitOn)")
    }

    @Test("nothing is destroyed while a writer is waited on; a reporter, whose own key opens none of a coordinator's withdrawn ops, reports its old copies shut, and a lawyer, sealed to by node id, reports nothing")
    func noDestroyWhileWaiting() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Восьмой"))
        try NodeFixture.syncBothWays(f, r)
        _ = try f.withdraw(gone.description)
        // The reporter's acknowledgement alone shows nothing: a reporter shows it by a write.
        try NodeFixture.syncBothWays(f, r)
        var check = try f.checkWithdrawn()
        #expect(check.retiredKeys == 1 && check.oldCopiesShut == false && check.retiredKeysWaitOn == ReaderKeyConfirmTests.fingerprints(r))
        // Reopening tries again, and waits still.
        let reopened = try NodeFixture.open(dir, "c")
        check = try reopened.checkWithdrawn()
        #expect(check.retiredKeys == 1 && check.oldCopiesShut == false)
        #expect(try r.checkWithdrawn().oldCopiesShut == true)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: f)
        #expect(try l.checkWithdrawn().oldCopiesShut == nil)
    }

    @Test("another process on the home that held the view while the retired keys were destroyed drops it: what only a destroyed key opened (a withdrawn batch's parent) does not come back through its snapshot")
    func anotherProcessDropsItsView() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        // One batch, two cases: one parent derives both sessions.
        let ids = try f.importCases([RoleKit.doc("Дело к отзыву", person: "Свидетель Девятый"),
                                     RoleKit.doc("Дело остаётся", person: "Ерлан Калиев")])
        try NodeFixture.syncBothWays(f, r)
        let desk = try NodeFixture.open(dir, "c")
        desk.snapshotMinimumOps = 1
        desk.snapshotRefresh = 1
        let parentsBefore = try desk.view().parentKeys
        #expect(!parentsBefore.isEmpty)
        _ = try f.withdraw(ids[0].description)
        // The desk reads after the withdrawal: it opens the batch's parent again with the key
        // now retired, and holds it in its warm view.
        #expect(try parentsBefore.keys.contains { try desk.view().parentKeys[$0] != nil }, "the desk holds no parent: this test shows nothing")
        try NodeFixture.sync(f, to: r)
        _ = try r.addCase(RoleKit.doc("Дело после новости", person: "Жанна Ахметова"))
        try NodeFixture.sync(r, to: f)
        #expect(try f.checkWithdrawn().oldCopiesShut == true)
        // The desk reads again: it rebuilds (and may write its snapshot) without the parent.
        let v = try desk.view()
        #expect(v.cases[ids[1]] != nil && v.cases[ids[0]] == nil)
        for slot in parentsBefore.keys { #expect(v.parentKeys[slot] == nil, "the desk kept a parent only the destroyed key opened") }
        desk.saveSnapshotIfDue()
        let fresh = try NodeFixture.open(dir, "c")
        for slot in parentsBefore.keys { #expect(try fresh.view().parentKeys[slot] == nil, "a parent came back through a snapshot") }
        #expect(try fresh.view().cases[ids[1]] != nil)
    }
}
