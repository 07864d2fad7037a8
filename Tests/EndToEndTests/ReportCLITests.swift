import Foundation
import Testing

/// `sandyq search`, the duplicate warnings of `case add` / `case import`, `case duplicates`,
/// `case merge`, `report` and `export`, run as the real binary.
@Suite(.serialized) struct ReportCLITests {
    static var seeds: String { CLI.packageRoot + "/seeds/cases.json" }

    /// A node with the seeds imported; returns ref -> case id.
    static func seeded(_ home: Home) throws -> [String: String] {
        try home.initialize()
        #expect(try home.run(["project", "create", "Отчёты"]).code == 0)
        let imported = try #require(try home.json(["case", "import", seeds]) as? [String: Any])
        #expect((imported["warnings"] as? [Any])?.isEmpty == true, "the seeds hold 41 distinct persons: \(imported["warnings"] ?? "")")
        let ids = try #require(imported["imported"] as? [String])
        let refs = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: seeds))) as? [String: Any]
        let docs = try #require(refs?["cases"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: zip(docs.map { $0["ref"] as! String }, ids))
    }

    /// An import of many namesakes prints the first warnings and a count, not a warning per pair;
    /// `--json` still lists every one.
    @Test func manyDuplicateWarningsAreCounted() throws {
        let home = try Home()
        try home.initialize()
        #expect(try home.run(["project", "create", "Тёзки"]).code == 0)
        let file = FileManager.default.temporaryDirectory.path + "/sandyq-namesakes-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let cases = (1...40).map { #"{"title":"t\#($0)","persons":[{"name":"Айдос Садыков"}]}"# }
        try Data(#"{"cases":["#.utf8 + Data(cases.joined(separator: ",").utf8) + Data("]}".utf8)).write(to: URL(fileURLWithPath: file))
        // Case k warns of the k - 1 before it: 39 · 40 / 2 = 780 in all.
        let imp = try home.run(["case", "import", file, "--json"])
        #expect(imp.code == 0, "\(imp)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(imp.stdout.utf8)) as? [String: Any])
        #expect((json["warnings"] as? [Any])?.count == 780)
        let lines = imp.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        #expect(lines.count == 101, "\(lines.count) lines")
        #expect(lines.last?.contains("680 more possible duplicates not shown (780 in all)") == true, "\(lines.last ?? "")")
    }

    @Test func searchWarnMergeAndReport() throws {
        let home = try Home()
        let ids = try Self.seeded(home)
        let keep = try #require(ids["seed-02"])

        // Search in another script finds the case, and says why.
        let hits = try #require(try home.json(["search", "Jakishev", "Mukhtar"]) as? [[String: Any]])
        #expect(hits.first?["caseId"] as? String == keep)
        let reasons = try #require(hits.first?["reasons"] as? [[String: Any]])
        #expect(reasons.first?["field"] as? String == "persons.name")
        let text = try home.run(["search", "Мұхтар", "Жәкішев"])
        #expect(text.code == 0 && text.stdout.hasPrefix(String(keep.prefix(8))), "\(text)")
        #expect(text.stdout.contains("persons.name: Мухтар Джакишев"))
        // Filters: an agency, a status.
        let knb = try #require(try home.json(["search", "--agency", "knb", "--limit", "100"]) as? [[String: Any]])
        #expect(knb.count == 13)
        let bad = try home.run(["search", "x", "--status", "jailed"])
        #expect(bad.code == 64 && bad.stderr.contains("unknown status"), "\(bad)")

        // Adding the same person under another spelling warns, on stderr and in --json.
        let add = try home.run(["case", "add", "--person", "Mukhtar Dzhakishev", "--title", "Second entry"])
        #expect(add.code == 0)
        #expect(add.stderr.contains("warning: probably the same person as in case \(keep.prefix(8))… (seed-02): Мухтар Джакишев, score 1.00")
                || add.stderr.contains("warning: probably the same person as in case \(keep.prefix(8))… (seed-02): Мұхтар Жәкішев, score 1.00"),
                "\(add)")
        #expect(add.stdout.contains("Recorded case"))
        let other = try #require(add.stdout.split(separator: "(").last.map { String($0.dropLast(2)) })
        let addJSON = try #require(try home.json(["case", "add", "--person", "Nursultan Nazarbayev", "--title", "Unrelated"]) as? [String: Any])
        #expect((addJSON["warnings"] as? [Any])?.isEmpty == true, "an unrelated name warned: \(addJSON)")
        // case import warns too, naming the file's case and the existing one.
        let file = FileManager.default.temporaryDirectory.path + "/sandyq-import-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(#"{"cases":[{"title":"t","persons":[{"name":"Max Bokayev"}]}]}"#.utf8).write(to: URL(fileURLWithPath: file))
        let imp = try home.run(["case", "import", file, "--json"])
        #expect(imp.code == 0)
        #expect(imp.stderr.contains("warning: case 1: probably the same person as in case \(ids["seed-01"]!.prefix(8))… (seed-01): Макс Бокаев"), "\(imp)")
        let impJSON = try #require(try JSONSerialization.jsonObject(with: Data(imp.stdout.utf8)) as? [String: Any])
        let w = try #require((impJSON["warnings"] as? [[String: Any]])?.first)
        #expect(w["sameAs"] as? String == ids["seed-01"] && w["index"] as? Int == 1 && (w["score"] as? Double ?? 0) >= 0.85)

        // Pairs across the log; then merge one.
        let pairs = try #require(try home.json(["case", "duplicates"]) as? [[String: Any]])
        #expect(pairs.count == 2, "\(pairs)")
        let merge = try home.run(["case", "merge", "seed-02", other])
        #expect(merge.code == 0 && merge.stdout.contains("Merged case \(other.prefix(8)) into \(keep.prefix(8))"), "\(merge)")
        #expect((try home.json(["case", "duplicates"]) as? [Any])?.count == 1)
        let list = try home.run(["case", "list"])
        #expect(!list.stdout.contains(String(other.prefix(8))) && list.stdout.contains(String(keep.prefix(8))))
        #expect(try home.run(["case", "list", "--merged"]).stdout.contains(String(other.prefix(8))))

        // Reports: files are owner-only; formats each report does not offer are refused.
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-reports-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dossier = try home.run(["report", "dossier", "seed-02", "--out", dir + "/d.html"])
        #expect(dossier.code == 0, "\(dossier)")
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/d.html")
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let html = try String(contentsOfFile: dir + "/d.html", encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("Досье по делу") && html.contains("Mukhtar Dzhakishev"))
        #expect(html.contains("Merged from"))
        let md = try home.run(["report", "dossier", keep, "--format", "md"])
        #expect(md.code == 0 && md.stdout.hasPrefix("# Case dossier · Досье по делу"))
        let csv = try home.run(["report", "sanctions", "--format", "csv"])
        #expect(csv.code == 0)
        for name in ["Карім Масімов", "Гізат Нурдаулєтов", "Єрлан Тургумбаєв"] { #expect(csv.stdout.contains(name)) }
        let mon = try #require(try JSONSerialization.jsonObject(with: Data(try home.run(["report", "monitoring", "--format", "json"]).stdout.utf8)) as? [String: Any])
        #expect(mon["totalCases"] as? Int == 43, "41 seeds + the unrelated case + the import, the merged one left out")
        #expect(try home.run(["report", "sanctions", "--format", "md"]).code == 64)
        #expect(try home.run(["report", "dossier", "no-such-case"]).code == 66)
        let export = try home.run(["export", "--format", "json"])
        let exported = try #require(try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any])
        #expect(exported["format"] as? String == "sandyq-cases/2" && (exported["cases"] as? [Any])?.count == 44)
        #expect(try home.run(["export", "--format", "csv"]).stdout.hasPrefix("case_id,ref,collection,element,field,value"))
        #expect(try home.run(["export", "--format", "xml"]).code == 64)
    }

    @Test func benchmarkFlagPrintsTheFigures() throws {
        let r = try CLI.run(["search", "--benchmark", "--benchmark-cases", "300", "--benchmark-queries", "40", "--json"])
        #expect(r.code == 0, "\(r)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(j["cases"] as? Int == 300 && j["queries"] as? Int == 40)
        let p50 = try #require(j["p50Millis"] as? Double), p99 = try #require(j["p99Millis"] as? Double)
        #expect(p50 > 0 && p99 >= p50)
        #expect((j["buildSeconds"] as? Double ?? 0) > 0)
        #expect((j["meanHits"] as? Double ?? 0) >= 1, "the queries name existing people: each finds at least one case")
    }
}
