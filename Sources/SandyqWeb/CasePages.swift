import Foundation
import Hummingbird
import SandyqNode

/// The case list and the case page.
enum CasePages {
    /// Rows shown at once; the rest are reached by narrowing the search.
    static let pageSize = 200

    /// What this node's role lets it see; nil when it may read cases.
    static func roleScreen(_ v: Visit, host: NodeHost, writing: Bool = false) -> Response? {
        if host.isWriteOnly {
            if writing { return nil }
            return WrittenPages.sent(v, host: host)
        }
        guard let view = try? host.view() else {
            return Pages.message(v, title: v.t("noproject.title"), body: v.t("noproject.body"), status: .ok, unlocked: true)
        }
        let role = view.membership.role(of: host.nodeID.signingKey)
        if role == .relay {
            return Pages.message(v, title: v.t("relay.title"), body: v.t("relay.body"), status: .ok, unlocked: true)
        }
        if writing && !(role?.canWrite ?? false) {
            return Pages.message(v, title: v.t("readonly.title"), body: v.t("readonly.body"), status: .forbidden, unlocked: true)
        }
        return nil
    }

    static let filterKeys = ["q", "status", "article", "city", "from", "to", "agency", "merged", "archived"]

    /// The search form, posted: the filters stay in the desk's memory for this session (until
    /// the lock) and the browser is sent to the bare list, so no address it keeps holds them.
    /// The page's script posts `partial` and gets the rows alone.
    static func search(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        let filters = fields.filter { filterKeys.contains($0.key) && !$0.value.isEmpty }
        if let s = v.session { v.desk.setSearch(filters, session: s.id) }
        if fields["partial"] != nil { return list(v, host: host, query: filters.merging(["partial": "1"]) { a, _ in a }) }
        return Pages.redirect("/cases")
    }

    static func list(_ v: Visit, host: NodeHost, query: [String: String]) -> Response {
        if let screen = roleScreen(v, host: host) { return screen }
        func q(_ k: String) -> String? { query[k].flatMap { $0.isEmpty ? nil : $0 } }
        var sq = SearchQuery(text: q("q") ?? "", status: q("status"), article: q("article"), city: q("city"),
                             from: q("from"), to: q("to"), agency: q("agency"),
                             includeMerged: query["merged"] != nil, includeArchived: query["archived"] != nil, limit: nil)
        if let s = sq.status, !CaseSchema.statuses.contains(s) { sq.status = nil }
        // The count and one page: building every hit's reasons for 10,000 cases cost more than the page.
        let (found, hits) = (try? host.search.page(sq, first: pageSize)) ?? (0, [])
        let view = try? host.view()
        let rows: [[String: Any]] = hits.map { h in
            // By its full id: resolving a prefix reads every case's id, 200 times over.
            let state = caseID(h.caseId).flatMap { view?.cases[$0] }
            let conflicts = state?.conflicts.count ?? 0
            var r: [String: Any] = [
                "id": h.caseId,
                "short": String(h.caseId.prefix(8)),
                "title": h.title.flatMap { $0.isEmpty ? nil : $0 } ?? v.t("case.untitled"),
                "persons": h.persons.joined(separator: ", "),
                "status": h.status.map { v.cat.value("status", $0, v.lang) } ?? "",
                "city": state?.value("city") ?? "",
                "archived": h.archived,
                "merged": h.mergedInto != nil,
            ]
            // Mustache shows a section for an empty string: leave empty values out.
            r = r.filter { !(($0.value as? String)?.isEmpty ?? false) }
            if conflicts > 0 { r["conflicts"] = v.t("cases.conflicts", ["n": "\(conflicts)"]) }
            if !sq.text.isEmpty, let reason = h.reasons.first {
                r["matched"] = v.t("cases.matched", ["field": fieldName(reason.field, v)]) + " " + reason.value
            }
            return r
        }
        var c = v.frame(title: v.t("cases.title"), unlocked: true)
        c["rows"] = rows
        c["found"] = v.t("cases.found", ["n": "\(found)"])
        if found > pageSize { c["more"] = v.t("cases.more", ["shown": "\(pageSize)"]) }
        c["q"] = sq.text
        for k in ["article", "city", "from", "to"] { c[k] = query[k] ?? "" }
        c["archived"] = sq.includeArchived
        c["merged"] = sq.includeMerged
        c["statuses"] = CaseSchema.statuses.map { ["value": $0, "label": v.cat.value("status", $0, v.lang), "selected": $0 == sq.status] }
        let agencies = CaseSchema.collection("officials")?.choices["agency"] ?? []
        c["agencies"] = agencies.map { ["value": $0, "label": v.cat.value("agency", $0, v.lang), "selected": $0 == sq.agency] }
        return Pages.html(Templates.render(query["partial"] != nil ? "caseRows" : "cases", c))
    }

