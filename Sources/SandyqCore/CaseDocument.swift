/// A case as people and scripts write it: the JSON that `case add` and `case import` read
/// and `case show --json` prints. Field meanings: CaseSchema.
public struct CaseDocument: Codable, Sendable, Equatable {
    public var id: String?
    public var ref: String?
    public var title: String?
    public var status: String?
    public var statusDate: String?
    public var city: String?
    public var region: String?
    public var summary: String?
    public var notes: String?
    public var archived: Bool?
    public var persons: [Person]?
    public var charges: [Charge]?
    public var events: [Event]?
    public var officials: [Official]?
    public var sources: [Source]?
    public var aid: [Aid]?
    public var acts: [Act]?
    public var perpetrators: [Perpetrator]?
    public var detentions: [Detention]?
    public var trials: [Trial]?
    public var interventions: [Intervention]?
    public var tags: [String]?

    public init() {}

    public struct Person: Codable, Sendable, Equatable {
        public var id: String?
        public var name: String
        public var aliases: [String]?
        public var birthYear: Int?
        public var city: String?
        public var affiliation: String?
        public init(name: String) { self.name = name }
    }

    public struct Charge: Codable, Sendable, Equatable {
        public var id: String?
        public var code: String?
        public var article: String?
        public var part: String?
        public var description: String?
        public var stage: String?
        public init() {}
    }

    public struct Event: Codable, Sendable, Equatable {
        public var id: String?
        public var type: String
        public var date: String?
        public var place: String?
        public var description: String?
        public var sources: [String]?
        public init(type: String) { self.type = type }
    }

    public struct Official: Codable, Sendable, Equatable {
        public var id: String?
        public var name: String
        public var agency: String?
        public var position: String?
        public var act: String?
        public init(name: String) { self.name = name }
    }

    public struct Source: Codable, Sendable, Equatable {
        public var id: String?
        public var kind: String?
        public var reference: String
        public var reliability: String?
        public var note: String?
        /// How the source stands to what it tells: victim, witness, relative, lawyer, media, official_document.
        public var relation: String?
        public var consent: String?
        /// Who the source is and how to reach them: sealed to coordinators only (CaseSchema.withheld).
        public var identity: String?
        public init(reference: String) { self.reference = reference }
    }

    public struct Aid: Codable, Sendable, Equatable {
        public var id: String?
        public var kind: String
        public var description: String?
        public var date: String?
        public var provider: String?
        public init(kind: String) { self.kind = kind }
    }

    /// An act against a victim; `victim` is the `id` of one of the document's persons.
    public struct Act: Codable, Sendable, Equatable {
        public var id: String?
        public var type: String
        public var victim: String?
        public var date: String?
        public var datePrecision: String?
        public var place: String?
        public var consequences: String?
        public var description: String?
        public init(type: String) { self.type = type }
    }

    /// An official's part in an act: `violation` is an act's `id`, `official` an official's.
    public struct Perpetrator: Codable, Sendable, Equatable {
        public var id: String?
        public var violation: String?
        public var official: String
        public var involvement: String?
        public var note: String?
        public init(official: String) { self.official = official }
    }

    public struct Detention: Codable, Sendable, Equatable {
        public var id: String?
        public var person: String?
        public var type: String?
        public var facility: String?
        public var from: String?
        public var until: String?
        public var whereabouts: String?
        public var counsel: String?
        public var familyContact: String?
        public var conditions: String?
        public init() {}
    }

    /// `judge` and `prosecutor` are officials' `id`s.
    public struct Trial: Codable, Sendable, Equatable {
        public var id: String?
        public var court: String?
        public var caseNumber: String?
        public var judge: String?
        public var prosecutor: String?
        public var verdict: String?
        public var verdictDate: String?
        public var sentenceKind: String?
        public var sentenceTerm: String?
        public var bans: String?
        public var appeal: String?
        public init() {}
    }

