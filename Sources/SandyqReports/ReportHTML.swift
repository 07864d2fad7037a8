import SandyqCore

/// Reports as one self-contained HTML file each: inline CSS, no script, no image, no
/// external resource (a Content-Security-Policy forbids loading any), printable (print
/// styles, rows kept whole) and readable on a phone (tables become cards under 40rem).
/// Headings are in English and Russian; data carries a `lang` attribute for its own language.
public enum ReportHTML {
    // MARK: dossier

    public static func dossier(_ r: DossierReport) -> String {
        var h = Page(title: "\(ReportLabels.dossier.en): \(r.field("title") ?? r.persons.first?.value("name") ?? r.caseId)", lang: r.language)
        h.raw("<header>")
        h.heading(1, ReportLabels.dossier)
        if let t = r.field("title") { h.raw("<p class=\"lead\"\(h.langAttr(t))>\(esc(t))</p>") }
        var meta: [(ReportLabels.Bilingual, String, Bool)] = [
            (ReportLabels.field("caseId"), r.caseId, true),
        ]
        if let x = r.field("ref") { meta.append((ReportLabels.field("ref"), x, false)) }
        if let x = r.field("status") { meta.append((ReportLabels.field("status"), ReportLabels.value("status", x), false)) }
        if let x = r.field("statusDate") { meta.append((ReportLabels.field("statusDate"), x, false)) }
        if let x = r.field("city") { meta.append((ReportLabels.field("city"), x, false)) }
        if let x = r.field("region") { meta.append((ReportLabels.field("region"), x, false)) }
        if !r.tags.isEmpty { meta.append((ReportLabels.field("tags"), r.tags.joined(separator: ", "), false)) }
        if let m = r.mergedInto { meta.append((ReportLabels.field("mergedInto"), m, true)) }
        if !r.mergedFrom.isEmpty { meta.append((ReportLabels.Bilingual(en: "Merged from", ru: "Присоединены дела"), r.mergedFrom.joined(separator: ", "), true)) }
        meta.append((ReportLabels.reportDate, r.generated, false))
        if let by = r.generatedBy { meta.append((ReportLabels.Bilingual(en: "Prepared on node", ru: "Подготовлено на узле"), by, true)) }
        meta.append((ReportLabels.Bilingual(en: "Project", ru: "Проект"), r.project, true))
        h.meta(meta)
        h.raw("</header>")

        if let s = r.caseFields.first(where: { $0.field == "summary" }) {
            h.section(ReportLabels.summary) { h in
                h.raw("<p\(h.langAttr(s.value))>\(esc(s.value))</p>")
                h.prov(s.provenance)
            }
        }
        h.section(ReportLabels.persons) { h in h.items(r.persons, columns: ["name", "aliases", "birthYear", "city", "affiliation"]) }
        h.section(ReportLabels.statusHistory) { h in
            if r.statusHistory.isEmpty { h.none(); return }
            h.table(headers: [ReportLabels.field("status"), ReportLabels.field("date"), ReportLabels.recordedBy]) { h in
                for s in r.statusHistory {
                    h.row([
                        .text(ReportLabels.value("status", s.status) + (s.current ? " ✓" : "")),
                        .nowrap(s.date ?? "—"),
                        .prov([s.provenance]),
                    ], headers: [ReportLabels.field("status"), ReportLabels.field("date"), ReportLabels.recordedBy])
                }
            }
        }
        h.section(ReportLabels.charges) { h in h.items(r.charges, columns: ["code", "article", "part", "description", "stage"]) }
        h.section(ReportLabels.timeline) { h in h.items(r.timeline, columns: ["date", "type", "place", "description", "sources"]) }
        h.section(ReportLabels.officials) { h in h.items(r.officials, columns: ["name", "agency", "position", "act"]) }
        for s in DossierReport.deeperSections {
            if let items = r.deeper(s.collection) { h.section(s.title) { h in h.items(items, columns: s.columns, in: s.collection) } }
        }
        if let lines = r.chronology, !lines.isEmpty {
            h.section(ReportLabels.chronology) { h in
                let hd = [ReportLabels.field("date"), ReportLabels.Bilingual(en: "What", ru: "Что"), ReportLabels.Bilingual(en: "Details", ru: "Подробности")]
                h.table(headers: hd) { h in
                    for l in lines { h.row([.nowrap(l.date), .text(ReportLabels.chronologyKind(l)), .text(l.text)], headers: hd) }
                }
            }
        }
        h.section(ReportLabels.sources) { h in h.items(r.sources, columns: ["kind", "reference", "reliability", "relation", "consent", "note"]) }
        h.section(ReportLabels.aid) { h in h.items(r.aid, columns: ["date", "kind", "description", "provider"]) }
        if let files = r.evidence {
            h.section(ReportLabels.evidence) { h in
                if files.isEmpty { h.none(); return }
                let hd = ReportLabels.evidenceColumns
                h.table(headers: hd) { h in
                    for f in files {
                        h.row([.text(f.name + " (" + f.type + ")"), .code(f.sha256), .nowrap(String(f.size)), .prov([f.attached]),
                               .text(ReportLabels.holders(f))], headers: hd)
                    }
                }
            }
        }
        h.section(ReportLabels.conflicts) { h in
            if r.conflicts.isEmpty { h.none(); return }
            let hd = [ReportLabels.Bilingual(en: "Field", ru: "Поле"), ReportLabels.Bilingual(en: "Value", ru: "Значение"), ReportLabels.recordedBy]
            h.table(headers: hd) { h in
                for k in r.conflicts {
                    for v in k.values {
                        h.row([.text(k.field), .text(v.value + (v.shown ? " (shown · показано)" : "")), .prov([v.provenance])], headers: hd)
                    }
                }
            }
        }
        if let n = r.caseFields.first(where: { $0.field == "notes" }) {
            h.section(ReportLabels.notes) { h in
                h.raw("<p\(h.langAttr(n.value))>\(esc(n.value))</p>")
                h.prov(n.provenance)
            }
        }
        h.section(ReportLabels.custody) { h in
            h.raw("<p class=\"note\">Every fact above names the member who recorded it (key fingerprint) and the signed op that carries it; "
                + "the ops are listed here in full. Each op is signed with its author's Ed25519 key and can be checked on any replica with "
                + "<code>sandyq log</code>. <span lang=\"ru\">Каждый факт выше указывает, кто его внёс (отпечаток ключа), и подписанную "
                + "операцию, в которой он записан; здесь операции перечислены полностью.</span></p>")
            let hd = [ReportLabels.Bilingual(en: "Time", ru: "Время"), ReportLabels.Bilingual(en: "Author", ru: "Автор"),
                      ReportLabels.Bilingual(en: "Op id", ru: "Идентификатор операции"), ReportLabels.Bilingual(en: "Changes", ru: "Изменения")]
            h.table(headers: hd, className: "custody") { h in
                for c in r.custody {
                    h.row([.nowrap(c.provenance.time ?? "—"), .code(c.provenance.author), .code(c.provenance.op), .text(c.changes)], headers: hd)
                }
            }
        }
        h.footer(r.generated, r.generatedBy)
        return h.finish()
    }

