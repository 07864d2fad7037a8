import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

@Suite("Node: conflicts across replicas")
struct NodeConflictTests {
    @Test("concurrent edits of one field conflict on both replicas until one resolves them")
    func concurrentEditConflictAndResolve() throws {
        let dir = try TempDir()
        let a = try NodeFixture.make(dir, "a")
        let b = try NodeFixture.make(dir, "b")
        let pid = try a.createProject(name: "Коалиция")
        try b.join(pid)
        _ = try a.addMember(b.nodeID, role: .coordinator)
        try NodeFixture.syncBothWays(a, b)
        #expect(try b.view().membership.role(of: b.nodeID.signingKey) == .coordinator)
        // B was granted the session keys of what A wrote before B joined, the project name included.
        #expect(try b.view().projectName.winner?.value == "Коалиция")
        #expect(try a.versionVector() == b.versionVector())

        var doc = CaseDocument()
        doc.title = "Макс Бокаев — задержание"
        doc.city = "Алматы"
        doc.status = "detained"
        doc.persons = [CaseDocument.Person(name: "Макс Бокаев")]
        let id = try a.addCase(doc)
        #expect(try NodeFixture.sync(a, to: b) == 1)
        #expect(try b.view().cases[id]?.value("city") == "Алматы")
        #expect(try b.view().cases[id]?.value("title") == doc.title)

        // Both edit `city` without seeing each other.
        let city = FieldPath(field: "city")
        try a.set(id.description, fields: [(city, "Астана")])
        try b.set(id.description, fields: [(city, "Шымкент")])
        #expect(try a.view().cases[id]?.value("city") == "Астана")
        #expect(try b.view().cases[id]?.value("city") == "Шымкент")
        #expect(try NodeFixture.sync(a, to: b) == 1)
        // B's edit, and the reader-key announcement its first write carried.
        #expect(try NodeFixture.sync(b, to: a) == 2)
        #expect(try a.versionVector() == b.versionVector())

        let va = try a.view(), vb = try b.view()
        for (node, v) in [(a, va), (b, vb)] {
            let c = try #require(v.cases[id])
            #expect(c.conflicts.map(\.path) == [city])
            #expect(Set(c.conflicts.first?.writes.map(\.value) ?? []) == ["Астана", "Шымкент"])
            #expect(c.register(city)?.survivors.count == 2)
            #expect(try node.conflicts().map(\.0.id) == [id])
        }
        #expect(va.cases[id]?.value("city") == vb.cases[id]?.value("city"), "both show the same provisional winner")
        #expect(va.digest == vb.digest)
        #expect(NodeFixture.caseDigest(va) == NodeFixture.caseDigest(vb))
        // Same ops on both: A's reading of B's store equals A's own view, digest and all.
        #expect(ProjectView(project: pid, envelopes: try b.store.allEnvelopes(), readers: try a.openingKeys()).digest == va.digest)
        #expect(ProjectView(project: pid, envelopes: try a.store.allEnvelopes(), readers: try b.openingKeys()).digest == vb.digest)

        // A resolves; the resolution supersedes both values.
        try a.set(String(id.description.prefix(10)), fields: [(city, "Караганда")])
        try NodeFixture.syncBothWays(a, b)
        #expect(try a.versionVector() == b.versionVector())
        let ra = try a.view(), rb = try b.view()
        for v in [ra, rb] {
            let c = try #require(v.cases[id])
            #expect(c.conflicts.isEmpty)
            #expect(c.value("city") == "Караганда")
            #expect(c.register(city)?.survivors.map(\.author) == [a.nodeID.signingKey])
            #expect(c.register(city)?.history.count == 4, "created, two concurrent, resolved")
        }
        #expect(try a.conflicts().isEmpty && b.conflicts().isEmpty)
        #expect(ra.digest == rb.digest)
        #expect(ra.digest != va.digest)
        #expect(NodeFixture.caseDigest(ra) == NodeFixture.caseDigest(rb))
        #expect(NodeFixture.caseDigest(ra) != NodeFixture.caseDigest(va))
        #expect(ProjectView(project: pid, envelopes: try b.store.allEnvelopes(), readers: try a.openingKeys()).digest == ra.digest)
        #expect(ProjectView(project: pid, envelopes: try a.store.allEnvelopes(), readers: try b.openingKeys()).digest == rb.digest)
        #expect(rb.cases[id]?.document == ra.cases[id]?.document)
    }
}
