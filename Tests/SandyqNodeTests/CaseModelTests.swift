import Foundation
import SandyqCore
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// The case model at HURIDOCS' depth: acts against victims, who took part in them, detention,
/// trial and interventions, with links between a case's elements that survive every path a
/// case takes (a document, a merge, a hand-typed prefix).
@Suite struct CaseModelTests {
    /// A case drawn from the seed documents: an arrest for a peaceful protest, denied medical
    /// care in custody, a trial, a UN opinion.
    static func seedLike() -> CaseDocument {
        var d = CaseDocument()
        d.title = "Дело Нурлана Нургалиева"
        var p = CaseDocument.Person(name: "Нурлан Нургалиев")
        p.id = "a1a1a1a1a1a1a1a1"
        d.persons = [p]
        var judge = CaseDocument.Official(name: "Серік Жұмабаев")
        judge.id = "b2b2b2b2b2b2b2b2"
        judge.agency = "court"
        var officer = CaseDocument.Official(name: "Ерлан Қасымов")
        officer.id = "c3c3c3c3c3c3c3c3"
        officer.agency = "police"
        d.officials = [judge, officer]
        var act = CaseDocument.Act(type: "arbitrary_detention")
        act.id = "d4d4d4d4d4d4d4d4"
        act.victim = p.id
        act.date = "2022-01"
        act.datePrecision = "month"
        act.place = "Алматы"
        act.consequences = "10 суток ареста"
        var care = CaseDocument.Act(type: "denial_of_medical_care")
        care.id = "e5e5e5e5e5e5e5e5"
        care.victim = p.id
        care.date = "2022-02-14"
        d.acts = [act, care]
        var ordered = CaseDocument.Perpetrator(official: officer.id!)
        ordered.id = "f6f6f6f6f6f6f6f6"
        ordered.violation = act.id
        ordered.involvement = "carried_out"
        d.perpetrators = [ordered]
        var held = CaseDocument.Detention()
        held.id = "0707070707070707"
        held.person = p.id
        held.type = "pretrial"
        held.facility = "СИЗО № 1, Алматы"
        held.from = "2022-01-06"
        held.until = "2022-03"
        held.whereabouts = "denied"
        held.counsel = "state_appointed"
        held.familyContact = "denied"
        d.detentions = [held]
        var trial = CaseDocument.Trial()
        trial.id = "1818181818181818"
        trial.court = "Алмалинский районный суд"
        trial.caseNumber = "1-1234/2022"
        trial.judge = judge.id
        trial.verdict = "convicted"
        trial.verdictDate = "2022-06-30"
        trial.sentenceKind = "restricted_freedom"
        trial.sentenceTerm = "2 года"
        d.trials = [trial]
        var un = CaseDocument.Intervention(body: "un_wgad")
        un.id = "2929292929292929"
        un.kind = "opinion"
        un.date = "2023-04"
        un.reference = "A/HRC/WGAD/2023/5"
        un.progress = "decided"
        d.interventions = [un]
        var s = CaseDocument.Source(reference: "Письмо матери, 2022")
        s.id = "3a3a3a3a3a3a3a3a"
        s.kind = "document"
        s.relation = "relative"
        s.consent = "given"
        d.sources = [s]
        return d
    }

