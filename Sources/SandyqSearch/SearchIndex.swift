import SandyqCore

/// An in-memory index over the readable cases: every field's words folded by NameFolding
/// into an inverted index (with trigrams for near spellings and sorted terms for prefixes),
/// and every person's name kept as folded tokens for name scoring and duplicate detection.
/// Built from the unlocked view and never written anywhere: it holds plaintext-derived data.
public struct SearchIndex: Sendable {
    /// One case as the index sees it.
    public struct Entry: Sendable {
        public var id: String
        public var document: CaseDocument
        public var mergedInto: String?
        public var archived: Bool

        public init(id: String, document: CaseDocument, mergedInto: String? = nil, archived: Bool = false) {
            self.id = id; self.document = document; self.mergedInto = mergedInto; self.archived = archived
        }
    }

    /// A searchable field. Raw values fit in the 6 low bits of a posting.
    enum Field: Int, CaseIterable {
        case ref, title, status, statusDate, city, region, summary, notes, tag
        case personName, personAlias, personBirthYear, personCity, personAffiliation
        case chargeCode, chargeArticle, chargePart, chargeDescription, chargeStage
        case eventType, eventDate, eventPlace, eventDescription, eventSources
        case officialName, officialAgency, officialPosition, officialAct
        case sourceKind, sourceReference, sourceReliability, sourceNote
        case aidKind, aidDescription, aidDate, aidProvider
        // The deeper model (Protocol/cases.md): what was done and where, detention, trial, interventions.
        case actType, actPlace, actConsequences, actDescription, detentionFacility, detentionConditions
        case trialCourt, trialCaseNumber, trialAppeal, interventionBody, interventionReference, interventionResponse, sourceRelation

        var label: String {
            switch self {
            case .ref: "ref"; case .title: "title"; case .status: "status"; case .statusDate: "statusDate"
            case .city: "city"; case .region: "region"; case .summary: "summary"; case .notes: "notes"; case .tag: "tags"
            case .personName: "persons.name"; case .personAlias: "persons.aliases"; case .personBirthYear: "persons.birthYear"
            case .personCity: "persons.city"; case .personAffiliation: "persons.affiliation"
            case .chargeCode: "charges.code"; case .chargeArticle: "charges.article"; case .chargePart: "charges.part"
            case .chargeDescription: "charges.description"; case .chargeStage: "charges.stage"
            case .eventType: "events.type"; case .eventDate: "events.date"; case .eventPlace: "events.place"
            case .eventDescription: "events.description"; case .eventSources: "events.sources"
            case .officialName: "officials.name"; case .officialAgency: "officials.agency"
            case .officialPosition: "officials.position"; case .officialAct: "officials.act"
            case .sourceKind: "sources.kind"; case .sourceReference: "sources.reference"
            case .sourceReliability: "sources.reliability"; case .sourceNote: "sources.note"
            case .aidKind: "aid.kind"; case .aidDescription: "aid.description"; case .aidDate: "aid.date"; case .aidProvider: "aid.provider"
            case .actType: "acts.type"; case .actPlace: "acts.place"; case .actConsequences: "acts.consequences"
            case .actDescription: "acts.description"; case .detentionFacility: "detentions.facility"
            case .detentionConditions: "detentions.conditions"; case .trialCourt: "trials.court"; case .trialCaseNumber: "trials.caseNumber"
            case .trialAppeal: "trials.appeal"; case .interventionBody: "interventions.body"
            case .interventionReference: "interventions.reference"; case .interventionResponse: "interventions.response"
            case .sourceRelation: "sources.relation"
            }
        }

        /// How much a match in this field counts: a name most, long free text least.
        var weight: Double {
            switch self {
            case .personName, .personAlias: 1.0
            case .officialName: 0.95
            case .ref, .title: 0.9
            case .city, .region, .tag, .chargeArticle, .personCity, .eventPlace, .status, .actPlace, .detentionFacility, .trialCourt,
                 .trialCaseNumber: 0.85
            default: 0.75
            }
        }

