import Foundation
import SandyqCore
import SandyqCrypto
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

/// What lawyers file from the deeper model: the dossier names links by name and keeps a
/// chronology, the sanctions list puts who gave orders first, and the WGAD draft answers its
/// questionnaire from the record and leaves the rest marked to complete.
@Suite struct CaseModelReportTests {
    @Test func theDossierNamesLinksAndKeepsAChronology() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let id = try c.addCase(CaseModelTests.seedLike()).description
        let r = try c.dossier(id)
        let act = try #require(r.acts?.first)
        let victim = try #require(act.fields.first { $0.field == "victim" })
        #expect(victim.value == "Нурлан Нургалиев" && victim.link == "a1a1a1a1a1a1a1a1")
        let p = try #require(r.perpetrators?.first)
        #expect(p.value("official") == "Ерлан Қасымов, police · полиция")
        #expect(p.fields.first { $0.field == "violation" }?.link == "d4d4d4d4d4d4d4d4")
        #expect(r.trials?.first?.value("judge")?.hasPrefix("Серік Жұмабаев") == true)
        // Every dated record in date order: the month-precise arrest, the day in custody, the verdict, the UN opinion.
        let lines = try #require(r.chronology)
        #expect(lines.map(\.date) == ["2022-01", "2022-01-06", "2022-02-14", "2022-03", "2022-06-30", "2023-04"])
        #expect(lines.map(\.kind) == ["arbitrary_detention", "pretrial", "denial_of_medical_care", "until", "convicted", "un_wgad"])
        let md = ReportMarkdown.dossier(r)
        #expect(md.contains("## Violations · Нарушения") && md.contains("| Нурлан Нургалиев |"))
        #expect(md.contains("## Chronology · Хронология дела"))
        // A victim taken out of the case is said to be removed, not shown as an id.
        try c.removeElement(id, collection: "persons", element: "a1a1a1a1a1a1a1a1")
        let after = try c.dossier(id)
        let gone = try #require(after.acts?.first?.fields.first { $0.field == "victim" })
        #expect(gone.value == DossierReport.removed && gone.link == nil)
    }

    @Test func theSanctionsListPutsWhoGaveTheOrderFirst() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        // The officer who carried out the detention appears in two cases; the one who ordered it in one.
        var first = CaseModelTests.seedLike()
        var chief = CaseDocument.Official(name: "Бақыт Сұлтанов")
        chief.id = "4b4b4b4b4b4b4b4b"
        chief.agency = "knb"
        first.officials!.append(chief)
        var order = CaseDocument.Perpetrator(official: chief.id!)
        order.violation = "d4d4d4d4d4d4d4d4"
        order.involvement = "gave_order"
        first.perpetrators!.append(order)
        _ = try c.addCase(first)
        _ = try c.addCase(CaseModelTests.seedLike())
        let r = try c.sanctionsReport()
        let names = r.officials.map(\.name)
        #expect(names.first == "Бақыт Сұлтанов", "\(names)")
        let officer = try #require(r.officials.first { $0.name == "Ерлан Қасымов" })
        #expect(officer.caseCount == 2 && officer.involvement == ["carried_out"])
        #expect(officer.cases.allSatisfy { $0.violations == ["arbitrary_detention"] })
        #expect(names.firstIndex(of: "Ерлан Қасымов")! < names.firstIndex(of: "Серік Жұмабаев")!, "an official in no violation comes last")
        #expect(ReportCSV.sanctions(r).split(separator: "\r\n").first?.hasSuffix(",involvement") == true)
    }

    @Test func theWGADDraftAnswersFromTheRecordAndMarksTheRest() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        var doc = CaseModelTests.seedLike()
        var charge = CaseDocument.Charge()
        charge.code = "criminal"
        charge.article = "174"
        charge.part = "2"
        charge.description = "возбуждение розни"
        doc.charges = [charge]
        doc.persons![0].birthYear = 1978
        let id = try c.addCase(doc).description
        let w = WGADDraft(try c.dossier(id))
        #expect(w.sections.map(\.number) == ["I", "II", "III", "IV", "V", "VI"])
        #expect(w.subject == "Нурлан Нургалиев")
        func answer(_ s: String, _ q: String) -> [String]? {
            w.sections.first { $0.number == s }?.answers.first { $0.question.hasPrefix(q) }?.values
        }
        #expect(answer("I", "Birth date") == ["1978"])
        #expect(answer("II", "Date of arrest") == ["2022-01, month known · известен месяц"])
        #expect(answer("II", "Forces who carried out") == ["Ерлан Қасымов, police · полиция"])
        #expect(answer("II", "Was a warrant") == [])
        #expect(answer("II", "Relevant legislation") == ["criminal · уголовное, art. 174, part 2, возбуждение розни"])
        #expect(answer("III", "Date and duration") == ["2022-01-06 – 2022-03"])
        #expect(answer("III", "Access to a lawyer") == ["state-appointed · по назначению"])
        #expect(answer("IV", "Facts that bear")?.contains("Whereabouts withheld · местонахождение скрывали") == true)
        #expect(answer("IV", "Facts that bear")?.contains { $0.hasPrefix("denial of medical care") } == true)
        #expect(answer("V", "Other international procedures")?.first?.contains("A/HRC/WGAD/2023/5") == true)
        let md = w.markdown
        #expect(md.contains("## II. Arrest · Арест") && md.contains(WGADDraft.toComplete))
        #expect(try c.renderReport(.wgad(id), format: .md).contains("3. **Birth date or age · Дата рождения или возраст**\n   - 1978"))
        #expect(throws: NodeError.self) { try c.renderReport(.wgad(id), format: .html) }
    }
}

