import SandyqCore

/// Reports as Markdown (GitHub-flavoured tables), for pasting into documents and messages.
public enum ReportMarkdown {
    public static func dossier(_ r: DossierReport) -> String {
        var o: [String] = []
        o.append("# \(h(ReportLabels.dossier))")
        if let t = r.field("title") { o.append(""); o.append("**\(inline(t))**") }
        o.append("")
        var meta: [(ReportLabels.Bilingual, String)] = [(ReportLabels.field("caseId"), "`\(r.caseId)`")]
        if let x = r.field("ref") { meta.append((ReportLabels.field("ref"), inline(x))) }
        if let x = r.field("status") { meta.append((ReportLabels.field("status"), ReportLabels.value("status", x))) }
        if let x = r.field("statusDate") { meta.append((ReportLabels.field("statusDate"), x)) }
        if let x = r.field("city") { meta.append((ReportLabels.field("city"), inline(x))) }
        if let x = r.field("region") { meta.append((ReportLabels.field("region"), inline(x))) }
        if !r.tags.isEmpty { meta.append((ReportLabels.field("tags"), inline(r.tags.joined(separator: ", ")))) }
        if let m = r.mergedInto { meta.append((ReportLabels.field("mergedInto"), "`\(m)`")) }
        if !r.mergedFrom.isEmpty { meta.append((ReportLabels.Bilingual(en: "Merged from", ru: "Присоединены дела"), r.mergedFrom.map { "`\($0)`" }.joined(separator: ", "))) }
        meta.append((ReportLabels.reportDate, r.generated))
        if let by = r.generatedBy { meta.append((ReportLabels.Bilingual(en: "Prepared on node", ru: "Подготовлено на узле"), "`\(by)`")) }
        for (k, v) in meta { o.append("- **\(k.en)** · \(k.ru): \(v)") }

        if let s = r.caseFields.first(where: { $0.field == "summary" }) {
            o.append(""); o.append("## \(h(ReportLabels.summary))"); o.append("")
            o.append(inline(s.value)); o.append(""); o.append("_\(prov(s.provenance))_")
        }
        section(&o, ReportLabels.persons, r.persons, ["name", "aliases", "birthYear", "city", "affiliation"])
        o.append(""); o.append("## \(h(ReportLabels.statusHistory))"); o.append("")
        if r.statusHistory.isEmpty { o.append(none) } else {
            o += table([ReportLabels.field("status"), ReportLabels.field("date"), ReportLabels.recordedBy],
                       r.statusHistory.map { [ReportLabels.value("status", $0.status) + ($0.current ? " ✓" : ""), $0.date ?? "—", prov($0.provenance)] })
        }
        section(&o, ReportLabels.charges, r.charges, ["code", "article", "part", "description", "stage"])
        section(&o, ReportLabels.timeline, r.timeline, ["date", "type", "place", "description", "sources"])
        section(&o, ReportLabels.officials, r.officials, ["name", "agency", "position", "act"])
        for s in DossierReport.deeperSections { if let items = r.deeper(s.collection) { section(&o, s.title, items, s.columns, in: s.collection) } }
        if let lines = r.chronology, !lines.isEmpty {
            o.append(""); o.append("## \(h(ReportLabels.chronology))"); o.append("")
            o += table([ReportLabels.field("date"), ReportLabels.Bilingual(en: "What", ru: "Что"), ReportLabels.Bilingual(en: "Details", ru: "Подробности")],
                       lines.map { [$0.date, ReportLabels.chronologyKind($0), $0.text] })
        }
        section(&o, ReportLabels.sources, r.sources, ["kind", "reference", "reliability", "relation", "consent", "note"])
        section(&o, ReportLabels.aid, r.aid, ["date", "kind", "description", "provider"])
        if let files = r.evidence {
            o.append(""); o.append("## \(h(ReportLabels.evidence))"); o.append("")
            if files.isEmpty { o.append(none) } else {
                o += table(ReportLabels.evidenceColumns, files.map {
                    [inline($0.name) + " (\($0.type))", "`\($0.sha256)`", String($0.size), prov($0.attached), inline(ReportLabels.holders($0))]
                })
            }
        }
        o.append(""); o.append("## \(h(ReportLabels.conflicts))"); o.append("")
        if r.conflicts.isEmpty { o.append(none) } else {
            o += table([ReportLabels.Bilingual(en: "Field", ru: "Поле"), ReportLabels.Bilingual(en: "Value", ru: "Значение"), ReportLabels.recordedBy],
                       r.conflicts.flatMap { k in k.values.map { [k.field, $0.value + ($0.shown ? " (shown · показано)" : ""), prov($0.provenance)] } })
        }
        if let n = r.caseFields.first(where: { $0.field == "notes" }) {
            o.append(""); o.append("## \(h(ReportLabels.notes))"); o.append("")
            o.append(inline(n.value)); o.append(""); o.append("_\(prov(n.provenance))_")
        }
        o.append(""); o.append("## \(h(ReportLabels.custody))"); o.append("")
        o += table([ReportLabels.Bilingual(en: "Time", ru: "Время"), ReportLabels.Bilingual(en: "Author", ru: "Автор"),
                    ReportLabels.Bilingual(en: "Op id", ru: "Идентификатор операции"), ReportLabels.Bilingual(en: "Changes", ru: "Изменения")],
                   r.custody.map { [$0.provenance.time ?? "—", "`\($0.provenance.author)`", "`\($0.provenance.op)`", $0.changes] })
        o.append(""); o.append("---"); o.append("")
        o.append("_Generated by sandyq on \(r.generated). Each fact names its author's key fingerprint and the signed op that carries it. "
                 + "Сформировано sandyq \(r.generated); у каждого факта указаны отпечаток ключа автора и подписанная операция._")
        return o.joined(separator: "\n") + "\n"
    }