    /// A case's full id as links and hits carry it (32 lowercase hex digits); nil for anything else.
    static func caseID(_ s: String) -> CaseID? {
        let u = Array(s.utf8)
        guard u.count == CaseID.length * 2 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(CaseID.length)
        for i in stride(from: 0, to: u.count, by: 2) {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        return try? CaseID(bytes: bytes)
    }

    /// `persons.name` as the person reading it says it.
    static func fieldName(_ f: String, _ v: Visit) -> String {
        let parts = f.split(separator: ".").map(String.init)
        if parts.count == 2 { return "\(v.t("case.\(parts[0])")): \(v.cat.field(parts[1], v.lang))" }
        return v.cat.field(f, v.lang)
    }

    static func show(_ v: Visit, host: NodeHost, ref: String, attached: String? = nil) -> Response {
        if let screen = roleScreen(v, host: host) { return screen }
        let view = try? host.view()
        // A link from the list carries the full id: found directly; a typed prefix is resolved.
        let direct = caseID(ref.lowercased()).flatMap { view?.cases[$0] }
        guard ref.count >= 4, ref.allSatisfy(\.isHexDigit), let state = direct ?? (try? host.cases.state(ref)) else {
            return Pages.message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: true)
        }
        let members = view?.membership
        func who(_ author: SigningPublicKey) -> String {
            if author == host.nodeID.signingKey { return v.t("case.you") }
            let fp = NodeID.fingerprint(of: author)
            if let role = members?.role(of: author) { return "\(v.t("role.\(role.rawValue)")) \(fp)" }
            return fp
        }
        func shown(_ path: FieldPath, _ value: String) -> String { EditPages.shown(v, state, path.collection, path.field, value) }
        /// One field: its winning value, or every concurrent value when they conflict.
        func entry(_ path: FieldPath) -> [String: Any]? {
            guard let reg = state.register(path), !reg.survivors.isEmpty else { return nil }
            let label = v.cat.field(path.field, v.lang, in: path.collection)
            if reg.isConflict {
                return ["label": label, "conflict": true,
                        "values": reg.survivors.map { ["value": shown(path, $0.value), "who": who($0.author), "when": v.cat.moment(millis: HybridClock.millis($0.clock), v.lang)] }]
            }
            guard let w = reg.winner, !w.value.isEmpty else { return nil }
            return ["label": label, "value": shown(path, w.value), "multiline": EditPages.multiline.contains(path.field)]
        }
        // The browser keeps page titles in its history: a case is named on the page, never in its title.
        var c = v.frame(title: v.t("case.tab"), unlocked: true)
        c["id"] = state.id.description
        c["heading"] = state.value("title").flatMap { $0.isEmpty ? nil : $0 } ?? v.t("case.untitled")
        c["details"] = ["status", "statusDate", "ref", "city", "region", "summary", "notes"].compactMap { entry(FieldPath(field: $0)) }
        var sections: [[String: Any]] = []
        // System collections (attached files) are written by their own command, not edited here.
        for coll in CaseSchema.collections where coll.name != "sharedWith" && coll.name != "tags" && !coll.system {
            var elements = state.elements(coll.name)
            // In time order where an element has a date (an event, an act, a detention's start).
            if let d = coll.dates.first {
                elements.sort { (state.value(coll.name, $0, d) ?? "", $0) < (state.value(coll.name, $1, d) ?? "", $1) }
            }
            let changeable = EditPages.changeable.contains(coll.name)
            // A lawyer never holds a withheld field (a source's identity): the page says it is withheld, not absent.
            let withheldHere = members?.role(of: host.nodeID.signingKey) == .lawyer ? coll.withheld : []
            let items: [[String: Any]] = elements.map { e in
                var item: [String: Any] = [
                    "fields": coll.fields.compactMap { f in
                        withheldHere.contains(f) ? ["label": v.cat.field(f, v.lang, in: coll.name), "value": v.t("case.withheld")]
                            : entry(FieldPath(collection: coll.name, element: e, field: f))
                    },
                    "remove": "/cases/\(state.id)/remove?c=\(coll.name)&e=\(Form.encode(e))",
                ]
                if changeable { item["change"] = "/cases/\(state.id)/edit/\(coll.name)/\(Form.encode(e))" }
                return item
            }
            sections.append(["id": coll.name, "heading": v.t("case.\(coll.name)"), "items": items, "empty": items.isEmpty,
                             "timeline": coll.name == "events", "add": v.t("edit.add.\(coll.name)"),
                             "addHref": "/cases/\(state.id)/add/\(coll.name)"])
        }
        c["sections"] = sections
        var files = EvidencePages.files(v, host: host, caseID: state.id.description, who: who)
        if Visit.role(host) == .coordinator {
            for i in files.indices { files[i]["withdrawHref"] = (files[i]["working"] as? String).map { w in
                "/cases/\(state.id)/withdraw?c=evidence&e=" + (w.split(separator: "/").last.map(String.init) ?? "")
            } }
        }
        if !files.isEmpty { c["files"] = files }
        if let attached, let f = files.first(where: { ($0["working"] as? String)?.hasSuffix("/" + attached) ?? false }) {
            c["attachedNote"] = v.t("attach.done", ["name": f["name"] as? String ?? ""])
        }
        if let share = SharePages.caseSection(v, host: host, view: view, state: state) { c["share"] = share }
        if Visit.role(host) == .coordinator { c["withdrawHref"] = "/cases/\(state.id)/withdraw" }
        // A tag is its own key: its link carries a token, since the browser's history keeps addresses.
        c["tags"] = state.elements("tags").map { tag in
            ["tag": tag, "remove": "/cases/\(state.id)/remove?c=tags&e=" + Form.encode(v.session.map { v.desk.token(for: tag, session: $0.id) } ?? "")]
        }
        // Whoever may change the case sees the links to do it; the edit routes check again.
        let canEdit = Visit.canWrite(host)
        c["canEdit"] = canEdit
        c["hasTags"] = canEdit || !state.elements("tags").isEmpty
        if !state.conflicts.isEmpty { c["conflicts"] = v.t("cases.conflicts", ["n": "\(state.conflicts.count)"]) }
        // Who changed what, newest first: every field write, and every element taken out.
        var changes: [(clock: UInt64, op: OpID, row: () -> [String: Any])] = []
        // An attached file is listed above with its details; its raw fields (a hash, a metadata dump) say nothing here.
        let system = Set(CaseSchema.collections.filter(\.system).map(\.name))
        for (path, reg) in state.registers where !system.contains(path.collection) || path.field == "name" {
            for w in reg.writes.values {
                changes.append((w.clock, w.op, {
                    let what = path.collection.isEmpty ? v.cat.field(path.field, v.lang) : "\(v.t("case.\(path.collection)")): \(v.cat.field(path.field, v.lang, in: path.collection))"
                    return ["when": v.cat.moment(millis: HybridClock.millis(w.clock), v.lang), "who": who(w.author), "what": what,
                            "value": w.value.isEmpty ? v.t("case.history.removed") : shown(path, w.value)]
                }))
            }
        }
        for r in (try? host.cases.removals(state.id.description)) ?? [] {
            changes.append((r.clock, r.op, {
                let named = EditPages.describe(v, state, r.collection, r.element)
                return ["when": v.cat.moment(millis: HybridClock.millis(r.clock), v.lang), "who": who(r.author),
                        "what": "\(v.t("case.\(r.collection)")): \(named.isEmpty ? r.element : named)", "value": v.t("change.history.removed")]
            }))
        }
        changes.sort { $0.clock != $1.clock ? $0.clock > $1.clock : $0.op > $1.op }
        let limit = 300
        c["history"] = changes.prefix(limit).map { $0.row() }
        if changes.count > limit { c["historyMore"] = v.t("case.history.more", ["shown": "\(limit)", "n": "\(changes.count)"]) }
        return Pages.html(Templates.render("case", c))
    }
}
