/// The case model: which fields and collections exist and which values they take.
/// Drawn from the seed documents and HURIDOCS' split of a record into events, acts,
/// victims, perpetrators, sources and interventions.
public enum CaseSchema {
    public static let statuses = [
        "under_investigation", "detained", "house_arrest", "restricted_freedom", "sentenced",
        "psychiatric_confinement", "released", "acquitted", "exile", "missing", "deceased",
    ]

    public static let caseFields = ["ref", "title", "status", "statusDate", "city", "region", "summary", "notes", "archived", "mergedInto"]

    public struct Collection: Sendable {
        public let name: String
        public let fields: [String]
        /// Fields whose values come from a closed list.
        public let choices: [String: [String]]
        /// The field that names an element in listings.
        public let label: String
        /// Written only by the command that owns it (`case attach`), never by `case set/add`,
        /// a merge or the desk's forms.
        public var system = false
        /// Fields kept out of every output (a file key): CaseState holds them apart.
        public var secret: [String] = []
        /// Fields whose value is the element id of another collection of the same case
        /// (an act's victim is one of the case's persons).
        public var links: [String: String] = [:]
        /// Fields holding a date (YYYY, YYYY-MM or YYYY-MM-DD).
        public var dates: [String] = []
        /// Fields sealed to coordinators only, never to a lawyer the case is shared with (a source's
        /// identity): written in an op of their own, in a session no grant to a lawyer hands over.
        public var withheld: [String] = []
    }

    /// What was done to a victim: the acts the seed documents describe.
    public static let actTypes = [
        "arbitrary_detention", "torture", "denial_of_medical_care", "forced_psychiatric_treatment", "activity_ban",
        "travel_ban", "red_notice", "extradition_request", "asset_freeze", "pressure_on_relatives", "prosecution",
        "surveillance", "other",
    ]

    public static let collections: [Collection] = [
        Collection(name: "persons", fields: ["name", "aliases", "birthYear", "city", "affiliation"], choices: [:], label: "name"),
        Collection(name: "charges", fields: ["code", "article", "part", "description", "stage"],
                   choices: ["code": ["criminal", "administrative"],
                             "stage": ["investigation", "trial", "convicted", "appeal", "dropped", "acquitted"]],
                   label: "article"),
        Collection(name: "events", fields: ["type", "date", "place", "description", "sources"],
                   choices: ["type": ["arrest", "search", "interrogation", "hearing", "verdict", "appeal", "transfer", "torture", "release", "other"]],
                   label: "type", dates: ["date"]),
        Collection(name: "officials", fields: ["name", "agency", "position", "act"],
                   choices: ["agency": ["police", "knb", "prosecutor", "court", "akimat", "penitentiary", "other"]],
                   label: "name"),
        Collection(name: "sources", fields: ["kind", "reference", "reliability", "note", "relation", "consent", "identity"],
                   choices: ["kind": ["document", "url", "witness", "media"],
                             "reliability": ["high", "medium", "low", "unverified"],
                             "relation": ["victim", "witness", "relative", "lawyer", "media", "official_document", "other"],
                             "consent": ["given", "limited", "not_asked", "withdrawn"]],
                   label: "reference", withheld: ["identity"]),
        Collection(name: "aid", fields: ["kind", "description", "date", "provider"],
                   choices: ["kind": ["legal", "humanitarian"]], label: "kind", dates: ["date"]),
        // HURIDOCS' "who did what to whom": an act against a victim, then who took part in it.
        // After persons and officials, which they link to, so a merge copies those first.
        Collection(name: "acts", fields: ["type", "victim", "date", "datePrecision", "place", "consequences", "description"],
                   choices: ["type": actTypes, "datePrecision": ["exact", "month", "year", "circa", "before", "after"]],
                   label: "type", links: ["victim": "persons"], dates: ["date"]),
        Collection(name: "perpetrators", fields: ["violation", "official", "involvement", "note"],
                   choices: ["involvement": ["gave_order", "carried_out", "failed_to_prevent", "complicit"]],
                   label: "official", links: ["violation": "acts", "official": "officials"]),
        Collection(name: "detentions", fields: ["person", "type", "facility", "from", "until", "whereabouts", "counsel", "familyContact", "conditions"],
                   choices: ["type": ["temporary_holding", "pretrial", "administrative", "house_arrest", "psychiatric", "penal_colony", "other"],
                             "whereabouts": ["disclosed", "denied", "unknown"],
                             "counsel": ["own", "state_appointed", "denied"],
                             "familyContact": ["allowed", "restricted", "denied"]],
                   label: "facility", links: ["person": "persons"], dates: ["from", "until"]),
        Collection(name: "trials", fields: ["court", "caseNumber", "judge", "prosecutor", "verdict", "verdictDate",
                                            "sentenceKind", "sentenceTerm", "bans", "appeal"],
                   choices: ["verdict": ["pending", "convicted", "acquitted", "dismissed", "returned"],
                             "sentenceKind": ["imprisonment", "restricted_freedom", "suspended", "fine", "compulsory_treatment", "none"]],
                   label: "court", links: ["judge": "officials", "prosecutor": "officials"], dates: ["verdictDate"]),
        Collection(name: "interventions", fields: ["body", "kind", "date", "reference", "progress", "response"],
                   choices: ["body": ["un_wgad", "un_hrc", "un_special_rapporteur", "european_parliament", "osce", "council_of_europe", "ngo", "government", "other"],
                             "kind": ["communication", "opinion", "urgent_appeal", "resolution", "letter", "protest", "statement"],
                             "progress": ["planned", "sent", "acknowledged", "answered", "decided", "closed"]],
                   label: "body", dates: ["date"]),
        // A tag's element id is the tag itself, so two people adding one tag add one element.
        Collection(name: "tags", fields: [], choices: [:], label: ""),
        // Lawyers the case is shared with; the element id is the lawyer's signing key in hex.
        Collection(name: "sharedWith", fields: [], choices: [:], label: ""),
        // Attached files; the element id is the file id in hex. Protocol/evidence.md.
        Collection(name: "evidence", fields: ["sha256", "size", "type", "chunks", "key", "name", "note", "meta", "stripped"],
                   choices: [:], label: "name", system: true, secret: ["key"]),
    ]