    public struct Intervention: Codable, Sendable, Equatable {
        public var id: String?
        public var body: String
        public var kind: String?
        public var date: String?
        public var reference: String?
        public var progress: String?
        public var response: String?
        public init(body: String) { self.body = body }
    }

    /// The format this build writes. Version 2 added acts, perpetrators, detentions, trials,
    /// interventions and two source fields, and keeps element ids so links survive a round trip;
    /// a version 1 file is a version 2 file without them.
    public static let format = "sandyq-cases/2"
    public static let formatsRead = ["sandyq-cases/1", "sandyq-cases/2"]

    /// The file `case import` reads: `{"format": "sandyq-cases/2", "cases": [...]}`.
    public struct Collection: Codable, Sendable {
        public var format: String?
        public var cases: [CaseDocument]
        public init(cases: [CaseDocument]) { self.format = CaseDocument.format; self.cases = cases }
    }
}

/// Pure functions that turn intentions into mutations, given the current view.
public enum CaseEditor {
    /// Aliases are stored as one field, one name per line.
    static let aliasSeparator = "\n"

    /// Element ids are random, so two people adding a charge add two charges.
    public static func newElementID() -> String { Hex.encode(CaseID.random().bytes.prefix(8)) }

    /// Mutations that create `doc` as a new case.
    public static func create(_ doc: CaseDocument, id: CaseID = .random()) throws(CoreError) -> [Mutation] {
        var out: [Mutation] = [.add(case: id, collection: "", element: "")]
        func put(_ field: String, _ value: String?) throws(CoreError) {
            guard let value, !value.isEmpty else { return }
            try CaseSchema.validate(FieldPath(field: field), value: value)
            out.append(.put(case: id, path: FieldPath(field: field), value: value, supersedes: []))
        }
        guard doc.persons?.isEmpty == false || doc.title?.isEmpty == false else {
            throw .invalidDocument("a case needs a title or at least one person")
        }
        try put("ref", doc.ref)
        try put("title", doc.title)
        try put("status", doc.status)
        try put("statusDate", doc.statusDate)
        try put("city", doc.city)
        try put("region", doc.region)
        try put("summary", doc.summary)
        try put("notes", doc.notes)
        if doc.archived == true { try put("archived", "true") }
        let all = elements(of: doc)
        // A document's own element ids are kept, so its links (an act's victim) name what it names.
        var taken: [String: Set<String>] = [:]
        let ids = all.map { coll, given, _ -> String in
            guard let given, CaseSchema.isElementID(given), taken[coll, default: []].insert(given).inserted else { return newElementID() }
            return given
        }
        for (i, (coll, _, fields)) in all.enumerated() {
            for (f, target) in CaseSchema.collection(coll)?.links ?? [:] {
                guard let v = fields[f] else { continue }
                guard taken[target]?.contains(v) == true else {
                    throw .invalidDocument("\(coll).\(f) '\(v)' is not the id of one of this case's \(target)")
                }
            }
            out += try addElement(case: id, collection: coll, fields: fields, element: ids[i])
        }
        for tag in doc.tags ?? [] where !tag.isEmpty {
            out.append(.add(case: id, collection: "tags", element: tag))
        }
        return out
    }

