import Foundation
import Hummingbird
import SandyqCore
import SandyqNode

/// Withdrawing a case everywhere (a witness withdrew consent, or a record endangers someone):
/// one page says what goes and what cannot be taken back, one box confirms it; then what to
/// do next, and a page that shows which devices have confirmed.
enum WithdrawPages {
    static func page(_ v: Visit, host: NodeHost, ref: String, errors: [(String, String)] = [], reason: String = "") -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let id = CasePages.caseID(ref), let plan = try? host.cases.withdrawalPlan(id.description) else {
            return Pages.message(v, title: v.t("withdraw.gone.title"), body: v.t("withdraw.gone.body"), status: .notFound, unlocked: true)
        }
        var c = v.frame(title: v.t("withdraw.title"), unlocked: true)
        c["id"] = plan.target.description
        c["name"] = plan.names[0]
        c["records"] = v.t("withdraw.records", ["n": "\(plan.ops.count)"])
        c["files"] = v.t("withdraw.files", ["n": "\(plan.files.count)"])
        if !plan.merged.isEmpty { c["merged"] = v.t("withdraw.merged", ["names": plan.merged.joined(separator: ", ")]) }
        c["what"] = ["withdraw.what.here", "withdraw.what.peers", "withdraw.what.sticks"].map { v.t($0) }
        c["limits"] = ["withdraw.limit.old", "withdraw.limit.final"].map { v.t($0) }
        c["reason"] = reason
        Pages.setErrors(&c, errors)
        return Pages.html(Templates.render("withdraw", c), status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    static func post(_ v: Visit, host: NodeHost, ref: String, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        let reason = (fields["reason"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [(String, String)] = []
        if reason.isEmpty { errors.append(("reason", v.t("withdraw.reason.missing"))) }
        else if reason.utf8.count > Payload.maxNoteWhy { errors.append(("reason", v.t("withdraw.reason.long"))) }
        if fields["understood"] != "yes" { errors.append(("understood", v.t("withdraw.understood.missing"))) }
        guard errors.isEmpty else { return page(v, host: host, ref: ref, errors: errors, reason: reason) }
        guard let id = CasePages.caseID(ref) else { return page(v, host: host, ref: ref) }
        let report: WithdrawalReport
        // The page listed the merged cases that go with it, so the confirmation covers them.
        do { report = try host.cases.withdraw(id.description, withMerged: true, reason: reason) } catch {
            return Pages.message(v, title: v.t("withdraw.failed.title"), body: v.t("withdraw.failed.body", ["reason": error.message]),
                                 status: .conflict, unlocked: true)
        }
        var c = v.frame(title: v.t("withdraw.done.title"), unlocked: true)
        c["doneStep"] = true
        c["done"] = v.t("withdraw.done.body", ["names": report.cases.joined(separator: ", "), "n": "\(report.ops)", "files": "\(report.files)"])
        c["tell"] = ["withdraw.tell.sync", "withdraw.tell.check", "withdraw.tell.sticks"].map { v.t($0) }
        return Pages.html(Templates.render("withdraw", c))
    }

    /// Which devices have confirmed, and whether this one holds anything withdrawn.
    static func status(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let check = try? host.admin.checkWithdrawn() else {
            return Pages.message(v, title: v.t("withdrawn.title"), body: v.t("withdrawn.none"), status: .ok, unlocked: true)
        }
        var c = v.frame(title: v.t("withdrawn.title"), unlocked: true)
        c["statusStep"] = true
        c["none"] = check.withdrawals == 0
        c["count"] = v.t("withdrawn.count", ["n": "\(check.withdrawals)", "records": "\(check.opsNamed)", "files": "\(check.filesNamed)"])
        c["here"] = v.t(check.clean ? "withdrawn.here.clean" : "withdrawn.here.held")
        c["clean"] = check.clean
        c["rows"] = check.members.map { m -> [String: Any] in
            let state = m.confirmed ? "withdrawn.state.confirmed" : m.showsByVector ? "withdrawn.state.waiting" : "withdrawn.state.ask"
            return ["who": "\(v.t("role.\(m.role)")) \(m.fingerprint)", "state": v.t(state), "confirmed": m.confirmed]
        }
        // Newest first: who, when, what and why, as the sealed notes say.
        c["records"] = check.records.reversed().map { r -> [String: Any] in
            let when = r.atMillis.map { v.cat.moment(millis: $0, v.lang) } ?? ""
            return ["by": v.t("role.coordinator") + " " + r.by, "when": when, "what": r.what ?? v.t("withdrawn.unreadable"),
                    "why": r.why.map { $0.isEmpty ? v.t("withdrawn.noReason") : $0 } ?? v.t("withdrawn.unreadable"),
                    "size": v.t("withdrawn.size", ["records": "\(r.ops)", "files": "\(r.files)"])]
        }
        return Pages.html(Templates.render("withdraw", c))
    }
}
