import Foundation
import Testing

// Input that used to reach a trap (exit 132, a crash report) through the real `sandyq` binary
// now gets a clear error, and the store keeps everything it held.
@Suite("Input never reaches a trap")
struct InputTrapTests {
    /// A node with a project and one case.
    static func node() throws -> Home {
        let home = try Home()
        try home.initialize()
        #expect(try home.run(["project", "create", "P"]).code == 0)
        #expect(try home.run(["case", "add", "--title", "Уже записанное дело", "--city", "Алматы"]).code == 0)
        return home
    }

    static func caseCount(_ home: Home) throws -> Int {
        let list = try home.json(["case", "list"])
        return (list as? [Any])?.count ?? ((list as? [String: Any])?["cases"] as? [Any])?.count ?? -1
    }

    @Test("case import of a case whose summary seals to more than the 1 MiB op body: an error, nothing recorded")
    func oversizedCaseImport() throws {
        let home = try Self.node()
        let before = try Self.caseCount(home)
        let huge = String(repeating: "очень длинное описание ", count: 50_000)  // about 2.2 MB of UTF-8
        let json = #"{"format": "sandyq-cases/1", "cases": [{"title": "Маленькое дело"}, {"title": "Огромное дело", "summary": ""#
            + huge + #""}]}"#
        let file = home.path + "-cases.json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }

        let r = try home.run(["case", "import", file])
        #expect(r.code == 64, "a usage error, not a trap: \(r.code)\n\(r.stderr.prefix(400))")
        #expect(r.stderr.contains("exceeds the 1048576-byte limit"), "\(r.stderr.prefix(400))")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Backtracing"))
        #expect(try Self.caseCount(home) == before, "all or nothing: the small case of the file is not recorded either")
        #expect(try home.run(["check"]).code == 0)
        // The node still writes.
        #expect(try home.run(["case", "add", "--title", "После ошибки"]).code == 0)
        #expect(try Self.caseCount(home) == before + 1)
    }

    @Test("bundle export --max-size at Int.max: a usage error, not an arithmetic-overflow trap")
    func hugeMaxSize() throws {
        let home = try Self.node()
        let status = try #require(try home.json(["status"]) as? [String: Any])
        let me = try #require(status["nodeId"] as? String)
        let out = home.path + "-x.sqb"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try home.run(["bundle", "export", "--to", me, "--out", out, "--max-size", "9223372036854775807"])
        #expect(r.code == 64, "\(r.code)\n\(r.stderr.prefix(400))")
        #expect(r.stderr.contains("--max-size"))
        #expect(try home.run(["bundle", "export", "--to", me, "--out", out]).code == 0, "the default still works")
    }

    @Test("case add with a 400-byte tag: a usage error, where it used to exit 0 and lose the whole case")
    func tagOverElementLimit() throws {
        let home = try Self.node()
        let before = try Self.caseCount(home)
        let r = try home.run(["case", "add", "--title", "Дело с длинной меткой", "--tag", String(repeating: "т", count: 200)])
        #expect(r.code == 64, "\(r)")
        #expect(r.stderr.contains("exceeds limit 256"), "\(r.stderr.prefix(300))")
        #expect(try Self.caseCount(home) == before)
        #expect(try home.run(["case", "add", "--title", "Дело с длинной меткой", "--tag", "короткая"]).code == 0)
        #expect(try Self.caseCount(home) == before + 1, "the same case with a short tag is recorded and readable")
    }
}
