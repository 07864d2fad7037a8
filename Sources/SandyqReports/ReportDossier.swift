import SandyqCore
import SandyqCrypto

/// Who wrote a fact and in which op: the chain of custody of one value.
public struct ReportProvenance: Codable, Sendable, Equatable, Hashable {
    /// The op id, hex.
    public var op: String
    /// The author's fingerprint (NodeID.fingerprint).
    public var author: String
    /// When the author's clock says it was written, UTC; nil when not known.
    public var time: String?

    public init(op: String, author: String, time: String?) {
        self.op = op
        self.author = author
        self.time = time
    }
}

/// A dossier of one case, for a court or a UN body: everything the reader can see of the
/// case, each fact with its author and op.
public struct DossierReport: Codable, Sendable {
    /// The deeper sections of a dossier in the order they print, with the columns each shows.
    public static let deeperSections: [(collection: String, title: ReportLabels.Bilingual, columns: [String])] = [
        ("acts", ReportLabels.acts, ["date", "type", "victim", "datePrecision", "place", "consequences", "description"]),
        ("perpetrators", ReportLabels.perpetrators, ["official", "involvement", "violation", "note"]),
        ("detentions", ReportLabels.detentions, ["person", "type", "facility", "from", "until", "whereabouts", "counsel", "familyContact", "conditions"]),
        ("trials", ReportLabels.trials, ["court", "caseNumber", "judge", "prosecutor", "verdict", "verdictDate", "sentenceKind", "sentenceTerm", "bans", "appeal"]),
        ("interventions", ReportLabels.interventions, ["date", "body", "kind", "reference", "progress", "response"]),
    ]

    /// The items of one of the deeper sections; nil when the case has none.
    public func deeper(_ collection: String) -> [Item]? {
        switch collection {
        case "acts": acts
        case "perpetrators": perpetrators
        case "detentions": detentions
        case "trials": trials
        case "interventions": interventions
        default: nil
        }
    }

    /// What a link shows when its element was taken out of the case.
    public static let removed = "(removed · удалено)"

    /// How a report names the element a link points at: a person by name, an official with their
    /// agency, an act by what was done and when; else the collection's label field.
    static func linkName(_ state: CaseState, _ collection: String, _ element: String) -> String {
        let fields = ["persons": ["name"], "officials": ["name", "agency"], "acts": ["type", "date"]][collection]
            ?? [CaseSchema.collection(collection)?.label ?? ""]
        return fields.compactMap { f -> String? in
            guard let x = state.value(collection, element, f), !x.isEmpty else { return nil }
            return f == "agency" || f == "type" ? ReportLabels.value(f, x) : x
        }.joined(separator: ", ")
    }

    public struct Fact: Codable, Sendable {
        public var field: String
        /// The value; for a link (an act's victim), the name of the element it links to.
        public var value: String
        public var provenance: ReportProvenance?
        /// For a link, the element id it names (nil when that element was removed: `value` says so).
        public var link: String?

        public init(field: String, value: String, provenance: ReportProvenance?, link: String? = nil) {
            self.field = field
            self.value = value
            self.provenance = provenance
            self.link = link
        }
    }

    /// One dated line of the case's chronology: whatever the case records with a date.
    public struct ChronologyEntry: Codable, Sendable, Equatable {
        public var date: String
        /// Where it comes from: `events`, `acts`, `detentions`, `trials`, `interventions`, `status`.
        public var collection: String
        /// The element, when it is one.
        public var element: String?
        /// The closed-list field and value that say what it was (`type` = `arbitrary_detention`).
        public var field: String
        public var kind: String
        /// Words the record holds about it: a place, a person, a description.
        public var text: String
    }

    /// One element of a collection: its fields in the model's order, and the ops behind them.
    public struct Item: Codable, Sendable {
        public var id: String
        public var fields: [Fact]
        public var provenance: [ReportProvenance]

        public func value(_ f: String) -> String? { fields.first { $0.field == f }?.value }
    }

    public struct StatusEntry: Codable, Sendable {
        public var status: String
        public var date: String?
        public var provenance: ReportProvenance
        /// Whether this is the status the case shows now.
        public var current: Bool
    }

    public struct Conflict: Codable, Sendable {
        public struct Value: Codable, Sendable {
            public var value: String
            public var provenance: ReportProvenance
            public var shown: Bool
        }
        public var field: String
        public var values: [Value]
    }

    public struct CustodyEntry: Codable, Sendable {
        public var provenance: ReportProvenance
        /// What the op did to this case, e.g. "set status, statusDate; added events ×2".
        public var changes: String
    }