    @Test func aDocumentAtDepthReadsBackAsItWasWritten() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let doc = Self.seedLike()
        let id = try c.addCase(doc).description
        var back = try c.caseState(id).document
        back.id = nil
        #expect(back == doc)
        // The same document through JSON, as `case show --json` prints and `case import` reads it.
        let json = try JSONEncoder().encode(CaseDocument.Collection(cases: [back]))
        let read = try JSONDecoder().decode(CaseDocument.Collection.self, from: json)
        #expect(read.format == "sandyq-cases/2")
        #expect(read.cases == [back])
    }

    /// A version 1 file (no acts, no element ids) still imports, into the same fields as before.
    @Test func aVersionOneDocumentStillImports() throws {
        let v1 = #"{"format": "sandyq-cases/1", "cases": [{"title": "Іс", "persons": [{"name": "Асқар", "birthYear": 1963}], "#
            + #""events": [{"type": "arrest", "date": "2021-05-02"}], "sources": [{"kind": "media", "reference": "https://example.org/a"}]}]}"#
        let coll = try JSONDecoder().decode(CaseDocument.Collection.self, from: Data(v1.utf8))
        #expect(CaseDocument.formatsRead.contains(coll.format ?? ""))
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let ids = try c.importCases(coll.cases)
        let d = try c.caseState(ids[0].description).document
        #expect(d.persons?.first?.birthYear == 1963)
        #expect(d.events?.first?.date == "2021-05-02")
        #expect(d.sources?.first?.relation == nil)
        #expect(d.acts == nil && d.trials == nil)
        #expect(d.persons.map { $0.allSatisfy { CaseSchema.isElementID($0.id ?? "") } } == true)
    }

    /// A link must name an element of the same case: a typo in a file is named, and nothing is written.
    @Test func aLinkToNothingIsRefusedWithNothingWritten() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let before = try c.view().cases.count
        var doc = Self.seedLike()
        doc.acts![1].victim = "9999999999999999"
        #expect { try c.addCase(doc) } throws: { ($0 as? NodeError)?.message.contains("acts.victim '9999999999999999'") == true }
        doc = Self.seedLike()
        doc.trials![0].judge = "судья Жұмабаев"
        #expect { try c.addCase(doc) } throws: { ($0 as? NodeError)?.message.contains("trials.judge") == true }
        doc = Self.seedLike()
        doc.detentions![0].until = "весна 2022"
        #expect { try c.addCase(doc) } throws: { ($0 as? NodeError)?.message.contains("detentions.until 'весна 2022' is not a date") == true }
        #expect(try c.view().cases.count == before)

        let id = try c.addCase(Self.seedLike()).description
        let ops = try c.caseState(id).ops.count
        // A prefix names its element; an unknown one or an element of another collection does not.
        let act = try c.addElement(id, collection: "acts", fields: ["type": "torture", "victim": "a1a1"])
        #expect(try c.caseState(id).value("acts", act, "victim") == "a1a1a1a1a1a1a1a1")
        #expect(throws: NodeError.self) { try c.addElement(id, collection: "acts", fields: ["type": "torture", "victim": "ffff"]) }
        #expect(throws: NodeError.self) { try c.addElement(id, collection: "acts", fields: ["type": "torture", "victim": "b2b2"]) }
        #expect(throws: NodeError.self) {
            try c.set(id, fields: [(FieldPath(collection: "trials", element: "1818181818181818", field: "judge"), "d4d4")])
        }
        // The editor itself refuses a whole id of the wrong collection, for callers that skip the node.
        let judge = FieldPath(collection: "trials", element: "1818181818181818", field: "judge")
        #expect(throws: CoreError.self) { try CaseEditor.set(judge, to: "d4d4d4d4d4d4d4d4", in: try c.caseState(id)) }
        try c.set(id, fields: [(judge, "c3c3")])
        #expect(try c.caseState(id).value("trials", "1818181818181818", "judge") == "c3c3c3c3c3c3c3c3")
        #expect(try c.caseState(id).ops.count == ops + 2)
    }

    /// Merging moves the links with the elements: an act copied from OTHER names KEEP's copy of
    /// its victim (the same person by name), and a perpetrator names the copied act.
    @Test func aMergeKeepsEveryLinkPointingAtTheRightElement() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        var keepDoc = CaseDocument()
        keepDoc.title = "Нургалиев"
        keepDoc.persons = [CaseDocument.Person(name: "Нурлан Нургалиев")]
        let keep = try c.addCase(keepDoc).description
        let other = try c.addCase(Self.seedLike()).description
        _ = try c.merge(keep: keep, other: other)
        let k = try c.caseState(keep)
        let person = try #require(k.elements("persons").first)
        #expect(k.elements("persons").count == 1)
        let acts = k.elements("acts")
        #expect(acts.count == 2)
        for a in acts { #expect(k.value("acts", a, "victim") == person) }
        #expect(!acts.contains("d4d4d4d4d4d4d4d4"))
        let p = try #require(k.elements("perpetrators").first)
        let detention = try #require(k.elements("acts").first { k.value("acts", $0, "type") == "arbitrary_detention" })
        #expect(k.value("perpetrators", p, "violation") == detention)
        let officer = try #require(k.elements("officials").first { k.value("officials", $0, "name") == "Ерлан Қасымов" })
        #expect(k.value("perpetrators", p, "official") == officer)
        let judge = try #require(k.elements("officials").first { k.value("officials", $0, "name") == "Серік Жұмабаев" })
        #expect(k.value("trials", try #require(k.elements("trials").first), "judge") == judge)
        #expect(k.value("detentions", try #require(k.elements("detentions").first), "person") == person)
    }
}