/// The seed cases at depth against the documents they were drawn from: every violation,
/// detention and intervention of three well-documented cases cites a seed document that names
/// the person, and the dossier and the WGAD draft carry what those documents say.
@Suite struct SeedDepthTests {
    static let seedsDir = NodeFixture.seedCasesURL.deletingLastPathComponent()

    /// The seed document an element's text cites, read whole.
    static func cited(_ text: String) throws -> String {
        let re = try Regex(#"\(seeds/([0-9a-f_]+\.txt)\)"#)
        let m = try #require(text.firstMatch(of: re), "no citation in: \(text.suffix(80))")
        let name = String(try #require(m.output[1].substring))
        return try String(contentsOf: seedsDir.appendingPathComponent(name), encoding: .utf8)
    }

    @Test(arguments: [("seed-01", "Бокаев"), ("seed-02", "Джакишев"), ("seed-03", "Еримбетов")])
    func aSeedCaseAgreesWithItsDocuments(ref: String, surname: String) throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        _ = try c.importCases(try ReportNodeTests.seeds())
        let r = try c.dossier(ref)
        let person = try #require(r.persons.first)
        #expect(person.value("name")?.hasSuffix(surname) == true)
        // Every cited document names the person, in one of the spellings the case records (Боқаев in Kazakh).
        let stems = ([person.value("name")] + (person.value("aliases")?.split(separator: "\n").map(String.init) ?? []))
            .compactMap { $0?.split(separator: " ").last.map { String($0.prefix(4)) } }
        var texts: [String] = []
        for a in r.acts ?? [] { texts.append(a.value("description") ?? "") }
        for x in r.detentions ?? [] { texts.append(x.value("conditions") ?? "") }
        for i in r.interventions ?? [] { texts.append(i.value("response") ?? "") }
        #expect(texts.count >= 7, "\(ref) holds \(texts.count) elements at depth")
        for t in texts {
            let doc = try Self.cited(t)
            #expect(stems.contains { doc.contains($0) }, "\(ref): the document cited by '\(t.suffix(60))' does not name \(stems)")
        }
        // What the documents say of all three: torture and denied medical care in 2017 (003), and the
        // European Parliament's resolution of 11 February 2021, 2021/2544 (RSP) (002).
        let acts = Set((r.acts ?? []).compactMap { $0.value("type") })
        #expect(acts.isSuperset(of: ["arbitrary_detention", "torture", "denial_of_medical_care"]))
        let ep = try #require(r.interventions?.first { $0.value("body") == "european_parliament" && $0.value("date") == "2021-02-11" })
        #expect(ep.value("reference") == "2021/2544 (RSP)" && ep.value("kind") == "resolution")
        let doc002 = try Self.cited(ep.value("response") ?? "")
        #expect(doc002.contains("11 февраля 2021") && doc002.contains("2021/2544 (RSP)") && doc002.contains(surname))
        #expect(r.chronology?.contains { $0.date == "2021-02-11" && $0.kind == "european_parliament" } == true)
        // The draft to the UN working group says the same, and marks what the documents do not give.
        let w = WGADDraft(r)
        #expect(w.subject == person.value("name"))
        let international = w.sections.first { $0.number == "V" }?.answers.last?.values ?? []
        #expect(international.contains { $0.contains("2021/2544 (RSP)") && $0.hasPrefix("2021-02-11") })
        let bearing = w.sections.first { $0.number == "IV" }?.answers.last?.values ?? []
        #expect(bearing.contains { $0.hasPrefix("torture") } && bearing.contains { $0.hasPrefix("denial of medical care") })
        #expect(w.sections.first { $0.number == "II" }?.answers.first { $0.question.hasPrefix("Was a warrant") }?.values == [])
        // No document ties an official to these cases' acts: nobody is named as responsible.
        #expect(r.perpetrators == nil)
    }

    /// Джакишев's detention is dated as the document dates it: "более 8 лет" before December 2017.
    @Test func aDateIsAsPreciseAsItsDocument() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        _ = try c.importCases(try ReportNodeTests.seeds())
        let r = try c.dossier("seed-02")
        let act = try #require(r.acts?.first { $0.value("type") == "arbitrary_detention" })
        #expect(act.value("date") == "2009-12" && act.value("datePrecision") == "before")
        #expect(try Self.cited(act.value("description") ?? "").contains("более 8 лет"))
        let arrest = WGADDraft(r).sections.first { $0.number == "II" }?.answers.first?.values
        #expect(arrest == ["2009-12, before · до"])
    }
}