    /// Whether a field is secret: a hot path (every put a view applies), so no lookup for the rest.
    @inline(__always)
    public static func isSecret(_ path: FieldPath) -> Bool { path.field == "key" && path.collection == "evidence" }

    /// Whether a field is sealed to coordinators only (ops.md section 2, "Withheld fields").
    @inline(__always)
    public static func isWithheld(_ path: FieldPath) -> Bool { path.field == "identity" && path.collection == "sources" }

    /// Whether every case mutation of an op is a write of a withheld field: such an op's session
    /// is not one of the case's sessions that a share hands to a lawyer.
    public static func onlyWithheld(_ mutations: [Mutation]) -> Bool {
        var any = false
        for m in mutations {
            switch m {
            case let .put(_, path, _, _): guard isWithheld(path) else { return false }; any = true
            case .add, .remove: return false
            case .projectName, .grant, .withdrawalNote, .withdrawnCases, .withdrawnElement: continue
            }
        }
        return any
    }

    /// Refuses a write to a collection only its own command writes.
    public static func checkWritable(_ collection: String) throws(CoreError) {
        if let c = self.collection(collection), c.system {
            throw .readOnly("\(collection) is written only by `sandyq case attach`; it cannot be set, added or removed by hand")
        }
    }

    public static func collection(_ name: String) -> Collection? { collections.first { $0.name == name } }

    /// Checks one value against the model; the message says what is allowed.
    public static func validate(_ path: FieldPath, value: String) throws(CoreError) {
        if path.collection.isEmpty {
            guard caseFields.contains(path.field) else {
                throw .invalidField("unknown case field '\(path.field)'; known: \(caseFields.joined(separator: ", "))")
            }
            if path.field == "status", !statuses.contains(value) {
                throw .invalidField("unknown status '\(value)'; use one of: \(statuses.joined(separator: ", "))")
            }
            if path.field == "statusDate", !value.isEmpty, !isDate(value) {
                throw .invalidField("statusDate '\(value)' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
            }
            return
        }
        guard let c = collection(path.collection) else {
            throw .invalidField("unknown collection '\(path.collection)'")
        }
        guard c.fields.contains(path.field) else {
            throw .invalidField("unknown field '\(path.field)' in \(c.name); known: \(c.fields.joined(separator: ", "))")
        }
        if let allowed = c.choices[path.field], !allowed.contains(value) {
            throw .invalidField("\(c.name).\(path.field) '\(value)' is not one of: \(allowed.joined(separator: ", "))")
        }
        if c.dates.contains(path.field), !value.isEmpty, !isDate(value) {
            throw .invalidField("\(c.name).\(path.field) '\(value)' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
        }
        if let target = c.links[path.field], !value.isEmpty, !isElementID(value) {
            throw .invalidField("\(c.name).\(path.field) '\(value)' is not the id of one of the case's \(target)")
        }
    }

    /// The shape of an element id `CaseEditor.newElementID` makes: 16 lowercase hex digits.
    public static func isElementID(_ s: String) -> Bool {
        s.utf8.count == 16 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// YYYY, YYYY-MM or YYYY-MM-DD.
    public static func isDate(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), parts[0].count == 4, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return false }
        if parts.count >= 2 { guard parts[1].count == 2, let m = Int(parts[1]), (1...12).contains(m) else { return false } }
        if parts.count == 3 { guard parts[2].count == 2, let d = Int(parts[2]), (1...31).contains(d) else { return false } }
        return true
    }
}
