import Foundation
import Hummingbird
import SandyqNode

/// A case's dossier: a page in the reader's language, printable, and the report module's
/// files (HTML, Markdown, JSON) to download. A lawyer's node has only what was shared with it.
enum DossierPages {
    static let formats: [String: (ReportService.Format, String)] = [
        "html": (.html, "text/html; charset=utf-8"),
        "md": (.md, "text/markdown; charset=utf-8"),
        "json": (.json, "application/json; charset=utf-8"),
    ]

    static func valid(_ ref: String) -> Bool { ref.count >= 4 && ref.allSatisfy(\.isHexDigit) }

    static func notFound(_ v: Visit) -> Response {
        Pages.message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: true)
    }

    static func show(_ v: Visit, host: NodeHost, ref: String, print: Bool) -> Response {
        if let screen = CasePages.roleScreen(v, host: host) { return screen }
        guard valid(ref), let r = try? host.reports.dossier(ref) else { return notFound(v) }
        func shown(_ field: String, _ value: String) -> String {
            if EditPages.dateFields.contains(field) { return v.cat.date(value, v.lang) }
            return v.cat.value(field, value, v.lang)
        }
        // A link is named from the case itself, in the page's words (the report names it in English and Russian).
        let state = try? host.cases.state(r.caseId)
        func by(_ p: ReportProvenance?) -> String? {
            guard let p else { return nil }
            return v.t("dossier.by", ["who": p.author, "when": p.time.map { v.cat.reportTime($0, v.lang) } ?? "?"])
        }
        func facts(_ fs: [DossierReport.Fact], in collection: String = "") -> [[String: Any]] {
            fs.map { f in
                var value = shown(f.field, f.value)
                if CaseSchema.collection(collection)?.links[f.field] != nil {
                    value = f.link.flatMap { l in state.map { EditPages.shown(v, $0, collection, f.field, l) } } ?? v.t("case.link.gone")
                }
                var e: [String: Any] = ["label": v.cat.field(f.field, v.lang, in: collection), "value": value]
                if let b = by(f.provenance) { e["by"] = b }
                return e
            }
        }
        let title = r.field("title") ?? r.persons.first?.value("name") ?? v.t("case.untitled")
        var c = v.frame(title: v.t("dossier.tab"), unlocked: true)
        c["id"] = r.caseId
        c["heading"] = title
        c["generated"] = v.t("dossier.generated", ["when": v.cat.reportTime(r.generated, v.lang), "node": r.generatedBy ?? "?"])
        c["details"] = facts(r.caseFields.filter { $0.field != "title" })
        if !r.tags.isEmpty { c["tags"] = r.tags.joined(separator: ", ") }
        let groups: [(String, String, [DossierReport.Item])] = [
            ("persons", "case.persons", r.persons), ("charges", "case.charges", r.charges), ("events", "case.events", r.timeline),
            ("officials", "case.officials", r.officials),
        ] + DossierReport.deeperSections.compactMap { s in r.deeper(s.collection).map { (s.collection, "case.\(s.collection)", $0) } } + [
            ("sources", "case.sources", r.sources), ("aid", "case.aid", r.aid),
        ]
        // A lawyer's node never holds a withheld field: the dossier says it is withheld rather than leave it out unsaid.
        let lawyer = (try? host.view())?.membership.role(of: host.nodeID.signingKey) == .lawyer
        c["sections"] = groups.map { id, key, items -> [String: Any] in
            let withheld = lawyer ? CaseSchema.collection(id)?.withheld ?? [] : []
            return ["id": id, "heading": v.t(key), "empty": items.isEmpty, "items": items.map { it in
                ["fields": facts(it.fields, in: id) + withheld.map { ["label": v.cat.field($0, v.lang, in: id), "value": v.t("case.withheld")] }]
            }]
        }
        c["statuses"] = r.statusHistory.map { s -> [String: Any] in
            var e: [String: Any] = ["status": v.cat.value("status", s.status, v.lang), "current": s.current, "by": by(s.provenance) ?? ""]
            if let d = s.date { e["date"] = v.cat.date(d, v.lang) }
            return e
        }
        c["hasStatuses"] = !r.statusHistory.isEmpty
        c["conflicts"] = r.conflicts.flatMap { k in
            k.values.map { x -> [String: Any] in
                ["field": fieldName(k.field, v),
                 "value": x.value, "by": by(x.provenance) ?? "", "shown": x.shown]
            }
        }
        c["hasConflicts"] = !r.conflicts.isEmpty
        c["custody"] = r.custody.map { e in ["when": e.provenance.time.map { v.cat.reportTime($0, v.lang) } ?? "?", "who": e.provenance.author, "op": e.provenance.op] }
        c["evidence"] = (r.evidence ?? []).map { evidenceFile($0, v, writer: r.generatedBy) }
        c["print"] = print
        return Pages.html(Templates.render(print ? "dossierPrint" : "dossier", c))
    }

    /// An attached file as the dossier lists it: what a court checks it against, who attached
    /// it, and each device that said, signed, it holds the file whole, checked or not.
    static func evidenceFile(_ f: DossierReport.EvidenceFile, _ v: Visit, writer: String?) -> [String: Any] {
        func who(_ node: String, _ role: String?) -> String {
            var s = role.map { "\(v.t("role.\($0)")) \(node)" } ?? node
            if node == writer { s += " (\(v.t("case.you")))" }
            return s
        }
        var e: [String: Any] = [
            "name": f.name.isEmpty ? v.t("evidence.unnamed") : f.name,
            "type": EvidencePages.typeName(v, f.type),
            "size": EvidencePages.size(v, f.size),
            "sha": f.sha256,
            "attached": "\(who(f.attached.author, nil)), \(f.attached.time.map { moment($0, v) } ?? "?")",
            "holders": f.heldBy.map { h -> [String: String] in
                let w = who(h.node, h.role)
                return ["text": h.checked ? v.t("dossier.holder.checked", ["who": w, "when": h.time.map { moment($0, v) } ?? ""])
                                          : v.t("dossier.holder.unchecked", ["who": w])]
            },
            "noHolders": f.heldBy.isEmpty,
        ]
        if !f.complete { e["incomplete"] = v.t("dossier.incomplete") }
        return e
    }

    /// A file's times come as ISO 8601 (as its manifest writes them): said in the page's words.
    static func moment(_ iso: String, _ v: Visit) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let d = f.date(from: iso) ?? ISO8601DateFormatter().date(from: iso) else { return iso }
        return v.cat.moment(millis: UInt64(max(0, d.timeIntervalSince1970 * 1000)), v.lang)
    }

    /// `persons/ELEMENT/name` as the page says it.
    static func fieldName(_ path: String, _ v: Visit) -> String {
        let p = path.split(separator: "/").map(String.init)
        return CasePages.fieldName(p.count == 3 ? "\(p[0]).\(p[2])" : path, v)
    }

    /// The draft communication to the UN Working Group on Arbitrary Detention, as a Markdown file to complete.
    static func wgad(_ v: Visit, host: NodeHost, ref: String) -> Response {
        if let screen = CasePages.roleScreen(v, host: host) { return screen }
        guard valid(ref), let text = try? host.reports.render(.wgad(ref), format: .md) else { return notFound(v) }
        let short = String((try? host.cases.state(ref))?.id.description.prefix(8) ?? Substring(ref.prefix(8)))
        return Response(status: .ok,
                        headers: [.contentType: "text/markdown; charset=utf-8", .contentDisposition: "attachment; filename=\"sandyq-wgad-\(short).md\""],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The report module's own file, as an attachment; DeskGuard stamps it with the same
    /// security headers as every page, so its inline style stays inert while served from here.
    static func download(_ v: Visit, host: NodeHost, ref: String, format: String) -> Response {
        if let screen = CasePages.roleScreen(v, host: host) { return screen }
        guard valid(ref), let (f, type) = formats[format], let text = try? host.reports.render(.dossier(ref), format: f) else {
            return notFound(v)
        }
        let short = String((try? host.cases.state(ref))?.id.description.prefix(8) ?? Substring(ref.prefix(8)))
        return Response(status: .ok,
                        headers: [.contentType: type, .contentDisposition: "attachment; filename=\"sandyq-dossier-\(short).\(format)\""],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
