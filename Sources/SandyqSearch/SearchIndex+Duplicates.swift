import SandyqCore

extension SearchIndex {
    /// A name token blocks a candidate when it is at least this near a name token of it.
    static let blockingSimilarity = 0.7

    /// Cases among `among` (by position in `entries`) with a person whose name probably is
    /// one of `names`: the best match per case, strongest first. Merged cases are left out
    /// (their persons live on in the case they were merged into).
    public func duplicates(ofNames given: [String], threshold: Double = NameFolding.duplicateThreshold,
                           among: Range<Int>? = nil, excluding: Set<String> = []) -> [DuplicateMatch] {
        var scratch = CandidateScratch()
        return duplicates(ofNames: given, threshold: threshold, among: among ?? entries.indices, excluding: excluding, scratch: &scratch)
    }

    /// For each entry from `start` on (the cases of an import), its duplicates among the
    /// entries before it: the cases already there and the earlier ones of the same import.
    public func duplicatesOfEntries(from start: Int, threshold: Double = NameFolding.duplicateThreshold) -> [[DuplicateMatch]] {
        var scratch = CandidateScratch()
        // An import names the same people again and again: each spelling's matches over the
        // whole index are found and scored once, in case order, and each case takes those before it.
        var matches: [[[UInt8]]: [(doc: Int, name: Int, score: Double)]] = [:]
        return (start..<entries.count).map { i in
            var bestPerDoc: [Int: DuplicateMatch] = [:]
            for g in Self.personNames(entries[i].document) {
                let gt = NameFolding.nameTokens(g)
                guard !gt.isEmpty else { continue }
                let all: [(doc: Int, name: Int, score: Double)]
                if let m = matches[gt] { all = m } else {
                    var scored: [Int32: Double] = [:]
                    var found: [(doc: Int, name: Int, score: Double)] = []
                    for (d, n) in candidates(for: gt, among: 0..<entries.count, scratch: &scratch) {
                        let name = docs[d].names[n]
                        let s = scored[name.spelling] ?? NameFolding.similarity(gt, name.tokens)
                        scored[name.spelling] = s
                        if s >= threshold { found.append((d, n, s)) }
                    }
                    all = found.sorted { ($0.doc, $0.name) < ($1.doc, $1.name) }
                    matches[gt] = all
                }
                for m in all {
                    guard m.doc < i else { break }
                    guard m.score > (bestPerDoc[m.doc]?.score ?? 0) else { continue }
                    bestPerDoc[m.doc] = DuplicateMatch(caseId: entries[m.doc].id, ref: entries[m.doc].document.ref,
                                                       name: docs[m.doc].names[m.name].display, matchedName: g, score: roundedScore(m.score))
                }
            }
            return bestPerDoc.sorted { ($0.value.score, -$0.key) > ($1.value.score, -$1.key) }.map(\.value)
        }
    }

    func duplicates(ofNames given: [String], threshold: Double, among range: Range<Int>, excluding: Set<String>,
                    scratch: inout CandidateScratch) -> [DuplicateMatch] {
        var bestPerDoc: [Int: DuplicateMatch] = [:]
        for g in given.prefix(Self.maxNamesPerCase) {
            let gt = NameFolding.nameTokens(g)
            guard !gt.isEmpty else { continue }
            // Namesakes repeat: each spelling among the candidates is scored once.
            var scored: [Int32: Double] = [:]
            for (d, nameIdx) in candidates(for: gt, among: range, scratch: &scratch) where !excluding.contains(entries[d].id) {
                let n = docs[d].names[nameIdx]
                let s = scored[n.spelling] ?? NameFolding.similarity(gt, n.tokens)
                scored[n.spelling] = s
                guard s >= threshold, s > (bestPerDoc[d]?.score ?? 0) else { continue }
                bestPerDoc[d] = DuplicateMatch(caseId: entries[d].id, ref: entries[d].document.ref, name: n.display,
                                               matchedName: g, score: roundedScore(s))
            }
        }
        return bestPerDoc.sorted { ($0.value.score, -$0.key) > ($1.value.score, -$1.key) }.map(\.value)
    }

    /// The person names and aliases of `doc` that name scoring looks at: the first
    /// `maxNamesPerCase` of them.
    public static func personNames(_ doc: CaseDocument) -> [String] {
        Array((doc.persons ?? []).lazy.flatMap { [$0.name] + ($0.aliases ?? []) }.prefix(maxNamesPerCase))
    }