    public static func monitoring(_ r: MonitoringReport) -> String {
        var o: [String] = ["# \(h(ReportLabels.monitoring))", ""]
        o.append("- **\(ReportLabels.reportDate.en)** · \(ReportLabels.reportDate.ru): \(r.generated)")
        o.append("- **Cases** · Дел: \(r.totalCases)")
        o.append("- **Project** · Проект: `\(r.project)`")
        for (title, buckets) in [(ReportLabels.byStatus, r.byStatus), (ReportLabels.byCharge, r.byCharge),
                                 (ReportLabels.byCity, r.byCity), (ReportLabels.byMonth, r.byMonth)] {
            o.append(""); o.append("## \(h(title))"); o.append("")
            if buckets.isEmpty { o.append(none); continue }
            o += table([ReportLabels.Bilingual(en: "Group", ru: "Группа"), ReportLabels.count, ReportLabels.cases], buckets.map { b in
                [b.label, "\(b.count)", b.cases.map { c in (c.ref ?? String(c.caseId.prefix(8))) + ": " + c.persons.joined(separator: ", ") }.joined(separator: "; ")]
            })
        }
        o.append("")
        return o.joined(separator: "\n")
    }

    static let none = "_\(ReportLabels.none.en) · \(ReportLabels.none.ru)_"

    static func h(_ b: ReportLabels.Bilingual) -> String { "\(b.en) · \(b.ru)" }

    static func prov(_ p: ReportProvenance?) -> String {
        guard let p else { return "" }
        return "\(p.author) · op \(p.op.prefix(12))"
    }

    static func section(_ o: inout [String], _ title: ReportLabels.Bilingual, _ items: [DossierReport.Item], _ columns: [String],
                        in collection: String = "") {
        o.append(""); o.append("## \(h(title))"); o.append("")
        if items.isEmpty { o.append(none); return }
        let used = columns.filter { c in items.contains { $0.value(c) != nil } }
        o += table(used.map { ReportLabels.field($0, in: collection) } + [ReportLabels.recordedBy], items.map { it in
            used.map { c in
                guard let v = it.value(c) else { return "" }
                return c == "aliases" || c == "sources" ? v.split(separator: "\n").joined(separator: ", ") : ReportLabels.value(c, v)
            } + [it.provenance.map { prov($0) }.joined(separator: "; ")]
        })
    }

    static func table(_ headers: [ReportLabels.Bilingual], _ rows: [[String]]) -> [String] {
        var o = ["| " + headers.map { "\($0.en) · \($0.ru)" }.map(cell).joined(separator: " | ") + " |",
                 "|" + String(repeating: " --- |", count: headers.count)]
        for r in rows { o.append("| " + r.map(cell).joined(separator: " | ") + " |") }
        return o
    }

    /// A table cell: no pipes or line breaks of its own.
    static func cell(_ s: String) -> String {
        // Per scalar: a prepended or combining mark must not hide a pipe or a `<` inside one Character.
        var o = ""
        for u in s.unicodeScalars {
            if u == "|" { o += "\\|" } else if u == "<" || u == ">" { o += "\\"; o.unicodeScalars.append(u) }
            else if u.isLineBreak { o += "<br>" } else { o.unicodeScalars.append(u) }
        }
        return o
    }

    /// Running text: line breaks kept as Markdown hard breaks; leading markup characters escaped.
    static func inline(_ s: String) -> String {
        var o = ""
        for u in s.unicodeScalars {
            if u.isLineBreak { o += "  \n" } else if "*_`[]<>#\\".unicodeScalars.contains(u) { o += "\\"; o.unicodeScalars.append(u) }
            else { o.unicodeScalars.append(u) }
        }
        return o
    }
}