    /// The document's collection elements as field maps with their given ids, in document order.
    static func elements(of doc: CaseDocument) -> [(String, String?, [String: String])] {
        var out: [(String, String?, [String: String])] = []
        func clean(_ m: [String: String?]) -> [String: String] { m.compactMapValues { $0 }.filter { !$0.value.isEmpty } }
        for p in doc.persons ?? [] {
            out.append(("persons", p.id, clean(["name": p.name, "aliases": p.aliases?.joined(separator: aliasSeparator),
                                                "birthYear": p.birthYear.map(String.init), "city": p.city, "affiliation": p.affiliation])))
        }
        for c in doc.charges ?? [] {
            out.append(("charges", c.id, clean(["code": c.code, "article": c.article, "part": c.part, "description": c.description, "stage": c.stage])))
        }
        for e in doc.events ?? [] {
            out.append(("events", e.id, clean(["type": e.type, "date": e.date, "place": e.place, "description": e.description,
                                               "sources": e.sources?.joined(separator: "\n")])))
        }
        for o in doc.officials ?? [] {
            out.append(("officials", o.id, clean(["name": o.name, "agency": o.agency, "position": o.position, "act": o.act])))
        }
        for s in doc.sources ?? [] {
            out.append(("sources", s.id, clean(["kind": s.kind, "reference": s.reference, "reliability": s.reliability, "note": s.note,
                                                "relation": s.relation, "consent": s.consent, "identity": s.identity])))
        }
        for a in doc.aid ?? [] {
            out.append(("aid", a.id, clean(["kind": a.kind, "description": a.description, "date": a.date, "provider": a.provider])))
        }
        for a in doc.acts ?? [] {
            out.append(("acts", a.id, clean(["type": a.type, "victim": a.victim, "date": a.date, "datePrecision": a.datePrecision,
                                             "place": a.place, "consequences": a.consequences, "description": a.description])))
        }
        for p in doc.perpetrators ?? [] {
            out.append(("perpetrators", p.id, clean(["violation": p.violation, "official": p.official, "involvement": p.involvement, "note": p.note])))
        }
        for d in doc.detentions ?? [] {
            out.append(("detentions", d.id, clean(["person": d.person, "type": d.type, "facility": d.facility, "from": d.from, "until": d.until,
                                                   "whereabouts": d.whereabouts, "counsel": d.counsel, "familyContact": d.familyContact,
                                                   "conditions": d.conditions])))
        }
        for t in doc.trials ?? [] {
            out.append(("trials", t.id, clean(["court": t.court, "caseNumber": t.caseNumber, "judge": t.judge, "prosecutor": t.prosecutor,
                                               "verdict": t.verdict, "verdictDate": t.verdictDate, "sentenceKind": t.sentenceKind,
                                               "sentenceTerm": t.sentenceTerm, "bans": t.bans, "appeal": t.appeal])))
        }
        for i in doc.interventions ?? [] {
            out.append(("interventions", i.id, clean(["body": i.body, "kind": i.kind, "date": i.date, "reference": i.reference,
                                                      "progress": i.progress, "response": i.response])))
        }
        return out
    }

    public static func addElement(case id: CaseID, collection: String, fields: [String: String],
                                  element: String = newElementID(), system: Bool = false) throws(CoreError) -> [Mutation] {
        guard CaseSchema.collection(collection) != nil else { throw .invalidField("unknown collection '\(collection)'") }
        if !system { try CaseSchema.checkWritable(collection) }
        var out: [Mutation] = [.add(case: id, collection: collection, element: element)]
        for (f, v) in fields.sorted(by: { $0.key < $1.key }) {
            let path = FieldPath(collection: collection, element: element, field: f)
            try CaseSchema.validate(path, value: v)
            out.append(.put(case: id, path: path, value: v, supersedes: []))
        }
        return out
    }

    /// A write that supersedes every value this replica currently shows, so it also resolves a conflict.
    public static func set(_ path: FieldPath, to value: String, in state: CaseState) throws(CoreError) -> Mutation {
        try CaseSchema.checkWritable(path.collection)
        try CaseSchema.validate(path, value: value)
        if !path.collection.isEmpty, !state.elements(path.collection).contains(path.element) {
            throw .invalidField("\(path.collection) has no element '\(path.element)' in this case")
        }
        if let target = CaseSchema.collection(path.collection)?.links[path.field], !value.isEmpty, !state.elements(target).contains(value) {
            throw .invalidField("\(path.collection).\(path.field): \(target) has no element '\(value)' in this case")
        }
        let current = state.register(path)?.survivors.map(\.op) ?? []
        return .put(case: state.id, path: path, value: value, supersedes: current.sorted())
    }

