import Hummingbird
import SandyqNode

/// A write-only device's only view of its work: how many records it sealed and which a
/// coordinator has acknowledged; never their content, which it cannot open.
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
        return Pages.html(Templates.render("sent", c))
    }
}
