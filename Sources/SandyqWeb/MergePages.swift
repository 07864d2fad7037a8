import Foundation
import Hummingbird
import SandyqNode

/// The coordinator's duplicates: the pairs of cases that probably concern one person, with why;
/// one pair side by side; one confirming question (which case to keep) before the merge; then
/// where the merged case lives.
enum MergePages {
    /// The fields shown side by side, in the case page's order.
    static let compared = ["status", "statusDate", "ref", "city", "region"]

    static func title(_ v: Visit, _ state: CaseState) -> String {
        state.value("title").flatMap { $0.isEmpty ? nil : $0 } ?? v.t("case.untitled")
    }

    static func short(_ state: CaseState) -> String { String(state.id.description.prefix(8)) }

    /// What the two cases have in common besides the names that paired them.
    static func reasons(_ v: Visit, _ a: CaseState, _ b: CaseState) -> [String] {
        func values(_ s: CaseState, _ coll: String, _ f: String) -> Set<String> {
            Set(s.elements(coll).compactMap { s.value(coll, $0, f) }.filter { !$0.isEmpty })
        }
        var out: [String] = []
        for y in values(a, "persons", "birthYear").intersection(values(b, "persons", "birthYear")).sorted() {
            out.append(v.t("merge.reason.year", ["year": y]))
        }
        if let c = a.value("city"), !c.isEmpty, c.lowercased() == b.value("city")?.lowercased() {
            out.append(v.t("merge.reason.city", ["city": c]))
        }
        for art in values(a, "charges", "article").intersection(values(b, "charges", "article")).sorted() {
            out.append(v.t("merge.reason.article", ["article": art]))
        }
        return out
    }

    /// The unmerged case `ref` names by its full id.
    static func load(_ host: NodeHost, _ ref: String) -> CaseState? {
        guard let id = CasePages.caseID(ref), let state = try? host.view().cases[id], state.mergedTarget == nil else { return nil }
        return state
    }

    static func gone(_ v: Visit) -> Response {
        Pages.message(v, title: v.t("merge.gone.title"), body: v.t("merge.gone.body"), status: .notFound, unlocked: true)
    }

    static func list(_ v: Visit, host: NodeHost) -> Response {
        if let screen = v.coordinatorOnly(host) { return screen }
        let pairs = (try? host.search.duplicatePairs()) ?? []
        let view = try? host.view()
        let rows: [[String: Any]] = pairs.compactMap { p in
            guard let a = CasePages.caseID(p.first.caseId).flatMap({ view?.cases[$0] }),
                  let b = CasePages.caseID(p.second.caseId).flatMap({ view?.cases[$0] }) else { return nil }
            let name = v.t("merge.reason.name", ["a": p.first.name, "b": p.second.name])
            return [
                "href": "/merge/\(a.id)/\(b.id)", "score": v.t("merge.score", ["n": "\(Int((p.score * 100).rounded()))"]),
                "a": ["short": short(a), "title": title(v, a), "label": v.t("merge.case", ["short": short(a)])],
                "b": ["short": short(b), "title": title(v, b), "label": v.t("merge.case", ["short": short(b)])],
                "reasons": [name] + reasons(v, a, b), "names": "\(p.first.name) — \(p.second.name)",
            ]
        }
        var c = v.frame(title: v.t("merge.title"), unlocked: true)
        c["pairs"] = rows
        c["none"] = rows.isEmpty
        if !rows.isEmpty { c["lead"] = v.t("merge.lead", ["n": "\(rows.count)"]) }
        return Pages.html(Templates.render("merge", c))
    }