        func values(_ d: CaseDocument) -> [String] {
            func one(_ s: String?) -> [String] { s.map { [$0] } ?? [] }
            switch self {
            case .ref: return one(d.ref)
            case .title: return one(d.title)
            case .status: return one(d.status)
            case .statusDate: return one(d.statusDate)
            case .city: return one(d.city)
            case .region: return one(d.region)
            case .summary: return one(d.summary)
            case .notes: return one(d.notes)
            case .tag: return d.tags ?? []
            case .personName: return (d.persons ?? []).map(\.name)
            case .personAlias: return (d.persons ?? []).flatMap { $0.aliases ?? [] }
            case .personBirthYear: return (d.persons ?? []).compactMap { $0.birthYear.map(String.init) }
            case .personCity: return (d.persons ?? []).compactMap(\.city)
            case .personAffiliation: return (d.persons ?? []).compactMap(\.affiliation)
            case .chargeCode: return (d.charges ?? []).compactMap(\.code)
            case .chargeArticle: return (d.charges ?? []).compactMap(\.article)
            case .chargePart: return (d.charges ?? []).compactMap(\.part)
            case .chargeDescription: return (d.charges ?? []).compactMap(\.description)
            case .chargeStage: return (d.charges ?? []).compactMap(\.stage)
            case .eventType: return (d.events ?? []).map(\.type)
            case .eventDate: return (d.events ?? []).compactMap(\.date)
            case .eventPlace: return (d.events ?? []).compactMap(\.place)
            case .eventDescription: return (d.events ?? []).compactMap(\.description)
            case .eventSources: return (d.events ?? []).flatMap { $0.sources ?? [] }
            case .officialName: return (d.officials ?? []).map(\.name)
            case .officialAgency: return (d.officials ?? []).compactMap(\.agency)
            case .officialPosition: return (d.officials ?? []).compactMap(\.position)
            case .officialAct: return (d.officials ?? []).compactMap(\.act)
            case .sourceKind: return (d.sources ?? []).compactMap(\.kind)
            case .sourceReference: return (d.sources ?? []).map(\.reference)
            case .sourceReliability: return (d.sources ?? []).compactMap(\.reliability)
            case .sourceNote: return (d.sources ?? []).compactMap(\.note)
            case .aidKind: return (d.aid ?? []).map(\.kind)
            case .aidDescription: return (d.aid ?? []).compactMap(\.description)
            case .aidDate: return (d.aid ?? []).compactMap(\.date)
            case .aidProvider: return (d.aid ?? []).compactMap(\.provider)
            case .actType: return (d.acts ?? []).map(\.type)
            case .actPlace: return (d.acts ?? []).compactMap(\.place)
            case .actConsequences: return (d.acts ?? []).compactMap(\.consequences)
            case .actDescription: return (d.acts ?? []).compactMap(\.description)
            case .detentionFacility: return (d.detentions ?? []).compactMap(\.facility)
            case .detentionConditions: return (d.detentions ?? []).compactMap(\.conditions)
            case .trialCourt: return (d.trials ?? []).compactMap(\.court)
            case .trialCaseNumber: return (d.trials ?? []).compactMap(\.caseNumber)
            case .trialAppeal: return (d.trials ?? []).compactMap(\.appeal)
            case .interventionBody: return (d.interventions ?? []).map(\.body)
            case .interventionReference: return (d.interventions ?? []).compactMap(\.reference)
            case .interventionResponse: return (d.interventions ?? []).compactMap(\.response)
            case .sourceRelation: return (d.sources ?? []).compactMap(\.relation)
            }
        }
    }

    /// A person's name (or alias) in one case, folded.
    struct Name: Sendable {
        let display: String
        let tokens: [[UInt8]]
        let isOfficial: Bool
        /// The same for every name with these tokens, so a query scores each spelling once.
        var spelling: Int32 = 0
    }

    /// What filters and name scoring need of a case, computed once.
    struct Doc: Sendable {
        var names: [Name]
        var dates: [ClosedRange<Int>]
        var places: Set<String>
        var articles: Set<String>
        var agencies: Set<String>
    }

    /// Name scoring looks at no more than this many person names (aliases included) and
    /// this many officials per case: pairing two cases costs the product of their names.
    public static let maxNamesPerCase = 64

    public let entries: [Entry]
    var docs: [Doc] = []

    /// Terms of every field, and where they occur: doc << 6 | field, one posting per (doc, field).
    var text = SearchTermTable()
    /// Terms of person names only, and the (doc, name) they occur in: for duplicate detection.
    var names = SearchTermTable()
    var namePostings: [[(doc: Int32, name: Int32)]] = []
    /// Each doc's first slot among all (doc, name) pairs, and their number: `candidates` counts in a flat array.
    var nameBase: [Int32] = []
    var nameSlots = 0

