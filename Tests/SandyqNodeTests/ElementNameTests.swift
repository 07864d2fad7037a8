import SandyqCore
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// An element is named by the start of its id, but a whole id names that element even when it
/// also starts another (tags are their own ids: "журналист" and "журналист-блогер").
@Suite struct ElementNameTests {
    @Test func aWholeIdWinsOverTheIdsItStarts() throws {
        let dir = try TempDir()
        var (c, _) = try NodeFixture.founder(dir)
        var doc = CaseDocument()
        doc.title = "Іс"
        doc.tags = ["журналист", "журналист-блогер"]
        let id = try c.addCase(doc)
        #expect(try c.element("журналист", of: "tags", inCase: id.description) == "журналист")
        #expect(try c.element("журналист-б", of: "tags", inCase: id.description) == "журналист-блогер")
        #expect(throws: NodeError.self) { try c.element("жур", of: "tags", inCase: id.description) }
        try c.removeElement(id.description, collection: "tags", element: "журналист")
        #expect(try c.caseState(id.description).elements("tags") == ["журналист-блогер"])
        _ = c
    }
}
