import Foundation
import Hummingbird
import SandyqNode

/// A coordinator shares cases with a lawyer: from the people page, several cases with one lawyer;
/// from a case's page, that case with one lawyer. One decision per page, then what was shared.
/// There is no taking a share back: the lawyer's device already holds the case's keys.
enum SharePages {
    /// The project's current lawyers, in the people page's order.
    static func lawyers(_ view: ProjectView) -> [Member] {
        view.membership.members.values.filter { $0.role == .lawyer && !$0.isRevoked }.sorted { $0.node < $1.node }
    }

    /// How a case's `sharedWith` names a lawyer, and how links and forms do: the signing key in hex.
    static func key(_ m: Member) -> String { Hex.encode(m.node.signingKey.bytes) }

    /// The current lawyer a link or form names, by signing key in hex or by fingerprint.
    static func lawyer(_ id: String, in view: ProjectView) -> Member? {
        let id = id.lowercased()
        guard !id.isEmpty else { return nil }
        return lawyers(view).first { key($0) == id || $0.node.fingerprint == id }
    }

    static func who(_ v: Visit, _ m: Member) -> String { "\(v.t("role.lawyer")) \(m.node.fingerprint)" }

    /// Cases (merged ones aside) shared with each lawyer, by key: the people page's counts.
    static func counts(_ view: ProjectView) -> [String: Int] {
        var out: [String: Int] = [:]
        for c in view.cases.values where c.mergedTarget == nil {
            for k in c.elements("sharedWith") { out[k, default: 0] += 1 }
        }
        return out
    }

    static func title(_ v: Visit, _ s: String?) -> String { s.flatMap { $0.isEmpty ? nil : $0 } ?? v.t("case.untitled") }

    static func unknownLawyer(_ v: Visit) -> Response {
        Pages.message(v, title: v.t("share.unknown.title"), body: v.t("share.unknown.body"), status: .notFound, unlocked: true)
    }

    static func failed(_ v: Visit) -> Response {
        Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
    }

    // MARK: - Several cases with one lawyer (from the people page)