    /// One case's main fields, as a column of the comparison.
    static func column(_ v: Visit, _ s: CaseState, other: CaseState, checked: Bool) -> [String: Any] {
        func shown(_ f: String, _ x: String) -> String { f == "statusDate" ? v.cat.date(x, v.lang) : v.cat.value(f, x, v.lang) }
        var rows: [[String: String]] = compared.compactMap { f in
            guard let x = s.value(f), !x.isEmpty else { return nil }
            return ["label": v.cat.field(f, v.lang), "value": shown(f, x)]
        }
        let persons = s.elements("persons").compactMap { e -> String? in
            guard let n = s.value("persons", e, "name"), !n.isEmpty else { return nil }
            if let y = s.value("persons", e, "birthYear"), !y.isEmpty { return v.t("merge.person.year", ["name": n, "year": y]) }
            return n
        }
        if !persons.isEmpty { rows.insert(["label": v.t("case.persons"), "value": persons.joined(separator: "; ")], at: 0) }
        let charges = s.elements("charges").compactMap { e -> String? in
            guard let a = s.value("charges", e, "article"), !a.isEmpty else { return nil }
            let code = s.value("charges", e, "code").map { v.cat.value("code", $0, v.lang) + " " } ?? ""
            return code + a
        }
        if !charges.isEmpty { rows.append(["label": v.t("case.charges"), "value": charges.joined(separator: "; ")]) }
        for coll in ["events", "sources", "aid"] where !s.elements(coll).isEmpty {
            rows.append(["label": v.t("case.\(coll)"), "value": "\(s.elements(coll).count)"])
        }
        var c: [String: Any] = [
            "id": s.id.description, "short": short(s), "title": title(v, s), "heading": v.t("merge.case", ["short": short(s)]),
            "rows": rows, "checked": checked,
            "option": v.t("merge.keep.option", ["short": short(s), "title": title(v, s)]),
            "optionHint": v.t("merge.keep.optionHint", ["other": short(other)]),
        ]
        // The opening of the summary: enough to recognise the story, not a page of it.
        if let summary = s.value("summary"), !summary.isEmpty {
            c["summary"] = summary.count > summaryLength ? String(summary.prefix(summaryLength)) + "…" : summary
        }
        return c
    }

    static let summaryLength = 320

    static func pair(_ v: Visit, host: NodeHost, a: String, b: String, chosen: String? = nil, error: String? = nil) -> Response {
        if let screen = v.coordinatorOnly(host) { return screen }
        guard let x = load(host, a), let y = load(host, b), x.id != y.id else { return gone(v) }
        var c = v.frame(title: v.t("merge.pair.title"), unlocked: true)
        c["action"] = "/merge/\(x.id)/\(y.id)"
        c["sides"] = [column(v, x, other: y, checked: chosen == x.id.description), column(v, y, other: x, checked: chosen == y.id.description)]
        c["reasons"] = reasons(v, x, y)
        c["hasReasons"] = !reasons(v, x, y).isEmpty
        if let error {
            c["error"] = error
            c["errors"] = [["field": "keep-\(x.id)", "message": error]]
        }
        c["hasErrors"] = error != nil
        return Pages.html(Templates.render("mergePair", c), status: error == nil ? .ok : .unprocessableContent)
    }

    static func merge(_ v: Visit, host: NodeHost, a: String, b: String, fields: [String: String]) -> Response {
        if let screen = v.coordinatorOnly(host) { return screen }
        guard let x = load(host, a), let y = load(host, b), x.id != y.id else { return gone(v) }
        let keep = fields["keep"] ?? ""
        guard keep == x.id.description || keep == y.id.description else {
            return pair(v, host: host, a: a, b: b, error: v.t("merge.err.choose"))
        }
        let other = keep == x.id.description ? y : x
        let result: CaseService.MergeResult
        do { result = try host.cases.merge(keep: keep, other: other.id.description) } catch {
            return pair(v, host: host, a: a, b: b, chosen: keep, error: v.t("record.err.saved", ["reason": Pages.reason(v, error)]))
        }
        let kept = (try? host.cases.state(result.keep)) ?? (keep == x.id.description ? x : y)
        var c = v.frame(title: v.t("merge.done.title"), unlocked: true)
        c["keep"] = kept.id.description
        c["body"] = v.t("merge.done.body", ["other": short(other), "keep": short(kept), "title": title(v, kept)])
        let copied = result.copied.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\(v.t("case.\($0.key)")): \($0.value)" }
        var notes: [String] = []
        if !copied.isEmpty { notes.append(v.t("merge.done.copied", ["what": copied.joined(separator: ", ")])) }
        if !result.aliasesAdded.isEmpty { notes.append(v.t("merge.done.aliases", ["names": result.aliasesAdded.joined(separator: ", ")])) }
        if !result.fieldsFilled.isEmpty {
            notes.append(v.t("merge.done.filled", ["fields": result.fieldsFilled.map { v.cat.field($0, v.lang) }.joined(separator: ", ")]))
        }
        c["notes"] = notes
        c["hasNotes"] = !notes.isEmpty
        return Pages.html(Templates.render("merged", c))
    }
}