    public var count: Int { entries.count }
    /// Distinct folded terms in the text index.
    public var termCount: Int { text.terms.count }

    public init(_ entries: [Entry]) { self.init(entries, namesOnly: false) }

    /// An index of person names alone, for `duplicatesOfEntries` and `duplicates(ofNames:)`
    /// only (it finds nothing by `search`): an import of 10,000 cases spent 12 % of its time
    /// indexing every field for warnings that read names only.
    public static func ofNames(_ entries: [Entry]) -> SearchIndex { SearchIndex(entries, namesOnly: true) }

    init(_ entries: [Entry], namesOnly: Bool) {
        self.entries = entries
        docs.reserveCapacity(entries.count)
        var lastPosted: [UInt32] = []  // by term: the last doc+field key posted + 1, so postings stay distinct
        var spellings: [[[UInt8]]: Int32] = [:]
        func spelling(_ toks: [[UInt8]]) -> Int32 {
            if let k = spellings[toks] { return k }
            let k = Int32(spellings.count)
            spellings[toks] = k
            return k
        }
        for (d, entry) in entries.enumerated() {
            let doc = entry.document
            for f in Field.allCases where !namesOnly {
                let key = UInt32(d) << 6 | UInt32(f.rawValue)
                for v in f.values(doc) {
                    NameFolding.forEachToken(v) { tok in
                        let t = Int(text.intern(tok))
                        if t == lastPosted.count { lastPosted.append(0) }
                        if lastPosted[t] != UInt32(key) + 1 {
                            lastPosted[t] = UInt32(key) + 1
                            text.postings[t].append(UInt32(key))
                        }
                    }
                }
            }
            var info = Doc(names: [], dates: [], places: [], articles: [], agencies: [])
            for n in Self.personNames(doc) {
                let toks = NameFolding.nameTokens(n)
                guard !toks.isEmpty else { continue }
                let idx = Int32(info.names.count)
                info.names.append(Name(display: n, tokens: toks, isOfficial: false, spelling: spelling(toks)))
                if entry.mergedInto == nil {
                    for tok in Set(toks) {
                        let t = names.intern(tok)
                        if Int(t) == namePostings.count { namePostings.append([]) }
                        namePostings[Int(t)].append((Int32(d), idx))
                    }
                }
            }
            for o in (doc.officials ?? []).prefix(Self.maxNamesPerCase) {
                let toks = NameFolding.nameTokens(o.name)
                if !toks.isEmpty { info.names.append(Name(display: o.name, tokens: toks, isOfficial: true, spelling: spelling(toks))) }
            }
            if !namesOnly {
                var dates: [String] = [doc.statusDate].compactMap { $0 }
                dates += (doc.events ?? []).compactMap(\.date)
                dates += (doc.aid ?? []).compactMap(\.date)
                info.dates = dates.compactMap(Self.dateRange)
                let places = [doc.city, doc.region].compactMap { $0 } + (doc.persons ?? []).compactMap(\.city)
                    + (doc.events ?? []).compactMap(\.place)
                info.places = Set(places.map(NameFolding.fold).filter { !$0.isEmpty })
                info.articles = Set((doc.charges ?? []).compactMap { $0.article.map(Self.normalizedArticle) })
                info.agencies = Set((doc.officials ?? []).compactMap { $0.agency?.lowercased() })
            }
            nameBase.append(Int32(nameSlots))
            nameSlots += info.names.count
            docs.append(info)
        }
        text.finish()
        names.finish()
    }

    static func normalizedArticle(_ s: String) -> String {
        s.lowercased().filter { !$0.isWhitespace }
    }

    /// YYYY, YYYY-MM or YYYY-MM-DD as the range of days (yyyymmdd) it covers.
    static func dateRange(_ s: String) -> ClosedRange<Int>? {
        guard CaseSchema.isDate(s) else { return nil }
        let p = s.split(separator: "-").compactMap { Int($0) }
        switch p.count {
        case 1: return (p[0] * 10000 + 101)...(p[0] * 10000 + 1231)
        case 2: return (p[0] * 10000 + p[1] * 100 + 1)...(p[0] * 10000 + p[1] * 100 + 31)
        default: let x = p[0] * 10000 + p[1] * 100 + p[2]; return x...x
        }
    }

    // MARK: filters

