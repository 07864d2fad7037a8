import Foundation
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import SandyqStore
import Testing
import SandyqTestSupport

/// Withdrawal deletes, so who may withdraw is the attack surface: a member who is not a
/// coordinator, or a coordinator already revoked, signs a withdrawal with the project's own
/// library (not through `Node.withdraw`, which would refuse) and hands it to a coordinator.
@Suite("Withdrawal under attack")
struct WithdrawalAttackTests {
    /// Every op of `id` held by `n`, named as a withdrawal names them.
    static func opsOf(_ id: CaseID, on n: Node) throws -> [WithdrawnOp] {
        let v = try n.view()
        return try n.store.allEnvelopes().filter { e in
            e.kind == .sealed && Node.payload(of: e, in: v)?.mutations.contains { $0.caseID == id } == true
        }.map { WithdrawnOp(author: $0.author, seq: $0.seq, id: $0.id) }.sorted()
    }

    @Test("a reporter's and a lawyer's forged withdrawals delete nothing")
    func nonCoordinators() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r"), l = try RoleKit.make(dir, "l")
        try RoleKit.admit(r, as: .reporter, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        let id = try c.addCase(RoleKit.doc("Дело", person: "Айгуль"))
        try NodeFixture.sync(c, to: r)
        try NodeFixture.sync(c, to: l)
        let named = try Self.opsOf(id, on: c)
        #expect(!named.isEmpty)
        let held = try c.store.allEnvelopes().count
        for forger in [r, l] {
            let env = try forger.writer().membership(.withdraw(ops: named, files: []))
            let report = try c.importEnvelopes([env])
            #expect(report.new == 0 && report.refused.count == 1, "the door refuses a non-coordinator's membership op: \(report)")
        }
        // Were the door open (a node that did not know the forger's role yet), the view still ignores it.
        let forged = try r.writer().membership(.withdraw(ops: named, files: []))
        let m = Membership.derive(project: try c.requireProject(),
                                  changes: try c.store.membershipEnvelopes().compactMap { e in
                                      (try? MembershipChange(decoding: e.body)).map { .init(op: e.id, author: e.author, seq: e.seq, change: $0) }
                                  } + [.init(op: forged.id, author: forged.author, seq: forged.seq, change: .withdraw(ops: named, files: []))])
        #expect(m.withdrawn.isEmpty)
        #expect(try c.store.allEnvelopes().count == held)
        #expect(try c.view().cases[id] != nil)
    }