    // MARK: sanctions

    public static func sanctions(_ r: SanctionsReport) -> String {
        var h = Page(title: ReportLabels.sanctions.en, lang: "ru")
        h.raw("<header>")
        h.heading(1, ReportLabels.sanctions)
        h.meta([
            (ReportLabels.reportDate, r.generated, false),
            (ReportLabels.Bilingual(en: "Cases covered", ru: "Охвачено дел"), "\(r.caseCount)", false),
            (ReportLabels.Bilingual(en: "Officials", ru: "Должностных лиц"), "\(r.officials.count)", false),
            (ReportLabels.Bilingual(en: "Project", ru: "Проект"), r.project, true),
        ] + (r.generatedBy.map { [(ReportLabels.Bilingual(en: "Prepared on node", ru: "Подготовлено на узле"), $0, true)] } ?? []))
        h.raw("</header>")
        let hd = [ReportLabels.Bilingual(en: "#", ru: "№"), ReportLabels.field("name"), ReportLabels.field("agency"),
                  ReportLabels.field("position"), ReportLabels.field("involvement"), ReportLabels.cases]
        func degrees(_ d: [String]?) -> String { (d ?? []).map { ReportLabels.value("involvement", $0) }.joined(separator: "; ") }
        h.section(ReportLabels.Bilingual(en: "Overview", ru: "Сводка")) { h in
            if r.officials.isEmpty { h.none(); return }
            h.table(headers: hd) { h in
                for (i, o) in r.officials.enumerated() {
                    h.row([.text("\(i + 1)"), .link("#official-\(i + 1)", o.name),
                           .text(o.agencies.map { ReportLabels.value("agency", $0) }.joined(separator: "; ")),
                           .text(o.positions.joined(separator: "; ")), .text(degrees(o.involvement)), .text("\(o.caseCount)")], headers: hd)
                }
            }
        }
        for (i, o) in r.officials.enumerated() {
            h.raw("<section id=\"official-\(i + 1)\" class=\"official\">")
            h.raw("<h2\(h.langAttr(o.name))>\(i + 1). \(esc(o.name))</h2>")
            var meta: [(ReportLabels.Bilingual, String, Bool)] = []
            if o.variants.count > 1 { meta.append((ReportLabels.field("aliases"), o.variants.dropFirst().joined(separator: ", "), false)) }
            meta.append((ReportLabels.field("agency"), o.agencies.map { ReportLabels.value("agency", $0) }.joined(separator: "; "), false))
            if !o.positions.isEmpty { meta.append((ReportLabels.field("position"), o.positions.joined(separator: "; "), false)) }
            meta.append((ReportLabels.cases, "\(o.caseCount)", false))
            h.meta(meta)
            let ch = [ReportLabels.field("caseId"), ReportLabels.persons, ReportLabels.field("status"), ReportLabels.field("act"),
                      ReportLabels.field("involvement"), ReportLabels.recordedBy]
            h.table(headers: ch) { h in
                for c in o.cases {
                    h.row([.html((c.ref.map { "\(esc($0))<br>" } ?? "") + "<code>\(c.caseId.prefix(8))</code>"), .text(c.persons.joined(separator: ", ")),
                           .text(c.status.map { ReportLabels.value("status", $0) } ?? "—"), .text(c.act ?? "—"),
                           .text(c.involvement == nil ? "—" : degrees(c.involvement) + ": " + (c.violations ?? []).map { ReportLabels.value("type", $0) }.joined(separator: ", ")),
                           .prov(c.provenance.map { [$0] } ?? [])], headers: ch)
                }
            }
            if !o.sources.isEmpty {
                h.raw("<h3>\(ReportLabels.sources.en) <span class=\"ru\" lang=\"ru\">· \(ReportLabels.sources.ru)</span></h3><ul class=\"sources\">")
                for s in o.sources { h.raw("<li>\(linkOrText(s))</li>") }
                h.raw("</ul>")
            }
            h.raw("</section>")
        }
        h.footer(r.generated, r.generatedBy)
        return h.finish()
    }

