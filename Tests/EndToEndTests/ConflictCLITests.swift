import Foundation
import Testing

/// Issue 3's "done when": a concurrent edit of one field on two replicas shows as a conflict
/// on both, and `case resolve` clears it on both, all from the CLI with bundles between them.
@Suite("Conflicts from the CLI")
struct ConflictCLITests {
    func status(_ h: Home) throws -> [String: Any] { try #require(try h.json(["status"]) as? [String: Any]) }

    /// Moves everything `from` holds that `to` lacks, by a bundle file.
    func carry(_ from: Home, _ to: Home, _ dir: String) throws {
        let toID = try #require(try status(to)["nodeId"] as? String)
        let file = dir + "/\(UUID().uuidString).sqb"
        let e = try from.run(["bundle", "export", "--to", toID, "--out", file])
        try #require(e.code == 0, "export: \(e)")
        let i = try to.run(["bundle", "import", file])
        try #require(i.code == 0, "import: \(i)")
    }

    func conflicts(_ h: Home) throws -> [[String: Any]] {
        try #require(try h.json(["case", "conflicts"]) as? [[String: Any]])
    }

    @Test func concurrentEditShowsOnBothAndResolveClearsIt() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-conflict-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try Home(), b = try Home()
        try a.initialize(); try b.initialize()
        let project = try #require(try a.json(["project", "create", "Conflicts"]) as? [String: String])
        let key = try a.run(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try b.run(["join", try #require(project["project"]), "--network-key", key]).code == 0)
        let bID = try #require(try status(b)["nodeId"] as? String)
        #expect(try a.run(["member", "add", bID, "--role", "coordinator"]).code == 0)
        let added = try #require(try a.json(["case", "add", "--title", "Дело", "--person", "Мұхтар Жәкішев", "--city", "Актау"]) as? [String: Any])
        let id = String(try #require(added["id"] as? String).prefix(8))
        try carry(a, b, dir)

        // Both edit the city while apart.
        #expect(try a.run(["case", "edit", id, "--city", "Алматы"]).code == 0)
        #expect(try b.run(["case", "edit", id, "--city", "Астана"]).code == 0)
        #expect(try conflicts(a).isEmpty, "no conflict before the replicas meet")
        try carry(a, b, dir)
        try carry(b, a, dir)

        for h in [a, b] {
            let c = try conflicts(h)
            try #require(c.count == 1, "one conflict expected: \(c)")
            #expect(c[0]["field"] as? String == "city")
            let values = Set((c[0]["values"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String })
            #expect(values == ["Алматы", "Астана"])
        }
        #expect(try status(a)["digest"] as? String == (try status(b)["digest"] as? String), "same ops, same view")

        #expect(try b.run(["case", "resolve", id, "city", "Алматы"]).code == 0)
        try carry(b, a, dir)
        for h in [a, b] {
            #expect(try conflicts(h).isEmpty, "the resolving write clears the conflict everywhere")
            let shown = try #require(try h.json(["case", "show", id]) as? [String: Any])
            #expect((shown["document"] as? [String: Any])?["city"] as? String == "Алматы")
        }
        #expect(try status(a)["digest"] as? String == (try status(b)["digest"] as? String))
    }
}
