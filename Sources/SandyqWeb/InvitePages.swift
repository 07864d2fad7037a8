import Foundation
import Hummingbird
import SandyqNode

/// Bringing a new member in, one decision per step: choose their role; hand them the invitation
/// (on screen as a QR code and as text, or as a file); take their reply; type the six digits
/// their screen shows, so a reply swapped on the way is caught before anyone is admitted.
enum InvitePages {
    static let roles: [Role] = [.reporter, .lawyer, .coordinator, .relay]

    static func rolePage(_ v: Visit, host: NodeHost, error: String? = nil) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        var c = v.frame(title: v.t("invite.title"), unlocked: true)
        c["roles"] = roles.map { r -> [String: Any] in
            ["value": r.rawValue, "id": "role-\(r.rawValue)", "label": v.t("role.\(r.rawValue)"), "hint": v.t("invite.role.\(r.rawValue).hint")]
        }
        Pages.setError(&c, field: "role-reporter", error)
        return Pages.html(Templates.render("invite", c), status: error == nil ? .ok : .unprocessableContent)
    }

    /// The invitation, made: a QR code, the same as text to copy, and a file to carry.
    static func make(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let role = fields["role"].flatMap(Role.init(rawValue:)), roles.contains(role) else {
            return rolePage(v, host: host, error: v.t("invite.role.missing"))
        }
        let inv: Invitation
        do { inv = try host.members.invite(role: role) } catch {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
        }
        var c = v.frame(title: v.t("invite.made.title"), unlocked: true)
        c["code"] = inv.text
        c["made"] = v.t("invite.made.lead", ["role": v.t("role.\(role.rawValue)")])
        // Whole pixels per module (5): a module drawn 4.9 px wide comes out 4 or 5 px, unevenly,
        // and a reader then misses the code now and then (zbarimg did, in CI).
        if let q = QRCode.drawing(inv.text) { c["qr"] = ["size": "\(q.size)", "px": "\(q.size * 5)", "path": q.path] }
        return Pages.html(Templates.render("invited", c))
    }

    /// The invitation as a file to carry on a stick: only from a posted form, so the code never
    /// sits in a URL, the browser's history or a server log.
    static func file(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let code = fields["code"], let inv = Invitation(text: code) else {
            return Pages.message(v, title: v.t("invite.file.bad.title"), body: v.t("invite.file.bad.body"), status: .badRequest, unlocked: true)
        }
        return Response(status: .ok,
                        headers: [.contentType: "text/plain; charset=utf-8",
                                  .contentDisposition: "attachment; filename=\"sandyq-invitation-\(inv.role.rawValue).txt\""],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: inv.text + "\n")))
    }

    static func replyPage(_ v: Visit, host: NodeHost, reply: String = "", error: String? = nil) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        var c = v.frame(title: v.t("admit.title"), unlocked: true)
        c["reply"] = reply
        Pages.setError(&c, field: "reply", error)
        return Pages.html(Templates.render("admit", c), status: error == nil ? .ok : .unprocessableContent)
    }

    /// Step two of admitting: the reply was read; the digits must now be compared.
    static func digitsPage(_ v: Visit, host: NodeHost, reply: JoinRequest, error: String? = nil) -> Response {
        var c = v.frame(title: v.t("admit.digits.title"), unlocked: true)
        c["reply"] = reply.text
        c["device"] = reply.node.fingerprint
        c["digitsStep"] = true
        Pages.setError(&c, field: "digits", error)
        return Pages.html(Templates.render("admit", c), status: error == nil ? .ok : .unprocessableContent)
    }

    static func admit(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        let typed = fields["reply"] ?? ""
        if typed.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return replyPage(v, host: host, error: v.t("admit.reply.missing")) }
        guard let req = JoinRequest(text: typed) else {
            let looksLikeInvite = typed.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("sqi-")
            return replyPage(v, host: host, reply: typed, error: v.t(looksLikeInvite ? "admit.reply.isInvite" : "admit.reply.bad"))
        }
        guard let mine = try? host.members.authenticationString(for: req) else {
            return replyPage(v, host: host, reply: typed, error: v.t("admit.reply.bad"))
        }
        guard let digits = fields["digits"] else { return digitsPage(v, host: host, reply: req) }
        let given = digits.filter(\.isNumber)
        if given.isEmpty { return digitsPage(v, host: host, reply: req, error: v.t("admit.digits.missing")) }
        if given.count != 6 { return digitsPage(v, host: host, reply: req, error: v.t("admit.digits.count")) }
        guard given == mine.filter(\.isNumber) else {
            var c = v.frame(title: v.t("admit.differ.title"), unlocked: true)
            c["heading"] = v.t("admit.differ.title")
            c["body"] = v.t("admit.differ.body")
            return Pages.html(Templates.render("message", c), status: .conflict)
        }
        let role: Role
        do { (_, role) = try host.members.admit(req) } catch {
            return replyPage(v, host: host, reply: typed, error: v.t("admit.reply.notOpen"))
        }
        var c = v.frame(title: v.t("admit.done.title"), unlocked: true)
        c["done"] = v.t("admit.done.body", ["device": req.node.fingerprint, "role": v.t("role.\(role.rawValue)")])
        return Pages.html(Templates.render("admit", c))
    }
}
