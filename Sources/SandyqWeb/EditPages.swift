import Foundation
import Hummingbird
import SandyqNode

/// Changing a case: its own fields in one form, an element added to a collection, an element
/// removed after a confirmation. Only what changed is written; a value typed into a field in
/// conflict supersedes every value this replica shows, which settles the conflict.
enum EditPages {
    static let caseFields = ["title", "status", "statusDate", "city", "region", "summary", "notes"]
    static let multiline: Set<String> = ["summary", "notes", "description", "note", "act", "consequences", "conditions", "response", "appeal",
                                         "identity"]
    /// The collections a person adds to here; `sharedWith` is the coordinator's, not an edit.
    static let addable = ["persons", "charges", "events", "officials", "sources", "aid", "acts", "perpetrators", "detentions",
                          "trials", "interventions", "tags"]
    /// Fields holding a date, in any collection.
    static let dateFields: Set<String> = Set(["statusDate"] + CaseSchema.collections.flatMap(\.dates))
    /// An element cannot be added without these: what it is, or who it names.
    static let required = ["events": "type", "acts": "type", "perpetrators": "official", "interventions": "body"]

    typealias Errors = [(field: String, message: String)]

    /// The screen for a node that may not change cases: write-only devices, lawyers, relays.
    static func refused(_ v: Visit, host: NodeHost) -> Response? {
        if host.isWriteOnly {
            return Pages.message(v, title: v.t("readonly.title"), body: v.t("readonly.body"), status: .forbidden, unlocked: true)
        }
        return CasePages.roleScreen(v, host: host, writing: true)
    }

