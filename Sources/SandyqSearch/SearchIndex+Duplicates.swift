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
        // An import names the same people again and again: each spelling keeps its matches, in
        // case order, and is scanned only over the cases added since its last query, so a
        // repeated name costs a lookup and a name seen once no more than a query of its own.
        var cache: [[[UInt8]]: ScannedMatches] = [:]
        return (start..<entries.count).map { i in
            var best = BestMatches()
            for g in Self.personNames(entries[i].document) {
                let gt = NameFolding.nameTokens(g)
                guard !gt.isEmpty else { continue }
                var c = cache.removeValue(forKey: gt) ?? ScannedMatches()
                if c.scannedUpTo < i {
                    for (d, n) in candidates(for: gt, among: c.scannedUpTo..<i, scratch: &scratch) {
                        let name = docs[d].names[n]
                        let s = c.scored[name.spelling] ?? NameFolding.similarity(gt, name.tokens)
                        c.scored[name.spelling] = s
                        if s >= threshold { c.matches.append((d, n, s)) }
                    }
                    c.scannedUpTo = i
                }
                for m in c.matches { best.offer(m.doc, m.score, self.match(m.doc, m.name, given: g, score: m.score)) }
                cache[gt] = c
            }
            return best.sorted()
        }
    }

    func duplicates(ofNames given: [String], threshold: Double, among range: Range<Int>, excluding: Set<String>,
                    scratch: inout CandidateScratch) -> [DuplicateMatch] {
        var best = BestMatches()
        for g in given.prefix(Self.maxNamesPerCase) {
            let gt = NameFolding.nameTokens(g)
            guard !gt.isEmpty else { continue }
            // Namesakes repeat: each spelling among the candidates is scored once.
            var scored: [Int32: Double] = [:]
            for (d, nameIdx) in candidates(for: gt, among: range, scratch: &scratch) where !excluding.contains(entries[d].id) {
                let n = docs[d].names[nameIdx]
                let s = scored[n.spelling] ?? NameFolding.similarity(gt, n.tokens)
                scored[n.spelling] = s
                if s >= threshold { best.offer(d, s, self.match(d, nameIdx, given: g, score: s)) }
            }
        }
        return best.sorted()
    }

    func match(_ d: Int, _ name: Int, given: String, score: Double) -> DuplicateMatch {
        DuplicateMatch(caseId: entries[d].id, ref: entries[d].document.ref, name: docs[d].names[name].display,
                       matchedName: given, score: roundedScore(score))
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
    /// Only docs in `range` count. The buffers are kept across calls: an import of 10,000 cases
    /// asks 10,000 times, and hashing every (doc, name) it met was 60 % of it.
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
        // In (doc, name) order, whatever order the query's words were met in: ties between two
        // names of one case then always show the same one.
        return out.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }
}

/// Per case, the match with the highest raw score (a later name counts only when it scores
/// higher than the best so far, unrounded).
struct BestMatches {
    var byDoc: [Int: (raw: Double, match: DuplicateMatch)] = [:]

    mutating func offer(_ doc: Int, _ raw: Double, _ match: @autoclosure () -> DuplicateMatch) {
        guard raw > (byDoc[doc]?.raw ?? 0) else { return }
        byDoc[doc] = (raw, match())
    }

    /// Strongest first, then in case order.
    func sorted() -> [DuplicateMatch] {
        byDoc.sorted { ($0.value.match.score, -$0.key) > ($1.value.match.score, -$1.key) }.map(\.value.match)
    }
}

/// An import's matches for one spelling: those among the cases before `scannedUpTo`, in case
/// order, and the score of each spelling met.
struct ScannedMatches {
    var matches: [(doc: Int, name: Int, score: Double)] = []
    var scannedUpTo = 0
    var scored: [Int32: Double] = [:]
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
