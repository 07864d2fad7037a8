import Foundation
import Hummingbird
import SandyqNode

/// "A device was seized": pick the device, see what it could read and which of its changes
/// will still count, revoke it, then what to tell the others. The quarantine page lists what
/// was set aside since, with the reason for each.
enum SeizedPages {
    /// The members that may be revoked from here: current, and not this device.
    static func candidates(_ host: NodeHost) -> [Member] {
        guard let view = try? host.view() else { return [] }
        return view.membership.members.values.filter { !$0.isRevoked && $0.node != host.nodeID }
            .sorted { ($0.role.rawValue, $0.node) < ($1.role.rawValue, $1.node) }
    }

    static func pick(_ v: Visit, host: NodeHost, error: String? = nil) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        let heard = (try? host.exchange.lastHeard()) ?? [:]
        let mine = (try? host.exchange.versionVector()) ?? VersionVector()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let members = candidates(host)
        var c = v.frame(title: v.t("seized.title"), unlocked: true)
        c["devices"] = members.enumerated().map { i, m -> [String: Any] in
            let when = heard[m.node].map { v.cat.ago(millis: $0, now: now, v.lang) } ?? v.t("delivery.never")
            return ["id": i == 0 ? "device" : "device-\(i)", "value": m.node.description,
                    "label": "\(v.t("role.\(m.role.rawValue)")) \(m.node.fingerprint)",
                    "hint": v.t("seized.device.hint", ["when": when, "n": "\(mine[m.node.signingKey])"])]
        }
        c["none"] = members.isEmpty
        Pages.setError(&c, field: "device", error)
        return Pages.html(Templates.render("seized", c), status: error == nil ? .ok : .unprocessableContent)
    }

    /// Steps two and three: what revoking it means, then (confirmed) the revocation.
    static func post(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let id = fields["device"].flatMap(NodeID.init(string:)), let m = candidates(host).first(where: { $0.node == id }) else {
            return pick(v, host: host, error: v.t("seized.device.missing"))
        }
        let held = ((try? host.exchange.versionVector()) ?? VersionVector())[id.signingKey]
        if fields["confirm"] == nil {
            var c = v.frame(title: v.t("seized.check.title"), unlocked: true)
            c["checkStep"] = true
            c["device"] = id.description
            c["who"] = "\(v.t("role.\(m.role.rawValue)")) \(id.fingerprint)"
            c["reads"] = v.t("seized.reads.\(m.role.rawValue)")
            c["kept"] = held == 0 ? v.t("seized.kept.none") : v.t("seized.kept", ["n": "\(held)"])
            c["rule"] = v.t("seized.rule")
            return Pages.html(Templates.render("seized", c))
        }
        do {
            _ = try host.members.revoke(id, after: .lastHeld)
        } catch where error.code == "revoke.forked" {
            // A forked chain: its last op is not known to be genuine; the command line names one.
            let forked = v.t("seized.failed.forked", ["command": "sandyq member revoke \(id) --after OPID"])
            return Pages.message(v, title: v.t("seized.failed.title"), body: v.t("seized.failed.body", ["reason": forked]), status: .conflict, unlocked: true)
        } catch where error.code == "revoke.no-effect" {
            // Written, but it does not count: say whether the device is revoked anyway.
            let revoked = (try? host.view())?.membership.members[id.signingKey]?.isRevoked == true
            return Pages.message(v, title: v.t(revoked ? "seized.noEffect.revokedTitle" : "seized.noEffect.title"),
                                 body: v.t(revoked ? "seized.noEffect.revokedBody" : "seized.noEffect.body"), status: .conflict, unlocked: true)
        } catch {
            return Pages.message(v, title: v.t("seized.failed.title"), body: v.t("seized.failed.body", ["reason": Pages.reason(v, error)]),
                                 status: .conflict, unlocked: true)
        }
        var c = v.frame(title: v.t("seized.done.title"), unlocked: true)
        c["doneStep"] = true
        c["done"] = v.t("seized.done.body", ["who": "\(v.t("role.\(m.role.rawValue)")) \(id.fingerprint)"])
        c["tell"] = ["seized.tell.sync", "seized.tell.holder", "seized.tell.\(m.role == .coordinator || m.role == .lawyer ? "readers" : "field")"]
            .map { v.t($0) }
        return Pages.html(Templates.render("seized", c))
    }

    /// What is kept but counts nowhere, and why.
    static func quarantine(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        let roles = (try? host.view())?.membership
        func who(_ n: NodeID?) -> String {
            guard let n else { return v.t("quarantine.unknown") }
            return roles?.role(of: n.signingKey).map { "\(v.t("role.\($0.rawValue)")) \(n.fingerprint)" } ?? n.fingerprint
        }
        let forks = (try? host.members.forks()) ?? []
        let forked = Set(forks.map { "\($0.author?.description ?? "")/\($0.seq)" })
        var rows: [[String: Any]] = ((try? host.members.quarantine()) ?? []).map { q in
            let fork = forked.contains("\(q.author?.description ?? "")/\(q.seq)")
            return ["who": who(q.author), "number": "\(q.seq)", "op": String(q.id.description.prefix(12)),
                    "reason": v.t(fork ? "quarantine.reason.fork" : "quarantine.reason.revoked")]
        }
        for f in forks where !rows.contains(where: { ($0["number"] as? String) == "\(f.seq)" && ($0["who"] as? String) == who(f.author) }) {
            rows.append(["who": who(f.author), "number": "\(f.seq)", "op": "", "reason": v.t("quarantine.reason.fork")])
        }
        var c = v.frame(title: v.t("quarantine.title"), unlocked: true)
        c["rows"] = rows
        c["empty"] = rows.isEmpty
        return Pages.html(Templates.render("quarantine", c))
    }
}