    static func notFound(_ v: Visit) -> Response {
        Pages.message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: true)
    }

    static func load(_ host: NodeHost, _ ref: String) -> CaseState? {
        guard ref.count >= 4, ref.allSatisfy(\.isHexDigit) else { return nil }
        return try? host.cases.state(ref)
    }

    static func trimmed(_ f: [String: String], _ k: String) -> String {
        (f[k] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One form control: a list when the field has a closed list, a text area for long text.
    /// `labels` names a list's values when they are not words of the catalogue (a link's elements).
    static func control(_ v: Visit, field: String, choices: [String]?, value: String, error: String?,
                        labels: [String: String]? = nil, collection: String = "") -> [String: Any] {
        var c: [String: Any] = ["id": "f-\(field)", "name": field, "label": v.cat.field(field, v.lang, in: collection), "value": value]
        if let choices {
            c["options"] = choices.map { ["value": $0, "label": labels?[$0] ?? v.cat.value(field, $0, v.lang), "selected": $0 == value] }
            c["select"] = true
        } else if multiline.contains(field) {
            c["textarea"] = true
        }
        if dateFields.contains(field) { c["hint"] = v.t("cases.date.hint"); c["short"] = true }
        if field == "identity" { c["hint"] = v.t("edit.identity.hint") }
        if field == "birthYear" { c["numeric"] = true; c["short"] = true }
        if let error { c["error"] = error }
        return c
    }

    /// The ids that describe a control, once its hint, conflict and error are known.
    static func described(_ c: [String: Any]) -> [String: Any] {
        var c = c
        let id = c["id"] as? String ?? ""
        let ids = [("hint", "hint"), ("hasConflict", "conflict"), ("error", "error")].compactMap { c[$0.0] != nil ? "\(id)-\($0.1)" : nil }
        if !ids.isEmpty { c["describedBy"] = ids.joined(separator: " ") }
        return c
    }

    static func form(_ v: Visit, _ template: String, title: String, _ fill: [String: Any], errors: Errors) -> Response {
        var c = v.frame(title: title, unlocked: true)
        c["heading"] = title
        for (k, x) in fill { c[k] = x }
        if !errors.isEmpty { c["errors"] = errors.map { ["field": "f-\($0.field)", "message": $0.message] } }
        c["hasErrors"] = !errors.isEmpty
        return Pages.html(Templates.render(template, c), status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    // MARK: the case's own fields

    static func fieldsPage(_ v: Visit, host: NodeHost, ref: String, posted: [String: String]? = nil, errors: Errors = []) -> Response {
        if let screen = refused(v, host: host) { return screen }
        guard let state = load(host, ref) else { return notFound(v) }
        let errorOf = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        let controls = caseFields.map { f -> [String: Any] in
            let reg = state.register(FieldPath(field: f))
            let inConflict = reg?.isConflict ?? false
            // A field in conflict starts empty: typing a value is the decision that settles it.
            let shown = posted?[f] ?? (inConflict ? "" : (state.value(f) ?? ""))
            var c = control(v, field: f, choices: f == "status" ? CaseSchema.statuses : nil, value: shown, error: errorOf[f])
            if inConflict, let reg {
                c["conflict"] = reg.survivors.map { w in
                    ["value": f == "statusDate" ? v.cat.date(w.value, v.lang) : v.cat.value(f, w.value, v.lang)]
                }
                c["hasConflict"] = true
            }
            if f == "status", shown.isEmpty || inConflict { c["notChosen"] = true }
            return described(c)
        }
        let title = v.t("edit.title")
        return form(v, "edit", title: title, ["id": state.id.description, "fields": controls], errors: errors)
    }

    static func saveFields(_ v: Visit, host: NodeHost, ref: String, fields: [String: String]) -> Response {
        if let screen = refused(v, host: host) { return screen }
        guard let state = load(host, ref) else { return notFound(v) }
        var errors: Errors = []
        var changes: [(FieldPath, String)] = []
        for f in caseFields {
            let value = trimmed(fields, f)
            let path = FieldPath(field: f)
            let inConflict = state.register(path)?.isConflict ?? false
            if inConflict ? value.isEmpty : value == (state.value(f) ?? "") { continue }
            if f == "status" && (value.isEmpty || !CaseSchema.statuses.contains(value)) {
                if !value.isEmpty { errors.append((f, v.t("edit.err.choice"))) }
                continue
            }
            if f == "statusDate", !value.isEmpty, !RecordPages.isDate(value) {
                errors.append((f, v.t("record.err.date")))
                continue
            }
            changes.append((path, value))
        }
        if !errors.isEmpty { return fieldsPage(v, host: host, ref: ref, posted: fields, errors: errors) }
        if !changes.isEmpty {
            do { try host.cases.set(state.id.description, fields: changes) } catch {
                return fieldsPage(v, host: host, ref: ref, posted: fields, errors: [("title", v.t("record.err.saved", ["reason": Pages.reason(v, error)]))])
            }
        }
        return Pages.redirect("/cases/\(state.id)#s-details")
    }

    // MARK: adding to a collection

    static func fieldsOf(_ collection: String) -> [String] {
        if collection == "tags" { return ["tags"] }
        // An event's sources name source elements; they are linked elsewhere, not typed here.
        return (CaseSchema.collection(collection)?.fields ?? []).filter { !(collection == "events" && $0 == "sources") }
    }

    /// A field's control for an element of `coll`: a link lists the elements it may name.
    static func elementControl(_ v: Visit, _ state: CaseState, _ coll: CaseSchema.Collection, _ f: String, value: String,
                               error: String?) -> [String: Any] {
        guard let target = coll.links[f] else {
            return control(v, field: f, choices: coll.choices[f], value: value, error: error, collection: coll.name)
        }
        let elements = state.elements(target)
        let labels = Dictionary(uniqueKeysWithValues: elements.map { ($0, linkName(v, state, target, $0)) })
        var c = control(v, field: f, choices: elements.sorted { (labels[$0]!, $0) < (labels[$1]!, $1) }, value: value, error: error,
                        labels: labels, collection: coll.name)
        c["hint"] = v.t("edit.link.hint", ["section": v.t("case.\(target)")])
        return c
    }

    /// The fields that name an element a link points at, short enough for a list: a person by
    /// name, an official with their agency, an act by what was done, to whom and when.
    static let namedBy = ["persons": ["name"], "officials": ["name", "agency"], "acts": ["type", "victim", "date"]]

    static func linkName(_ v: Visit, _ state: CaseState, _ collection: String, _ element: String) -> String {
        let fields = namedBy[collection] ?? [CaseSchema.collection(collection)?.label ?? ""]
        return fields.compactMap { f -> String? in
            guard let x = state.value(collection, element, f), !x.isEmpty else { return nil }
            return shown(v, state, collection, f, x)
        }.joined(separator: ", ")
    }

    /// A stored value as a reader sees it: a date written out, a closed-list word, a link as what it names.
    static func shown(_ v: Visit, _ state: CaseState, _ collection: String, _ field: String, _ value: String) -> String {
        if dateFields.contains(field) { return v.cat.date(value, v.lang) }
        if let target = CaseSchema.collection(collection)?.links[field] {
            let named = state.elements(target).contains(value) ? linkName(v, state, target, value) : ""
            return named.isEmpty ? v.t("case.link.gone") : named
        }
        return v.cat.value(field, value, v.lang)
    }

    /// What is wrong with a typed element value, in the reader's words; nil when it will do.
    static func problem(_ v: Visit, _ state: CaseState, _ coll: CaseSchema.Collection, _ f: String, _ value: String) -> String? {
        if let allowed = coll.choices[f], !allowed.contains(value) { return v.t("edit.err.choice") }
        if let target = coll.links[f], !state.elements(target).contains(value) { return v.t("edit.err.choice") }
        if coll.dates.contains(f), !RecordPages.isDate(value) { return v.t("record.err.date") }
        if f == "birthYear", !(value.count == 4 && Int(value).map { (1880...2100).contains($0) } == true) { return v.t("record.err.year") }
        if f == "article", !value.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) { return v.t("record.err.article") }
        return nil
    }

    static func addPage(_ v: Visit, host: NodeHost, ref: String, collection: String, posted: [String: String] = [:],
                        errors: Errors = []) -> Response {
        if let screen = refused(v, host: host) { return screen }
        guard let state = load(host, ref), addable.contains(collection), let coll = CaseSchema.collection(collection) else { return notFound(v) }
        let errorOf = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        let controls = fieldsOf(collection).map { f -> [String: Any] in
            var c = elementControl(v, state, coll, f, value: posted[f] ?? "", error: errorOf[f])
            if coll.choices[f] != nil || coll.links[f] != nil { c["notChosen"] = true }
            return described(c)
        }
        let title = v.t("edit.add.\(collection)")
        return form(v, "add", title: title, ["id": state.id.description, "collection": collection, "fields": controls], errors: errors)
    }

    static func add(_ v: Visit, host: NodeHost, ref: String, collection: String, fields: [String: String]) -> Response {
        if let screen = refused(v, host: host) { return screen }
        guard let state = load(host, ref), addable.contains(collection), let coll = CaseSchema.collection(collection) else { return notFound(v) }
        var errors: Errors = []
        var values: [String: String] = [:]
        for f in fieldsOf(collection) {
            let value = trimmed(fields, f)
            if value.isEmpty { continue }
            if let problem = problem(v, state, coll, f, value) { errors.append((f, problem)) }
            values[f] = value
        }
        if collection == "events", values["type"] == nil {
            errors.insert(("type", v.t("record.err.eventType")), at: 0)
        } else if let f = required[collection], values[f] == nil {
            errors.insert((f, v.t("edit.err.required.\(collection)")), at: 0)
        } else if values.isEmpty, let first = fieldsOf(collection).first {
            errors.append((first, v.t("edit.err.empty")))
        }
        if !errors.isEmpty { return addPage(v, host: host, ref: ref, collection: collection, posted: fields, errors: errors) }
        do {
            if collection == "tags" {
                // A tag's element id is the tag itself.
                try host.cases.addElement(state.id.description, collection: "tags", fields: [:], element: values["tags"])
            } else {
                try host.cases.addElement(state.id.description, collection: collection, fields: values)
            }
        } catch {
            let first = fieldsOf(collection).first ?? ""
            return addPage(v, host: host, ref: ref, collection: collection, posted: fields,
                           errors: [(first, v.t("record.err.saved", ["reason": Pages.reason(v, error)]))])
        }
        return Pages.redirect("/cases/\(state.id)#s-\(collection)")
    }

    // MARK: changing an element

    /// The collections whose elements are changed here: what a person adds, but a tag, which is its own id.
    static let changeable = addable.filter { $0 != "tags" }

    /// The field a form names for the op ids its editor saw of `field`.
    static func seenName(_ field: String) -> String { "seen-\(field)" }

    static func changePage(_ v: Visit, host: NodeHost, ref: String, collection: String, element: String,
                           posted: [String: String]? = nil, errors: Errors = []) -> Response {
        if let screen = refused(v, host: host) { return screen }
        guard let state = load(host, ref), changeable.contains(collection), let coll = CaseSchema.collection(collection),
              state.elements(collection).contains(element) else { return notFound(v) }
        let errorOf = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        var seen: [[String: String]] = []
        let controls = fieldsOf(collection).map { f -> [String: Any] in
            let reg = state.register(FieldPath(collection: collection, element: element, field: f))
            // After an error the form keeps what its editor saw first, not what is there now.
            let saw = posted.map { seenIDs($0, f) } ?? (reg?.survivors.map(\.op) ?? [])
            seen.append(["name": seenName(f), "value": saw.map(\.description).joined(separator: ",")])
            let inConflict = saw.count > 1
            // A field in conflict starts empty: typing a value is the decision that settles it.
            let shown = posted?[f] ?? (inConflict ? "" : (reg?.winner?.value ?? ""))
            var c = elementControl(v, state, coll, f, value: shown, error: errorOf[f])
            if inConflict, let reg {
                c["conflict"] = saw.compactMap { reg.writes[$0] }.map { w in ["value": Self.shown(v, state, collection, f, w.value)] }
                c["hasConflict"] = true
                c["conflictHint"] = v.t("change.conflict.hint")
            }
            if coll.choices[f] != nil || coll.links[f] != nil, shown.isEmpty || inConflict { c["notChosen"] = true }
            return described(c)
        }
        let title = v.t("change.title.\(collection)")
        return form(v, "change", title: title,
                    ["id": state.id.description, "action": "/cases/\(state.id)/edit/\(collection)/\(Form.encode(element))",
                     "fields": controls, "seen": seen, "anchor": collection],
                    errors: errors)
    }

    /// The op ids a form says its editor saw of `field`; anything that is not one is left out.
    static func seenIDs(_ fields: [String: String], _ field: String) -> [OpID] {
        (fields[seenName(field)] ?? "").split(separator: ",").prefix(64).compactMap { h in
            Hex.decode(String(h)).flatMap { try? OpID(bytes: $0) }
        }
    }

    /// Writes the fields whose value differs from what the editor saw, each superseding only that:
    /// a change made meanwhile, here or on another device, then shows as a conflict.
    static func change(_ v: Visit, host: NodeHost, ref: String, collection: String, element: String, fields: [String: String]) -> Response {
        if let screen = refused(v, host: host) { return screen }
        guard let state = load(host, ref), changeable.contains(collection), let coll = CaseSchema.collection(collection),
              state.elements(collection).contains(element) else { return notFound(v) }
        var errors: Errors = []
        var changes: [(path: FieldPath, value: String, seen: [OpID])] = []
        for f in fieldsOf(collection) {
            let value = trimmed(fields, f)
            let path = FieldPath(collection: collection, element: element, field: f)
            let writes = state.register(path)?.writes ?? [:]
            let seen = seenIDs(fields, f).filter { writes[$0] != nil }
            // Untouched: the value seen, or an empty field where several values were shown.
            if seen.count > 1 ? value.isEmpty : value == (seen.first.flatMap { writes[$0]?.value } ?? "") { continue }
            // The value the field already shows, alone: writing it again would only make a conflict with itself.
            if let now = state.register(path), !now.isConflict, now.winner?.value == value { continue }
            if coll.choices[f] != nil || coll.links[f] != nil, value.isEmpty { continue }
            if !value.isEmpty, let problem = problem(v, state, coll, f, value) {
                errors.append((f, problem))
                continue
            }
            changes.append((path, value, seen))
        }
        if !errors.isEmpty {
            return changePage(v, host: host, ref: ref, collection: collection, element: element, posted: fields, errors: errors)
        }
        if !changes.isEmpty {
            do { try host.cases.set(state.id.description, superseding: changes) } catch {
                let first = fieldsOf(collection).first ?? ""
                return changePage(v, host: host, ref: ref, collection: collection, element: element, posted: fields,
                                  errors: [(first, v.t("record.err.saved", ["reason": Pages.reason(v, error)]))])
            }
        }
        return Pages.redirect("/cases/\(state.id)#s-\(collection)")
    }

    // MARK: removing an element

    /// What names the element on the confirmation page.
    static func describe(_ v: Visit, _ state: CaseState, _ collection: String, _ element: String) -> String {
        guard collection != "tags", let coll = CaseSchema.collection(collection) else { return element }
        let parts = coll.fields.compactMap { f -> String? in
            guard let x = state.value(collection, element, f), !x.isEmpty, !multiline.contains(f) else { return nil }
            return shown(v, state, collection, f, x)
        }
        return parts.joined(separator: ", ")
    }

    static func removePage(_ v: Visit, host: NodeHost, ref: String, collection: String, element: String) -> Response {
        if let screen = refused(v, host: host) { return screen }
        guard let state = load(host, ref), addable.contains(collection), state.elements(collection).contains(element) else { return notFound(v) }
        var c = v.frame(title: v.t("edit.remove.title"), unlocked: true)
        c["id"] = state.id.description
        c["collection"] = collection
        c["element"] = element
        c["what"] = "\(v.t("case.\(collection)")): \(describe(v, state, collection, element))"
        // Removing hides it and keeps its history; a coordinator may instead delete it everywhere.
        if Visit.role(host) == .coordinator && collection != "tags" {
            var q = URLComponents()
            q.queryItems = [URLQueryItem(name: "c", value: collection), URLQueryItem(name: "e", value: element)]
            c["withdrawHref"] = "/cases/\(state.id)/withdraw?" + (q.percentEncodedQuery ?? "")
        }
        return Pages.html(Templates.render("remove", c))
    }

    static func remove(_ v: Visit, host: NodeHost, ref: String, fields: [String: String]) -> Response {
        if let screen = refused(v, host: host) { return screen }
        let collection = fields["collection"] ?? "", element = fields["element"] ?? ""
        guard let state = load(host, ref), addable.contains(collection), state.elements(collection).contains(element) else { return notFound(v) }
        do { try host.cases.removeElement(state.id.description, collection: collection, element: element) } catch {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("record.err.saved", ["reason": Pages.reason(v, error)]),
                                 status: .internalServerError, unlocked: true)
        }
        return Pages.redirect("/cases/\(state.id)#s-\(collection)")
    }
}