/// A source's identity is sealed to coordinators only. A lawyer the case is shared with holds
/// every op of the case, is granted every session of it, and still cannot open the one that
/// names the source: not after the share, not after a merge, not with any key its node holds.
@Suite struct WithheldIdentityTests {
    static let identity = "Гүлнар Сейітова, сестра, +7 701 000 00 00"

    static func sourceDoc() -> CaseDocument {
        var d = CaseDocument()
        d.title = "Дело о пытках в ИВС"
        d.persons = [CaseDocument.Person(name: "Нурлан Нургалиев")]
        var s = CaseDocument.Source(reference: "Показания родственницы, 2024")
        s.relation = "relative"
        s.consent = "limited"
        s.identity = identity
        d.sources = [s]
        return d
    }

    /// A coordinator, a second coordinator and a lawyer; the case shared with the lawyer.
    static func project(_ dir: TempDir) throws -> (c: Node, c2: Node, l: Node, id: String) {
        let (c, _) = try NodeFixture.founder(dir, "c")
        let l = try NodeFixture.make(dir, "l"), c2 = try NodeFixture.make(dir, "c2")
        try RoleKit.admit(l, as: .lawyer, by: c)
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let id = try c.addCase(sourceDoc()).description
        try c.share(id, with: l.nodeID)
        _ = try NodeFixture.sync(c, to: l)
        _ = try NodeFixture.sync(c, to: c2)
        return (c, c2, l, id)
    }

    static func identity(_ n: Node, _ id: String) throws -> String? {
        let s = try n.caseState(id)
        return s.elements("sources").first.flatMap { s.value("sources", $0, "identity") }
    }

    @Test func aLawyerSeesTheSourceButNotWhoItIs() throws {
        let dir = try TempDir()
        let (c, c2, l, id) = try Self.project(dir)
        #expect(try Self.identity(c, id) == Self.identity)
        #expect(try Self.identity(c2, id) == Self.identity, "a second coordinator reads it")
        let seen = try l.caseState(id)
        let source = try #require(seen.elements("sources").first)
        #expect(seen.value("sources", source, "reference") == "Показания родственницы, 2024")
        #expect(seen.value("sources", source, "relation") == "relative")
        #expect(seen.value("sources", source, "identity") == nil)
        // It is an op of its own, in a session no share grants: the lawyer holds it and cannot open it.
        #expect(try l.view().stats.unreadable >= 1)
        // A later edit of the case and another share round grant the lawyer nothing more.
        try c.set(id, fields: [(FieldPath(field: "city"), "Алматы")])
        try c.forwardSharedCaseKeys()
        _ = try NodeFixture.sync(c, to: l)
        #expect(try l.caseState(id).value("city") == "Алматы")
        #expect(try Self.identity(l, id) == nil)
        // The attack: every key the lawyer's node holds, tried on every op it stores.
        let v = try l.view()
        let keys = Array(v.sessionKeys.values)
        var opened = 0
        for e in try l.store.allEnvelopes() {
            guard let body = try? SealedBody(decoding: e.body) else { continue }
            for k in keys {
                if let plain = try? body.open(with: k, header: e.header), String(decoding: plain, as: UTF8.self).contains("Сейітова") { opened += 1 }
            }
        }
        #expect(opened == 0)
    }

    @Test func aMergeDoesNotCarryTheIdentityToTheKeptCasesLawyer() throws {
        let dir = try TempDir()
        let (c, _, l, other) = try Self.project(dir)
        var keepDoc = CaseDocument()
        keepDoc.title = "Нургалиев"
        keepDoc.persons = [CaseDocument.Person(name: "Нурлан Нургалиев")]
        let keep = try c.addCase(keepDoc).description
        try c.share(keep, with: l.nodeID)
        _ = try c.merge(keep: keep, other: other)
        try c.forwardSharedCaseKeys()
        _ = try NodeFixture.sync(c, to: l)
        #expect(try Self.identity(c, keep) == Self.identity, "the coordinator's kept case has the source whole")
        let k = try l.caseState(keep)
        #expect(k.elements("sources").count == 1, "the lawyer sees the source copied into the kept case")
        #expect(try Self.identity(l, keep) == nil)
    }
}
