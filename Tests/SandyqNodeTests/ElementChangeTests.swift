import SandyqCore
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// A change made from a form supersedes what the form showed, so a change made meanwhile
/// survives beside it; removes are read back with who made them and when.
@Suite struct ElementChangeTests {
    @Test func aChangeMadeMeanwhileBecomesAConflict() throws {
        let dir = try TempDir()
        var (c, _) = try NodeFixture.founder(dir)
        var doc = CaseDocument()
        doc.title = "Іс"
        doc.persons = [CaseDocument.Person(name: "Асқар")]
        let id = try c.addCase(doc).description
        let person = try c.caseState(id).elements("persons")[0]
        let name = FieldPath(collection: "persons", element: person, field: "name")
        let seen = try #require(c.caseState(id).register(name)).survivors.map(\.op)
        // Someone else changes the name after the form was filled.
        try c.set(id, fields: [(name, "Асхар")])
        let stranger = try OpID(bytes: [UInt8](repeating: 7, count: OpID.length))
        try c.set(id, superseding: [(name, "Аскар", seen + [stranger])])
        let reg = try #require(c.caseState(id).register(name))
        #expect(reg.isConflict)
        #expect(Set(reg.survivors.map(\.value)) == ["Асхар", "Аскар"])
        // An op id the register does not hold is not written down as superseded.
        let written = try #require(reg.survivors.first { $0.value == "Аскар" })
        #expect(written.supersedes == seen.sorted())
        // Superseding both settles it.
        try c.set(id, superseding: [(name, "Асқар", reg.survivors.map(\.op))])
        #expect(try c.caseState(id).register(name)?.survivors.map(\.value) == ["Асқар"])
        // An element the case does not have is refused, and nothing is written.
        let ops = try c.caseState(id).ops.count
        #expect(throws: NodeError.self) {
            try c.set(id, superseding: [(FieldPath(collection: "persons", element: "00", field: "name"), "X", [])])
        }
        #expect(try c.caseState(id).ops.count == ops)
        _ = c
    }

    @Test func removalsAreReadBackWithTheirAuthor() throws {
        let dir = try TempDir()
        var (c, _) = try NodeFixture.founder(dir)
        var doc = CaseDocument()
        doc.title = "Іс"
        doc.tags = ["журналист", "блогер"]
        doc.persons = [CaseDocument.Person(name: "Асқар")]
        let id = try c.addCase(doc).description
        var other = CaseDocument()
        other.title = "Басқа іс"
        other.tags = ["журналист"]
        let otherID = try c.addCase(other).description
        #expect(try c.removals(id).isEmpty)
        let person = try c.caseState(id).elements("persons")[0]
        try c.removeElement(id, collection: "tags", element: "журналист")
        try c.removeElement(id, collection: "persons", element: person)
        try c.removeElement(otherID, collection: "tags", element: "журналист")
        let r = try c.removals(id)
        #expect(r.map(\.collection) == ["tags", "persons"])
        #expect(r.map(\.element) == ["журналист", person])
        #expect(r.allSatisfy { $0.author == c.nodeID.signingKey })
        #expect(r[0].clock <= r[1].clock)
        #expect(try c.removals(otherID).map(\.element) == ["журналист"])
        _ = c
    }
}
