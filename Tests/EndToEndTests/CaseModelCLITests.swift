import Foundation
import Testing

/// The case model at depth through the real binary: a case with violations, who is responsible,
/// detention, trial and an intervention is written from JSON, grown with `case edit --add`,
/// carried by bundle to a second coordinator and exported into a third node's project, and
/// reads back the same on each, links and all.
@Suite("The case model at depth, end to end")
struct CaseModelCLITests {
    static let doc = #"""
    {"title": "Нурлан Нургалиев", "status": "sentenced",
     "persons": [{"id": "a1a1a1a1a1a1a1a1", "name": "Нурлан Нургалиев", "birthYear": 1978}],
     "officials": [{"id": "b2b2b2b2b2b2b2b2", "name": "Серік Жұмабаев", "agency": "court", "position": "судья"},
                   {"id": "c3c3c3c3c3c3c3c3", "name": "Ерлан Қасымов", "agency": "police"}],
     "acts": [{"id": "d4d4d4d4d4d4d4d4", "type": "arbitrary_detention", "victim": "a1a1a1a1a1a1a1a1",
               "date": "2022-01", "datePrecision": "month", "place": "Алматы"}],
     "perpetrators": [{"violation": "d4d4d4d4d4d4d4d4", "official": "c3c3c3c3c3c3c3c3", "involvement": "carried_out"}],
     "detentions": [{"person": "a1a1a1a1a1a1a1a1", "type": "pretrial", "facility": "СИЗО № 1", "from": "2022-01-06",
                     "whereabouts": "denied", "counsel": "state_appointed", "familyContact": "denied"}],
     "trials": [{"court": "Алмалинский районный суд", "caseNumber": "1-1234/2022", "judge": "b2b2b2b2b2b2b2b2",
                 "verdict": "convicted", "verdictDate": "2022-06-30", "sentenceKind": "restricted_freedom", "sentenceTerm": "2 года"}],
     "interventions": [{"body": "un_wgad", "kind": "opinion", "date": "2023-04", "progress": "decided"}],
     "sources": [{"kind": "document", "reference": "Письмо матери", "relation": "relative", "consent": "given"}]}
    """#

    static func document(_ n: DrillNode, _ id: String) throws -> [String: Any] {
        var d = try #require(try n.object(["case", "show", id])["document"] as? [String: Any])
        d["id"] = nil
        return d
    }

    @Test("a case at depth is written, grown, carried and exported with its links")
    func depthRoundTrip() throws {
        let p = try ReporterPair()
        let c = p.c
        let id = try #require(try c.object(["case", "add", "--stdin"], stdin: Self.doc)["id"] as? String)

        // Grown by hand: a violation against the same victim, named by a prefix of its id.
        let add = try c.run(["case", "edit", id, "--add", "acts", "--with", "type=denial_of_medical_care",
                             "--with", "victim=a1a1", "--with", "date=2022-02-14"])
        #expect(add.code == 0 && add.stdout.contains("added acts element"), "\(add)")
        let acts = try #require(try Self.document(c, id)["acts"] as? [[String: Any]])
        #expect(acts.count == 2 && acts.allSatisfy { $0["victim"] as? String == "a1a1a1a1a1a1a1a1" }, "\(acts)")

        // A victim who is not in the case, a link to the wrong kind of element, fields without --add: named, nothing written.
        let ops = try c.ops()
        for bad in [["--add", "acts", "--with", "type=torture", "--with", "victim=ffff"],
                    ["--add", "acts", "--with", "type=torture", "--with", "victim=b2b2"],
                    ["--add", "trials", "--with", "verdictDate=летом"],
                    ["--with", "type=torture"]] {
            let r = try c.run(["case", "edit", id] + bad)
            #expect(r.code != 0 && !r.stderr.isEmpty, "\(bad): \(r)")
        }
        #expect(try c.ops() == ops)
        let text = try c.ok(["case", "show", id]).stdout
        #expect(text.contains("denial_of_medical_care") && text.contains("victim Нурлан Нургалиев"), "\(text)")

        // A second coordinator reads it from a bundle exactly as written.
        let b = try DrillNode("B")
        try b.ok(["join", p.project])
        try c.ok(["member", "add", b.id, "--role", "coordinator"])
        try p.carry(c, to: b, "C-to-B.sqb")
        let written = try Self.document(c, id)
        let carried = try Self.document(b, id)
        #expect(NSDictionary(dictionary: carried).isEqual(to: written), "\(carried)\n\(written)")

        // Exported and imported into another project: a new case, the same document.
        let file = p.work.file("export.json")
        try b.ok(["export", "--format", "json", "--out", file])
        let d = try DrillNode("D")
        try d.ok(["project", "create", "Копия"])
        let imported = try #require(try d.object(["case", "import", file])["imported"] as? [String])
        #expect(imported.count == 1)
        let copy = try Self.document(d, imported[0])
        #expect(NSDictionary(dictionary: copy).isEqual(to: written), "\(copy)\n\(written)")
    }
}

extension CaseModelCLITests {
    /// A case as comparable data: ids the seed file did not give are dropped (the importer draws
    /// them), and each collection becomes a sorted list, since a document lists elements by date
    /// and tags as a set.
    static func comparable(_ c: [String: Any], keepIDsOf seed: [String: Any]) throws -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in c where !["id", "mergedInto", "archived", "conflicts", "ops"].contains(k) || seed[k] != nil {
            if let list = v as? [[String: Any]] {
                let given = Set(((seed[k] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
                let items = try list.map { e -> String in
                    var e = e
                    if let id = e["id"] as? String, !given.contains(id) { e["id"] = nil }
                    return String(decoding: try JSONSerialization.data(withJSONObject: e, options: [.sortedKeys]), as: UTF8.self)
                }
                out[k] = items.sorted().joined(separator: "\n")
            } else if let words = v as? [String] {
                out[k] = words.sorted().joined(separator: "\n")  // tags are a set
            } else {
                out[k] = String(decoding: try JSONSerialization.data(withJSONObject: [v], options: [.sortedKeys]), as: UTF8.self)
            }
        }
        return out
    }

    @Test("every seed case goes CLI → log → bundle → another node → export unchanged")
    func seedsRoundTripUnchanged() throws {
        let p = try ReporterPair()
        let c = p.c
        let seedsPath = CLI.packageRoot + "/seeds/cases.json"
        try c.ok(["case", "import", seedsPath])
        let b = try DrillNode("B")
        try b.ok(["join", p.project])
        try c.ok(["member", "add", b.id, "--role", "coordinator"])
        try p.carry(c, to: b, "C-to-B.sqb")
        let file = p.work.file("seeds-back.json")
        try b.ok(["export", "--format", "json", "--out", file])
        let seeds = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: seedsPath))) as? [String: Any])
        let back = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        let wanted = try #require(seeds["cases"] as? [[String: Any]])
        let got = try #require(back["cases"] as? [[String: Any]])
        #expect(got.count == wanted.count)
        var acts = 0
        for s in wanted {
            let ref = try #require(s["ref"] as? String)
            let g = try #require(got.first { $0["ref"] as? String == ref }, "\(ref) did not come back")
            let a = try Self.comparable(s, keepIDsOf: s), x = try Self.comparable(g, keepIDsOf: s)
            for k in Set(a.keys).union(x.keys) {
                #expect(a[k] == x[k], "\(ref).\(k):\n  seed \(a[k] ?? "-")\n  back \(x[k] ?? "-")")
            }
            acts += (g["acts"] as? [Any])?.count ?? 0
        }
        #expect(acts >= 68, "the seeds' violations came back: \(acts)")
    }
}
