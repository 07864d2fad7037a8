import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

// Roles, revocation, forks and duress at the library level (the Node API), one temp home per
// node, keys sealed with PasswordKDFParameters.minimum. The seizure drill runs the same rules
// end to end through the CLI (Tests/EndToEndTests/SeizureDrillTests.swift).

/// Helpers for this file only (distinct names: other test files share the module).
enum RoleKit {
    static let passphrase = NodeFixture.passphrase

    static func secret(_ s: String) -> SecureBytes { SecureBytes(Array(s.utf8)) }

    static func make(_ dir: TempDir, _ name: String, writeOnly: Bool = false) throws -> Node {
        try NodeFixture.make(dir, name, writeOnly: writeOnly)
    }

    /// A project founded by a fresh coordinator node "c".
    static func founder(_ dir: TempDir) throws -> (Node, ProjectID) { try NodeFixture.founder(dir) }

    /// Makes `n` join, has `by` admit it with `role`, and hands it `by`'s ops.
    static func admit(_ n: Node, as role: Role, by c: Node) throws {
        try n.join(try #require(try c.project()))
        _ = try c.addMember(n.nodeID, role: role)
        try NodeFixture.sync(c, to: n)
    }

    static func doc(_ title: String, person: String, city: String = "Алматы") -> CaseDocument {
        var d = CaseDocument()
        d.title = title
        d.status = "detained"
        d.city = city
        d.persons = [CaseDocument.Person(name: person)]
        return d
    }

    /// The cases a box key reads from a set of ops, derived from scratch (no node caches involved).
    static func readable(_ envs: [Envelope], project: ProjectID, by keys: BoxKeyPair) -> Set<CaseID> {
        Set(ProjectView(project: project, envelopes: envs, reader: keys).cases.keys)
    }

    /// An op signed with `node`'s key continuing its chain as its store holds it, built outside
    /// the node (so no role check of its own applies).
    static func crafted(by node: Node, project: ProjectID, _ mutations: [Mutation], readers: [BoxPublicKey]) throws -> Envelope {
        let head = try node.store.chainHead(of: node.identity.signing.publicKey)
        let w = OpWriter(keys: node.identity.signing, project: project, seq: head?.seq ?? 0, prev: head?.id ?? .zero,
                         clock: HybridClock(last: (try? node.view().maxClock) ?? 0))
        return w.sealed(mutations, readers: readers, wallMillis: UInt64(Date().timeIntervalSince1970 * 1000))
    }

    /// Runs `body`, which must throw a NodeError of `kind`.
    static func expectNodeError(_ kind: NodeError.Kind, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                                _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(what): expected a \(kind) error, but it succeeded", sourceLocation: sourceLocation)
        } catch let e as NodeError {
            #expect(e.kind == kind, "\(what): \(e.kind) \(e.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what): unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// What a reader shows of one case (every register's survivors, every set's present
    /// elements), comparable across readers; "absent" when it reads no such case.
    static func caseDigest(_ c: CaseState?) -> String {
        guard let c else { return "absent" }
        var w = ByteWriter()
        NodeFixture.write(c, into: &w)
        return Hex.encode(Hash.blake2b(w.bytes))
    }

    static func envelopeIDs(_ n: Node) throws -> Set<OpID> { Set(try n.envelopes(missingFrom: VersionVector()).map(\.id)) }
}

@Suite("Roles: who reads and writes what, revocation, forks, panic under duress")
struct RoleTests {
    // MARK: reporter

    @Test("a reporter writes and reads its own cases, but not a coordinator's other cases")
    func reporterReadsOwnOnly() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: c)

        let theirs = try c.addCase(RoleKit.doc("Дело координатора", person: "Асель Координаторова"))
        let mine = try r.addCase(RoleKit.doc("Дело репортёра", person: "Бауыржан Репортёров"))
        try r.set(mine.description, fields: [(FieldPath(field: "notes"), "записано на месте")])
        try NodeFixture.syncBothWays(c, r)
        #expect(try r.store.opCount == c.store.opCount, "the reporter holds the coordinator's op too")

        // The coordinator reads the reporter's case.
        #expect(try c.view().cases[mine]?.value("title") == "Дело репортёра")
        #expect(try c.view().cases[mine]?.value("notes") == "записано на месте")
        // The reporter reads its own case, now and after reopening, and not the coordinator's.
        for (label, node) in [("same process", r), ("reopened", try NodeFixture.open(dir, "r"))] {
            let v = try node.view()
            #expect(v.cases[mine]?.value("title") == "Дело репортёра", "\(label)")
            #expect(v.cases[mine]?.value("notes") == "записано на месте", "\(label)")
            #expect(v.cases[theirs] == nil, "\(label): a reporter must not read a coordinator's case")
            #expect(Set(v.cases.keys) == [mine], "\(label)")
            #expect(v.stats.unreadable >= 1, "\(label): the coordinator's case op is held but unreadable")
        }
        // With its own key (ops.md section 4, "A reporter's own key"), not its node id's box key.
        let own = try #require(try r.storedReaderKey()).keys
        #expect(RoleKit.readable(try r.envelopes(missingFrom: VersionVector()), project: pid, by: own) == [mine])
        #expect(RoleKit.readable(try r.envelopes(missingFrom: VersionVector()), project: pid, by: r.identity.box).isEmpty)
    }

