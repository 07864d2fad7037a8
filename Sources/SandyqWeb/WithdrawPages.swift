import Foundation
import Hummingbird
import SandyqCore
import SandyqNode

/// Withdrawing a case everywhere (a witness withdrew consent, or a record endangers someone):
/// one page says what goes and what cannot be taken back, one box confirms it; then what to
/// do next, and a page that shows which devices have confirmed.
enum WithdrawPages {
    /// The check page for a whole case, or for one element of it (`collection`/`element`, from
    /// the element's remove page): what goes, what cannot be undone, why, and one box.
    static func page(_ v: Visit, host: NodeHost, ref: String, collection: String = "", element: String = "",
                     errors: [(String, String)] = [], reason: String = "") -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let id = CasePages.caseID(ref), let plan = try? host.cases.withdrawalPlan(id.description) else {
            return gone(v)
        }
        var c: [String: Any]
        // A collection without an element is no part: the element's branch calls it gone.
        if element.isEmpty && collection.isEmpty {
            c = v.frame(title: v.t("withdraw.title"), unlocked: true)
            c["heading"] = v.t("withdraw.title")
            c["records"] = v.t("withdraw.records", ["n": "\(plan.ops.count)"]) + "; " + v.t("withdraw.files", ["n": "\(plan.files.count)"])
            if !plan.merged.isEmpty { c["merged"] = v.t("withdraw.merged", ["names": plan.merged.joined(separator: ", ")]) }
            c["understood"] = v.t("withdraw.understood")
            c["confirm"] = v.t("withdraw.confirm")
        } else {
            guard let state = EditPages.load(host, id.description), Self.withdrawable(state, collection, element) else {
                return gone(v)
            }
            // A merge may have copied the element into the other case: only the whole case can go.
            guard plan.merged.isEmpty else {
                return Pages.message(v, title: v.t("withdraw.element.mergedTitle"),
                                     body: v.t("withdraw.element.mergedBody", ["names": plan.merged.joined(separator: ", ")]),
                                     status: .conflict, unlocked: true)
            }
            c = v.frame(title: v.t("withdraw.element.title"), unlocked: true)
            c["heading"] = v.t("withdraw.element.title")
            c["element"] = element
            c["collection"] = collection
            // A file by its name: its other fields include the key that opens it.
            c["records"] = collection == "evidence"
                ? "\(v.t("evidence.heading")): \(state.value(collection, element, "name").flatMap { $0.isEmpty ? nil : $0 } ?? v.t("evidence.unnamed"))"
                : "\(v.t("case.\(collection)")): \(Self.described(v, state, collection, element))"
            c["understood"] = v.t("withdraw.element.understood")
            c["confirm"] = v.t("withdraw.element.confirm")
            c["elementNote"] = v.t("withdraw.element.rest")
        }
        c["id"] = plan.target.description
        c["name"] = plan.names[0]
        c["what"] = [element.isEmpty ? "withdraw.what.here" : "withdraw.element.what.here", "withdraw.what.peers", "withdraw.what.sticks"].map { v.t($0) }
        c["limits"] = (element.isEmpty ? ["withdraw.limit.old", "withdraw.limit.final"]
                                       : ["withdraw.limit.old", "withdraw.element.limit.readers", "withdraw.limit.final"]).map { v.t($0) }
        c["reason"] = reason
        c["reasonLabel"] = v.t(element.isEmpty ? "withdraw.reason" : "withdraw.element.reason")
        Pages.setErrors(&c, errors)
        return Pages.html(Templates.render("withdraw", c), status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    static func post(_ v: Visit, host: NodeHost, ref: String, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        let collection = fields["collection"] ?? "", element = fields["element"] ?? ""
        let reason = (fields["reason"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [(String, String)] = []
        if reason.isEmpty { errors.append(("reason", v.t(element.isEmpty ? "withdraw.reason.missing" : "withdraw.element.reason.missing"))) }
        else if reason.utf8.count > Payload.maxNoteWhy { errors.append(("reason", v.t("withdraw.reason.long"))) }
        if fields["understood"] != "yes" {
            errors.append(("understood", v.t(element.isEmpty ? "withdraw.understood.missing" : "withdraw.element.understood.missing")))
        }
        guard errors.isEmpty else { return page(v, host: host, ref: ref, collection: collection, element: element, errors: errors, reason: reason) }
        guard let id = CasePages.caseID(ref) else { return page(v, host: host, ref: ref) }
        let report: WithdrawalReport
        do {
            if element.isEmpty && collection.isEmpty {
                // The page listed the merged cases that go with it, so the confirmation covers them.
                report = try host.cases.withdraw(id.description, withMerged: true, reason: reason)
            } else {
                guard let state = EditPages.load(host, id.description), Self.withdrawable(state, collection, element),
                      let plan = try? host.cases.withdrawalPlan(id.description) else {
                    return gone(v)
                }
                // Merged since the check page was shown: the node would refuse, in its own words.
                guard plan.merged.isEmpty else {
                    return Pages.message(v, title: v.t("withdraw.element.mergedTitle"),
                                         body: v.t("withdraw.element.mergedBody", ["names": plan.merged.joined(separator: ", ")]),
                                         status: .conflict, unlocked: true)
                }
                report = try host.cases.withdraw(id.description, collection: collection, element: element, reason: reason)
            }
        } catch where error.code == "withdraw.element-shared" {
            return Pages.message(v, title: v.t("withdraw.failed.title"), body: v.t("withdraw.element.shared"), status: .conflict, unlocked: true)
        } catch where error.kind == .notFound {
            // Withdrawn meanwhile (a second tab, a sync): the same page as a case that is gone.
            return gone(v)
        } catch {
            return Pages.message(v, title: v.t("withdraw.failed.title"), body: v.t("withdraw.failed.body", ["reason": Pages.reason(v, error)]),
                                 status: .conflict, unlocked: true)
        }
        var c = v.frame(title: v.t("withdraw.done.title"), unlocked: true)
        c["doneStep"] = true
        c["done"] = element.isEmpty
            ? v.t("withdraw.done.body", ["names": report.cases.joined(separator: ", "), "n": "\(report.ops)", "files": "\(report.files)"])
            : v.t("withdraw.element.done", ["n": "\(report.ops)"])
        if !element.isEmpty { c["backToCase"] = "/cases/\(id)" }
        c["tell"] = ["withdraw.tell.sync", "withdraw.tell.check", "withdraw.tell.sticks"].map { v.t($0) }
        return Pages.html(Templates.render("withdraw", c))
    }

    /// The case, or the element, is not here to withdraw (never was, or went meanwhile).
    static func gone(_ v: Visit) -> Response {
        Pages.message(v, title: v.t("withdraw.gone.title"), body: v.t("withdraw.gone.body"), status: .notFound, unlocked: true)
    }

    /// A note's `what` as the desk shows it: an element's collection (`sources/3f2a…`) in the
    /// page's language, the rest (references, ids) as written.
    static func localized(_ what: String, _ v: Visit) -> String {
        what.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            let parts = word.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return String(word) }
            if parts[0] == "evidence" { return "\(v.t("evidence.heading")): \(parts[1])" }
            guard CaseSchema.collection(parts[0]) != nil else { return String(word) }
            return "\(v.t("case.\(parts[0])")): \(parts[1])"
        }.joined(separator: " ")
    }

    /// What the page says goes: the element's shown fields, or, where it holds none of them (a
    /// later edit of a long text alone), its id.
    static func described(_ v: Visit, _ state: CaseState, _ collection: String, _ element: String) -> String {
        let d = EditPages.describe(v, state, collection, element)
        return d.isEmpty ? element : d
    }

    /// An element the desk can withdraw: one it can remove, or an attached file.
    static func withdrawable(_ state: CaseState, _ collection: String, _ element: String) -> Bool {
        deskCollection(collection) && !element.isEmpty && state.holds(collection, element)
    }

    /// A collection whose elements the desk withdraws one by one. Not tags: a tag's id is its
    /// text, which an address would put in the browser's history.
    static func deskCollection(_ collection: String) -> Bool {
        EditPages.addable.contains(collection) && collection != "tags" || collection == "evidence"
    }

    /// Which devices have confirmed, and whether this one holds anything withdrawn.
    static func status(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        let check: WithdrawnCheck
        do { check = try host.admin.checkWithdrawn() } catch {
            return Pages.message(v, title: v.t("withdrawn.title"), body: v.t("withdrawn.failed"), status: .internalServerError, unlocked: true)
        }
        var c = v.frame(title: v.t("withdrawn.title"), unlocked: true)
        c["statusStep"] = true
        c["none"] = check.withdrawals == 0
        c["count"] = v.t("withdrawn.count", ["n": "\(check.withdrawals)", "records": "\(check.opsNamed)", "files": "\(check.filesNamed)"])
        // What a later record brought back: a sentence for cases, one for parts of cases, and
        // a link to withdraw each again.
        var here: [String] = []
        if !check.casesReturned.isEmpty {
            here.append(v.t("withdrawn.here.returned", ["n": "\(check.opsReturningCases)", "cases": check.casesReturned.joined(separator: ", ")]))
        }
        if !check.elementsReturned.isEmpty {
            let named = check.elementsReturned.map { "\($0.short) \(Self.localized("\($0.collection)/\($0.element)", v))" }
            here.append(v.t("withdrawn.here.returnedElement", ["n": "\(check.opsReturningElements)", "elements": named.joined(separator: ", ")]))
        }
        // "No key" would not be true while an old key opens an old stick (retired, or about to
        // be): the paragraph on the old key says what it does.
        let clean = check.retiredKeys > 0 || check.rotationDue ? "withdrawn.here.cleanOldKey" : "withdrawn.here.clean"
        c["here"] = here.isEmpty ? v.t(check.clean ? clean : "withdrawn.here.held") : here.joined(separator: " ")
        var again: [[String: Any]] = zip(check.caseIDsReturned, check.casesReturned).map { id, short in
            ["href": "/cases/\(id)/withdraw", "label": v.t("withdrawn.again.case", ["case": short])]
        }
        // Only parts the desk withdraws get a link: another (a tag, withdrawn by the CLI) would
        // lead to a page that refuses it, and put its id in the browser's history.
        for e in check.elementsReturned where Self.deskCollection(e.collection) && !e.element.isEmpty {
            var q = URLComponents()
            q.queryItems = [URLQueryItem(name: "c", value: e.collection), URLQueryItem(name: "e", value: e.element)]
            again.append(["href": "/cases/\(e.case)/withdraw?\(q.percentEncodedQuery ?? "")",
                          "label": v.t("withdrawn.again.element", ["case": e.short, "part": v.t("case.\(e.collection)"),
                                                                   "element": String(e.element.prefix(8))])])
        }
        c["again"] = again
        c["hasAgain"] = !again.isEmpty
        c["clean"] = check.clean
        let retired = check.retiredKeys > 0
        c["rows"] = check.members.map { m -> [String: Any] in
            let state = m.confirmed ? "withdrawn.state.confirmed" : m.showsByVector ? "withdrawn.state.waiting" : "withdrawn.state.ask"
            var row: [String: Any] = ["who": "\(v.t("role.\(m.role)")) \(m.fingerprint)", "state": v.t(state), "confirmed": m.confirmed]
            if retired { row["newKey"] = v.t(m.holdsNewKey.map { $0 ? "withdrawn.newKey.yes" : "withdrawn.newKey.waiting" } ?? "withdrawn.newKey.none") }
            return row
        }
        // A retired key still opens an old stick: say so, and whom it waits for (a revoked
        // writer, not in the table, by its fingerprint alone).
        if retired {
            let roles = Dictionary(check.members.map { ($0.fingerprint, $0.role) }, uniquingKeysWith: { a, _ in a })
            let waiting = check.retiredKeysWaitOn.map { fp in roles[fp].map { "\(v.t("role.\($0)")) \(fp)" } ?? fp }
            c["oldKey"] = waiting.isEmpty ? v.t("withdrawn.oldKey.shown") : v.t("withdrawn.oldKey.waiting", ["devices": waiting.joined(separator: ", ")])
            c["retired"] = true
        } else if check.oldCopiesShut == true && check.withdrawals > 0 {
            c["oldKey"] = v.t("withdrawn.oldKey.destroyed")
        }
        // Newest first: who, when, what and why, as the sealed notes say.
        c["records"] = check.records.reversed().map { r -> [String: Any] in
            let when = r.atMillis.map { v.cat.moment(millis: $0, v.lang) } ?? ""
            var why = r.why.map { $0.isEmpty ? v.t("withdrawn.noReason") : $0 } ?? v.t("withdrawn.unreadable")
            if r.disputed { why += " — " + v.t("withdrawn.disputed") }
            return ["by": v.t("role.coordinator") + " " + r.by, "when": when, "what": r.what.map { Self.localized($0, v) } ?? v.t("withdrawn.unreadable"),
                    "why": why,
                    "size": v.t("withdrawn.size", ["records": "\(r.ops)", "files": "\(r.files)"])]
        }
        return Pages.html(Templates.render("withdraw", c))
    }
}