    func passes(_ d: Int, _ q: SearchQuery, fromDay: Int?, toDay: Int?, place: String?) -> Bool {
        let e = entries[d]
        if !q.includeMerged, e.mergedInto != nil { return false }
        if !q.includeArchived, e.archived { return false }
        if let s = q.status, e.document.status != s { return false }
        let info = docs[d]
        if let a = q.article, !info.articles.contains(Self.normalizedArticle(a)) { return false }
        if let g = q.agency, !info.agencies.contains(g.lowercased()) { return false }
        if let place, !info.places.contains(place) { return false }
        if fromDay != nil || toDay != nil {
            let lo = fromDay ?? Int.min, hi = toDay ?? Int.max
            if !info.dates.contains(where: { $0.upperBound >= lo && $0.lowerBound <= hi }) { return false }
        }
        return true
    }

    // MARK: search

    /// A query token matched this strongly: exact 1, a prefix 0.9, a near spelling its Jaro-Winkler.
    static let minTermSimilarity = 0.86
    static let prefixScore = 0.9
    /// A case is listed when every query word matched somewhere, or a name matched this well.
    static let minNameScore = 0.75

    public func search(_ q: SearchQuery) -> [SearchHit] { page(q, first: nil).hits }

    /// How many cases match, and only the first `first` of them built in full (with their
    /// reasons): a page of results without paying for the rest.
    public func page(_ q: SearchQuery, first: Int?) -> (count: Int, hits: [SearchHit]) {
        let fromDay = q.from.flatMap(Self.dateRange)?.lowerBound
        let toDay = q.to.flatMap(Self.dateRange)?.upperBound
        let place = q.city.map(NameFolding.fold).flatMap { $0.isEmpty ? nil : $0 }
        let qTokens = NameFolding.tokens(q.text)
        var hits: [SearchHit] = []

        if qTokens.isEmpty {
            var count = 0
            for d in entries.indices where passes(d, q, fromDay: fromDay, toDay: toDay, place: place) {
                count += 1
                if hits.count < (first ?? Int.max) {
                    hits.append(hit(d, score: 1, reasons: [SearchReason(field: "filters", value: filterSummary(q), matched: "", score: 1)]))
                }
                if let l = q.limit, count >= l { break }
            }
            return (count, hits)
        }

        // Best match per (doc, query token): score, field, term.
        let nq = qTokens.count
        var best = [Float](repeating: 0, count: entries.count * nq)
        var bestField = [UInt8](repeating: 0, count: entries.count * nq)
        var bestTerm = [Int32](repeating: -1, count: entries.count * nq)
        var touched: [Int32] = []
        var isTouched = [Bool](repeating: false, count: entries.count)
        // Whether a query word matched a name in the doc: only then is the name scored as a whole.
        var nameHit = [Bool](repeating: false, count: entries.count)
        let weights = Field.allCases.map { Float($0.weight) }
        let isName = Field.allCases.map { $0 == .personName || $0 == .personAlias || $0 == .officialName }
        for (qi, tok) in qTokens.enumerated() {
            for (term, sim) in text.similar(to: tok, minSimilarity: Self.minTermSimilarity, prefixes: true) {
                for p in text.postings[Int(term)] {
                    let d = Int(p >> 6), f = Int(p & 63)
                    let s = Float(sim) * weights[f]
                    let k = d * nq + qi
                    if s > best[k] { best[k] = s; bestField[k] = UInt8(f); bestTerm[k] = term }
                    if !isTouched[d] { isTouched[d] = true; touched.append(Int32(d)) }
                    if isName[f] { nameHit[d] = true }
                }
            }
        }

        var scored: [(d: Int, score: Double, name: (Name, Double)?, all: Bool)] = []
        for d32 in touched {
            let d = Int(d32)
            guard passes(d, q, fromDay: fromDay, toDay: toDay, place: place) else { continue }
            var sum = 0.0, all = true
            for qi in 0..<nq { let s = Double(best[d * nq + qi]); sum += s; if s == 0 { all = false } }
            let textScore = sum / Double(nq)
            var bestName: (Name, Double)?
            for n in docs[d].names where nameHit[d] {
                let s = NameFolding.coverage(of: qTokens, by: n.tokens) * (n.isOfficial ? Field.officialName.weight : 1)
                if s > (bestName?.1 ?? 0) { bestName = (n, s) }
            }
            let nameScore = bestName?.1 ?? 0
            guard all || nameScore >= Self.minNameScore else { continue }
            scored.append((d, max(textScore, nameScore), nameScore >= textScore ? bestName : nil, all))
        }
        scored.sort { a, b in
            a.score != b.score ? a.score > b.score : a.d < b.d
        }
        if let l = q.limit, scored.count > l { scored.removeLast(scored.count - l) }

        for s in scored.prefix(first ?? scored.count) {
            var reasons: [SearchReason] = []
            if let (n, score) = s.name {
                reasons.append(SearchReason(field: n.isOfficial ? "officials.name" : "persons.name", value: n.display,
                                            matched: q.text, score: roundedScore(score)))
            }
            // One reason per field, covering the query words it matched best.
            var byField: [(Field, [Int], Double, Int32)] = []
            for qi in 0..<nq {
                let k = s.d * nq + qi
                guard best[k] > 0, let f = Field(rawValue: Int(bestField[k])) else { continue }
                if s.name != nil, f == .personName || f == .personAlias || f == .officialName { continue }
                if let i = byField.firstIndex(where: { $0.0 == f }) {
                    byField[i].1.append(qi); byField[i].2 = max(byField[i].2, Double(best[k]))
                } else {
                    byField.append((f, [qi], Double(best[k]), bestTerm[k]))
                }
            }
            byField.sort { $0.2 > $1.2 }
            let words = q.text.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
            for (f, qis, score, term) in byField.prefix(3) {
                let matched = qis.map { $0 < words.count && words.count == nq ? words[$0] : String(decoding: qTokens[$0], as: UTF8.self) }
                reasons.append(SearchReason(field: f.label, value: excerpt(f, s.d, term: text.terms[Int(term)]),
                                            matched: matched.joined(separator: " "), score: roundedScore(score)))
            }
            hits.append(hit(s.d, score: roundedScore(s.score), reasons: reasons))
        }
        return (scored.count, hits)
    }

