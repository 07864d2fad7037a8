import Hummingbird
import SandyqNode

/// A write-only device's only view of its work: how many records it sealed and which a
/// coordinator has acknowledged, the files it attached and where each stands; never their
/// content, which it cannot open. Files a coordinator checked may be removed from it.
enum WrittenPages {
    static func sent(_ v: Visit, host: NodeHost) -> Response {
        let me = host.nodeID.signingKey
        let made = (try? host.exchange.versionVector())?[me] ?? 0
        let peers = (try? host.exchange.peers()) ?? []
        let acked = peers.filter { $0.role == .coordinator }.map { $0.acknowledged[me] }.max() ?? 0
        var c = v.frame(title: v.t("writeonly.title"), unlocked: true)
        c["made"] = v.t("sent.made", ["n": "\(made)"])
        c["acked"] = v.t("sent.acked", ["n": "\(acked)"])
        if let id = v.recordedCase { c["attachHref"] = "/cases/\(id)/attach" }
        if made > acked { c["waiting"] = v.t("sent.waiting", ["n": "\(made - acked)"]) }
        c["rows"] = stride(from: made, to: max(made, 50) - 50, by: -1).map { seq -> [String: Any] in
            ["number": v.t("sent.number", ["n": "\(seq)"]), "state": v.t(seq <= acked ? "sent.received" : "sent.notYet"), "received": seq <= acked]
        }
        let files = (try? host.evidence.held()) ?? []
        c["hasFiles"] = !files.isEmpty
        if !files.isEmpty {
            c["files"] = files.map { f -> [String: Any] in
                ["short": String(f.fid.prefix(8)), "parts": "\(f.count)", "state": v.t("sent.file.\(f.state.rawValue)"),
                 "stateClass": f.state.rawValue]
            }
        }
        c["canRelease"] = !releasable(files).isEmpty
        return Pages.html(Templates.render("sent", c))
    }

    /// The files a coordinator checked whose copy is still here: what "remove" would delete.
    static func releasable(_ files: [HeldFile]) -> [HeldFile] {
        files.filter { $0.state == .received && $0.present > 0 }
    }

    /// Only a reporter lets go of its copies: a coordinator's, lawyer's or relay's copy may be
    /// the one others need. Nil when this node may.
    static func refusal(_ v: Visit, host: NodeHost) -> Response? {
        if host.isWriteOnly { return nil }
        if let view = try? host.view(), view.membership.role(of: host.nodeID.signingKey) == .reporter { return nil }
        return Pages.message(v, title: v.t("release.refused.title"), body: v.t("release.refused.body"), status: .forbidden, unlocked: true)
    }

    /// The one question before deleting: what goes, what stays.
    static func releasePage(_ v: Visit, host: NodeHost) -> Response {
        if let refused = refusal(v, host: host) { return refused }
        let files = releasable((try? host.evidence.held()) ?? [])
        if files.isEmpty { return nothing(v) }
        var c = v.frame(title: v.t("release.title"), unlocked: true)
        c["files"] = files.map { ["short": String($0.fid.prefix(8)), "parts": "\($0.count)"] }
        return Pages.html(Templates.render("release", c))
    }

    static func release(_ v: Visit, host: NodeHost) -> Response {
        if let refused = refusal(v, host: host) { return refused }
        let gone: [HeldFile]
        do { gone = try host.evidence.release() } catch {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
        }
        if gone.isEmpty { return nothing(v) }
        var c = v.frame(title: v.t("release.done.title"), unlocked: true)
        c["done"] = v.t("release.done.body", ["n": "\(gone.count)"])
        return Pages.html(Templates.render("release", c))
    }

    static func nothing(_ v: Visit) -> Response {
        Pages.message(v, title: v.t("release.none.title"), body: v.t("release.none.body"), status: .ok, unlocked: true)
    }
}
