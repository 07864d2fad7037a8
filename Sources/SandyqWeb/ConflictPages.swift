import Foundation
import Hummingbird
import SandyqNode

/// The coordinator's review of conflicts: every field that concurrent writes left with several
/// values, grouped by case, each value beside who wrote it, on which device and when. One form
/// per field settles it with a write that supersedes the values the form showed (a value that
/// arrives after the page was drawn is not among them, so it stays in conflict, not lost).
enum ConflictPages {
    /// The form's choice that means "the value typed below", not one of the shown writes.
    static let newValue = "new"

    /// A form's error, and what was chosen and typed, to show the form again.
    struct Posted {
        let caseID: String
        let field: String
        let choice: String
        let value: String
        let errors: EditPages.Errors
    }

    /// The id prefix of one field's controls: unique on the page, the same when it is drawn again.
    static func anchor(_ caseID: CaseID, _ path: FieldPath) -> String {
        let safe = path.description.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }
        return "k-\(caseID.description.prefix(12))-\(String(safe))"
    }

    /// A field as a reader says it: `Город`, or `Лица: Город` for an element's field.
    static func label(_ v: Visit, _ path: FieldPath) -> String {
        let name = v.cat.field(path.field, v.lang, in: path.collection)
        return path.collection.isEmpty ? name : "\(v.t("case.\(path.collection)")): \(name)"
    }

    /// A value as the case page shows it: dates written out, closed lists in words.
    static func shown(_ v: Visit, _ state: CaseState, _ path: FieldPath, _ value: String) -> String {
        if value.isEmpty { return v.t("conflicts.empty") }
        return EditPages.shown(v, state, path.collection, path.field, value)
    }

    static func page(_ v: Visit, host: NodeHost, resolved: (caseID: String, field: String)? = nil, posted: Posted? = nil) -> Response {
        if let screen = v.coordinatorOnly(host) { return screen }
        let all = (try? host.cases.conflicts()) ?? []
        let members = (try? host.view())?.membership
        let me = host.nodeID.signingKey
        var summaryErrors: [[String: String]] = []
        let cases: [[String: Any]] = all.map { state, fields in
            let title = state.value("title").flatMap { $0.isEmpty ? nil : $0 } ?? v.t("case.untitled")
            let forms: [[String: Any]] = fields.map { path, writes in
                let id = anchor(state.id, path)
                let mine = posted.flatMap { $0.caseID == state.id.description && $0.field == path.description ? $0 : nil }
                let values: [[String: Any]] = writes.enumerated().map { i, w in
                    let fp = NodeID.fingerprint(of: w.author)
                    let role = members?.role(of: w.author).map { v.t("role.\($0.rawValue)") } ?? v.t("conflicts.role.unknown")
                    return [
                        "id": "\(id)-v\(i + 1)", "op": w.op.description, "value": shown(v, state, path, w.value),
                        "author": v.t("conflicts.author", ["role": role, "fp": fp]),
                        "device": v.t(w.author == me ? "conflicts.device.this" : "conflicts.device.other"),
                        "when": v.cat.moment(millis: HybridClock.millis(w.clock), v.lang),
                        "checked": mine?.choice == w.op.description,
                    ]
                }
                var f: [String: Any] = [
                    "id": id, "caseID": state.id.description, "field": path.description, "label": label(v, path),
                    "legend": v.t("conflicts.legend", ["field": label(v, path)]),
                    "seen": writes.map(\.op.description).joined(separator: ","), "values": values,
                    "newChecked": mine?.choice == newValue, "typed": mine?.value ?? "",
                ]
                if let choices = choices(path, state) {
                    f["select"] = true
                    f["options"] = choices.map { ["value": $0, "label": shown(v, state, path, $0), "selected": $0 == mine?.value] }
                }
                if let mine, let e = mine.errors.first {
                    f["error"] = e.message
                    let target = e.field == "value" ? "\(id)-text" : "\(id)-v1"
                    f["errorOnText"] = e.field == "value"
                    summaryErrors.append(["field": target, "message": "\(label(v, path)): \(e.message)"])
                }
                return f
            }
            return [
                "id": state.id.description, "short": String(state.id.description.prefix(8)), "title": title,
                "count": v.t("conflicts.count", ["n": "\(fields.count)"]), "fields": forms,
            ]
        }
        var c = v.frame(title: v.t("conflicts.title"), unlocked: true)
        c["cases"] = cases
        c["none"] = cases.isEmpty
        let n = all.reduce(0) { $0 + $1.1.count }
        if !cases.isEmpty { c["lead"] = v.t("conflicts.lead", ["n": "\(n)", "cases": "\(cases.count)"]) }
        if let resolved, let state = CasePages.caseID(resolved.caseID).flatMap({ try? host.view().cases[$0] }),
           let hit = state.registers.first(where: { $0.key.description == resolved.field }) {
            let (path, reg) = (hit.key, hit.value)
            let title = state.value("title").flatMap { $0.isEmpty ? nil : $0 } ?? v.t("case.untitled")
            c["resolvedTitle"] = v.t("conflicts.done.title")
            c["resolvedBody"] = v.t("conflicts.done.body", ["field": label(v, path), "case": title,
                                                            "value": shown(v, state, path, reg.winner?.value ?? "")])
            c["resolvedCase"] = state.id.description
            if reg.isConflict { c["resolvedStill"] = v.t("conflicts.done.still") }
        }
        c["errors"] = summaryErrors
        c["hasErrors"] = !summaryErrors.isEmpty
        return Pages.html(Templates.render("conflicts", c), status: summaryErrors.isEmpty ? .ok : .unprocessableContent)
    }

    /// The closed list a field's new value is chosen from, if it has one.
    static func choices(_ path: FieldPath, _ state: CaseState) -> [String]? {
        if path.collection.isEmpty { return path.field == "status" ? CaseSchema.statuses : nil }
        guard let coll = CaseSchema.collection(path.collection) else { return nil }
        if let target = coll.links[path.field] { return state.elements(target).sorted() }
        return coll.choices[path.field]
    }

    /// What is wrong with a typed value for `path`, in the reader's words; nil when it will do.
    static func problem(_ v: Visit, _ state: CaseState, _ path: FieldPath, _ value: String) -> String? {
        if path.collection.isEmpty {
            if path.field == "status", !CaseSchema.statuses.contains(value) { return v.t("edit.err.choice") }
            if path.field == "statusDate", !RecordPages.isDate(value) { return v.t("record.err.date") }
            return nil
        }
        guard let coll = CaseSchema.collection(path.collection) else { return nil }
        return EditPages.problem(v, state, coll, path.field, value)
    }

    static func resolve(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let screen = v.coordinatorOnly(host) { return screen }
        let ref = fields["case"] ?? "", field = fields["field"] ?? ""
        guard let id = CasePages.caseID(ref), let state = try? host.view().cases[id],
              let hit = state.registers.first(where: { $0.key.description == field }) else { return EditPages.notFound(v) }
        let (path, reg) = (hit.key, hit.value)
        // Only the values the form showed are superseded; anything else the form names is dropped.
        let seen = EditPages.seenIDs(["seen-f": fields["seen"] ?? ""], "f").filter { reg.writes[$0] != nil }
        let choice = fields["choice"] ?? ""
        let typed = EditPages.trimmed(fields, "value")
        func again(_ errors: EditPages.Errors) -> Response {
            page(v, host: host, posted: Posted(caseID: id.description, field: field, choice: choice, value: fields["value"] ?? "", errors: errors))
        }
        guard !seen.isEmpty else { return again([("choice", v.t("conflicts.err.choose"))]) }
        let value: String
        if choice == newValue {
            if typed.isEmpty { return again([("value", v.t("conflicts.err.empty"))]) }
            if let problem = problem(v, state, path, typed) { return again([("value", problem)]) }
            value = typed
        } else if let op = seen.first(where: { $0.description == choice }), let w = reg.writes[op] {
            value = w.value
        } else {
            return again([("choice", v.t("conflicts.err.choose"))])
        }
        do { try host.cases.set(id.description, superseding: [(path: path, value: value, seen: seen)]) } catch {
            return again([("choice", v.t("record.err.saved", ["reason": Pages.reason(v, error)]))])
        }
        return Pages.redirect("/conflicts?resolved=\(id)&field=\(Form.encode(field))#done")
    }
}
