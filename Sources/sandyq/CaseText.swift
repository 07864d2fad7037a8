import SandyqNode

/// `case show --json`: the document, plus conflicts and the status history.
struct CaseJSON: Encodable {
    struct Conflict: Encodable { var field: String; var values: [String] }
    struct StatusEntry: Encodable { var status: String; var date: String?; var op: String }
    var caseId: String
    var document: CaseDocument
    var conflicts: [Conflict]
    var statusHistory: [StatusEntry]
    var ops: Int

    init(_ c: CaseState) {
        caseId = c.id.description
        document = c.document
        conflicts = c.conflicts.map { Conflict(field: $0.path.description, values: $0.writes.map(\.value)) }
        statusHistory = c.statusHistory.map { StatusEntry(status: $0.status, date: $0.date, op: $0.write.op.description) }
        ops = c.ops.count
    }
}

enum CaseText {
    static func render(_ c: CaseState) -> String {
        let d = c.document
        var out: [String] = []
        out.append("Case \(c.id)\(d.ref.map { "  (\($0))" } ?? "")\(c.isArchived ? "  [archived]" : "")")
        if let t = d.title { out.append("  \(t)") }
        out.append("  status:  \(d.status ?? "-")\(d.statusDate.map { " since \($0)" } ?? "")")
        if let city = d.city { out.append("  city:    \(city)\(d.region.map { ", \($0)" } ?? "")") }
        if let s = d.summary { out.append("  summary: \(s)") }
        for p in d.persons ?? [] {
            var extra: [String] = []
            if let a = p.aliases, !a.isEmpty { extra.append("also " + a.joined(separator: ", ")) }
            if let b = p.birthYear { extra.append("b. \(b)") }
            if let a = p.affiliation { extra.append(a) }
            out.append("  person   \(p.id ?? "")  \(p.name)\(extra.isEmpty ? "" : " (" + extra.joined(separator: "; ") + ")")")
        }
        for ch in d.charges ?? [] {
            out.append("  charge   \(ch.id ?? "")  \(ch.code ?? "") \(ch.article ?? "")\(ch.part.map { " part \($0)" } ?? "") \(ch.description ?? "") [\(ch.stage ?? "-")]")
        }
        for e in d.events ?? [] {
            out.append("  event    \(e.id ?? "")  \(e.date ?? "????-??-??")  \(e.type)  \(e.place ?? "")  \(e.description ?? "")")
        }
        for o in d.officials ?? [] {
            out.append("  official \(o.id ?? "")  \(o.name), \(o.agency ?? "-") \(o.position ?? "")\(o.act.map { ": \($0)" } ?? "")")
        }
        for s in d.sources ?? [] {
            out.append("  source   \(s.id ?? "")  \(s.kind ?? "-") \(s.reference) [\(s.reliability ?? "-")]\(s.relation.map { " from \($0)" } ?? "")\(s.consent.map { ", consent \($0)" } ?? "")")
        }
        for a in d.aid ?? [] { out.append("  aid      \(a.id ?? "")  \(a.kind) \(a.description ?? "")") }
        // A link is shown as what it names, by its label field, with the id to type in `--with`.
        func named(_ coll: String, _ id: String?) -> String {
            guard let id, let label = CaseSchema.collection(coll)?.label else { return "-" }
            return "\(c.value(coll, id, label) ?? "?") (\(id.prefix(8)))"
        }
        for a in d.acts ?? [] {
            out.append("  act      \(a.id ?? "")  \(a.date ?? "????")\(a.datePrecision.map { " (\($0))" } ?? "")  \(a.type)  victim \(named("persons", a.victim))  \(a.place ?? "")")
        }
        for p in d.perpetrators ?? [] {
            out.append("  responsible \(p.id ?? "")  \(named("officials", p.official)) \(p.involvement ?? "-") in act \(named("acts", p.violation))")
        }
        for x in d.detentions ?? [] {
            out.append("  detention \(x.id ?? "")  \(named("persons", x.person))  \(x.type ?? "-") \(x.facility ?? "")  \(x.from ?? "?")..\(x.until ?? "")"
                       + "  whereabouts \(x.whereabouts ?? "-"), counsel \(x.counsel ?? "-"), family \(x.familyContact ?? "-")")
        }
        for t in d.trials ?? [] {
            out.append("  trial    \(t.id ?? "")  \(t.court ?? "-") \(t.caseNumber ?? "")  judge \(named("officials", t.judge))  verdict \(t.verdict ?? "-")"
                       + "\(t.verdictDate.map { " \($0)" } ?? "")\(t.sentenceKind.map { ", \($0)" } ?? "")\(t.sentenceTerm.map { " \($0)" } ?? "")")
        }
        for i in d.interventions ?? [] {
            out.append("  intervention \(i.id ?? "")  \(i.date ?? "????")  \(i.body) \(i.kind ?? "") \(i.reference ?? "") [\(i.progress ?? "-")]")
        }
        // Attached files (`evidence list` says more); never the file key, which CaseState holds apart.
        for f in c.elements("evidence") {
            let v = { (k: String) in c.value("evidence", f, k) ?? "" }
            out.append("  file     \(f.prefix(8))  \(v("name")) (\(v("size")) B, \(v("type"))) sha256 \(v("sha256"))")
            for w in EvidenceEntry.metadataWarnings(meta: v("meta")) { out.append("           warning: \(w)") }
        }
        if let t = d.tags { out.append("  tags:    \(t.joined(separator: ", "))") }
        if let n = d.notes { out.append("  notes:   \(n)") }
        let history = c.statusHistory
        if history.count > 1 {
            out.append("  status history:")
            for h in history { out.append("    \(h.date ?? "?")  \(h.status)") }
        }
        for k in c.conflicts {
            out.append("  CONFLICT \(k.path): " + k.writes.map { "\"\($0.value)\"" }.joined(separator: " vs ") + " (showing the last)")
        }
        return out.joined(separator: "\n")
    }
}
