import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqReports
import SandyqSearch
import SandyqCrypto
@testable import SandyqNode

@Suite("Node: search, duplicates, merge and reports")
struct ReportNodeTests {
    static func seeds() throws -> [CaseDocument] {
        try JSONDecoder().decode(CaseDocument.Collection.self, from: Data(contentsOf: NodeFixture.seedCasesURL)).cases
    }

    /// A founder A with the seed cases, and a coordinator B who has synced them.
    static func twoNodes(_ dir: TempDir) throws -> (Node, Node, [String: CaseID]) {
        let a = try NodeFixture.make(dir, "a")
        let b = try NodeFixture.make(dir, "b")
        let pid = try a.createProject(name: "Отчёты")
        try b.join(pid)
        _ = try a.addMember(b.nodeID, role: .coordinator)
        let docs = try seeds()
        let ids = try a.importCases(docs)
        try NodeFixture.syncBothWays(a, b)
        return (a, b, Dictionary(uniqueKeysWithValues: zip(docs.map { $0.ref! }, ids)))
    }

    @Test("the sanctions list built from seeds/cases.json names every official in it, with exactly their cases")
    func sanctionsFromSeeds() throws {
        let dir = try TempDir()
        let (a, _) = try NodeFixture.founder(dir, "a", project: "Санкции")
        let docs = try Self.seeds()
        let ids = try a.importCases(docs)
        let refOf = Dictionary(uniqueKeysWithValues: zip(ids.map(\.description), docs.map { $0.ref! }))

        // What the seeds say: official name -> refs of the cases naming them.
        var expected: [String: Set<String>] = [:]
        for d in docs { for o in d.officials ?? [] { expected[o.name, default: []].insert(d.ref!) } }
        #expect(Set(expected.keys) == ["Карім Масімов", "Гізат Нурдаулєтов", "Єрлан Тургумбаєв"], "the seeds changed: \(expected.keys)")

        let r = try a.sanctionsReport()
        #expect(r.caseCount == 41)
        #expect(Set(r.officials.map(\.name)) == Set(expected.keys))
        for o in r.officials {
            #expect(Set(o.cases.map { refOf[$0.caseId] ?? "?" }) == expected[o.name], "\(o.name)")
            #expect(o.caseCount == expected[o.name]?.count)
            #expect(o.cases.allSatisfy { $0.act?.contains("seeds/000") == true && $0.provenance?.author == a.nodeID.fingerprint })
            #expect(o.sources.contains("seeds/000_4cd315a4f0a3e9b7.txt"))
        }
        #expect(r.officials.first { $0.name == "Карім Масімов" }?.agencies == ["knb"])
        #expect(r.officials.first { $0.name == "Гізат Нурдаулєтов" }?.positions == ["Генеральний прокурор"])

        // The Russian spelling of one of them in a new case joins the same entry, which moves to the top.
        var d = CaseDocument()
        d.persons = [CaseDocument.Person(name: "Айдос Садыков")]
        var o = CaseDocument.Official(name: "Карим Масимов"); o.agency = "knb"; o.act = "санкционировал арест"
        d.officials = [o]
        try a.addCase(d)
        let r2 = try a.sanctionsReport()
        #expect(r2.officials.count == 3)
        let m = try #require(r2.officials.first)
        #expect(m.name == "Карім Масімов" && m.caseCount == 14)
        #expect(m.variants == ["Карім Масімов", "Карим Масимов"])

        // CSV: a header and one row per official, every row with the same number of fields.
        let csv = ReportCSV.sanctions(r2)
        let lines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 4)
        #expect(lines[1].hasPrefix("1,Карім Масімов,Карим Масимов,knb,Голова КНБ,14,"))
    }

    @Test("a dossier names, for every fact, the member and the op that recorded it")
    func dossierChainOfCustody() throws {
        let dir = try TempDir()
        let (a, b, ids) = try Self.twoNodes(dir)
        let id = try #require(ids["seed-10"])
        // B changes the status; both change the city concurrently (an open conflict).
        try b.set(id.description, fields: [(FieldPath(field: "status"), "detained"), (FieldPath(field: "statusDate"), "2024-01-05")])
        try a.set(id.description, fields: [(FieldPath(field: "city"), "Ақтау")])
        try b.set(id.description, fields: [(FieldPath(field: "city"), "Актау")])
        try b.addElement(id.description, collection: "tags", fields: [:], element: "b-tag")
        try NodeFixture.syncBothWays(a, b)

        let date = Date(timeIntervalSince1970: 1_750_000_000)
        let r = try a.dossier(id.description, date: date)
        #expect(r.generated == "2025-06-15 15:06 UTC")
        #expect(r.generatedBy == a.nodeID.fingerprint)
        #expect(r.field("ref") == "seed-10")
        #expect(r.language == "kk")

        // Every op id the dossier cites is an op in the store, by the author it names.
        let envs = Dictionary(uniqueKeysWithValues: try a.store.allEnvelopes().map { ($0.id.description, $0) })
        let fp = [a.nodeID.signingKey: a.nodeID.fingerprint, b.nodeID.signingKey: b.nodeID.fingerprint]
        var cited: [ReportProvenance] = r.caseFields.compactMap(\.provenance) + r.statusHistory.map(\.provenance)
        for items in [r.persons, r.charges, r.timeline, r.officials, r.sources, r.aid] { cited += items.flatMap(\.provenance) }
        cited += r.conflicts.flatMap { $0.values.map(\.provenance) } + r.custody.map(\.provenance)
        #expect(cited.count > 20)
        for p in cited {
            let e = try #require(envs[p.op], "op \(p.op) is not in the store")
            #expect(fp[e.author] == p.author, "op \(p.op.prefix(12)) cited as by \(p.author)")
        }
        // The custody table lists every op that touched the case, each once, including B's tag-only op.
        let state = try a.caseState(id.description)
        #expect(Set(r.custody.map(\.provenance.op)) == Set(state.ops.map(\.description)))
        #expect(r.custody.count == state.ops.count)
        #expect(Set(r.custody.map(\.provenance.author)) == [a.nodeID.fingerprint, b.nodeID.fingerprint])
        #expect(!r.custody.contains { $0.provenance.author == "?" })

        // The status history: the seed's status by A, then B's.
        #expect(r.statusHistory.map(\.status) == ["sentenced", "detained"])
        #expect(r.statusHistory.last?.provenance.author == b.nodeID.fingerprint)
        #expect(r.statusHistory.last?.current == true && r.statusHistory.last?.date == "2024-01-05")
        // The open conflict, both values with their authors.
        let k = try #require(r.conflicts.first { $0.field == "city" })
        #expect(Set(k.values.map(\.value)) == ["Ақтау", "Актау"])
        #expect(Set(k.values.map(\.provenance.author)) == [a.nodeID.fingerprint, b.nodeID.fingerprint])
        #expect(k.values.filter(\.shown).count == 1)

        // Rendered: headings in both languages, the data's language marked, nothing external, ids in full.
        let html = ReportHTML.dossier(r)
        for s in ["Chain of custody", "Цепочка хранения", "Timeline", "Хронология", "Open conflicts", "Report date",
                  "<html lang=\"kk\">", "Карім Масімов", b.nodeID.fingerprint, "2025-06-15 15:06 UTC"] {
            #expect(html.contains(s), "dossier lacks \(s)")
        }
        for op in state.ops { #expect(html.contains(op.description)) }
        #expect(!html.contains("<script") && !html.contains("<img") && !html.contains("<link"))
        let md = ReportMarkdown.dossier(r)
        #expect(md.hasPrefix("# Case dossier · Досье по делу\n"))
        #expect(md.contains("## Chain of custody · Цепочка хранения"))
    }

    @Test("report text is escaped, never markup")
    func htmlEscapesData() throws {
        let dir = try TempDir()
        let (a, _) = try NodeFixture.founder(dir, "a", project: "x")
        var d = CaseDocument()
        d.title = "<script>alert('x')</script> & \"quotes\""
        d.persons = [CaseDocument.Person(name: "<b>Имя</b>")]
        var s = CaseDocument.Source(reference: "javascript:alert(1)"); s.kind = "url"
        d.sources = [s]
        let id = try a.addCase(d)
        let html = try a.renderReport(.dossier(id.description), format: .html)
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"))
        #expect(html.contains("&lt;b&gt;Имя&lt;/b&gt;"))
        #expect(!html.contains("href=\"javascript:"), "only http(s) references become links")
    }

    @Test("merging is one op like any other: it syncs, and the merged case leaves lists, search and reports")
    func mergeIsAnOp() throws {
        let dir = try TempDir()
        let (a, b, ids) = try Self.twoNodes(dir)
        let keep = try #require(ids["seed-02"])

        // B records the same person again under a Latin spelling: warned.
        var again = CaseDocument()
        again.persons = [CaseDocument.Person(name: "Mukhtar Dzhakishev")]
        again.city = "Алматы"
        var e = CaseDocument.Event(type: "arrest"); e.date = "2009-05-21"; e.place = "Алматы"
        again.events = [e]
        var src = CaseDocument.Source(reference: "seeds/002_f2ad466616ded160.txt"); src.kind = "document"; src.reliability = "high"
        again.sources = [src]
        let warnings = try b.duplicateWarnings(for: [again])
        #expect(warnings.first?.map(\.caseId) == [keep.description])
        #expect(warnings.first?.first?.name == "Мухтар Джакишев" || warnings.first?.first?.name == "Мұхтар Жәкішев")
        let other = try b.addCase(again)
        #expect(try b.duplicatePairs().count == 1)
        #expect(try b.duplicateWarnings(for: [again]).first?.count == 2)

        let opsBefore = try b.log().count
        let result = try b.merge(keep: keep.description, other: other.description)
        #expect(try b.log().count == opsBefore + 1, "a merge is exactly one op")
        #expect(result.copied["events"] == 1)
        #expect(result.copied["sources"] == nil, "a source KEEP already has is not copied twice")
        #expect(result.aliasesAdded == ["Mukhtar Dzhakishev"])
        #expect(result.fieldsFilled == ["city"])

        try NodeFixture.syncBothWays(a, b)
        for n in [a, b] {
            let v = try n.view()
            #expect(v.cases[other]?.mergedTarget == keep.description)
            let k = try #require(v.cases[keep])
            #expect(k.value("city") == "Алматы")
            #expect(k.document.events?.contains { $0.date == "2009-05-21" && $0.type == "arrest" } == true)
            #expect(k.personNames.contains("Mukhtar Dzhakishev"))
            #expect(try n.duplicatePairs().isEmpty)
            let hits = try n.search(SearchQuery(text: "Dzhakishev", limit: nil))
            #expect(hits.first?.caseId == keep.description)
            #expect(!hits.contains { $0.caseId == other.description })
            #expect(try n.search(SearchQuery(text: "Dzhakishev", includeMerged: true, limit: nil)).contains { $0.caseId == other.description })
            #expect(try n.monitoringReport().totalCases == 41)
        }
        #expect(NodeFixture.caseDigest(try a.view()) == NodeFixture.caseDigest(try b.view()))
        // A second merge of the same case is refused, as is merging into a merged case.
        #expect(throws: NodeError.self) { try b.merge(keep: keep.description, other: other.description) }
        #expect(throws: NodeError.self) { try b.merge(keep: other.description, other: ids["seed-01"]!.description) }
    }

    @Test("the JSON export reads back with case import; the CSV holds a row per shown value")
    func exportRoundTrip() throws {
        let dir = try TempDir()
        let (a, _) = try NodeFixture.founder(dir, "a", project: "Экспорт")
        _ = try a.importCases(try Self.seeds())
        let json = try a.renderReport(.export, format: .json)
        let back = try JSONDecoder().decode(CaseDocument.Collection.self, from: Data(json.utf8))
        #expect(back.format == "sandyq-cases/2")
        #expect(back.cases.count == 41)

        let (c, _) = try NodeFixture.founder(dir, "c", project: "Копия")
        _ = try c.importCases(back.cases)
        let names = { (n: Node) in Set(try n.view().cases.values.flatMap(\.personNames)) }
        #expect(try names(a) == names(c))
        let titles = { (n: Node) in Set(try n.view().cases.values.compactMap { $0.value("title") }) }
        #expect(try titles(a) == titles(c))
        // Element ids travel with the documents (format 2), so every case reads back whole, links and all.
        let docs = { (n: Node) in
            try n.view().orderedCases.map { var d = $0.document; d.id = nil; return d }.sorted { ($0.ref ?? "", $0.title ?? "") < ($1.ref ?? "", $1.title ?? "") }
        }
        #expect(try docs(a) == docs(c))

        let csv = try a.renderReport(.export, format: .csv)
        let rows = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.first == ReportExport.csvHeader.joined(separator: ","))
        let v = try a.view()
        let shown = v.cases.values.reduce(0) { n, s in
            n + s.registers.filter { $0.key.collection.isEmpty || s.elements($0.key.collection).contains($0.key.element) }.count
                + s.elements("tags").count
        }
        // Values may hold bare line feeds (aliases, event sources) but never CRLF, so records are CRLF-separated.
        #expect(rows.count == shown + 1)
    }

    @Test("the monitoring report counts each case once per group, with the cases behind each count")
    func monitoringCounts() throws {
        let dir = try TempDir()
        let (a, _) = try NodeFixture.founder(dir, "a", project: "Мониторинг")
        let docs = try Self.seeds()
        _ = try a.importCases(docs)
        let r = try a.monitoringReport()
        #expect(r.totalCases == 41)
        var byStatus: [String: Int] = [:]
        for d in docs { byStatus[d.status!, default: 0] += 1 }
        #expect(Dictionary(uniqueKeysWithValues: r.byStatus.map { ($0.key, $0.count) }) == byStatus)
        #expect(r.byStatus.allSatisfy { $0.count == $0.cases.count })
        #expect(r.byStatus.first?.key == "detained")
        let feb2021 = try #require(r.byMonth.first { $0.key == "2021-02" })
        let expected = docs.filter { ($0.events ?? []).contains { $0.date?.hasPrefix("2021-02") == true } }.map { $0.ref! }
        #expect(Set(feb2021.cases.compactMap(\.ref)) == Set(expected))
        #expect(r.byMonth.map(\.key) == r.byMonth.map(\.key).sorted { a, b in a == "—" ? false : b == "—" ? true : a < b })
        let html = ReportHTML.monitoring(r)
        #expect(html.contains("By status") && html.contains("По статусу") && html.contains("detained · под стражей"))
    }
}