    /// An attached file: what a court checks it against, who attached it, and who holds it.
    public struct EvidenceFile: Codable, Sendable {
        public struct Holder: Codable, Sendable {
            public var node: String
            public var role: String?
            /// The holder said it opened every chunk and matched the SHA-256.
            public var checked: Bool
            public var time: String?
            public init(node: String, role: String?, checked: Bool, time: String?) {
                self.node = node
                self.role = role
                self.checked = checked
                self.time = time
            }
        }
        public var id: String
        public var name: String
        public var type: String
        public var sha256: String
        public var size: Int
        public var attached: ReportProvenance
        /// Every chunk is on the node that wrote the dossier.
        public var complete: Bool
        /// The nodes that said, signed, they hold the whole file (the writer of the dossier first, when it does).
        public var heldBy: [Holder]
        public init(id: String, name: String, type: String, sha256: String, size: Int, attached: ReportProvenance, complete: Bool,
                    heldBy: [Holder]) {
            self.id = id
            self.name = name
            self.type = type
            self.sha256 = sha256
            self.size = size
            self.attached = attached
            self.complete = complete
            self.heldBy = heldBy
        }
    }

    public var generated: String
    public var generatedBy: String?
    public var project: String
    public var caseId: String
    /// BCP 47 tag of the case's data (kk, ru, uk, en).
    public var language: String
    public var caseFields: [Fact]
    public var tags: [String]
    public var archived: Bool
    public var mergedInto: String?
    /// Cases merged into this one.
    public var mergedFrom: [String]
    public var persons: [Item]
    public var statusHistory: [StatusEntry]
    public var charges: [Item]
    public var timeline: [Item]
    public var officials: [Item]
    public var sources: [Item]
    public var aid: [Item]
    /// The deeper model (nil in dossiers made before it): acts against victims, who took part, detention, trial, interventions.
    public var acts: [Item]?
    public var perpetrators: [Item]?
    public var detentions: [Item]?
    public var trials: [Item]?
    public var interventions: [Item]?
    /// Every dated record of the case in date order (a date given as a month sorts before that month's days).
    public var chronology: [ChronologyEntry]?
    public var conflicts: [Conflict]
    public var custody: [CustodyEntry]
    /// Attached files (filled by the node, which knows who holds them); nil in dossiers made before.
    public var evidence: [EvidenceFile]?

    public func field(_ f: String) -> String? { caseFields.first { $0.field == f }?.value }

    /// Builds the dossier of `state` as `view` shows it. `opAuthor` names the author of an op
    /// that wrote no field (a bare add or remove), which the case state does not record.
    public init(_ state: CaseState, view: ProjectView, generated: String, generatedBy: String? = nil,
                opAuthor: (OpID) -> SigningPublicKey? = { _ in nil }) {
        func fingerprint(_ k: SigningPublicKey) -> String {
            view.membership.members[k]?.node.fingerprint ?? Hex.encode(Hash.blake2b(k.bytes, length: 16).prefix(6))
        }
        func prov(_ w: Write) -> ReportProvenance {
            ReportProvenance(op: w.op.description, author: fingerprint(w.author), time: ReportLabels.utc(millis: HybridClock.millis(w.clock)))
        }
        self.generated = generated
        self.generatedBy = generatedBy
        project = view.project.description
        caseId = state.id.description
        archived = state.isArchived
        mergedInto = state.mergedTarget
        mergedFrom = view.orderedCases.filter { $0.mergedTarget == state.id.description }.map(\.id.description)
        tags = state.elements("tags")

        caseFields = ["ref", "title", "status", "statusDate", "city", "region", "summary", "notes"].compactMap { f in
            guard let w = state.register(FieldPath(field: f))?.winner, !w.value.isEmpty else { return nil }
            return Fact(field: f, value: w.value, provenance: prov(w))
        }

        func items(_ coll: String) -> [Item] {
            guard let c = CaseSchema.collection(coll) else { return [] }
            return state.elements(coll).map { e in
                var facts: [Fact] = []
                var provs: [ReportProvenance] = []
                for f in c.fields {
                    guard let w = state.register(FieldPath(collection: coll, element: e, field: f))?.winner, !w.value.isEmpty else { continue }
                    let p = prov(w)
                    if let target = c.links[f] {
                        let present = state.elements(target).contains(w.value)
                        facts.append(Fact(field: f, value: present ? Self.linkName(state, target, w.value) : Self.removed, provenance: p,
                                          link: present ? w.value : nil))
                    } else {
                        facts.append(Fact(field: f, value: w.value, provenance: p))
                    }
                    if !provs.contains(p) { provs.append(p) }
                }
                return Item(id: e, fields: facts, provenance: provs)
            }
        }
        func dated(_ coll: String, _ field: String = "date") -> [Item] {
            items(coll).sorted { ($0.value(field) ?? "9999", $0.id) < ($1.value(field) ?? "9999", $1.id) }
        }
        persons = items("persons")
        charges = items("charges")
        timeline = dated("events")
        officials = items("officials")
        sources = items("sources")
        aid = dated("aid")
        let deeper = (acts: dated("acts"), perpetrators: items("perpetrators"), detentions: dated("detentions", "from"),
                      trials: dated("trials", "verdictDate"), interventions: dated("interventions"))
        acts = deeper.acts.isEmpty ? nil : deeper.acts
        perpetrators = deeper.perpetrators.isEmpty ? nil : deeper.perpetrators
        detentions = deeper.detentions.isEmpty ? nil : deeper.detentions
        trials = deeper.trials.isEmpty ? nil : deeper.trials
        interventions = deeper.interventions.isEmpty ? nil : deeper.interventions

        let current = state.register(FieldPath(field: "status"))?.winner?.op
        statusHistory = state.statusHistory.map {
            StatusEntry(status: $0.status, date: $0.date, provenance: prov($0.write), current: $0.write.op == current)
        }
        var lines: [ChronologyEntry] = []
        func line(_ it: Item, _ coll: String, date: String, field: String, kind: String?, text: [String?]) {
            guard CaseSchema.isDate(date) else { return }
            lines.append(ChronologyEntry(date: date, collection: coll, element: it.id, field: field, kind: kind ?? "other",
                                         text: text.compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "; ")))
        }
        for e in timeline { if let d = e.value("date") { line(e, "events", date: d, field: "type", kind: e.value("type"), text: [e.value("place"), e.value("description")]) } }
        for a in deeper.acts {
            if let d = a.value("date") { line(a, "acts", date: d, field: "type", kind: a.value("type"), text: [a.value("victim"), a.value("place"), a.value("description")]) }
        }
        for x in deeper.detentions {
            if let d = x.value("from") { line(x, "detentions", date: d, field: "type", kind: x.value("type"), text: [x.value("person"), x.value("facility")]) }
            if let d = x.value("until") { line(x, "detentions", date: d, field: "until", kind: "until", text: [x.value("person"), x.value("facility")]) }
        }
        for t in deeper.trials {
            if let d = t.value("verdictDate") {
                line(t, "trials", date: d, field: "verdict", kind: t.value("verdict"), text: [t.value("court"), t.value("sentenceTerm"), t.value("caseNumber")])
            }
        }
        for i in deeper.interventions {
            if let d = i.value("date") { line(i, "interventions", date: d, field: "body", kind: i.value("body"),
                                                       text: [i.value("kind").map { ReportLabels.value("kind", $0) }, i.value("reference")]) }
        }
        for h in state.statusHistory {
            if let d = h.date, CaseSchema.isDate(d) {
                lines.append(ChronologyEntry(date: d, collection: "status", element: nil, field: "status", kind: h.status, text: ""))
            }
        }
        chronology = lines.sorted { ($0.date, $0.collection, $0.element ?? "") < ($1.date, $1.collection, $1.element ?? "") }

