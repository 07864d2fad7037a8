import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

@Suite("Node: import is idempotent; admission may arrive late")
struct NodeImportTests {
    @Test("importing the same envelopes twice changes nothing")
    func importTwice() throws {
        let dir = try TempDir()
        let a = try NodeFixture.make(dir, "a")
        let b = try NodeFixture.make(dir, "b")
        let pid = try a.createProject(name: "p")
        try b.join(pid)
        _ = try a.addMember(b.nodeID, role: .coordinator)
        var doc = CaseDocument()
        doc.title = "Искандер Еримбетов"
        doc.tags = ["art190", "torture"]
        let id = try a.addCase(doc)
        try a.set(id.description, fields: [(FieldPath(field: "city"), "Алматы")])

        let envs = try a.envelopes(missingFrom: VersionVector())
        #expect(envs.count >= 5, "at least genesis, name, add, case, set")
        let first = try b.importEnvelopes(envs)
        #expect(first.new == envs.count)
        #expect(first.known == 0 && first.refused.isEmpty)
        let digest = try b.view().digest
        let vector = try b.versionVector()
        let count = try b.store.opCount
        #expect(try b.view().cases[id]?.value("city") == "Алматы")

        let second = try b.importEnvelopes(envs)
        #expect(second.new == 0)
        #expect(second.known == envs.count)
        #expect(second.refused.isEmpty && second.forks == 0)
        // Again, shuffled and with every op twice in one batch.
        let third = try b.importEnvelopes((envs + envs).reversed())
        #expect(third.new == 0)
        #expect(third.known == 2 * envs.count)
        #expect(try b.view().digest == digest)
        #expect(try b.versionVector() == vector)
        #expect(try b.store.opCount == count)
        #expect(try NodeFixture.sync(a, to: b) == 0)
        // And the founder importing its own ops back.
        let back = try b.envelopes(missingFrom: VersionVector())
        #expect(try a.importEnvelopes(back).new == 0, "\(back.filter { $0.author == b.nodeID.signingKey }.map(\.kind))")
    }

    @Test("an op whose author is not admitted yet is stored, excluded, and shown once the admission arrives")
    func lateAdmission() throws {
        let dir = try TempDir()
        let a = try NodeFixture.make(dir, "a")
        let b = try NodeFixture.make(dir, "b")
        let c = try NodeFixture.make(dir, "c")
        let pid = try a.createProject(name: "p")
        try b.join(pid)
        try c.join(pid)
        _ = try a.addMember(c.nodeID, role: .coordinator)
        let admitB = try a.addMember(b.nodeID, role: .coordinator)
        try NodeFixture.sync(a, to: b)

        // B, admitted on its own copy, writes a case sealed to the coordinators A, B and C.
        var doc = CaseDocument()
        doc.title = "Жанболат Мамай"
        doc.persons = [CaseDocument.Person(name: "Жанболат Мамай")]
        let id = try b.addCase(doc)
        try b.set(id.description, fields: [(FieldPath(field: "status"), "restricted_freedom")])
        let bOps = try b.envelopes(missingFrom: VersionVector()).filter { $0.author == b.nodeID.signingKey }
        let aOps = try a.envelopes(missingFrom: VersionVector()).sorted { $0.seq < $1.seq }
        // Its reader-key announcement (its first write carries it), then the case's two ops.
        #expect(bOps.count == 3)
        #expect(bOps.filter { $0.kind == .sealed }.count == 2 && bOps[0].kind == .membership)
        // A's chain up to (not including) the op that admits B, and from it on.
        let cut = try #require(aOps.firstIndex { $0.id == admitB.id })
        let beforeAdmission = Array(aOps[..<cut]), fromAdmission = Array(aOps[cut...])
        #expect(try MembershipChange(decoding: admitB.body) == .add(member: b.nodeID, role: .coordinator))
        #expect(beforeAdmission.count >= 3, "genesis, name, add C")

        // C receives B's ops first (a relay's bundle, say): stored, but B is no member yet.
        let r1 = try c.importEnvelopes(bOps)
        #expect(r1.new == 3 && r1.refused.isEmpty)
        #expect(try c.store.opCount == 3)
        var v = try c.view()
        #expect(v.stats.awaitingAdmission == 2)
        #expect(v.stats.readable == 0)
        #expect(v.cases.isEmpty)

        // Then A's ops up to C's own admission and beyond, but not B's: B is still waiting.
        let r2 = try c.importEnvelopes(beforeAdmission)
        #expect(r2.new == beforeAdmission.count)
        v = try c.view()
        #expect(v.membership.members.count == 2)
        #expect(v.membership.role(of: c.nodeID.signingKey) == .coordinator)
        #expect(v.membership.role(of: b.nodeID.signingKey) == nil)
        #expect(v.stats.awaitingAdmission == 2)
        #expect(v.cases.isEmpty)

        // The admitting op arrives: B's ops count now.
        let r3 = try c.importEnvelopes(fromAdmission)
        #expect(r3.new == fromAdmission.count)
        v = try c.view()
        #expect(v.stats.awaitingAdmission == 0)
        #expect(v.membership.role(of: b.nodeID.signingKey) == .coordinator)
        let state = try #require(v.cases[id])
        #expect(state.value("title") == "Жанболат Мамай")
        #expect(state.value("status") == "restricted_freedom")
        #expect(state.personNames == ["Жанболат Мамай"])
        #expect(state.ops.count == 2)
        #expect(try c.store.opCount == 3 + aOps.count)
        // C now agrees with B about the case.
        try NodeFixture.sync(a, to: b)
        #expect(NodeFixture.caseDigest(v) == NodeFixture.caseDigest(try b.view()))
    }
}
