import Foundation
import Hummingbird
import SandyqNode

/// The request as a page sees it: its session, its language, and the catalogue in that language.
struct Visit {
    let desk: Desk
    let session: Desk.Session?
    let lang: String
    /// A case was just recorded: the page says so.
    let recorded: Bool
    /// The case just recorded, when the page says so: a write-only device attaches files to it.
    let recordedCase: String?
    var cat: Catalogue { Catalogue.shared }

    init(_ request: Request, desk: Desk) {
        self.desk = desk
        let s = desk.session(Form.cookies(request.headers[.cookie])[Pages.cookie])
        let asked = request.uri.queryParameters["lang"].map(String.init)
        recorded = request.uri.queryParameters["recorded"] != nil
        recordedCase = recorded ? request.uri.queryParameters["case"].flatMap { CasePages.caseID(String($0))?.description } : nil
        let chosen: String
        if let asked, Catalogue.languages.contains(asked) {
            if let s { desk.setLanguage(asked, session: s.id) }
            chosen = asked
        } else {
            chosen = s?.lang ?? Catalogue.preferred(acceptLanguage: request.headers[.acceptLanguage])
        }
        lang = chosen
        session = s.map { var c = $0; c.lang = chosen; return c }
    }

    func t(_ key: String, _ args: [String: String] = [:]) -> String { cat.text(key, lang, args) }

    /// Whether this node records cases: a reporter, a coordinator, or a write-only device.
    static func canWrite(_ host: NodeHost?) -> Bool {
        guard let host else { return false }
        if host.isWriteOnly { return true }
        guard let view = try? host.view() else { return false }
        return view.membership.role(of: host.nodeID.signingKey)?.canWrite ?? false
    }

    /// This node's role in the project, if it holds one and can read the membership.
    static func role(_ host: NodeHost?) -> Role? {
        guard let host, !host.isWriteOnly, let view = try? host.view() else { return nil }
        return view.membership.role(of: host.nodeID.signingKey)
    }

    /// The coordinator's screens answer coordinators only; anyone else gets this page.
    func coordinatorOnly(_ host: NodeHost) -> Response? {
        if Self.role(host) == .coordinator { return nil }
        return Pages.message(self, title: t("coord.refused.title"), body: t("coord.refused.body"), status: .forbidden, unlocked: true)
    }

    /// What every page's head and foot read.
    /// `canWrite` given: the node is busy (a stick sync holds it) and the caller knows the answer.
    func frame(title: String, unlocked: Bool, canWrite: Bool? = nil) -> [String: Any] {
        let names = ["kk": "Қазақша", "ru": "Русский", "en": "English"]
        // One read of the role serves both answers; a busy node (canWrite given) is not asked.
        let host = unlocked && canWrite == nil ? desk.peek() : nil
        let role = Self.role(host)
        return [
            "canWrite": unlocked && (canWrite ?? (host?.isWriteOnly == true || (role?.canWrite ?? false))),
            "isCoordinator": role == .coordinator,
            "hasSession": session != nil,
            "recorded": recorded,
            "t": cat.templateTable(lang),
            "lang": lang,
            "title": title,
            "unlocked": unlocked,
            "csrf": session?.csrf ?? "",
            "langs": Catalogue.languages.map { ["code": $0, "name": names[$0] ?? $0, "current": $0 == lang] },
            "idleNote": t("lock.idle", ["m": "\(Int(desk.idle.components.seconds / 60))"]),
        ]
    }
}

enum Pages {
    static let cookie = "sandyq_session"

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// One field's error: the summary's link to it, and the message beside it.
    static func setError(_ c: inout [String: Any], field: String, _ error: String?) {
        guard let error else { return }
        c["hasErrors"] = true
        c["error"] = error
        c["errors"] = [["field": field, "message": error]]
    }

    /// Several fields' errors: the summary's links, and each message beside its field (`err_FIELD`).
    static func setErrors(_ c: inout [String: Any], _ errors: [(String, String)]) {
        guard !errors.isEmpty else { return }
        c["hasErrors"] = true
        c["errors"] = errors.map { ["field": $0.0, "message": $0.1] }
        for (field, message) in errors { c["err_\(field)"] = message }
    }

    static func redirect(_ to: String, cookie: String? = nil) -> Response {
        var h: HTTPFields = [.location: to]
        if let cookie { h[.setCookie] = cookie }
        return Response(status: .seeOther, headers: h)
    }

    /// A page with a heading and a paragraph: refusals, not-found, the roles that read nothing.
    static func message(_ v: Visit, title: String, body: String, status: HTTPResponse.Status, unlocked: Bool = false) -> Response {
        var c = v.frame(title: title, unlocked: unlocked)
        c["heading"] = title
        c["body"] = body
        return html(Templates.render("message", c), status: status)
    }

    /// Why the node refused, in the page's language: its own message is English, for the CLI.
    static func reason(_ v: Visit, _ e: NodeError) -> String { v.t(reasonKey(e)) }

    /// What the person can act on, where the code says more than the kind: a file's own damage,
    /// a disk or stick, a device not admitted or not synced since its restore.
    static func reasonKey(_ e: NodeError) -> String {
        switch e.code {
        case "node.restored-not-synced": "node.reason.restored"
        case "node.not-admitted": "node.reason.notAdmitted"
        case let c where c.hasPrefix("media."): "node.reason.media"
        case let c where c.hasSuffix(".io"): "node.reason.io"
        default: reasonKey(e.kind)
        }
    }

    static func reasonKey(_ kind: NodeError.Kind) -> String {
        switch kind {
        case .usage: "node.reason.usage"
        case .wrongPassphrase: "node.reason.wrongPassphrase"
        case .corrupt: "node.reason.corrupt"
        case .notFound: "node.reason.notFound"
        case .notForMe: "node.reason.notForMe"
        case .conflict: "node.reason.conflict"
        case .refused: "node.reason.refused"
        case .failure: "node.reason.failure"
        }
    }

    static func noSession(_ request: Request, desk: Desk) -> Response {
        let v = Visit(request, desk: desk)
        return message(v, title: v.t("nosession.title"), body: v.t("nosession.body"), status: .unauthorized)
    }

    static func refused(_ request: Request, desk: Desk) -> Response {
        let v = Visit(request, desk: desk)
        return message(v, title: v.t("refused.title"), body: v.t("refused.body"), status: .forbidden)
    }

    static func notFound(_ request: Request, desk: Desk) -> Response {
        let v = Visit(request, desk: desk)
        return message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: desk.isUnlocked && v.session != nil)
    }

    static func failure(_ request: Request, desk: Desk, status: HTTPResponse.Status) -> Response {
        let v = Visit(request, desk: desk)
        return message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: status)
    }
}
