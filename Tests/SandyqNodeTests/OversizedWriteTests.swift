import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

// A change this node would seal into an op that no reader can take (over the 1 MiB body, or
// over a decoder's field limit) is refused before it is signed: a clear error, the writer
// still usable, nothing recorded. Before, the first trapped (exit 132) and the second was
// stored and then silently dropped by every reader.
@Suite("Writes no reader could take are refused before signing")
struct OversizedWriteTests {
    @Test("a tag of 400 bytes (over the 256-byte element limit readers decode) is a usage error")
    func tagOverElementLimit() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let k = try c.addCase(RoleKit.doc("Дело с меткой", person: "Метка Меткова"))
        let ops = try c.store.opCount
        RoleKit.expectNodeError(.usage, "long tag") {
            try c.addElement(k.description, collection: "tags", fields: [:], element: String(repeating: "т", count: 200))
        }
        #expect(try c.store.opCount == ops, "nothing recorded")
        try c.addElement(k.description, collection: "tags", fields: [:], element: "короткая")
        #expect(try c.view().cases[k]?.elements("tags") == ["короткая"])
        #expect(try c.store.opCount == ops + 1)
    }

    @Test("a case of 2 MB through the library: a usage error, and the writer's chain stays whole")
    func caseOverBodyLimit() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        var d = RoleKit.doc("Огромное дело", person: "Большой")
        d.summary = String(repeating: "ж", count: 1 << 20)
        RoleKit.expectNodeError(.usage, "2 MB case") { _ = try c.addCase(d) }
        let k = try c.addCase(RoleKit.doc("Следующее дело", person: "Обычный"))
        #expect(try c.view().cases[k]?.value("title") == "Следующее дело")
        #expect(try c.check().isEmpty)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: c)
        #expect(try r.store.opCount == c.store.opCount, "the chain has no gap where the refused op was")
    }

    @Test("a project name over the 1024 bytes readers decode is refused, and the node can still found a project")
    func longProjectName() throws {
        let dir = try TempDir()
        let c = try RoleKit.make(dir, "c")
        RoleKit.expectNodeError(.usage, "long name") { _ = try c.createProject(name: String(repeating: "п", count: 600)) }
        #expect(try c.project() == nil, "no half-made project")
        let pid = try c.createProject(name: "Короткое имя")
        #expect(try c.view().projectName.survivors.map(\.value) == ["Короткое имя"])
        #expect(try c.project() == pid)
    }
}
