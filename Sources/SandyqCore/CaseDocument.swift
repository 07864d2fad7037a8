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

    /// The file `case import` reads: `{"format": "sandyq-cases/1", "cases": [...]}`.
    public struct Collection: Codable, Sendable {
        public var format: String?
        public var cases: [CaseDocument]
        public init(cases: [CaseDocument]) { self.format = "sandyq-cases/1"; self.cases = cases }
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
        for (coll, fields) in elements(of: doc) {
            out += try addElement(case: id, collection: coll, fields: fields)
        }
        for tag in doc.tags ?? [] where !tag.isEmpty {
            out.append(.add(case: id, collection: "tags", element: tag))
        }
        return out
    }

    /// The document's collection elements as field maps, in document order.
    static func elements(of doc: CaseDocument) -> [(String, [String: String])] {
        var out: [(String, [String: String])] = []
        func clean(_ m: [String: String?]) -> [String: String] { m.compactMapValues { $0 }.filter { !$0.value.isEmpty } }
        for p in doc.persons ?? [] {
            out.append(("persons", clean(["name": p.name, "aliases": p.aliases?.joined(separator: aliasSeparator),
                                          "birthYear": p.birthYear.map(String.init), "city": p.city, "affiliation": p.affiliation])))
        }
        for c in doc.charges ?? [] {
            out.append(("charges", clean(["code": c.code, "article": c.article, "part": c.part, "description": c.description, "stage": c.stage])))
        }
        for e in doc.events ?? [] {
            out.append(("events", clean(["type": e.type, "date": e.date, "place": e.place, "description": e.description,
                                         "sources": e.sources?.joined(separator: "\n")])))
        }
        for o in doc.officials ?? [] {
            out.append(("officials", clean(["name": o.name, "agency": o.agency, "position": o.position, "act": o.act])))
        }
        for s in doc.sources ?? [] {
            out.append(("sources", clean(["kind": s.kind, "reference": s.reference, "reliability": s.reliability, "note": s.note])))
        }
        for a in doc.aid ?? [] {
            out.append(("aid", clean(["kind": a.kind, "description": a.description, "date": a.date, "provider": a.provider])))
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
            return s
        }
        d.sources = sources.isEmpty ? nil : sources
        let aid = elements("aid").map { e -> CaseDocument.Aid in
            var a = CaseDocument.Aid(kind: v("aid", e, "kind") ?? "legal")
            a.id = e; a.description = v("aid", e, "description"); a.date = v("aid", e, "date"); a.provider = v("aid", e, "provider")
            return a
        }
        d.aid = aid.isEmpty ? nil : aid
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