    // MARK: monitoring

    public static func monitoring(_ r: MonitoringReport) -> String {
        var h = Page(title: ReportLabels.monitoring.en, lang: "ru")
        h.raw("<header>")
        h.heading(1, ReportLabels.monitoring)
        h.meta([
            (ReportLabels.reportDate, r.generated, false),
            (ReportLabels.Bilingual(en: "Cases", ru: "Дел"), "\(r.totalCases)", false),
            (ReportLabels.Bilingual(en: "Project", ru: "Проект"), r.project, true),
        ] + (r.generatedBy.map { [(ReportLabels.Bilingual(en: "Prepared on node", ru: "Подготовлено на узле"), $0, true)] } ?? []))
        h.raw("</header>")
        for (title, buckets) in [(ReportLabels.byStatus, r.byStatus), (ReportLabels.byCharge, r.byCharge),
                                 (ReportLabels.byCity, r.byCity), (ReportLabels.byMonth, r.byMonth)] {
            h.section(title) { h in
                if buckets.isEmpty { h.none(); return }
                let hd = [ReportLabels.Bilingual(en: "Group", ru: "Группа"), ReportLabels.count, ReportLabels.cases]
                h.table(headers: hd) { h in
                    for b in buckets {
                        let names = b.cases.map { c in (c.ref.map { "\($0): " } ?? "\(c.caseId.prefix(8)): ") + c.persons.joined(separator: ", ") }
                        h.row([.text(b.label), .number(b.count), .text(names.joined(separator: "; "))], headers: hd)
                    }
                }
            }
        }
        h.footer(r.generated, r.generatedBy)
        return h.finish()
    }

    // MARK: building blocks

