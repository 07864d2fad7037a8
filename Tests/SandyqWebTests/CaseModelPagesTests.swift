import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqWeb

/// The desk's forms follow the case model: a violation is added against a victim chosen from
/// the case's persons, who took part in it is chosen from its officials, and the case page
/// names each link by what it links to, in the reader's language.
@Suite struct CaseModelPagesTests {
    static func ru(_ key: String, _ args: [String: String] = [:]) -> String { Catalogue.shared.text(key, "ru", args) }

    struct Fixture {
        let dir: TempDir
        let browser: SharePagesTests.Browser
        let id: String
        let person: String
        let official: String

        init() throws {
            dir = try TempDir("casemodel")
            let (c, _) = try NodeFixture.founder(dir, "c")
            var doc = CaseDocument()
            doc.title = "Нурлан Нургалиев"
            doc.persons = [CaseDocument.Person(name: "Нурлан Нургалиев")]
            var o = CaseDocument.Official(name: "Ерлан Қасымов")
            o.agency = "police"
            doc.officials = [o]
            id = try c.addCase(doc).description
            person = try c.caseState(id).elements("persons")[0]
            official = try c.caseState(id).elements("officials")[0]
            browser = try SharePagesTests.Browser(dir, "c")
        }

        func state() throws -> CaseState { try browser.host.cases.state(id) }
    }

    @Test func aViolationIsAddedAgainstAVictimChosenFromTheCase() async throws {
        let f = try Fixture()
        let b = f.browser
        try await b.app.test(.router) { client in
            // The victim is a list of the case's persons, by name; the type a list of acts, in Russian.
            let (s0, form) = try await b.get(client, "/cases/\(f.id)/add/acts")
            #expect(s0 == .ok)
            #expect(form.contains("<option value=\"\(f.person)\"") && form.contains("Нурлан Нургалиев"))
            #expect(form.contains(Self.ru("type.denial_of_medical_care")))
            #expect(form.contains(Self.ru("edit.link.hint", ["section": Self.ru("case.persons")])))

            // No type, an unknown victim and a date in words: each named, nothing written.
            let before = try f.state().elements("acts").count
            let (s1, bad, _) = try await b.post(client, "/cases/\(f.id)/add/acts",
                                                 [("type", ""), ("victim", "0000000000000000"), ("date", "весной")], csrf: b.csrf)
            #expect(s1 == .unprocessableContent)
            #expect(bad.contains(Self.ru("edit.err.required.acts")))
            #expect(bad.contains(Self.ru("edit.err.choice")))
            #expect(bad.contains(Self.ru("record.err.date")))
            #expect(try f.state().elements("acts").count == before)

            let (s2, _, _) = try await b.post(client, "/cases/\(f.id)/add/acts",
                                               [("type", "denial_of_medical_care"), ("victim", f.person), ("date", "2022-02"),
                                                ("datePrecision", "month"), ("consequences", "Обострение болезни")], csrf: b.csrf)
            #expect(s2 == .seeOther || s2 == .found)
            let act = try #require(try f.state().elements("acts").first)
            #expect(try f.state().value("acts", act, "victim") == f.person)

            // Who took part: the act and the official are both chosen from lists.
            let (_, pform) = try await b.get(client, "/cases/\(f.id)/add/perpetrators")
            #expect(pform.contains("<option value=\"\(act)\"") && pform.contains("<option value=\"\(f.official)\""))
            let (s3, _, _) = try await b.post(client, "/cases/\(f.id)/add/perpetrators",
                                               [("violation", act), ("official", f.official), ("involvement", "gave_order")], csrf: b.csrf)
            #expect(s3 == .seeOther || s3 == .found)

            // The case page names the links by what they name, never by id.
            let (_, page) = try await b.get(client, "/cases/\(f.id)")
            #expect(page.contains(Self.ru("case.acts")) && page.contains(Self.ru("case.perpetrators")))
            #expect(page.contains(Self.ru("involvement.gave_order")))
            #expect(page.contains(Self.ru("type.denial_of_medical_care")))
            #expect(!page.contains(">\(f.person)<") && !page.contains(">\(act)<"))

            // The dossier words the links in the page's language, and offers the draft to the UN working group.
            let (_, dossier) = try await b.get(client, "/cases/\(f.id)/dossier")
            #expect(dossier.contains(Self.ru("case.acts")) && dossier.contains(Self.ru("involvement.gave_order")))
            #expect(dossier.contains("Ерлан Қасымов, \(Self.ru("agency.police"))") && !dossier.contains("police · полиция"))
            #expect(dossier.contains("href=\"/cases/\(f.id)/wgad.md\""))
            let (ws, draft) = try await b.get(client, "/cases/\(f.id)/wgad.md")
            #expect(ws == .ok && draft.contains("## II. Arrest · Арест") && draft.contains("Нурлан Нургалиев"))

            // A person taken out of the case leaves the act saying so.
            try b.host.cases.removeElement(f.id, collection: "persons", element: f.person)
            let (_, after) = try await b.get(client, "/cases/\(f.id)")
            #expect(after.contains(Self.ru("case.link.gone")))
        }
    }

    /// A lawyer's desk shows the source and says who it is is withheld; the identity is nowhere on the page.
    @Test func aLawyersDeskSaysTheSourceIsWithheld() async throws {
        let dir = try TempDir("withheld")
        let (c, pid) = try NodeFixture.founder(dir, "c")
        let l = try NodeFixture.make(dir, "l")
        try l.join(pid)
        _ = try c.addMember(l.nodeID, role: .lawyer)
        var doc = CaseDocument()
        doc.title = "Дело о пытках"
        var s = CaseDocument.Source(reference: "Показания родственницы")
        s.identity = "Гүлнар Сейітова, +7 701 000 00 00"
        doc.sources = [s]
        let id = try c.addCase(doc).description
        try c.share(id, with: l.nodeID)
        try SharePagesTests.Project.sync(c, to: l)
        let coordinator = try SharePagesTests.Browser(dir, "c"), lawyer = try SharePagesTests.Browser(dir, "l")
        try await lawyer.app.test(.router) { client in
            for path in ["/cases/\(id)", "/cases/\(id)/dossier"] {
                let (status, page) = try await lawyer.get(client, path)
                #expect(status == .ok && page.contains("Показания родственницы"), "\(path)")
                #expect(page.contains(Self.ru("case.withheld")) && !page.contains("Сейітова"), "\(path)")
            }
        }
        try await coordinator.app.test(.router) { client in
            let (_, page) = try await coordinator.get(client, "/cases/\(id)")
            #expect(page.contains("Сейітова") && !page.contains(Self.ru("case.withheld")))
            let (_, form) = try await coordinator.get(client, "/cases/\(id)/add/sources")
            #expect(form.contains(Self.ru("edit.identity.hint")))
        }
    }
}