    /// The cases to choose from: the case list's, archived ones included, one page of them.
    static func casesPage(_ v: Visit, host: NodeHost, lawyer id: String, error: String? = nil) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let view = try? host.view() else { return failed(v) }
        guard let m = lawyer(id, in: view) else { return unknownLawyer(v) }
        let k = key(m)
        let (found, hits) = (try? host.search.page(SearchQuery(includeArchived: true, limit: nil), first: CasePages.pageSize)) ?? (0, [])
        var open: [[String: Any]] = [], held: [[String: Any]] = []
        for h in hits {
            guard let id = CasePages.caseID(h.caseId), let state = view.cases[id] else { continue }
            let meta = [String(h.caseId.prefix(8)), h.persons.joined(separator: ", "), h.status.map { v.cat.value("status", $0, v.lang) } ?? "",
                        h.archived ? v.t("cases.isArchived") : ""].filter { !$0.isEmpty }.joined(separator: " · ")
            if state.elements("sharedWith").contains(k) {
                held.append(["title": title(v, h.title), "meta": meta, "href": "/cases/\(h.caseId)"])
            } else {
                let n = open.count
                open.append(["id": n == 0 ? "cases" : "case-\(n)", "name": "case-\(h.caseId)", "title": title(v, h.title), "meta": meta])
            }
        }
        let heading = v.t("share.cases.title", ["fp": m.node.fingerprint])
        var c = v.frame(title: heading, unlocked: true)
        c["heading"] = heading
        c["lawyer"] = k
        // Arrays and the flags that wrap them: a section over an array repeats.
        c["open"] = open
        c["hasOpen"] = !open.isEmpty
        c["shared"] = held
        c["hasShared"] = !held.isEmpty
        if open.isEmpty { c["nothing"] = v.t(hits.isEmpty ? "share.cases.none" : "share.cases.allShared") }
        if found > CasePages.pageSize { c["more"] = v.t("share.cases.more", ["shown": "\(CasePages.pageSize)", "n": "\(found)"]) }
        Pages.setError(&c, field: "cases", error)
        return Pages.html(Templates.render("share", c), status: error == nil ? .ok : .unprocessableContent)
    }

    /// Shares the checked cases (each box is its own field, `case-ID`), then says what was shared.
    static func shareCases(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let view = try? host.view() else { return failed(v) }
        guard let m = lawyer(fields["lawyer"] ?? "", in: view) else { return unknownLawyer(v) }
        let k = key(m)
        let chosen = fields.keys.filter { $0.hasPrefix("case-") }.compactMap { CasePages.caseID(String($0.dropFirst(5))) }
            .compactMap { view.cases[$0] }.filter { $0.mergedTarget == nil }
        if chosen.isEmpty { return casesPage(v, host: host, lawyer: k, error: v.t("share.cases.missing")) }
        // One already shared (a second tab, a resent form) is not shared twice.
        let new = chosen.filter { !$0.elements("sharedWith").contains(k) }.sorted { $0.id.description < $1.id.description }
        // Each share is its own op: a failure part-way leaves the earlier ones shared, as the page lists them next time.
        do {
            for s in new { try host.members.share(s.id.description, with: m.node) }
        } catch {
            return failed(v)
        }
        return done(v, lawyer: m, titles: chosen.map { title(v, $0.value("title")) }.sorted(),
                    back: "/people/share?lawyer=\(k)", backLabel: v.t("share.done.more"))
    }

    /// What was shared, in plain words, and when the lawyer gets it.
    static func done(_ v: Visit, lawyer m: Member, titles: [String], back: String, backLabel: String) -> Response {
        var c = v.frame(title: v.t("share.done.title"), unlocked: true)
        c["body"] = v.t("share.done.body", ["n": "\(titles.count)", "fp": m.node.fingerprint])
        c["titles"] = titles
        c["back"] = back
        c["backLabel"] = backLabel
        return Pages.html(Templates.render("shared", c))
    }

    // MARK: - One case with one lawyer (from the case page)

    /// What the case page shows a coordinator: who holds the case, and the link to share it.
    static func caseSection(_ v: Visit, host: NodeHost, view: ProjectView?, state: CaseState) -> [String: Any]? {
        guard Visit.role(host) == .coordinator, let view else { return nil }
        let members = view.membership.members.values
        let holders = state.elements("sharedWith").sorted().map { k -> String in
            // A key no member holds (not yet known here): its fingerprint, as everywhere else.
            guard let m = members.first(where: { key($0) == k }) else {
                return Hex.decode(k).flatMap { try? SigningPublicKey(bytes: $0) }.map(NodeID.fingerprint(of:)) ?? String(k.prefix(12))
            }
            return m.isRevoked ? "\(who(v, m)) (\(v.t("people.revoked")))" : who(v, m)
        }
        var s: [String: Any] = ["with": holders.isEmpty ? v.t("share.case.nobody") : v.t("share.case.with", ["who": holders.joined(separator: ", ")])]
        if lawyers(view).isEmpty { s["noLawyers"] = v.t("share.lawyers.none") } else { s["href"] = "/cases/\(state.id)/share" }
        return s
    }

    static func caseState(_ view: ProjectView, _ ref: String) -> CaseState? {
        CasePages.caseID(ref.lowercased()).flatMap { view.cases[$0] }
    }

    static func lawyerPage(_ v: Visit, host: NodeHost, ref: String, error: String? = nil) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let view = try? host.view() else { return failed(v) }
        guard let state = caseState(view, ref) else {
            return Pages.message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: true)
        }
        let shared = Set(state.elements("sharedWith"))
        let all = lawyers(view)
        let counts = counts(view)
        let heard = (try? host.exchange.lastHeard()) ?? [:]
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let open = all.filter { !shared.contains(key($0)) }
        var c = v.frame(title: v.t("share.lawyer.title"), unlocked: true)
        c["id"] = state.id.description
        c["case"] = v.t("share.lawyer.case", ["title": title(v, state.value("title")), "ref": String(state.id.description.prefix(8))])
        c["lawyers"] = open.enumerated().map { i, m -> [String: Any] in
            let when = heard[m.node].map { v.cat.ago(millis: $0, now: now, v.lang) } ?? v.t("delivery.never")
            return ["id": i == 0 ? "lawyer" : "lawyer-\(i)", "value": key(m), "label": who(v, m),
                    "hint": v.t("share.lawyer.one", ["when": when, "n": "\(counts[key(m)] ?? 0)"])]
        }
        let have = all.filter { shared.contains(key($0)) }.map { who(v, $0) }
        if !have.isEmpty { c["have"] = v.t("share.lawyer.have", ["who": have.joined(separator: ", ")]) }
        if all.isEmpty {
            c["nothing"] = v.t("share.lawyers.none")
            c["noLawyers"] = true
        } else if open.isEmpty {
            c["nothing"] = v.t("share.lawyer.allHave")
        } else {
            c["ask"] = true
        }
        Pages.setError(&c, field: "lawyer", error)
        return Pages.html(Templates.render("shareCase", c), status: error == nil ? .ok : .unprocessableContent)
    }

    static func shareCase(_ v: Visit, host: NodeHost, ref: String, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let view = try? host.view() else { return failed(v) }
        guard let state = caseState(view, ref) else {
            return Pages.message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: true)
        }
        let given = fields["lawyer"] ?? ""
        if given.isEmpty { return lawyerPage(v, host: host, ref: ref, error: v.t("share.lawyer.missing")) }
        guard let m = lawyer(given, in: view) else { return unknownLawyer(v) }
        if !state.elements("sharedWith").contains(key(m)) {
            do { try host.members.share(state.id.description, with: m.node) } catch { return failed(v) }
        }
        return done(v, lawyer: m, titles: [title(v, state.value("title"))], back: "/cases/\(state.id)", backLabel: v.t("share.done.case"))
    }
}