    @Test("a seized coordinator revoked before it withdraws deletes nothing on a node that holds the revocation")
    func revokedCoordinator() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let id = try c.addCase(RoleKit.doc("Дело", person: "Болат"))
        try NodeFixture.syncBothWays(c, c2)
        _ = try c.revoke(c2.nodeID)
        let named = try Self.opsOf(id, on: c)
        // The seizer, on c2's device, which has not heard of its revocation.
        let env = try c2.writer().membership(.withdraw(ops: named, files: []))
        _ = try c.importEnvelopes([env])
        #expect(try c.view().cases[id] != nil, "the case stays")
        #expect(try c.checkWithdrawn().opsNamed == 0)
        #expect(Set(try c.store.allEnvelopes().map(\.id)).isSuperset(of: named.map(\.id)))
    }

    @Test("withdrawing the case whose op carried its batch's parent key keeps the batch's other case readable, on this node and on a coordinator added later")
    func siblingsOfAParent() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let ids = try c.importCases([RoleKit.doc("Первое", person: "Асель"), RoleKit.doc("Второе", person: "Ерлан")])
        // The first op of the batch carries the parent's entries; the second derives from it.
        let first = try Self.opsOf(ids[0], on: c)
        let bodies = try c.store.envelopes(ids: first.map(\.id)).compactMap { try? SealedBody(decoding: $0.body) }
        #expect(bodies.contains { $0.parentKeys != nil }, "the batch's parent rides on the first case's op")
        _ = try c.withdraw(ids[0].description)
        #expect(try c.view().cases[ids[0]] == nil)
        #expect(try c.view().cases[ids[1]] != nil)
        let reopened = try NodeFixture.open(dir, "c")
        #expect(try reopened.view().cases[ids[1]] != nil, "read again from the store and its cache")
        #expect(try reopened.checkWithdrawn().clean)

        let later = try RoleKit.make(dir, "later")
        try RoleKit.admit(later, as: .coordinator, by: reopened)
        try NodeFixture.syncBothWays(reopened, later)
        try NodeFixture.syncBothWays(reopened, later)
        #expect(try later.view().cases[ids[1]] != nil, "a coordinator added after reads the other case through its grant")
        #expect(try later.view().cases[ids[0]] == nil)
    }

    @Test("the note of who withdrew what and why: read by coordinators, a later one included; not by a lawyer; a note by anyone but the withdrawal's author is not its note")
    func note() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), l = try RoleKit.make(dir, "l")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        let ids = try c.importCases([RoleKit.doc("Первое", person: "Асель"), RoleKit.doc("Второе", person: "Ерлан"),
                                     RoleKit.doc("Третье", person: "Динара"), RoleKit.doc("Четвёртое", person: "Марат")])
        try NodeFixture.syncBothWays(c, c2)
        try NodeFixture.syncBothWays(c, l)
        let why = "Куәгер келісімін қайтарып алды; оған қауіп төніп тұр"
        let held = try c.store.allEnvelopes().count
        let long = String(repeating: "ы", count: Payload.maxNoteWhy / 2 + 1)
        #expect(throws: NodeError.self) { try c.withdraw(ids[0].description, reason: long) }
        #expect(try c.store.allEnvelopes().count == held, "a reason too long writes nothing")
        let report = try c.withdraw(ids[0].description, reason: why)
        let wid = try #require(report.withdrawals.first)
        #expect(report.note != nil)
        let mine = try #require(try c.withdrawalRecords().first)
        #expect(mine.withdrawal == wid && mine.why == why && mine.by == c.nodeID.fingerprint && mine.ops == report.ops)
        #expect(mine.what?.contains(ids[0].short) == true && mine.what?.contains("Асель") == false, "the note names the case, not its people: \(mine)")

        // c signs a withdrawal with no note (an older build's); c2 signs one of the second case
        // and in its next op a note that claims to explain c's too: only a withdrawal's author
        // speaks for it.
        let bare = try c.writer().membership(.withdraw(ops: try Self.opsOf(ids[2], on: c), files: []))
        try c.commit([bare], project: try c.requireProject())
        // Later, after other work, c's own next withdrawal carries a note that also names the bare
        // one, which is not in the run just before it: only the withdrawals right before a note are its.
        _ = try c.addCase(RoleKit.doc("Пятое", person: "Тимур"))
        let cw = try c.writer()
        let fourth = cw.membership(.withdraw(ops: try Self.opsOf(ids[3], on: c), files: []))
        let late = try cw.checkedSealed([.withdrawalNote(withdrawal: bare.id, what: "задним числом", why: "позже"),
                                         .withdrawalNote(withdrawal: fourth.id, what: "четвёртое", why: "своё")],
                                        readers: [c.nodeID.boxKey, c2.nodeID.boxKey], wallMillis: 2).envelope
        try c.commit([fourth, late], project: try c.requireProject())
        try NodeFixture.syncBothWays(c, c2)
        let w = try c2.writer()
        let ownOps = try Self.opsOf(ids[1], on: c2)
        let own = w.membership(.withdraw(ops: ownOps, files: []))
        let forged = try w.checkedSealed([.withdrawalNote(withdrawal: bare.id, what: "ничего", why: "подделка"),
                                          .withdrawalNote(withdrawal: own.id, what: "второе", why: "своё")],
                                         readers: [c.nodeID.boxKey, c2.nodeID.boxKey], wallMillis: 1).envelope
        try c2.commit([own, forged], project: try c2.requireProject())
        // c2 then lines its chain up with c's: filler to c's withdrawal's seq, a withdrawal right
        // after it and a note after that naming c's withdrawal, as if it were c's own run.
        let wseq = try #require(try c.store.envelopes(ids: [try OpID(bytes: Hex.decode(wid)!)]).first?.seq)
        try #require(w.seq < wseq, "c2's chain is already past c's withdrawal")
        var lined: [Envelope] = []
        while w.seq < wseq { lined.append(w.sealed([.projectName("x")], readers: [c2.nodeID.boxKey], wallMillis: 3)) }
        lined.append(w.membership(.withdraw(ops: ownOps, files: [])))
        lined.append(try w.checkedSealed([.withdrawalNote(withdrawal: try OpID(bytes: Hex.decode(wid)!), what: "первое", why: "подделка 2")],
                                         readers: [c.nodeID.boxKey, c2.nodeID.boxKey], wallMillis: 4).envelope)
        try c2.commit(lined, project: try c2.requireProject())
        try NodeFixture.syncBothWays(c, c2)
        let records = try c.withdrawalRecords()
        #expect(records.count == 5, "\(records)")
        #expect(records.first { $0.withdrawal == Hex.encode(fourth.id.bytes) }?.why == "своё")
        #expect(records.first { $0.withdrawal == wid }.map { $0.why == why && !$0.disputed } == true, "\(records)")
        #expect(records.first { $0.withdrawal == Hex.encode(bare.id.bytes) }.map { $0.why == nil && $0.what == nil } == true, "\(records)")
        #expect(records.first { $0.withdrawal == Hex.encode(own.id.bytes) }?.why == "своё")

        // The lawyer holds the withdrawal and not the note: who and how much, never why.
        try NodeFixture.syncBothWays(c, l)
        let seen = try l.withdrawalRecords()
        #expect(seen.count == 5 && seen.allSatisfy { $0.why == nil && $0.what == nil }, "\(seen)")
        #expect(seen.first { $0.withdrawal == wid }?.by == c.nodeID.fingerprint)

        let later = try RoleKit.make(dir, "later")
        try RoleKit.admit(later, as: .coordinator, by: c)
        try NodeFixture.syncBothWays(c, later)
        try NodeFixture.syncBothWays(c, later)
        #expect(try later.withdrawalRecords().first { $0.withdrawal == wid }?.why == why, "a coordinator added later reads it through its grant")
    }

    @Test("after a withdrawal, the next op this process writes opens on a peer: it does not derive from a parent whose key only the withdrawn op carried")
    func nextOpAfterWithdrawal() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try NodeFixture.syncBothWays(c, c2)
        let ids = try c.importCases([RoleKit.doc("Первое", person: "Асель"), RoleKit.doc("Второе", person: "Ерлан")])
        try NodeFixture.syncBothWays(c, c2)
        _ = try c.withdraw(ids[0].description)
        let third = try c.addCase(RoleKit.doc("Третье", person: "Динара"))
        try NodeFixture.syncBothWays(c, c2)
        #expect(try c2.view().cases[ids[0]] == nil)
        #expect(try c2.view().cases[ids[1]] != nil)
        #expect(try c2.view().cases[third] != nil, "c2 reads the case c wrote after the withdrawal")
        #expect(try c2.withdrawalRecords().first?.what != nil, "and the note written with it")
    }

    /// A founder, a second coordinator and a reporter, all in step; the reporter's node is one
    /// process throughout, as its desk would be.
    static func coordinatorsAndReporter(_ dir: TempDir) throws -> (c: Node, c2: Node, r: Node) {
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), r = try RoleKit.make(dir, "r")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try RoleKit.admit(r, as: .reporter, by: c)
        try NodeFixture.syncBothWays(c, c2)
        try NodeFixture.syncBothWays(c, r)
        return (c, c2, r)
    }

    @Test("a reporter's desk that sent its cases and heard nothing back writes the next case from a parent of its own, not from the parent a withdrawn case's op carried: the coordinators read it")
    func anotherWritersNextBatchAfterAWithdrawal() throws {
        let dir = try TempDir()
        let (c, c2, r) = try Self.coordinatorsAndReporter(dir)
        // One process (as the desk is), two requests: two batches.
        let first = try r.addCase(RoleKit.doc("Первое показание", person: "Асель Нурланова"))
        let second = try r.addCase(RoleKit.doc("Второе показание", person: "Ерлан Садыков"))
        _ = try NodeFixture.sync(r, to: c)
        _ = try c.withdraw(first.description, reason: "угроза свидетелю")
        // Written before the reporter hears of it.
        let third = try r.addCase(RoleKit.doc("Третье показание", person: "Динара Абенова"))
        try NodeFixture.syncBothWays(c, r)
        try NodeFixture.syncBothWays(c, c2)
        for n in [c, c2] {
            let cases = try n.view().cases
            #expect(cases[first] == nil && cases[second] != nil, "\(n.nodeID.fingerprint)")
            #expect(cases[third] != nil, "\(n.nodeID.fingerprint) cannot read the case written after the withdrawal")
        }
    }

    @Test("a reporter's desk that sent a case and heard nothing back seals its next edit of that case in a session of its own, not in the one a withdrawn person's op started: the coordinators read it")
    func anotherWritersEditAfterAnElementWithdrawal() throws {
        let dir = try TempDir()
        let (c, c2, r) = try Self.coordinatorsAndReporter(dir)
        let id = try r.addCase(RoleKit.doc("Задержание", person: "Бауыржан Ахметов"))
        _ = try NodeFixture.sync(r, to: c)
        let person = try #require(try c.view().cases[id]?.elements("persons").first)
        _ = try c.withdraw(id.description, collection: "persons", element: person)
        // The reporter, not yet told, corrects the city of the same case.
        let city = FieldPath(field: "city")
        let before = try r.view().cases[id]?.registers[city]?.survivors.map(\.op) ?? []
        try r.write([.put(case: id, path: city, value: "Шымкент", supersedes: before)])
        try NodeFixture.syncBothWays(c, r)
        try NodeFixture.syncBothWays(c, c2)
        for n in [c, c2] {
            let seen = try #require(try n.view().cases[id])
            #expect(seen.elements("persons").isEmpty, "\(n.nodeID.fingerprint)")
            // The withdrawal rewrote the case's other fields, so the two cities stand side by side.
            let cities = seen.registers[city]?.survivors.map(\.value) ?? []
            #expect(cities.contains("Шымкент"), "\(n.nodeID.fingerprint) cannot read the edit written after the withdrawal: \(cities)")
        }
    }

    @Test("a lawyer that receives a batch and its withdrawal together still reads the batch's other shared case: it is granted the session its parent derived")
    func lawyerKeepsTheSibling() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: c)
        let ids = try c.importCases([RoleKit.doc("Первое", person: "Асель"), RoleKit.doc("Второе", person: "Ерлан")])
        for id in ids { try c.share(id.description, with: l.nodeID) }
        try NodeFixture.syncBothWays(c, l)
        #expect(try l.view().cases[ids[1]] != nil)
        // One batch edits both shared cases: its first op carries the parent both sessions derive from.
        let city = FieldPath(field: "city")
        let cv = try c.view()
        try c.write(batch: ids.map { [.put(case: $0, path: city, value: "Тараз", supersedes: cv.cases[$0]?.registers[city]?.survivors.map(\.op) ?? [])] })
        _ = try c.withdraw(ids[0].description)
        let later = try NodeFixture.open(dir, "l")
        try NodeFixture.syncBothWays(c, later)
        #expect(try later.view().cases[ids[0]] == nil)
        #expect(try later.view().cases[ids[1]]?.value("city") == "Тараз", "the lawyer reads the batch's edit of the other case")
        #expect(try later.checkWithdrawn().clean)
    }

    @Test("a long-running process on the same home (the desk) while another process imports a withdrawal: it stops showing the case and does not seal it into its snapshot at close")
    func anotherProcessOnTheHome() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let b = try RoleKit.make(dir, "b")
        try RoleKit.admit(b, as: .coordinator, by: c)
        let ids = try c.importCases([RoleKit.doc("Первое", person: "Асель"), RoleKit.doc("Второе", person: "Ерлан")])
        try NodeFixture.syncBothWays(c, b)
        // Two long-running processes on b's home, both warm.
        var desk: Node? = try NodeFixture.open(dir, "b"), closing: Node? = try NodeFixture.open(dir, "b")
        closing!.snapshotMinimumOps = 1; closing!.snapshotRefresh = 1
        #expect(try desk!.view().cases[ids[0]] != nil && closing!.view().cases[ids[0]] != nil)
        // A case more, read by `closing`: its view is ahead of its snapshot, so its close writes one.
        let third = try c.addCase(RoleKit.doc("Третье", person: "Динара"))
        try NodeFixture.sync(c, to: b)
        #expect(try closing!.view().cases[third] != nil)
        _ = try c.withdraw(ids[0].description)
        try NodeFixture.sync(c, to: b)
        #expect(try b.checkWithdrawn().clean)
        #expect(try desk!.view().cases[ids[0]] == nil, "the long-running process still shows the withdrawn case")
        #expect(try desk!.view().cases[ids[1]] != nil)
        // The other closes last, without reading again: its close writes the snapshot.
        desk = nil
        closing = nil
        let reopened = try NodeFixture.open(dir, "b")
        let parts = try reopened.store.settings(prefix: Node.snapshotPrefix)
        if !parts.isEmpty {
            let restored = reopened.restoredView(try reopened.requireProject())
            #expect(restored != nil && restored?.view.cases[ids[0]] == nil, "the closing process sealed a snapshot of a log that no longer holds its ops")
        }
        #expect(try reopened.view().cases[ids[0]] == nil)
    }

    @Test("a coordinator that receives a case's first op, a later edit in the same session and the element withdrawal that takes the first op, all at once, reads the edit and the rest")
    func laterOpsOfASessionAWithdrawnOpStarted() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let b = try RoleKit.make(dir, "b")
        try RoleKit.admit(b, as: .coordinator, by: c)
        try NodeFixture.syncBothWays(c, b)
        // One batch: the case's first op starts its session and the edit, the batch's second op
        // of the same case, goes on in it carrying no key (as a long batch, or a peer that keeps
        // sessions across batches, writes).
        let id = CaseID.random()
        let city = FieldPath(field: "city")
        // The edit writes a field the case's first op leaves empty, so no conflict decides it.
        var doc = RoleKit.doc("Дело", person: "Асель")
        doc.city = nil
        let made = try c.write(batch: [try CaseEditor.create(doc, id: id),
                                       [.put(case: id, path: city, value: "Тараз", supersedes: [])]])
        let bodies = try made.map { try SealedBody(decoding: $0.body) }
        #expect(bodies.count == 2 && SessionID(author: c.nodeID.signingKey, body: bodies[0]) == SessionID(author: c.nodeID.signingKey, body: bodies[1]),
                "both ops in one session, or the test proves nothing")
        let cv = try c.view()
        let person = try #require(cv.cases[id]?.elements("persons").first)
        _ = try c.withdraw(id.description, collection: "persons", element: person)
        try NodeFixture.syncBothWays(c, b)
        let seen = try #require(try b.view().cases[id])
        #expect(seen.value("city") == "Тараз", "the edit made in the withdrawn op's session")
        #expect(seen.value("title") == "Дело" && seen.elements("persons").isEmpty)
        let mine = try c.view()
        #expect(mine.cases[id]?.value("city") == "Тараз", "the withdrawing node reads its own edit with the key it cached: \(mine.stats)")
        #expect(try NodeFixture.open(dir, "c").view().cases[id]?.value("city") == "Тараз", "and so does a fresh process on its home")
    }

    /// A founder holding two cases, and the seizer's copy of its home made before any withdrawal.
    static func coordinatorAndSeizedCopy(_ dir: TempDir) throws -> (c: Node, copy: Node, ids: [CaseID]) {
        let (c, _) = try RoleKit.founder(dir)
        let ids = try c.importCases([RoleKit.doc("Первое", person: "Асель"), RoleKit.doc("Второе", person: "Ерлан")])
        _ = try c.view()
        try FileManager.default.copyItem(atPath: dir.sub("c"), toPath: dir.sub("copy"))
        return (c, try NodeFixture.open(dir, "copy"), ids)
    }

    @Test("a copied coordinator key that writes another note for the same withdrawal (a fork) makes the record disputed, not silently replaced")
    func forkedNote() throws {
        let dir = try TempDir()
        let (c, copy, ids) = try Self.coordinatorAndSeizedCopy(dir)
        let mine = try c.withdraw(ids[0].description, reason: "свидетель отозвал согласие")
        let theirs = try copy.withdraw(ids[0].description, reason: "другая причина")
        #expect(mine.withdrawals == theirs.withdrawals && mine.note != theirs.note, "the same withdrawal op, two notes at one seq")
        _ = try c.importEnvelopes(try copy.store.allEnvelopes())
        let record = try #require(try c.withdrawalRecords().first)
        #expect(record.disputed, "\(record)")
        #expect([ "свидетель отозвал согласие", "другая причина"].contains(record.why ?? ""))
    }

    @Test("a seized coordinator's withdrawal that reached nodes before its revocation: the revocation lifts it there, and the case comes back from a peer that kept it, over a live vector (as TCP sends) and over bundles (the ack ledger)")
    func seizedWithdrawalIsUndone() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let seized = try RoleKit.make(dir, "seized"), byVector = try RoleKit.make(dir, "v"), byBundle = try RoleKit.make(dir, "b")
        for n in [seized, byVector, byBundle] { try RoleKit.admit(n, as: .coordinator, by: c) }
        let id = try c.addCase(RoleKit.doc("Дело", person: "Жанар"))
        func bundle(_ from: Node, _ to: Node, _ name: String) throws {
            let out = dir.sub(name + ".sqb")
            _ = try from.exportBundle(to: [to.nodeID], out: out)
            _ = try to.importBundle(out)
        }
        try NodeFixture.syncBothWays(c, seized)
        try NodeFixture.sync(c, to: byVector)
        try bundle(c, byBundle, "c-b-1")
        try bundle(byBundle, c, "b-c-1")
        #expect(try c.store.acknowledged(by: byBundle.nodeID)[c.nodeID.signingKey] > 0, "c's ledger knows what byBundle holds")

        // The seizer withdraws the case with the stock client on the seized device; two
        // coordinators receive it before anyone has heard of the seizure.
        _ = try seized.withdraw(id.description, reason: "—")
        try NodeFixture.sync(seized, to: byVector)
        try NodeFixture.sync(seized, to: byBundle)
        for n in [byVector, byBundle] { #expect(try n.view().cases[id] == nil, "the withdrawal stood there when it arrived") }

        // c never received it, and revokes the seized device.
        _ = try c.revoke(seized.nodeID)
        #expect(try c.view().cases[id] != nil)

        // Over a live vector: the revocation lifts the withdrawal, the node no longer counts the
        // withdrawn ops as held, and the next exchange brings them back.
        try NodeFixture.sync(c, to: byVector)
        #expect(try byVector.checkWithdrawn().opsNamed == 0)
        #expect(try NodeFixture.sync(c, to: byVector) > 0, "the case's ops come again")
        #expect(try byVector.view().cases[id]?.value("title") == "Дело")

        // Over bundles: c's ledger says byBundle holds the case. byBundle's next bundle carries
        // its vector, which no longer counts the case's ops, and that newer word replaces c's row.
        try bundle(c, byBundle, "c-b-2")
        try bundle(byBundle, c, "b-c-2")
        try bundle(c, byBundle, "c-b-3")
        #expect(try byBundle.view().cases[id]?.value("title") == "Дело")
        #expect(try byBundle.checkWithdrawn().opsNamed == 0)
        // The seizer's withdrawal stays, as evidence, where it landed (quarantined ops are not carried on).
        for n in [byVector, byBundle] { #expect(try n.store.envelopes(author: seized.nodeID.signingKey, after: 0).contains { $0.kind == .membership }) }
    }

    @Test("an honest coordinator's withdrawal is not lifted when it is revoked later and its chain has gaps here: its own later withdrawal took some of its ops, and a reporter holds only its membership ops")
    func honestWithdrawalStaysAfterRevocation() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let h = try RoleKit.make(dir, "h"), r = try RoleKit.make(dir, "r"), kept = try RoleKit.make(dir, "kept")
        try RoleKit.admit(h, as: .coordinator, by: c)
        try RoleKit.admit(kept, as: .coordinator, by: c)
        try RoleKit.admit(r, as: .reporter, by: c)
        let reported = try r.addCase(RoleKit.doc("Сообщение", person: "Нурлан"))
        try NodeFixture.sync(r, to: c)
        let first = try c.addCase(RoleKit.doc("Первое", person: "Асель"))
        for n in [h, kept] { try NodeFixture.sync(c, to: n) }
        let reportedOps = try Self.opsOf(reported, on: c), firstOps = try Self.opsOf(first, on: c)
        // h withdraws the reporter's case and c's, then records a case of its own and withdraws that too.
        _ = try h.withdraw(reported.description, reason: "—")
        _ = try h.withdraw(first.description, reason: "—")
        let own = try h.addCase(RoleKit.doc("Своё", person: "Ерлан"))
        _ = try h.withdraw(own.description, reason: "—")
        try NodeFixture.sync(h, to: c)
        try NodeFixture.sync(c, to: r)
        let stubbedOnC = try c.store.withdrawnIDs(), stubbedOnR = try r.store.withdrawnIDs()
        #expect(stubbedOnC.isSuperset(of: (reportedOps + firstOps).map(\.id)))
        #expect(stubbedOnR.isSuperset(of: reportedOps.map(\.id)), "the reporter dropped its own case")
        // h's device is lost later; c revokes it at the last op it holds of h.
        _ = try c.revoke(h.nodeID)
        try NodeFixture.sync(c, to: r)
        #expect(try c.store.withdrawnIDs() == stubbedOnC, "no stub lifted on c, where h's chain has gaps")
        #expect(try r.store.withdrawnIDs() == stubbedOnR, "no stub lifted on the reporter, which holds h's membership ops only")
        // kept never received the withdrawals: it offers the cases, and c takes none of them back.
        #expect(try NodeFixture.sync(kept, to: c) == 0)
        #expect(try c.view().cases[first] == nil && c.view().cases[reported] == nil)
    }

    @Test("a withdrawal stays when the coordinator who admitted its author is revoked later and the withdrawal cut a gap in that admitter's chain; a seized key's sockpuppet's withdrawal is lifted with the key's own")
    func admissionsAndSockpuppets() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let a = try RoleKit.make(dir, "a"), h = try RoleKit.make(dir, "h"), kept = try RoleKit.make(dir, "kept")
        try RoleKit.admit(a, as: .coordinator, by: c)
        try RoleKit.admit(kept, as: .coordinator, by: c)
        try RoleKit.admit(h, as: .coordinator, by: a)
        try NodeFixture.sync(a, to: c)
        let byA = try a.addCase(RoleKit.doc("Дело А", person: "Айдос"))
        _ = try a.addCase(RoleKit.doc("Дело А2", person: "Айдос"))
        try NodeFixture.syncBothWays(a, c)
        for n in [h, kept] { try NodeFixture.sync(c, to: n) }
        // h withdraws a's case: a's chain has a gap on every node that obeyed, above a's add of h.
        _ = try h.withdraw(byA.description, reason: "—")
        try NodeFixture.sync(h, to: c)
        let stubbed = try c.store.withdrawnIDs()
        #expect(!stubbed.isEmpty)
        // a's device is lost; c revokes it at the last op c holds of a.
        _ = try c.revoke(a.nodeID)
        #expect(try c.storedMembership().members[h.nodeID.signingKey] == nil, "the gap cuts a's genuine ops short of its add of h")
        #expect(try c.store.withdrawnIDs() == stubbed, "h's withdrawal is not lifted though a's chain has a gap here")
        #expect(try NodeFixture.sync(kept, to: c) == 0 && (try c.view().cases[byA]) == nil)

        // The sockpuppet: a seized key admits a coordinator of its own, which withdraws.
        let seized = try RoleKit.make(dir, "seized"), puppet = try RoleKit.make(dir, "puppet")
        try RoleKit.admit(seized, as: .coordinator, by: c)
        try NodeFixture.syncBothWays(c, seized)
        let victim = try c.addCase(RoleKit.doc("Дело Б", person: "Гульнар"))
        try NodeFixture.sync(c, to: seized)
        try NodeFixture.sync(c, to: kept)
        try puppet.join(try #require(try c.project()))
        _ = try seized.addMember(puppet.nodeID, role: .coordinator)
        try NodeFixture.sync(seized, to: puppet)
        _ = try puppet.withdraw(victim.description, reason: "—")
        let obeyed = try RoleKit.make(dir, "obeyed")
        try RoleKit.admit(obeyed, as: .coordinator, by: c)
        try NodeFixture.sync(c, to: obeyed)
        try NodeFixture.sync(seized, to: obeyed)
        try NodeFixture.sync(puppet, to: obeyed)
        #expect(try obeyed.view().cases[victim] == nil, "the sockpuppet's withdrawal stood there")
        // c revokes the seized key at the last op it holds of it, below its add of the puppet.
        _ = try c.revoke(seized.nodeID)
        try NodeFixture.sync(c, to: obeyed)
        #expect(try NodeFixture.sync(kept, to: obeyed) > 0, "the case comes back from a node that kept it")
        #expect(try obeyed.view().cases[victim]?.value("title") == "Дело Б")
    }

    /// Whether `needle` occurs in the home's store file or its write-ahead log, as a seizer
    /// reading the disk would find it.
    static func diskHolds(_ home: String, _ needle: [UInt8]) -> Bool {
        ["", "-wal"].contains { suffix in
            let raw = [UInt8](FileManager.default.contents(atPath: Node.databasePath(home) + suffix) ?? Data())
            guard raw.count >= needle.count else { return false }
            return raw.indices.dropLast(needle.count - 1).contains { raw[$0] == needle[0] && raw[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
    }

    /// Another connection on the home inside a read transaction: a desk serving a page, or a
    /// command reading, while this process withdraws. SQLite cannot empty its log meanwhile.
    static func readerInTheMiddle(_ home: String) throws -> Database {
        let reader = try Database(path: Node.databasePath(home))
        try reader.execute("BEGIN")
        let s = try reader.prepare("SELECT count(*) FROM sqlite_master")
        _ = try s.step()
        return reader
    }

    @Test("a withdrawal while another process reads the home (a desk mid-page, a command): the disk keeps the withdrawn op until a checkpoint can finish, so the check does not call the home clean; the next open finishes it, and so does the check once the reader is gone")
    func withdrawalWhileAnotherProcessReads() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let ids = [CaseID.random(), CaseID.random()]
        let ops = try ids.enumerated().map { i, id in
            try c.write(try CaseEditor.create(RoleKit.doc(["Первое", "Второе"][i], person: ["Асель", "Ерлан"][i]), id: id))
        }
        // A run of each op's ciphertext: with the node's keys (which a seizer may force out of
        // its holder) it opens the withdrawn case.
        let needles = ops.map { Array($0.body[($0.body.count / 2)..<($0.body.count / 2 + 32)]) }
        #expect(needles.allSatisfy { Self.diskHolds(c.home, $0) })

        let reader = try Self.readerInTheMiddle(c.home)
        _ = try c.withdraw(ids[0].description)
        #expect(Self.diskHolds(c.home, needles[0]), "premise: the log could not be emptied under the reader")
        let during = try c.checkWithdrawn()
        #expect(during.opsHeld == 0 && during.scrubPending && !during.clean,
                "the home is not clean while its file holds the withdrawn op: \(during)")
        try reader.execute("COMMIT")
        let reopened = try NodeFixture.open(dir, "c")
        #expect(!Self.diskHolds(c.home, needles[0]), "opening the home again finishes the scrub")
        #expect(try reopened.checkWithdrawn().clean)

        // The same in a process that stays open (the desk): its check finishes the scrub.
        let second = try Self.readerInTheMiddle(c.home)
        _ = try reopened.withdraw(ids[1].description)
        #expect(Self.diskHolds(c.home, needles[1]))
        try second.execute("COMMIT")
        let after = try reopened.checkWithdrawn()
        #expect(after.clean && !after.scrubPending, "\(after)")
        #expect(!Self.diskHolds(c.home, needles[1]), "checking once the reader is gone finishes the scrub")
        withExtendedLifetime((c, reader, second)) {}
    }

    /// A founder and a second coordinator holding `docs`; the founder withdraws the first case,
    /// and the second coordinator imports that withdrawal while another connection holds the
    /// home's write lock past the wait (as another process, or a full disk, can make it fail).
    /// Returns after the lock is gone, with the withdrawal held and not carried out.
    static func withdrawalWhoseScrubFailed(_ dir: TempDir, _ docs: [CaseDocument]) throws -> (c: Node, c2: Node, ids: [CaseID]) {
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try NodeFixture.syncBothWays(c, c2)
        let ids = try c.importCases(docs)
        try NodeFixture.syncBothWays(c, c2)
        _ = try c.withdraw(ids[0].description)
        var locker: Database?
        c2.beforeApplyingWithdrawalsForTests = {
            locker = try? Database(path: Node.databasePath(c2.home))
            try? locker?.execute("BEGIN IMMEDIATE")
        }
        #expect(throws: (any Error).self, "the scrub cannot take the write lock") { try NodeFixture.sync(c, to: c2) }
        c2.beforeApplyingWithdrawalsForTests = nil
        try locker?.execute("ROLLBACK")
        let stuck = try c2.checkWithdrawn()
        #expect(stuck.withdrawals == 1 && stuck.opsHeld > 0, "premise: the withdrawal op is held and not carried out: \(stuck)")
        return (c, c2, ids)
    }

    @Test("a withdrawal that lands but whose scrub fails (another process held the write lock past the wait; a full disk does the same) is carried out at the next open, not left until some other membership op arrives")
    func aFailedScrubIsRetriedAtOpen() throws {
        let dir = try TempDir()
        let (_, c2, ids) = try Self.withdrawalWhoseScrubFailed(dir, [RoleKit.doc("Дело", person: "Асель")])
        let reopened = try NodeFixture.open(dir, "c2")
        let after = try reopened.checkWithdrawn()
        #expect(after.clean && after.opsHeld == 0, "the next open carries it out: \(after)")
        #expect(try reopened.view().cases[ids[0]] == nil)
        withExtendedLifetime(c2) {}
    }

    @Test("the same, in a process that stays open (serve, the desk): its next import carries it out, though it brings no membership op")
    func aFailedScrubIsRetriedAtTheNextImport() throws {
        let dir = try TempDir()
        let (c, c2, ids) = try Self.withdrawalWhoseScrubFailed(dir, [RoleKit.doc("Дело", person: "Асель"), RoleKit.doc("Другое", person: "Ерлан")])
        try c.set(ids[1].description, fields: [(FieldPath(field: "city"), "Тараз")])
        #expect(try NodeFixture.sync(c, to: c2) == 1, "an ordinary op, no membership")
        #expect(try c2.checkWithdrawn().clean)
        #expect(try c2.view().cases[ids[0]] == nil && c2.view().cases[ids[1]]?.value("city") == "Тараз")
    }

    @Test("a second process that read a case before it was withdrawn, and caches its key after, does not write the withdrawn key back: the cache refuses a key the store has forgotten")
    func aSecondProcessCannotCacheAWithdrawnKeyBack() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        _ = try c.addCase(RoleKit.doc("Остаётся", person: "Ерлан"))
        // The desk, or any long-running process, on the same home: its view from before the case.
        let desk = try NodeFixture.open(dir, "c")
        _ = try desk.view()
        let doomed = try c.addCase(RoleKit.doc("Отозванное", person: "Асель"))
        // The desk reads the new case; the coordinator withdraws it before the desk caches its key.
        desk.beforeCachingKeysForTests = {
            desk.beforeCachingKeysForTests = nil
            _ = try? c.withdraw(doomed.description)
        }
        _ = try desk.view()
        #expect(desk.beforeCachingKeysForTests == nil, "premise: the desk caught up and cached keys")
        let check = try NodeFixture.open(dir, "c").checkWithdrawn()
        #expect(check.opsHeld == 0, "premise: the withdrawal was carried out: \(check)")
        #expect(check.keysHeld == 0 && check.clean, "the withdrawn case's key is back in the cache: \(check)")
        withExtendedLifetime((c, desk)) {}
    }

    @Test("an edit of a withdrawn case written later (a reporter offline during the withdrawal) brings the case back: every coordinator's check names it, by the case ids the sealed note carries, until a coordinator withdraws it too")
    func aLaterEditOfAWithdrawnCaseIsNamed() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        try RoleKit.admit(r, as: .reporter, by: c)
        try NodeFixture.syncBothWays(c, c2)
        try NodeFixture.syncBothWays(c, r)
        let id = CaseID.random()
        _ = try r.write(try CaseEditor.create(RoleKit.doc("Показания", person: "Асель"), id: id))
        try NodeFixture.syncBothWays(r, c)
        try NodeFixture.syncBothWays(c, c2)
        #expect(try c2.view().cases[id] != nil)

        _ = try c.withdraw(id.description, reason: "свидетель отозвал согласие")
        try NodeFixture.syncBothWays(c, c2)
        #expect(try c.checkWithdrawn().clean && c2.checkWithdrawn().clean)
        // The reporter, offline all along, adds to the case by its id; the stick reaches c later.
        _ = try r.write([.put(case: id, path: FieldPath(field: "summary"), value: "Асель снова допрошена", supersedes: [])])
        try NodeFixture.syncBothWays(r, c)
        try NodeFixture.syncBothWays(c, c2)
        #expect(try c.view().cases[id]?.value("summary") == "Асель снова допрошена", "premise: the late edit shows the case again")
        for (name, n) in [("the withdrawer", c), ("the other coordinator", c2)] {
            let check = try n.checkWithdrawn()
            #expect(check.opsUnnamed == 1 && !check.clean, "\(name) calls the home clean with the case readable again: \(check)")
        }
        // Withdrawing it again takes the late edit, and every check is clean.
        _ = try c2.withdraw(id.description, reason: "позднее дополнение отозванного дела")
        try NodeFixture.syncBothWays(c2, c)
        for n in [c, c2] {
            #expect(try n.view().cases[id] == nil)
            let check = try n.checkWithdrawn()
            #expect(check.opsUnnamed == 0 && check.clean, "\(check)")
        }
    }

    @Test("an edit of a withdrawn element written later (a reporter offline during the withdrawal writes the withdrawn person's name again) shows the person again: every coordinator's check names it, by the element the sealed note carries, until a coordinator withdraws the element too, which a field alone, with no add, is enough to allow")
    func aLaterEditOfAWithdrawnElementIsNamed() throws {
        let dir = try TempDir()
        let (c, c2, r) = try Self.coordinatorsAndReporter(dir)
        let id = try r.addCase(RoleKit.doc("Задержание", person: "Бауыржан Ахметов"))
        try NodeFixture.syncBothWays(r, c)
        try NodeFixture.syncBothWays(c, c2)
        let person = try #require(try c.view().cases[id]?.elements("persons").first)
        _ = try c.withdraw(id.description, collection: "persons", element: person, reason: "угроза свидетелю")
        try NodeFixture.syncBothWays(c, c2)
        #expect(try c.checkWithdrawn().clean && c2.checkWithdrawn().clean)
        // The reporter, not yet told, writes the person's name again from its own copy.
        let name = FieldPath(collection: "persons", element: person, field: "name")
        try r.write([.put(case: id, path: name, value: "Бауыржан Ахметов", supersedes: [])])
        try NodeFixture.syncBothWays(r, c)
        try NodeFixture.syncBothWays(c, c2)
        #expect(try c2.view().cases[id]?.value("persons", person, "name") == "Бауыржан Ахметов", "premise: the late edit shows the name again")
        for (who, n) in [("the withdrawer", c), ("the other coordinator", c2)] {
            let check = try n.checkWithdrawn()
            #expect(check.opsUnnamed == 1 && !check.clean, "\(who) calls the home clean with the person readable again: \(check)")
            #expect(check.elementsReturned.map(\.name) == ["\(id.short) persons/\(person)"] && check.casesReturned.isEmpty, "\(check)")
        }
        // The other coordinator withdraws the element again: the late edit goes, every check is clean.
        _ = try c2.withdraw(id.description, collection: "persons", element: person, reason: "позднее дополнение")
        try NodeFixture.syncBothWays(c2, c)
        for n in [c, c2] {
            #expect(try n.view().cases[id]?.registers[name] == nil)
            #expect(try n.view().cases[id] != nil, "the rest of the case stays")
            let check = try n.checkWithdrawn()
            #expect(check.opsUnnamed == 0 && check.clean, "\(check)")
        }
    }

    @Test("a person withdrawn, then the whole case: a later edit of the person brings the case back, and the check names the case alone, since withdrawing it names the edit")
    func anElementOfACaseBackWholeIsNamedWithTheCase() throws {
        let dir = try TempDir()
        let (c, _, r) = try Self.coordinatorsAndReporter(dir)
        let id = try r.addCase(RoleKit.doc("Задержание", person: "Бауыржан Ахметов"))
        try NodeFixture.syncBothWays(r, c)
        let person = try #require(try c.view().cases[id]?.elements("persons").first)
        _ = try c.withdraw(id.description, collection: "persons", element: person, reason: "угроза свидетелю")
        _ = try c.withdraw(id.description, reason: "дело целиком")
        try r.write([.put(case: id, path: FieldPath(collection: "persons", element: person, field: "name"), value: "Бауыржан", supersedes: [])])
        try NodeFixture.syncBothWays(r, c)
        let check = try c.checkWithdrawn()
        #expect(check.opsUnnamed == 1 && check.casesReturned == [id.short], "\(check)")
        #expect(check.elementsReturned.isEmpty, "the person is named apart from its case, which one withdrawal takes: \(check)")
    }

    @Test("a copied coordinator key that forks the note of a real element withdrawal to name another person, whom nobody withdrew, does not make every coordinator's check unclean over that person: only what every note of the withdrawal names counts, and the record shows disputed")
    func aForkedNoteCannotNameAnInnocentElement() throws {
        let dir = try TempDir()
        let (c, copy, ids) = try Self.coordinatorAndSeizedCopy(dir)
        let v = try copy.view()
        let withdrawn = try #require(v.cases[ids[0]]?.elements("persons").first)
        let innocent = try #require(v.cases[ids[1]]?.elements("persons").first)
        let reason = "угроза свидетелю"
        _ = try c.withdraw(ids[0].description, collection: "persons", element: withdrawn, reason: reason)
        let ops = try #require(try c.storedMembership().withdrawals.values.first)
        // The seizer's modified client: the same withdrawal op, its note naming the other person.
        let what = "\(Node.noteName(ids[0], in: v)) persons/\(withdrawn)"
        _ = try copy.writeWithdrawals(ops.sorted(), files: [], element: WithdrawnElement(case: ids[1], collection: "persons", element: innocent),
                                      what: what, why: reason, in: v)
        #expect(try copy.storedMembership().withdrawals.keys == c.storedMembership().withdrawals.keys, "premise: one withdrawal, two notes")
        _ = try c.importEnvelopes(try copy.store.allEnvelopes())
        #expect(try c.view().cases[ids[1]]?.elements("persons") == [innocent])
        let check = try c.checkWithdrawn()
        #expect(check.opsUnnamed == 0 && check.clean, "the forked note made an innocent person count as withdrawn: \(check)")
        #expect(check.records.first?.disputed == true, "two notes that name different elements are disputed")
    }

    @Test("a copied coordinator key that forks the note of a real withdrawal to list a case nobody withdrew does not make every coordinator's check unclean over that case: a list counts only as far as every note of its withdrawal agrees, and the record shows disputed")
    func aForkedNoteCannotListAnInnocentCase() throws {
        let dir = try TempDir()
        let (c, copy, ids) = try Self.coordinatorAndSeizedCopy(dir)
        let reason = "свидетель отозвал согласие"
        let mine = try c.withdraw(ids[0].description, reason: reason)
        // The seizer's modified client: the same withdrawal op, its note in the same words,
        // listing the other case too.
        let v = try copy.view()
        let plan = try copy.withdrawalPlan(ids[0].description)
        let what = plan.cases.map { Node.noteName($0, in: v) }.joined(separator: ", ")
        let theirs = try copy.writeWithdrawals(plan.ops, files: plan.files, cases: [ids[0], ids[1]], what: what, why: reason, in: v)
        #expect(theirs.withdrawals == mine.withdrawals && theirs.note != mine.note, "premise: one withdrawal, two notes")
        _ = try c.importEnvelopes(try copy.store.allEnvelopes())
        #expect(try c.view().cases[ids[1]] != nil)
        let check = try c.checkWithdrawn()
        #expect(check.opsUnnamed == 0 && check.clean, "the forked list made an innocent case count as withdrawn: \(check)")
        #expect(check.records.first?.disputed == true, "two notes that list different cases are disputed")
    }
}