        conflicts = state.conflicts.map { k in
            let shown = k.writes.last?.op
            return Conflict(field: k.path.description, values: k.writes.map { Conflict.Value(value: $0.value, provenance: prov($0), shown: $0.op == shown) })
        }

        // Every op that touched the case, oldest first, with what it did here.
        var writesByOp: [OpID: [FieldPath]] = [:]
        var firstWrite: [OpID: Write] = [:]
        for (path, reg) in state.registers {
            for w in reg.writes.values {
                writesByOp[w.op, default: []].append(path)
                if firstWrite[w.op] == nil { firstWrite[w.op] = w }
            }
        }
        var addsByOp: [OpID: [String: Int]] = [:]
        for (coll, set) in state.sets where !coll.isEmpty {
            for (_, tags) in set.tags { for t in tags { addsByOp[t, default: [:]][coll, default: 0] += 1 } }
        }
        var rows: [(UInt64, CustodyEntry)] = []
        for op in state.ops {
            var parts: [String] = []
            let fields = (writesByOp[op] ?? []).filter { $0.collection.isEmpty }.map(\.field).sorted()
            if !fields.isEmpty { parts.append("set " + fields.joined(separator: ", ")) }
            let added = (addsByOp[op] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
            if !added.isEmpty { parts.append("added " + added.joined(separator: ", ")) }
            let elementEdits = Set((writesByOp[op] ?? []).filter { !$0.collection.isEmpty && (addsByOp[op]?[$0.collection] == nil) }.map(\.collection))
            if !elementEdits.isEmpty { parts.append("edited " + elementEdits.sorted().joined(separator: ", ")) }
            if parts.isEmpty { parts.append("removed or retracted elements") }
            let p: ReportProvenance
            if let w = firstWrite[op] {
                p = prov(w)
            } else {
                p = ReportProvenance(op: op.description, author: opAuthor(op).map(fingerprint) ?? "?", time: nil)
            }
            rows.append((firstWrite[op]?.clock ?? .max, CustodyEntry(provenance: p, changes: parts.joined(separator: "; "))))
        }
        custody = rows.sorted { ($0.0, $0.1.provenance.op) < ($1.0, $1.1.provenance.op) }.map(\.1)

        var texts = caseFields.filter { ["title", "summary", "notes"].contains($0.field) }.map(\.value)
        texts += persons.flatMap { $0.fields.map(\.value) } + timeline.compactMap { $0.value("description") }
        language = ReportLabels.language(ofAll: texts)
    }
}