    /// Pairs of cases in the index that probably concern the same person, strongest first.
    public func duplicatePairs(threshold: Double = NameFolding.duplicateThreshold) -> [DuplicatePair] {
        var out: [DuplicatePair] = []
        var scratch = CandidateScratch()
        for (d, e) in entries.enumerated() where e.mergedInto == nil {
            var bestPerDoc: [Int: (Double, Name, Name)] = [:]
            for n in docs[d].names where !n.isOfficial {
                var scored: [Int32: Double] = [:]
                for (o, oi) in candidates(for: n.tokens, among: (d + 1)..<entries.count, scratch: &scratch) {
                    let other = docs[o].names[oi]
                    let s = scored[other.spelling] ?? NameFolding.similarity(n.tokens, other.tokens)
                    scored[other.spelling] = s
                    if s >= threshold, s > (bestPerDoc[o]?.0 ?? 0) { bestPerDoc[o] = (s, n, other) }
                }
            }
            for (o, (s, a, b)) in bestPerDoc {
                out.append(DuplicatePair(first: .init(caseId: e.id, ref: e.document.ref, name: a.display),
                                         second: .init(caseId: entries[o].id, ref: entries[o].document.ref, name: b.display),
                                         score: roundedScore(s)))
            }
        }
        return out.sorted { ($0.score, $1.first.caseId, $1.second.caseId) > ($1.score, $0.first.caseId, $0.second.caseId) }
    }

    /// (doc, name) pairs near enough on enough tokens to possibly score as the same person,
    /// each once. A pair at the duplicate threshold has every token at least 0.7 alike (the
    /// score averages the mean with the worst token), so blocking at 0.7 loses no pair; and a
    /// name of two or more words must meet a candidate on two of them (initials aside), which
    /// keeps a common first name from making every namesake a candidate.
    func candidates(for tokens: [[UInt8]], among range: Range<Int>? = nil) -> [(Int, Int)] {
        var scratch = CandidateScratch()
        return candidates(for: tokens, among: range ?? entries.indices, scratch: &scratch)
    }

    /// As above, for the docs in `range` only, with buffers kept across calls: an import of
    /// 10,000 cases asks 10,000 times, and hashing every (doc, name) it met was 60 % of it.
    func candidates(for tokens: [[UInt8]], among range: Range<Int>, scratch: inout CandidateScratch) -> [(Int, Int)] {
        scratch.prepare(for: self)
        var touched: [(doc: Int32, name: Int32)] = []
        for t in Set(tokens) {
            scratch.token &+= 1
            if scratch.token == 0 { scratch.resetStamps() }
            let near: [(Int32, Double)]
            if let m = scratch.memo[t] { near = m } else {
                near = names.similar(to: t, minSimilarity: Self.blockingSimilarity, prefixes: false)
                scratch.memo[t] = near
            }
            for (term, _) in near {
                let postings = namePostings[Int(term)]
                // Postings are in doc order: start at the range's first doc, stop past its last.
                var lo = 0, hi = postings.count
                while lo < hi { let mid = (lo + hi) / 2; if Int(postings[mid].doc) < range.lowerBound { lo = mid + 1 } else { hi = mid } }
                for p in postings[lo...] {
                    guard Int(p.doc) < range.upperBound else { break }
                    let slot = Int(nameBase[Int(p.doc)]) + Int(p.name)
                    guard scratch.stamp[slot] != scratch.token else { continue }
                    scratch.stamp[slot] = scratch.token
                    if scratch.count[slot] == 0 { touched.append(p) }
                    scratch.count[slot] &+= 1
                }
            }
        }
        let words = Set(tokens.filter { $0.count > 1 }).count
        let needed = UInt16(max(1, min(2, words)))
        var out: [(Int, Int)] = []
        for p in touched {
            let slot = Int(nameBase[Int(p.doc)]) + Int(p.name)
            if scratch.count[slot] >= needed { out.append((Int(p.doc), Int(p.name))) }
            scratch.count[slot] = 0
        }
        return out
    }
}

/// Buffers for `candidates`: per (doc, name) slot of one index, how many of the query's
/// tokens met it, and which token last did (so a slot counts once per token); and each
/// token's near terms, as term ids of that index. One scratch serves one index only.
struct CandidateScratch {
    var memo: [[UInt8]: [(Int32, Double)]] = [:]
    var count: [UInt16] = []
    var stamp: [UInt32] = []
    var token: UInt32 = 0

    mutating func prepare(for index: SearchIndex) {
        guard count.count != index.nameSlots else { return }
        count = Array(repeating: 0, count: index.nameSlots)
        stamp = Array(repeating: 0, count: index.nameSlots)
        token = 0
    }

    mutating func resetStamps() {
        for i in stamp.indices { stamp[i] = 0 }
        token = 1
    }
}