    static let css = """
    :root{--fg:#161616;--muted:#555;--line:#c9c9c9;--head:#f1efe9;--accent:#8a1c1c}
    *{box-sizing:border-box}
    html{-webkit-text-size-adjust:100%}
    body{margin:0;padding:1rem;color:var(--fg);background:#fff;font:16px/1.5 "Noto Sans","DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
    main{max-width:64rem;margin:0 auto}
    h1{font-size:1.6rem;margin:0 0 .3rem;color:var(--accent)}
    h2{font-size:1.2rem;margin:1.8rem 0 .6rem;padding-bottom:.2rem;border-bottom:2px solid var(--accent)}
    h3{font-size:1rem;margin:1rem 0 .4rem}
    .ru{color:var(--muted);font-weight:normal}
    .lead{font-size:1.15rem;margin:.2rem 0 1rem}
    dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0 1rem}
    dl.meta dt{color:var(--muted)}
    dl.meta dd{margin:0;overflow-wrap:anywhere}
    .tbl{overflow-x:auto}
    table{border-collapse:collapse;width:100%;font-size:.93rem}
    th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
    td.nw{white-space:nowrap}
    td .prov,td code,td a,td .ref{overflow-wrap:anywhere}
    th{background:var(--head);font-weight:600}
    th .ru{display:block;font-size:.8rem}
    td.num{text-align:right;font-variant-numeric:tabular-nums}
    code,.prov{font-family:"DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}
    .prov{color:var(--muted);display:block;margin-top:.2rem}
    .custody code{word-break:break-all}
    .none{color:var(--muted);font-style:italic}
    .note{color:var(--muted);font-size:.9rem}
    footer{margin-top:2rem;padding-top:.5rem;border-top:1px solid var(--line);color:var(--muted);font-size:.85rem}
    a{color:var(--accent)}
    @media (max-width:40rem){
      body{padding:.6rem;font-size:15px}
      dl.meta{grid-template-columns:1fr}
      dl.meta dd{margin-bottom:.3rem}
      table.cards thead{display:none}
      table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
      table.cards tr{border:1px solid var(--line);margin:0 0 .6rem;padding:.2rem 0}
      table.cards td{border:0;border-bottom:1px solid #eee}
      table.cards td:last-child{border-bottom:0}
      table.cards td::before{content:attr(data-label);display:block;font-size:.75rem;color:var(--muted)}
    }
    @media print{
      body{padding:0;font-size:10.5pt}
      h2{break-after:avoid}
      tr,dl.meta{break-inside:avoid}
      .tbl{overflow:visible}
      a{color:inherit;text-decoration:none}
      @page{margin:14mm}
    }
    """

    /// A page under construction.
    struct Page {
        var out: String
        let lang: String

        init(title: String, lang: String) {
            self.lang = lang
            out = "<!DOCTYPE html>\n<html lang=\"\(lang)\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
                + "<meta name=\"generator\" content=\"sandyq\">\n"
                + "<title>\(esc(title))</title>\n<style>\n\(ReportHTML.css)\n</style>\n</head>\n<body>\n<main>\n"
        }

        mutating func raw(_ s: String) { out += s; out += "\n" }

        /// ` lang="xx"` when `text` is in another language than the page, else nothing.
        func langAttr(_ text: String) -> String {
            guard let l = ReportLabels.language(of: text), l != lang else { return "" }
            return " lang=\"\(l)\""
        }

        mutating func heading(_ level: Int, _ b: ReportLabels.Bilingual) {
            raw("<h\(level)><span lang=\"en\">\(esc(b.en))</span> <span class=\"ru\" lang=\"ru\">· \(esc(b.ru))</span></h\(level)>")
        }

        mutating func section(_ b: ReportLabels.Bilingual, _ body: (inout Page) -> Void) {
            raw("<section>")
            heading(2, b)
            body(&self)
            raw("</section>")
        }

        mutating func meta(_ rows: [(ReportLabels.Bilingual, String, Bool)]) {
            raw("<dl class=\"meta\">")
            for (k, v, isCode) in rows {
                let value = isCode ? "<code>\(esc(v))</code>" : "<span\(langAttr(v))>\(esc(v))</span>"
                raw("<dt>\(esc(k.en)) <span class=\"ru\" lang=\"ru\">· \(esc(k.ru))</span></dt><dd>\(value)</dd>")
            }
            raw("</dl>")
        }

        mutating func none() { raw("<p class=\"none\">\(esc(ReportLabels.none.en)) · <span lang=\"ru\">\(esc(ReportLabels.none.ru))</span></p>") }

        mutating func prov(_ p: ReportProvenance?) {
            guard let p else { return }
            raw("<span class=\"prov\">\(ReportHTML.provText([p]))</span>")
        }

        enum Cell {
            case text(String)
            /// A short value kept on one line (a date).
            case nowrap(String)
            case code(String)
            case number(Int)
            case link(String, String)
            case prov([ReportProvenance])
            case html(String)
        }

        mutating func table(headers: [ReportLabels.Bilingual], className: String = "", _ rows: (inout Page) -> Void) {
            raw("<div class=\"tbl\"><table class=\"cards \(className)\"><thead><tr>"
                + headers.map { "<th scope=\"col\">\(esc($0.en))<span class=\"ru\" lang=\"ru\">\(esc($0.ru))</span></th>" }.joined()
                + "</tr></thead><tbody>")
            rows(&self)
            raw("</tbody></table></div>")
        }

