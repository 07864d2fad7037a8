import SandyqCore

/// What `sandyq search` asks: free text (names in any script, words of any field) and filters.
public struct SearchQuery: Sendable, Equatable {
    /// Words and names; empty lists every case that passes the filters.
    public var text: String
    /// Only cases with this status (CaseSchema.statuses).
    public var status: String?
    /// Only cases with a charge under this article, e.g. "405".
    public var article: String?
    /// Only cases whose city, region, a person's city or an event's place is this city, in any script.
    public var city: String?
    /// Only cases with a dated fact (status date, event, aid) on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).
    public var from: String?
    /// ... and on or before this one.
    public var to: String?
    /// Only cases with an official of this agency involved (police, knb, prosecutor, court, ...).
    public var agency: String?
    /// Cases merged into another are hidden unless this is set.
    public var includeMerged: Bool
    /// Archived cases are hidden unless this is set, as in `case list`.
    public var includeArchived: Bool
    /// At most this many hits; nil for all.
    public var limit: Int?

    public init(text: String = "", status: String? = nil, article: String? = nil, city: String? = nil,
                from: String? = nil, to: String? = nil, agency: String? = nil,
                includeMerged: Bool = false, includeArchived: Bool = false, limit: Int? = 50) {
        self.text = text; self.status = status; self.article = article; self.city = city
        self.from = from; self.to = to; self.agency = agency
        self.includeMerged = includeMerged; self.includeArchived = includeArchived; self.limit = limit
    }
}

/// One case found, with why.
public struct SearchHit: Sendable, Codable, Equatable {
    public var caseId: String
    public var ref: String?
    public var title: String?
    public var status: String?
    public var persons: [String]
    /// 0...1; 1 for an exact match of every query word in a person's name.
    public var score: Double
    /// Why it matched, the strongest first.
    public var reasons: [SearchReason]
    public var mergedInto: String?
    public var archived: Bool
}

/// One reason a case matched: which field, what it says there, and how closely.
public struct SearchReason: Sendable, Codable, Equatable {
    /// The field, as `persons.name`, `summary`, `events.description`; `filters` when the query had no text.
    public var field: String
    /// The field's value, or an excerpt of it around the match.
    public var value: String
    /// The query words this reason covers.
    public var matched: String
    public var score: Double
}

/// A case whose person probably is a person being added (or in another case).
public struct DuplicateMatch: Sendable, Codable, Equatable {
    /// The case that already has the person.
    public var caseId: String
    public var ref: String?
    /// The name as that case has it.
    public var name: String
    /// The name as given for the new case.
    public var matchedName: String
    public var score: Double
}

/// Two cases that probably concern the same person.
public struct DuplicatePair: Sendable, Codable, Equatable {
    public struct Side: Sendable, Codable, Equatable {
        public var caseId: String
        public var ref: String?
        public var name: String
    }
    public var first: Side
    public var second: Side
    public var score: Double
}