    @Test("a write-only reporter cannot read back what it recorded once reopened; the coordinator reads it")
    func writeOnlyReporter() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        #expect(r.isWriteOnly)
        try RoleKit.admit(r, as: .reporter, by: c)

        let ids = try r.importCases([RoleKit.doc("Первое дело", person: "Жанна Первая"),
                                     RoleKit.doc("Второе дело", person: "Ерлан Второй")])
        try r.set(ids[0].description, fields: [(FieldPath(field: "city"), "Шымкент")])
        #expect(ids.count == 2)

        let reopened = try NodeFixture.open(dir, "r")
        #expect(reopened.isWriteOnly, "write-only is a setting of the home, kept across opens")
        let v = try reopened.view()
        #expect(v.cases.count == 0, "a write-only node must not read back its own cases: \(v.cases.keys)")
        #expect(v.stats.readable == 0)
        #expect(v.stats.unreadable >= 3, "its three ops are held, sealed to others")
        #expect(try reopened.store.opCount == c.store.opCount + 3)
        #expect(RoleKit.readable(try reopened.envelopes(missingFrom: VersionVector()), project: pid, by: reopened.identity.box).isEmpty)

        try NodeFixture.sync(reopened, to: c)
        let cv = try c.view()
        #expect(Set(cv.cases.keys) == Set(ids))
        #expect(cv.cases[ids[0]]?.value("title") == "Первое дело")
        #expect(cv.cases[ids[0]]?.value("city") == "Шымкент")
        #expect(cv.cases[ids[1]]?.value("title") == "Второе дело")
    }

    // MARK: lawyer

    @Test("a lawyer's node refuses to write, and every other node refuses an op a lawyer signed")
    func lawyerCannotWrite() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let l = try RoleKit.make(dir, "l")
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(l, as: .lawyer, by: c)
        try RoleKit.admit(r, as: .reporter, by: c)
        try NodeFixture.sync(c, to: l)
        let before = try l.store.opCount

        RoleKit.expectNodeError(.refused, "lawyer addCase") { try l.addCase(RoleKit.doc("Дело адвоката", person: "Икс")) }
        RoleKit.expectNodeError(.refused, "lawyer member add") { _ = try l.addMember(try RoleKit.make(dir, "z").nodeID, role: .reporter) }
        #expect(try l.store.opCount == before, "nothing was stored")
        #expect(try l.store.chainHead(of: l.identity.signing.publicKey) == nil, "the lawyer's chain stays empty")

        // An op signed with the lawyer's key outside its node: refused on import by every other node.
        let forged = try RoleKit.crafted(by: l, project: pid, try CaseEditor.create(RoleKit.doc("Подделка", person: "Игрек")),
                                         readers: [c.identity.box.publicKey, r.identity.box.publicKey])
        for (name, node) in [("coordinator", c), ("reporter", r)] {
            let ops = try node.store.opCount
            let report = try node.importEnvelopes([forged])
            #expect(report.new == 0, "\(name)")
            #expect(report.refused.count == 1, "\(name): \(report.refused)")
            if let x = report.refused.first {
                #expect(x.id == forged.id)
                #expect(x.reason.failureClass == "not_allowed", "\(name): \(x.reason)")
                #expect(x.reason.description.contains("lawyer"), "\(name): \(x.reason)")
            }
            #expect(try node.store.opCount == ops, "\(name) stored the lawyer's op")
        }
        #expect(try c.view().cases.isEmpty)
    }

    @Test("a lawyer reads only the cases shared with it, including edits made after sharing")
    func lawyerReadsShared() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: c)

        let a = try c.addCase(RoleKit.doc("Дело А", person: "Айгерим А"))
        let b = try c.addCase(RoleKit.doc("Дело Б", person: "Болат Б"))
        let x = try c.addCase(RoleKit.doc("Дело Х", person: "Хасен Х"))
        try c.set(a.description, fields: [(FieldPath(field: "city"), "Тараз")])          // before sharing
        try c.addElement(a.description, collection: "persons", fields: ["name": "Второй фигурант"])
        try NodeFixture.sync(c, to: l)
        #expect(try l.view().cases.isEmpty, "nothing is shared yet")

        try c.share(a.description, with: l.nodeID)
        try NodeFixture.sync(c, to: l)
        var v = try l.view()
        #expect(Set(v.cases.keys) == [a])
        #expect(v.cases[a]?.value("title") == "Дело А")
        #expect(v.cases[a]?.value("city") == "Тараз", "the history before sharing is granted")
        #expect(v.cases[a].map { c in c.elements("persons").compactMap { c.value("persons", $0, "name") }.sorted() }
                == ["Айгерим А", "Второй фигурант"])

        // Edits after sharing: to the shared case (read), to others (not read).
        try c.set(a.description, fields: [(FieldPath(field: "notes"), "после передачи")])
        try c.set(x.description, fields: [(FieldPath(field: "notes"), "не для адвоката")])
        try NodeFixture.sync(c, to: l)
        v = try l.view()
        #expect(Set(v.cases.keys) == [a])
        #expect(v.cases[a]?.value("notes") == "после передачи")
        #expect(RoleKit.caseDigest(v.cases[a]) == RoleKit.caseDigest(try c.view().cases[a]),
                "the lawyer sees case A exactly as the coordinator does")
        #expect(RoleKit.caseDigest(v.cases[a]) == RoleKit.caseDigest(
            ProjectView(project: pid, envelopes: try l.envelopes(missingFrom: VersionVector()), reader: l.identity.box).cases[a]))

        // Sharing a second case later adds exactly that one.
        try c.share(b.description, with: l.nodeID)
        try NodeFixture.sync(c, to: l)
        v = try NodeFixture.open(dir, "l").view()
        #expect(Set(v.cases.keys) == [a, b])
        #expect(v.cases[x] == nil)
    }

    @Test("a lawyer reads a reporter's edits to its case made after a coordinator shared it")
    func lawyerReadsReporterEditsAfterSharing() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(r, as: .reporter, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        let k = try r.addCase(RoleKit.doc("Дело репортёра", person: "Сабина Репортёрова"))
        try NodeFixture.sync(r, to: c)
        try c.share(k.description, with: l.nodeID)
        try NodeFixture.syncBothWays(c, r)
        try NodeFixture.sync(c, to: l)
        #expect(try l.view().cases[k]?.value("title") == "Дело репортёра", "the shared history reaches the lawyer")

        // The reporter keeps working on its case after the share (it has synced since).
        try r.set(k.description, fields: [(FieldPath(field: "notes"), "новые сведения после передачи")])
        try NodeFixture.sync(r, to: c)
        try NodeFixture.sync(c, to: l)
        #expect(try c.view().cases[k]?.value("notes") == "новые сведения после передачи")
        #expect(try l.view().cases[k]?.value("notes") == "новые сведения после передачи",
                "an edit made after sharing, by the case's reporter, must reach the lawyer it is shared with")
    }

    // MARK: relay

    @Test("a relay reads nothing, stores and forwards everything, and may not write")
    func relayForwards() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        let l = try RoleKit.make(dir, "l")
        let y = try RoleKit.make(dir, "y")
        try RoleKit.admit(r, as: .reporter, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        try RoleKit.admit(y, as: .relay, by: c)

        let shared = try c.addCase(RoleKit.doc("Общее дело", person: "Данияр Общий"))
        _ = try c.addCase(RoleKit.doc("Закрытое дело", person: "Гульнара Закрытая"))
        try c.share(shared.description, with: l.nodeID)
        let reported = try r.addCase(RoleKit.doc("Сообщение с места", person: "Нурлан Местный"))

        // The relay gets everything from both writers; the lawyer and coordinator only through it.
        try NodeFixture.sync(c, to: y)
        try NodeFixture.sync(r, to: y)
        let everything = try RoleKit.envelopeIDs(c).union(try RoleKit.envelopeIDs(r))
        #expect(try RoleKit.envelopeIDs(y) == everything, "the relay stores every op")
        let yv = try y.view()
        #expect(yv.cases.isEmpty, "a relay reads no case: \(yv.cases.keys)")
        #expect(yv.stats.readable == 0)
        #expect(RoleKit.readable(try y.envelopes(missingFrom: VersionVector()), project: pid, by: y.identity.box).isEmpty)

        // Forwarding: what a peer lacks is everything the relay holds beyond it.
        #expect(Set(try y.envelopes(missingFrom: VersionVector()).map(\.id)) == everything)
        #expect(Set(try y.envelopes(missingFrom: try l.versionVector()).map(\.id)) == everything.subtracting(try RoleKit.envelopeIDs(l)))
        try NodeFixture.sync(y, to: l)
        try NodeFixture.sync(y, to: c)
        #expect(Set(try l.view().cases.keys) == [shared], "the lawyer reads its shared case via the relay")
        #expect(try c.view().cases[reported]?.value("title") == "Сообщение с места", "the reporter's case reached the coordinator via the relay")

        // A relay may not write, and an op signed with its key is refused.
        RoleKit.expectNodeError(.refused, "relay addCase") { try y.addCase(RoleKit.doc("Реле пишет", person: "Никто")) }
        let forged = try RoleKit.crafted(by: y, project: pid, try CaseEditor.create(RoleKit.doc("Подделка реле", person: "Никто")),
                                         readers: [c.identity.box.publicKey])
        let report = try c.importEnvelopes([forged])
        #expect(report.refused.count == 1 && report.new == 0, "\(report.refused)")
        #expect(report.refused.first?.reason.description.contains("relay") == true)
    }

    // MARK: coordinators

    @Test("a coordinator added later reads the project's past, a write-only reporter's cases included")
    func lateCoordinatorReadsPast() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        try RoleKit.admit(r, as: .reporter, by: c)
        let early = try c.addCase(RoleKit.doc("Давнее дело", person: "Старый Фигурант"))
        try c.set(early.description, fields: [(FieldPath(field: "notes"), "правка координатора")])
        let fromReporter = try r.addCase(RoleKit.doc("Дело из поля", person: "Полевой Фигурант"))
        try NodeFixture.sync(r, to: c)

        let c2 = try RoleKit.make(dir, "c2")
        try c2.join(pid)
        _ = try c.addMember(c2.nodeID, role: .coordinator)
        // The admission is followed by one op of grants sealed to the newcomer; without it the
        // past is unreadable to C2 (it was sealed before C2 existed), with it, readable.
        let grantOp = try #require(try c.store.chainHead(of: c.identity.signing.publicKey))
        let all = try c.envelopes(missingFrom: VersionVector())
        #expect(all.first { $0.id == grantOp.id }?.kind == .sealed)
        #expect(RoleKit.readable(all.filter { $0.id != grantOp.id }, project: pid, by: c2.identity.box).isEmpty)
        #expect(RoleKit.readable(all, project: pid, by: c2.identity.box) == [early, fromReporter])
        try NodeFixture.sync(c, to: c2)
        let v2 = try c2.view(), v1 = try c.view()
        #expect(Set(v2.cases.keys) == [early, fromReporter])
        #expect(v2.cases[early]?.value("notes") == "правка координатора")
        #expect(v2.cases[fromReporter]?.value("title") == "Дело из поля")
        #expect(NodeFixture.caseDigest(v2) == NodeFixture.caseDigest(v1), "the new coordinator reads the past as the founder does")
        // And it writes like one: its case reaches the founder readable.
        let mine = try c2.addCase(RoleKit.doc("Дело нового координатора", person: "Новый"))
        try NodeFixture.sync(c2, to: c)
        #expect(try c.view().cases[mine] != nil)
    }

    // MARK: revocation

    @Test("revocation: ops after the point are quarantined and excluded, ops up to it stay")
    func revocationQuarantines() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(r, as: .reporter, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        let kept1 = try r.addCase(RoleKit.doc("До изъятия 1", person: "Первый"))     // seq 1
        let kept2 = try r.addCase(RoleKit.doc("До изъятия 2", person: "Второй"))     // seq 2
        try NodeFixture.sync(r, to: c)
        try c.share(kept1.description, with: l.nodeID)
        #expect(try r.store.chainHead(of: r.identity.signing.publicKey)?.seq == 2)

        _ = try c.revoke(r.nodeID, fromSeq: 2)
        // R has not heard of it (seized, offline): its node still writes.
        let planted = try r.addCase(RoleKit.doc("Подброшено", person: "Фальшивый"))   // seq 3
        try r.set(kept1.description, fields: [(FieldPath(field: "notes"), "подделка")]) // seq 4
        let late = try r.envelopes(missingFrom: VersionVector()).filter { $0.author == r.nodeID.signingKey && $0.seq > 2 }
        #expect(late.map(\.seq).sorted() == [3, 4])

        let report = try c.importEnvelopes(try r.envelopes(missingFrom: try c.versionVector()))
        #expect(report.refused.isEmpty, "quarantined ops are kept, not refused: \(report.refused)")
        #expect(report.new == 2)
        try NodeFixture.sync(c, to: l)
        try NodeFixture.sync(r, to: l)

        for (name, node) in [("coordinator", c), ("lawyer", l), ("lawyer reopened", try NodeFixture.open(dir, "l"))] {
            let v = try node.view()
            let q = try node.quarantine()
            #expect(Set(q.map(\.id)) == Set(late.map(\.id)), "\(name): quarantine lists exactly the ops after the point")
            #expect(q.allSatisfy { $0.author == r.nodeID }, "\(name)")
            #expect(Set(q.map(\.seq)) == [3, 4], "\(name)")
            #expect(v.stats.quarantined == 2, "\(name)")
            #expect(v.cases[planted] == nil, "\(name): the planted case is excluded")
            #expect(v.cases[kept1]?.value("notes") == nil, "\(name): the forged edit is excluded")
            #expect(Set(late.map(\.id)).isSubset(of: try RoleKit.envelopeIDs(node)), "\(name): quarantined ops are kept")
        }
        #expect(Set(try c.view().cases.keys) == [kept1, kept2], "ops up to the point stay")
        #expect(try c.view().cases[kept2]?.value("title") == "До изъятия 2")
        #expect(Set(try l.view().cases.keys) == [kept1])
        #expect(try c.view().membership.members[r.nodeID.signingKey]?.revokedAfter == 2)
        _ = pid
    }

    @Test("nothing new is sealed to a revoked member, even when it receives the ops")
    func nothingSealedAfterRevocation() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        let old = try c.addCase(RoleKit.doc("Старое дело", person: "Старый"))
        try c.share(old.description, with: l.nodeID)
        try NodeFixture.sync(c, to: c2)
        try NodeFixture.sync(c, to: l)
        #expect(try c2.view().cases[old] != nil, "before: the second coordinator reads")
        #expect(try l.view().cases[old] != nil, "before: the lawyer reads the shared case")

        _ = try c.revoke(c2.nodeID)
        _ = try c.revoke(l.nodeID, fromSeq: 0)
        let new = try c.addCase(RoleKit.doc("Новое дело", person: "Новый"))
        try c.set(old.description, fields: [(FieldPath(field: "notes"), "после отзыва")])
        try NodeFixture.sync(c, to: c2)
        try NodeFixture.sync(c, to: l)

        let all = try c.envelopes(missingFrom: VersionVector())
        #expect(Set(try c2.envelopes(missingFrom: VersionVector()).map(\.id)).isSuperset(of: all.map(\.id)), "the revoked node received every op")
        for (name, node) in [("revoked coordinator", c2), ("revoked lawyer", l)] {
            let v = ProjectView(project: pid, envelopes: all, reader: node.identity.box)
            #expect(v.cases[new] == nil, "\(name) reads a case added after its revocation")
            #expect(v.cases[old]?.value("notes") == nil, "\(name) reads an edit made after its revocation")
            #expect(v.cases[old] != nil, "\(name) still reads what it was given before (it had those keys)")
            #expect(try node.view().cases[new] == nil, "\(name)")
        }
        // The ops after the revocation carry no sealed key for the revoked nodes' box keys.
        let after = all.filter { $0.author == c.nodeID.signingKey && $0.kind == .sealed }.suffix(2)
        #expect(after.count == 2)
        for e in after {
            let body = try SealedBody(decoding: e.body)
            #expect(body.openSessionKey(with: c2.identity.box) == nil)
            #expect(body.openSessionKey(with: l.identity.box) == nil)
        }
        #expect(try c.view().cases[new] != nil, "the remaining coordinator still reads it")
    }

    @Test("a concurrent add and revoke of one member resolve to revoke, whatever the import order")
    func concurrentAddAndRevoke() throws {
        let dir = try TempDir()
        let (c1, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c1)
        try NodeFixture.syncBothWays(c1, c2)

        let x = try RoleKit.make(dir, "x")
        try x.join(pid)
        // C1 admits X while C2, offline, revokes X (told of its id by hand), from its first op.
        let add = try c1.addMember(x.nodeID, role: .reporter)
        let head = try c2.store.chainHead(of: c2.identity.signing.publicKey)
        let revoke = OpWriter(keys: c2.identity.signing, project: pid, seq: head?.seq ?? 0, prev: head?.id ?? .zero, clock: HybridClock())
            .membership(.revoke(member: x.nodeID.signingKey, after: .nothing))
        #expect(try c2.importEnvelopes([revoke]).new == 1)
        // X writes once admitted.
        try NodeFixture.sync(c1, to: x)
        let xCase = try x.addCase(RoleKit.doc("Дело Икса", person: "Икс"))

        let fromC1 = try c1.envelopes(missingFrom: VersionVector())
        let fromC2 = try c2.envelopes(missingFrom: VersionVector())
        let fromX = try x.envelopes(missingFrom: VersionVector()).filter { $0.author == x.nodeID.signingKey }
        #expect(fromC1.contains { $0.id == add.id } && !fromC2.contains { $0.id == add.id })
        #expect(fromC2.contains { $0.id == revoke.id } && !fromC1.contains { $0.id == revoke.id })

        var digests: Set<String> = []
        let orders: [(String, [[Envelope]])] = [
            ("add first", [fromC1, fromC2, fromX]), ("revoke first", [fromC2, fromC1, fromX]),
            ("x first", [fromX, fromC2, fromC1]), ("x, add, revoke", [fromX, fromC1, fromC2]),
        ]
        for (i, (label, batches)) in orders.enumerated() {
            let o = try RoleKit.make(dir, "observer\(i)")
            try o.join(pid)
            for b in batches { #expect(try o.importEnvelopes(b).refused.isEmpty, "\(label)") }
            let v = try o.view()
            #expect(v.membership.members[x.nodeID.signingKey]?.revokedAfter == 0, "\(label): X must end up revoked")
            #expect(v.cases[xCase] == nil, "\(label)")
            #expect(v.stats.quarantined == fromX.count, "\(label)")
            digests.insert(NodeFixture.caseDigest(v) + "/" + "\(v.membership.members.count)")
        }
        #expect(digests.count == 1, "every order gives the same view")
        // And the two coordinators themselves, once they sync.
        try NodeFixture.syncBothWays(c1, c2)
        try NodeFixture.sync(x, to: c1)
        try NodeFixture.sync(x, to: c2)
        for n in [c1, c2] {
            #expect(try n.view().membership.members[x.nodeID.signingKey]?.revokedAfter == 0)
            #expect(try n.quarantine().count == fromX.count)
        }
    }

    @Test("a revoked coordinator's later member add has no effect")
    func revokedCoordinatorCannotAdd() throws {
        let dir = try TempDir()
        let (c1, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c1)
        let before = try RoleKit.make(dir, "before")
        try before.join(pid)
        _ = try c2.addMember(before.nodeID, role: .reporter)        // C2's seq 1: before the point
        try NodeFixture.syncBothWays(c1, c2)
        let point = try #require(try c2.store.chainHead(of: c2.identity.signing.publicKey)).seq
        #expect(point == 1)

        _ = try c1.revoke(c2.nodeID, fromSeq: point)
        // C2 (seized, unaware) admits an accomplice as coordinator, and revokes the reporter it
        // admitted before (C2's later revokes must count for nothing either).
        let z = try RoleKit.make(dir, "z")
        try z.join(pid)
        _ = try c2.addMember(z.nodeID, role: .coordinator)
        _ = try c2.revoke(before.nodeID, fromSeq: 0)
        try NodeFixture.sync(c2, to: z)
        let zCase = try z.addCase(RoleKit.doc("Дело сообщника", person: "Зет"))
        try NodeFixture.sync(z, to: c2)

        try NodeFixture.syncBothWays(c1, c2)
        for (name, n) in [("C1", c1), ("C2", c2), ("C1 reopened", try NodeFixture.open(dir, "c"))] {
            let m = try n.view().membership
            #expect(m.members[z.nodeID.signingKey] == nil, "\(name): the revoked coordinator's add must not count")
            #expect(m.members[before.nodeID.signingKey]?.role == .reporter, "\(name): its add before the point stays")
            #expect(m.members[before.nodeID.signingKey]?.revokedAfter == nil, "\(name): its later revoke must not count")
            #expect(m.members[c1.nodeID.signingKey]?.revokedAfter == nil, "\(name)")
            #expect(m.members[c2.nodeID.signingKey]?.revokedAfter == point, "\(name)")
            #expect(try n.view().cases[zCase] == nil, "\(name): the accomplice's case is not accepted")
        }
        // Once it knows, its node refuses to manage membership at all.
        RoleKit.expectNodeError(.refused, "revoked coordinator member add") {
            _ = try c2.addMember(try RoleKit.make(dir, "w").nodeID, role: .reporter)
        }
    }

    // MARK: forks

    @Test("two different ops at one (author, seq) are both kept and listed as a fork")
    func forksAreKeptAndListed() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let o = try RoleKit.make(dir, "o")
        try RoleKit.admit(o, as: .coordinator, by: c)
        _ = try c.addCase(RoleKit.doc("Обычное дело", person: "Обычный"))
        try NodeFixture.sync(c, to: o)
        #expect(try o.forks().isEmpty)

        // A copied key: two writers continue the same chain head with different ops.
        let head = try #require(try c.store.chainHead(of: c.identity.signing.publicKey))
        func branch(_ title: String) throws -> Envelope {
            OpWriter(keys: c.identity.signing, project: pid, seq: head.seq, prev: head.id, clock: HybridClock(last: try c.view().maxClock))
                .sealed(try CaseEditor.create(RoleKit.doc(title, person: title)), readers: [c.identity.box.publicKey, o.identity.box.publicKey],
                        wallMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        }
        let one = try branch("Ветка один"), two = try branch("Ветка два")
        #expect(one.seq == two.seq && one.seq == head.seq + 1 && one.id != two.id && one.prev == two.prev)

        let ops = try o.store.opCount
        let first = try o.importEnvelopes([one])
        #expect(first.new == 1 && first.forks == 0)
        let second = try o.importEnvelopes([two])
        #expect(second.new == 1 && second.forks == 1, "the second op at one seq is flagged")
        #expect(second.refused.isEmpty)
        #expect(try o.store.opCount == ops + 2, "both are kept")
        #expect(try RoleKit.envelopeIDs(o).isSuperset(of: [one.id, two.id]))
        let forks = try o.forks()
        #expect(forks.count == 1)
        #expect(forks.first?.author == c.nodeID)
        #expect(forks.first?.seq == one.seq)

        // The same in one batch, on another node.
        let o2 = try RoleKit.make(dir, "o2")
        try o2.join(pid)
        let r = try o2.importEnvelopes(try c.envelopes(missingFrom: VersionVector()) + [two, one])
        #expect(r.forks == 1 && r.refused.isEmpty)
        #expect(try o2.forks().map(\.seq) == [one.seq])
        #expect(try RoleKit.envelopeIDs(o2).isSuperset(of: [one.id, two.id]))
    }

    // MARK: duress

    @Test("the duress passphrase destroys the keys and opens a fresh, empty node")
    func duressOpensFreshNode() throws {
        let dir = try TempDir()
        let home = dir.sub("d")
        let real = RoleKit.secret("the real passphrase, long enough")
        let duress = RoleKit.secret("под принуждением")
        let d = try Node.initialize(home: home, passphrase: real, parameters: .minimum, duress: duress)
        let original = d.nodeID
        _ = try d.createProject(name: "Тайный проект")
        _ = try d.addCase(RoleKit.doc("Секретное дело", person: "Секретный"))
        #expect(try d.store.opCount >= 3)
        // The real passphrase opens it, as usual.
        #expect(try Node.open(home: home, passphrase: real).nodeID == original)
        let originalKeyFile = try #require(FileManager.default.contents(atPath: Node.keyPath(home)))

        let forced = try Node.open(home: home, passphrase: duress)
        #expect(forced.nodeID != original, "under duress: a new identity")
        #expect(try forced.store.opCount == 0, "under duress: no ops")
        #expect(try forced.project() == nil, "under duress: no project")

        RoleKit.expectNodeError(.wrongPassphrase, "real passphrase after duress") { _ = try Node.open(home: home, passphrase: real) }
        let now = try #require(FileManager.default.contents(atPath: Node.keyPath(home)))
        #expect(now != originalKeyFile, "the original key file is gone")
        // The duress passphrase now just opens the fresh node (nothing more is destroyed).
        let again = try Node.open(home: home, passphrase: duress)
        #expect(again.nodeID == forced.nodeID)
        #expect(try again.store.opCount == 0 && again.project() == nil)
    }

    @Test("a key file does not reveal whether a duress passphrase is set")
    func duressSlotIsIndistinguishable() throws {
        let dir = try TempDir()
        let pass = RoleKit.secret("one passphrase for both")
        let with = try Node.initialize(home: dir.sub("with"), passphrase: pass, parameters: .minimum, duress: RoleKit.secret("другая"))
        let without = try Node.initialize(home: dir.sub("without"), passphrase: pass, parameters: .minimum)
        let a = [UInt8](try #require(FileManager.default.contents(atPath: Node.keyPath(with.home))))
        let b = [UInt8](try #require(FileManager.default.contents(atPath: Node.keyPath(without.home))))
        #expect(a.count == b.count, "same length with and without a duress passphrase")
        // Same structure: magic, version, KDF id and parameters are the only fixed bytes, and equal.
        #expect(Array(a[0..<23]) == Array(b[0..<23]))
        // Everything after them is salt, nonce, duress slot and ciphertext: random-looking in both.
        for (label, bytes) in [("with", a), ("without", b)] {
            let tail = Array(bytes[23...])
            #expect(Set(tail).count > 64, "\(label): the rest of the file should look random")
            #expect(Array(bytes[63..<111]).allSatisfy { $0 == 0 } == false, "\(label): the duress slot is filled")
        }
        // A wrong passphrase fails the same way on both.
        var messages: [String] = []
        for home in [with.home, without.home] {
            do { _ = try Node.open(home: home, passphrase: RoleKit.secret("wrong")); Issue.record("a wrong passphrase opened \(home)") }
            catch { messages.append("\(error.kind) \(error.message)") }
        }
        #expect(messages.count == 2 && messages[0] == messages[1])
    }
}