        mutating func row(_ cells: [Cell], headers: [ReportLabels.Bilingual]) {
            var s = "<tr>"
            for (i, c) in cells.enumerated() {
                let label = i < headers.count ? " data-label=\"\(esc(headers[i].plain))\"" : ""
                switch c {
                case let .text(t): s += "<td\(label)\(langAttr(t))>\(ReportHTML.brs(esc(t)))</td>"
                case let .nowrap(t): s += "<td class=\"nw\"\(label)>\(esc(t))</td>"
                case let .code(t): s += "<td\(label)><code>\(esc(t))</code></td>"
                case let .number(n): s += "<td class=\"num\"\(label)>\(n)</td>"
                case let .link(href, t): s += "<td\(label)\(langAttr(t))><a href=\"\(esc(href))\">\(esc(t))</a></td>"
                case let .prov(ps): s += "<td\(label)><span class=\"prov\">\(ReportHTML.provText(ps))</span></td>"
                case let .html(x): s += "<td\(label)>\(x)</td>"
                }
            }
            raw(s + "</tr>")
        }

        /// A collection as a table: the given columns that any item fills, then who recorded it.
        mutating func items(_ items: [DossierReport.Item], columns: [String], in collection: String = "") {
            if items.isEmpty { none(); return }
            let used = columns.filter { c in items.contains { $0.value(c) != nil } }
            let headers = used.map { ReportLabels.field($0, in: collection) } + [ReportLabels.recordedBy]
            table(headers: headers) { h in
                for it in items {
                    var cells: [Cell] = used.map { c in
                        guard let v = it.value(c) else { return .text("") }
                        switch c {
                        case "reference", "sources":
                            return .html(v.split(separator: "\n").map { ReportHTML.linkOrText(String($0)) }.joined(separator: "<br>"))
                        case "aliases": return .text(v.split(separator: "\n").joined(separator: ", "))
                        case "date", "birthYear", "article", "part", "from", "until", "verdictDate": return .nowrap(v)
                        default: return .text(ReportLabels.value(c, v))
                        }
                    }
                    cells.append(.prov(it.provenance))
                    h.row(cells, headers: headers)
                }
            }
        }

        mutating func footer(_ generated: String, _ by: String?) {
            raw("<footer><p>Generated by sandyq on \(esc(generated))\(by.map { " on node \(esc($0))" } ?? ""). "
                + "Op ids are BLAKE2b-256 hashes of signed envelopes; fingerprints identify members' signing keys. "
                + "<span lang=\"ru\">Сформировано sandyq \(esc(generated)). Идентификаторы операций — хэши подписанных записей; "
                + "отпечатки указывают ключи участников.</span></p></footer>")
        }

        mutating func finish() -> String {
            raw("</main>\n</body>\n</html>")
            return out
        }
    }

    static func provText(_ ps: [ReportProvenance]) -> String {
        ps.map { p in
            "<span title=\"op \(esc(p.op))\(p.time.map { ", \(esc($0))" } ?? "")\">\(esc(p.author)) · op \(esc(String(p.op.prefix(12))))</span>"
        }.joined(separator: "<br>")
    }

    static func linkOrText(_ s: String) -> String {
        if s.hasPrefix("https://") || s.hasPrefix("http://") { return "<a href=\"\(esc(s))\">\(esc(s))</a>" }
        return "<span class=\"ref\">\(esc(s))</span>"
    }

    /// Escapes text for HTML content and attribute values. Works per Unicode scalar, not per
    /// Character: a grapheme such as U+0600 followed by `<` is one Character that is not equal
    /// to "<", yet the browser's tokenizer sees the `<` (issue 13: a `<meta refresh>` survived).
    public static func esc(_ s: String) -> String {
        // A String, not a UnicodeScalarView: appending to the view is quadratic here.
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            // NUL and other C0 controls but tab and line breaks are parse errors in HTML: drop them.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{E}"..."\u{1F}", "\u{7F}": continue
            default: o.unicodeScalars.append(u)
            }
        }
        return o
    }

    /// Line breaks as <br>, per scalar (CR LF is one break).
    static func brs(_ s: String) -> String {
        var o = ""
        var lastCR = false
        for u in s.unicodeScalars {
            switch u {
            case "\n" where lastCR: break
            case _ where u.isLineBreak: o += "<br>"
            default: o.unicodeScalars.append(u)
            }
            lastCR = u == "\r"
        }
        return o
    }
}

extension Unicode.Scalar {
    /// What `Character.isNewline` calls a line break, for per-scalar escaping.
    var isLineBreak: Bool {
        switch value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }
}
