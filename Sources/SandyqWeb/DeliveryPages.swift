import Foundation
import Hummingbird
import SandyqNode

/// The coordinator's daily question, answered from what this node knows: what is held by one
/// device only (and would be lost with it), what each peer has not yet acknowledged, and how
/// stale each copy of each author's chain is. Acknowledgements come the same way over a stick
/// and over TCP, so the page does not ask which carried them.
enum DeliveryPages {
    static func page(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let (risk, peers, heard) = try? host.exchange.delivery() else {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let me = host.nodeID
        func who(_ node: NodeID, _ role: Role?) -> String {
            if node == me { return v.t("delivery.thisDevice") }
            return role.map { "\(v.t("role.\($0.rawValue)")) \(node.fingerprint)" } ?? node.fingerprint
        }
        func author(_ a: LossRisk.Author) -> String {
            if a.author == me.signingKey { return v.t("delivery.you") }
            return a.role.map { "\(v.t("role.\($0.rawValue)")) \(a.fingerprint)" } ?? a.fingerprint
        }
        var c = v.frame(title: v.t("delivery.title"), unlocked: true)

        var alone: [[String: Any]] = []
        for a in risk.atRisk {
            guard let h = a.soleHolder else { continue }
            let n = "\(a.soleOps)"
            if h.isThisNode {
                let text = a.author == me.signingKey ? v.t("delivery.alone.mine", ["n": n]) : v.t("delivery.alone.here", ["n": n, "who": author(a)])
                alone.append(["text": text, "advice": v.t("delivery.alone.here.advice")])
            } else {
                let when = h.heardAtMillis.map { v.cat.ago(millis: $0, now: now, v.lang) } ?? v.t("delivery.never")
                alone.append(["text": v.t("delivery.alone.there", ["n": n, "who": author(a), "holder": who(h.node, h.role), "when": when]),
                              "advice": v.t("delivery.alone.there.advice")])
            }
        }
        let members = (try? host.view())?.membership
        for f in risk.files {
            let name = f.name ?? String(f.fid.prefix(8))
            let place = f.caseRef.map { v.t("delivery.file.case", ["ref": String($0.prefix(8))]) } ?? ""
            let key = f.here ? "delivery.file.here" : (f.holders.isEmpty ? "delivery.file.nobody" : "delivery.file.there")
            let holder = f.holders.first.map { who($0, members?.role(of: $0.signingKey)) } ?? ""
            alone.append(["text": v.t(key, ["name": name, "case": place, "holder": holder]), "file": true])
        }
        c["alone"] = alone
        c["aloneCount"] = v.t("delivery.alone.count", ["n": "\(alone.count)"])
        c["safe"] = alone.isEmpty

        c["peers"] = peers.sorted { ($0.undelivered, $1.node) > ($1.undelivered, $0.node) }.map { p -> [String: Any] in
            var row: [String: Any] = [
                "who": who(p.node, p.role),
                "heard": heard[p.node].map { v.cat.ago(millis: $0, now: now, v.lang) } ?? v.t("delivery.never"),
                "undelivered": p.undelivered == 0 ? v.t("delivery.peer.allDelivered") : v.t("delivery.peer.waiting", ["n": "\(p.undelivered)"]),
            ]
            if p.undelivered > 0 { row["late"] = true }
            return row
        }
        c["hasPeers"] = !peers.isEmpty

        c["authors"] = risk.authors.sorted { ($0.soleOps, $0.known) > ($1.soleOps, $1.known) }.map { a -> [String: Any] in
            [
                "who": author(a),
                "known": "\(a.known)",
                "copies": a.replicas.map { r -> [String: Any] in
                    let state = r.behind == 0 ? v.t("delivery.copy.whole") : v.t("delivery.copy.behind", ["n": "\(r.behind)"])
                    let when = r.isThisNode ? "" : (r.heardAtMillis.map { v.cat.ago(millis: $0, now: now, v.lang) } ?? v.t("delivery.never"))
                    var x: [String: Any] = ["text": v.t(when.isEmpty ? "delivery.copy" : "delivery.copy.heard",
                                                        ["who": who(r.node, r.role), "state": state, "when": when])]
                    if r.behind > 0 { x["behind"] = true }
                    return x
                },
            ]
        }
        c["hasAuthors"] = !risk.authors.isEmpty
        return Pages.html(Templates.render("delivery", c))
    }

    /// Everyone in the project: role, last heard from, how many changes of theirs this node holds.
    static func people(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let view = try? host.view(), let mine = try? host.exchange.versionVector() else {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
        }
        let heard = (try? host.exchange.lastHeard()) ?? [:]
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let all = view.membership.members.values.sorted { ($0.isRevoked ? 1 : 0, $0.role.rawValue, $0.node) < ($1.isRevoked ? 1 : 0, $1.role.rawValue, $1.node) }
        let shared = SharePages.counts(view)
        var c = v.frame(title: v.t("people.title"), unlocked: true)
        c["members"] = all.map { m -> [String: Any] in
            let here = m.node == host.nodeID
            var row: [String: Any] = [
                "who": here ? v.t("delivery.thisDevice") : m.node.fingerprint,
                "role": v.t("role.\(m.role.rawValue)"),
                "heard": here ? v.t("people.now") : (heard[m.node].map { v.cat.ago(millis: $0, now: now, v.lang) } ?? v.t("delivery.never")),
                "written": v.t("people.written", ["n": "\(mine[m.node.signingKey])"]),
            ]
            if !here { row["fp"] = m.node.fingerprint }
            if m.isRevoked { row["revoked"] = v.t("people.revoked") }
            if m.role == .lawyer && !m.isRevoked {
                let k = SharePages.key(m)
                row["share"] = ["count": v.t("share.people.count", ["n": "\(shared[k] ?? 0)"]), "href": "/people/share?lawyer=\(k)"]
            }
            return row
        }
        c["count"] = v.t("people.count", ["n": "\(all.filter { !$0.isRevoked }.count)"])
        // Pieces made before this node's reader key changed would rebuild a node that reads less.
        if let s = try? host.admin.backupPiecesStatus(), s.recorded, !s.current, !s.awaitingSync { c["backupStale"] = true }
        return Pages.html(Templates.render("people", c))
    }
}