    func hit(_ d: Int, score: Double, reasons: [SearchReason]) -> SearchHit {
        let e = entries[d]
        return SearchHit(caseId: e.id, ref: e.document.ref, title: e.document.title, status: e.document.status,
                         persons: (e.document.persons ?? []).map(\.name), score: score, reasons: reasons,
                         mergedInto: e.mergedInto, archived: e.archived)
    }

    func filterSummary(_ q: SearchQuery) -> String {
        let parts: [(String, String?)] = [("status", q.status), ("article", q.article), ("city", q.city),
                                          ("from", q.from), ("to", q.to), ("agency", q.agency)]
        let given = parts.compactMap { k, v in v.map { "\(k)=\($0)" } }
        return given.isEmpty ? "every case" : given.joined(separator: ", ")
    }

    /// The field's value around the first word that folds to `term`.
    func excerpt(_ f: Field, _ d: Int, term: [UInt8]) -> String {
        for v in f.values(entries[d].document) {
            var found: Range<String.Index>?
            var start: String.Index?
            var i = v.startIndex
            while i < v.endIndex, found == nil {
                let c = v[i]
                if c.isLetter || c.isNumber || c == "'" {
                    if start == nil { start = i }
                } else if let s = start {
                    if NameFolding.tokens(String(v[s..<i])).contains(where: { $0 == term || $0.starts(with: term) || term.starts(with: $0) }) { found = s..<i }
                    start = nil
                }
                i = v.index(after: i)
            }
            if found == nil, let s = start,
               NameFolding.tokens(String(v[s...])).contains(where: { $0 == term || $0.starts(with: term) || term.starts(with: $0) }) {
                found = s..<v.endIndex
            }
            guard let r = found else { continue }
            if v.count <= 100 { return v }
            let lo = v.index(r.lowerBound, offsetBy: -40, limitedBy: v.startIndex) ?? v.startIndex
            let hi = v.index(r.upperBound, offsetBy: 40, limitedBy: v.endIndex) ?? v.endIndex
            return (lo == v.startIndex ? "" : "…") + String(v[lo..<hi]) + (hi == v.endIndex ? "" : "…")
        }
        return f.values(entries[d].document).first.map { $0.count <= 100 ? $0 : String($0.prefix(100)) + "…" } ?? ""
    }
}

/// A score to two decimals, as people read it.
func roundedScore(_ x: Double) -> Double { (x * 100).rounded() / 100 }

extension SearchIndex.Entry {
    /// A case of the view, as the index sees it.
    public init(_ state: CaseState) {
        self.init(id: state.id.description, document: state.document, mergedInto: state.mergedTarget,
                  archived: state.isArchived)
    }
}