    /// A write that supersedes only the writes in `seen` this replica holds for the field: what
    /// the person saw when they began. A write made meanwhile stays beside it as a conflict.
    public static func set(_ path: FieldPath, to value: String, superseding seen: [OpID], in state: CaseState) throws(CoreError) -> Mutation {
        let known = state.register(path)?.writes ?? [:]
        guard case let .put(c, p, v, _) = try set(path, to: value, in: state) else { preconditionFailure("set writes a put") }
        return .put(case: c, path: p, value: v, supersedes: Set(seen.filter { known[$0] != nil }).sorted())
    }

    public static func remove(collection: String, element: String, in state: CaseState) throws(CoreError) -> Mutation {
        try CaseSchema.checkWritable(collection)
        let tags = state.tags(collection, element)
        guard !tags.isEmpty, state.elements(collection).contains(element) else {
            throw .invalidField("\(collection) has no element '\(element)' in this case")
        }
        return .remove(case: state.id, collection: collection, element: element, observed: tags)
    }
}

extension CaseState {
    /// The case as a document, winners only: what `case show --json` prints.
    public var document: CaseDocument {
        var d = CaseDocument()
        d.id = id.description
        d.ref = value("ref"); d.title = value("title"); d.status = value("status"); d.statusDate = value("statusDate")
        d.city = value("city"); d.region = value("region"); d.summary = value("summary"); d.notes = value("notes")
        d.archived = isArchived ? true : nil
        func v(_ c: String, _ e: String, _ f: String) -> String? { value(c, e, f) }
        let persons = elements("persons").map { e -> CaseDocument.Person in
            var p = CaseDocument.Person(name: v("persons", e, "name") ?? "")
            p.id = e
            p.aliases = v("persons", e, "aliases")?.split(separator: "\n").map(String.init)
            p.birthYear = v("persons", e, "birthYear").flatMap { Int($0) }
            p.city = v("persons", e, "city"); p.affiliation = v("persons", e, "affiliation")
            return p
        }
        d.persons = persons.isEmpty ? nil : persons
        let charges = elements("charges").map { e -> CaseDocument.Charge in
            var c = CaseDocument.Charge()
            c.id = e; c.code = v("charges", e, "code"); c.article = v("charges", e, "article"); c.part = v("charges", e, "part")
            c.description = v("charges", e, "description"); c.stage = v("charges", e, "stage")
            return c
        }
        d.charges = charges.isEmpty ? nil : charges
        let events = elements("events").map { e -> CaseDocument.Event in
            var x = CaseDocument.Event(type: v("events", e, "type") ?? "other")
            x.id = e; x.date = v("events", e, "date"); x.place = v("events", e, "place"); x.description = v("events", e, "description")
            x.sources = v("events", e, "sources")?.split(separator: "\n").map(String.init)
            return x
        }.sorted { ($0.date ?? "", $0.id ?? "") < ($1.date ?? "", $1.id ?? "") }
        d.events = events.isEmpty ? nil : events
        let officials = elements("officials").map { e -> CaseDocument.Official in
            var o = CaseDocument.Official(name: v("officials", e, "name") ?? "")
            o.id = e; o.agency = v("officials", e, "agency"); o.position = v("officials", e, "position"); o.act = v("officials", e, "act")
            return o
        }
        d.officials = officials.isEmpty ? nil : officials
        let sources = elements("sources").map { e -> CaseDocument.Source in
            var s = CaseDocument.Source(reference: v("sources", e, "reference") ?? "")
            s.id = e; s.kind = v("sources", e, "kind"); s.reliability = v("sources", e, "reliability"); s.note = v("sources", e, "note")
            s.relation = v("sources", e, "relation"); s.consent = v("sources", e, "consent"); s.identity = v("sources", e, "identity")
            return s
        }
        d.sources = sources.isEmpty ? nil : sources
        let aid = elements("aid").map { e -> CaseDocument.Aid in
            var a = CaseDocument.Aid(kind: v("aid", e, "kind") ?? "legal")
            a.id = e; a.description = v("aid", e, "description"); a.date = v("aid", e, "date"); a.provider = v("aid", e, "provider")
            return a
        }
        d.aid = aid.isEmpty ? nil : aid
        let acts = elements("acts").map { e -> CaseDocument.Act in
            var a = CaseDocument.Act(type: v("acts", e, "type") ?? "other")
            a.id = e; a.victim = v("acts", e, "victim"); a.date = v("acts", e, "date"); a.datePrecision = v("acts", e, "datePrecision")
            a.place = v("acts", e, "place"); a.consequences = v("acts", e, "consequences"); a.description = v("acts", e, "description")
            return a
        }.sorted { ($0.date ?? "", $0.id ?? "") < ($1.date ?? "", $1.id ?? "") }
        d.acts = acts.isEmpty ? nil : acts
        let perpetrators = elements("perpetrators").map { e -> CaseDocument.Perpetrator in
            var p = CaseDocument.Perpetrator(official: v("perpetrators", e, "official") ?? "")
            p.id = e; p.violation = v("perpetrators", e, "violation"); p.involvement = v("perpetrators", e, "involvement")
            p.note = v("perpetrators", e, "note")
            return p
        }
        d.perpetrators = perpetrators.isEmpty ? nil : perpetrators
        let detentions = elements("detentions").map { e -> CaseDocument.Detention in
            var x = CaseDocument.Detention()
            x.id = e; x.person = v("detentions", e, "person"); x.type = v("detentions", e, "type"); x.facility = v("detentions", e, "facility")
            x.from = v("detentions", e, "from"); x.until = v("detentions", e, "until"); x.whereabouts = v("detentions", e, "whereabouts")
            x.counsel = v("detentions", e, "counsel"); x.familyContact = v("detentions", e, "familyContact")
            x.conditions = v("detentions", e, "conditions")
            return x
        }.sorted { ($0.from ?? "", $0.id ?? "") < ($1.from ?? "", $1.id ?? "") }
        d.detentions = detentions.isEmpty ? nil : detentions
        let trials = elements("trials").map { e -> CaseDocument.Trial in
            var t = CaseDocument.Trial()
            t.id = e; t.court = v("trials", e, "court"); t.caseNumber = v("trials", e, "caseNumber"); t.judge = v("trials", e, "judge")
            t.prosecutor = v("trials", e, "prosecutor"); t.verdict = v("trials", e, "verdict"); t.verdictDate = v("trials", e, "verdictDate")
            t.sentenceKind = v("trials", e, "sentenceKind"); t.sentenceTerm = v("trials", e, "sentenceTerm"); t.bans = v("trials", e, "bans")
            t.appeal = v("trials", e, "appeal")
            return t
        }
        d.trials = trials.isEmpty ? nil : trials
        let interventions = elements("interventions").map { e -> CaseDocument.Intervention in
            var i = CaseDocument.Intervention(body: v("interventions", e, "body") ?? "other")
            i.id = e; i.kind = v("interventions", e, "kind"); i.date = v("interventions", e, "date"); i.reference = v("interventions", e, "reference")
            i.progress = v("interventions", e, "progress"); i.response = v("interventions", e, "response")
            return i
        }.sorted { ($0.date ?? "", $0.id ?? "") < ($1.date ?? "", $1.id ?? "") }
        d.interventions = interventions.isEmpty ? nil : interventions
        let tags = elements("tags")
        d.tags = tags.isEmpty ? nil : tags
        return d
    }

    /// The names of every person in the case, primary and aliases.
    public var personNames: [String] {
        elements("persons").flatMap { e -> [String] in
            [value("persons", e, "name")].compactMap { $0 } + (value("persons", e, "aliases")?.split(separator: "\n").map(String.init) ?? [])
        }
    }
}
