import Foundation
import Hummingbird
import SandyqNode

/// Recording a new case: one page, checked as a whole; errors shown GOV.UK's way (a summary at
/// the top linking to each field, the message again at the field); a name that may already be
/// recorded is shown, and the person confirms before a second case is made.
enum RecordPages {
    static let personSlots = 3

    /// The fields as the form sent them, kept to show the form again.
    static let names = ["title", "status", "statusDate", "city", "region", "summary", "notes", "chargeCode", "chargeArticle",
                        "chargePart", "chargeStage", "eventType", "eventDate", "eventPlace", "eventDescription", "tags"]
        + (1...personSlots).flatMap { ["person\($0)", "person\($0)Year"] }

    static func page(_ v: Visit, host: NodeHost, fields: [String: String] = [:], errors: [(field: String, message: String)] = [],
                     duplicates: [DuplicateMatch] = []) -> Response {
        if let screen = CasePages.roleScreen(v, host: host, writing: true) { return screen }
        var c = v.frame(title: v.t("record.title"), unlocked: true)
        for n in names { c[n] = fields[n] ?? "" }
        let errorOf = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        for (f, m) in errorOf { c["err_\(f)"] = m }
        if !errors.isEmpty { c["errors"] = errors.map { ["field": $0.field, "message": $0.message] } }
        c["hasErrors"] = !errors.isEmpty
        c["hasDuplicates"] = !duplicates.isEmpty
        func options(_ values: [String], _ vocab: String, _ chosen: String?) -> [[String: Any]] {
            values.map { ["value": $0, "label": v.cat.value(vocab, $0, v.lang), "selected": $0 == chosen] }
        }
        c["statuses"] = options(CaseSchema.statuses, "status", fields["status"])
        let charges = CaseSchema.collection("charges")?.choices ?? [:]
        c["codes"] = options(charges["code"] ?? [], "code", fields["chargeCode"])
        c["stages"] = options(charges["stage"] ?? [], "stage", fields["chargeStage"])
        c["eventTypes"] = options(CaseSchema.collection("events")?.choices["type"] ?? [], "type", fields["eventType"])
        c["persons"] = (1...personSlots).map { i -> [String: Any] in
            var p: [String: Any] = [
                "n": i, "name": fields["person\(i)"] ?? "", "year": fields["person\(i)Year"] ?? "",
                "nameLabel": v.t("record.person", ["n": "\(i)"]), "yearLabel": v.t("record.birthYear", ["n": "\(i)"]),
            ]
            if let e = errorOf["person\(i)Year"] { p["yearError"] = e }
            return p
        }
        if !duplicates.isEmpty {
            c["duplicates"] = duplicates.map { d in
                ["id": d.caseId, "text": v.t("record.dup.item", ["name": d.name, "case": d.ref ?? String(d.caseId.prefix(8))])]
            }
        }
        return Pages.html(Templates.render("record", c), status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    static func isDate(_ s: String) -> Bool {
        let p = s.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(p.count), p[0].count == 4, p.allSatisfy({ $0.allSatisfy(\.isASCII) && Int($0) != nil }) else { return false }
        if p.count >= 2 { guard p[1].count == 2, let m = Int(p[1]), (1...12).contains(m) else { return false } }
        if p.count == 3 { guard p[2].count == 2, let d = Int(p[2]), (1...31).contains(d) else { return false } }
        return true
    }

    /// The case the form describes, or what is wrong with it.
    static func document(_ f: [String: String], _ v: Visit) -> (CaseDocument?, [(field: String, message: String)]) {
        func val(_ k: String) -> String? {
            let s = (f[k] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return s.isEmpty ? nil : s
        }
        var errors: [(field: String, message: String)] = []
        var doc = CaseDocument()
        doc.title = val("title")
        doc.status = val("status").flatMap { CaseSchema.statuses.contains($0) ? $0 : nil }
        doc.statusDate = val("statusDate")
        doc.city = val("city")
        doc.region = val("region")
        doc.summary = val("summary")
        doc.notes = val("notes")
        if let d = doc.statusDate, !isDate(d) { errors.append(("statusDate", v.t("record.err.date"))) }
        var persons: [CaseDocument.Person] = []
        for i in 1...personSlots {
            let year = val("person\(i)Year")
            if let y = year, !(y.count == 4 && Int(y).map { (1880...2100).contains($0) } == true) {
                errors.append(("person\(i)Year", v.t("record.err.year")))
            }
            guard let name = val("person\(i)") else { continue }
            var p = CaseDocument.Person(name: name)
            p.birthYear = year.flatMap(Int.init)
            persons.append(p)
        }
        doc.persons = persons.isEmpty ? nil : persons
        if doc.title == nil && persons.isEmpty { errors.insert(("title", v.t("record.err.nothing")), at: 0) }
        if let article = val("chargeArticle") {
            if !article.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) { errors.append(("chargeArticle", v.t("record.err.article"))) }
            var ch = CaseDocument.Charge()
            ch.code = val("chargeCode")
            ch.article = article
            ch.part = val("chargePart")
            ch.stage = val("chargeStage")
            doc.charges = [ch]
        }
        let eventGiven = ["eventDate", "eventPlace", "eventDescription"].contains { val($0) != nil }
        if let type = val("eventType") {
            var e = CaseDocument.Event(type: type)
            e.date = val("eventDate")
            e.place = val("eventPlace")
            e.description = val("eventDescription")
            doc.events = [e]
            if let d = e.date, !isDate(d) { errors.append(("eventDate", v.t("record.err.date"))) }
        } else if eventGiven {
            errors.append(("eventType", v.t("record.err.eventType")))
        }
        let tags = (f["tags"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        doc.tags = tags.isEmpty ? nil : tags
        return (errors.isEmpty ? doc : nil, errors)
    }

    static func record(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let screen = CasePages.roleScreen(v, host: host, writing: true) { return screen }
        let (doc, errors) = document(fields, v)
        guard let doc else { return page(v, host: host, fields: fields, errors: errors) }
        if fields["confirmNew"] == nil, !host.isWriteOnly {
            let dups = ((try? host.search.duplicateWarnings(for: [doc])) ?? []).first ?? []
            if !dups.isEmpty {
                return page(v, host: host, fields: fields, errors: [("confirmNew", v.t("record.dup.err"))], duplicates: dups)
            }
        }
        do {
            let id = try host.cases.add(doc)
            return Pages.redirect(host.isWriteOnly ? "/cases?recorded=1&case=\(id)" : "/cases/\(id)?recorded=1")
        } catch {
            return page(v, host: host, fields: fields, errors: [("title", v.t("record.err.saved", ["reason": Pages.reason(v, error)]))])
        }
    }

    /// While a name is typed: the recorded people it may be, as a fragment the page puts under the field.
    static func duplicates(_ v: Visit, host: NodeHost, name: String) -> Response {
        guard !host.isWriteOnly, name.count >= 3 else { return Pages.html("") }
        var doc = CaseDocument()
        doc.persons = [CaseDocument.Person(name: name)]
        let dups = ((try? host.search.duplicateWarnings(for: [doc])) ?? []).first ?? []
        var c = v.frame(title: "", unlocked: true)
        c["duplicates"] = dups.prefix(5).map { d in
            ["id": d.caseId, "text": v.t("record.dup.item", ["name": d.name, "case": d.ref ?? String(d.caseId.prefix(8))])]
        }
        return Pages.html(dups.isEmpty ? "" : Templates.render("dupList", c))
    }
}
