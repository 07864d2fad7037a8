import SandyqCore

extension SearchIndex {
    /// A name token blocks a candidate when it is at least this near a name token of it.
    static let blockingSimilarity = 0.7

    /// Cases among `among` (by position in `entries`) with a person whose name probably is
    /// one of `names`: the best match per case, strongest first. Merged cases are left out
    /// (their persons live on in the case they were merged into).
    public func duplicates(ofNames given: [String], threshold: Double = NameFolding.duplicateThreshold,
                           among: Range<Int>? = nil, excluding: Set<String> = []) -> [DuplicateMatch] {
        var memo: [[UInt8]: [(Int32, Double)]] = [:]
        return duplicates(ofNames: given, threshold: threshold, among: among, excluding: excluding, memo: &memo)
    }

    /// For each entry from `start` on (the cases of an import), its duplicates among the
    /// entries before it: the cases already there and the earlier ones of the same import.
    public func duplicatesOfEntries(from start: Int, threshold: Double = NameFolding.duplicateThreshold) -> [[DuplicateMatch]] {
        var memo: [[UInt8]: [(Int32, Double)]] = [:]
        return (start..<entries.count).map { i in
            duplicates(ofNames: Self.personNames(entries[i].document), threshold: threshold, among: 0..<i, excluding: [], memo: &memo)
        }
    }

    func duplicates(ofNames given: [String], threshold: Double, among: Range<Int>?, excluding: Set<String>,
                    memo: inout [[UInt8]: [(Int32, Double)]]) -> [DuplicateMatch] {
        let range = among ?? entries.indices
        var bestPerDoc: [Int: DuplicateMatch] = [:]
        for g in given.prefix(Self.maxNamesPerCase) {
            let gt = NameFolding.nameTokens(g)
            guard !gt.isEmpty else { continue }
            for (d, nameIdx) in candidates(for: gt, memo: &memo) where range.contains(d) && !excluding.contains(entries[d].id) {
                let n = docs[d].names[nameIdx]
                let s = NameFolding.similarity(gt, n.tokens)
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
        var memo: [[UInt8]: [(Int32, Double)]] = [:]
        for (d, e) in entries.enumerated() where e.mergedInto == nil {
            var bestPerDoc: [Int: (Double, Name, Name)] = [:]
            for n in docs[d].names where !n.isOfficial {
                for (o, oi) in candidates(for: n.tokens, memo: &memo) where o > d {
                    let other = docs[o].names[oi]
                    let s = NameFolding.similarity(n.tokens, other.tokens)
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
    func candidates(for tokens: [[UInt8]]) -> [(Int, Int)] {
        var memo: [[UInt8]: [(Int32, Double)]] = [:]
        return candidates(for: tokens, memo: &memo)
    }

    /// As above, remembering each token's near terms in `memo` across calls.
    func candidates(for tokens: [[UInt8]], memo: inout [[UInt8]: [(Int32, Double)]]) -> [(Int, Int)] {
        var count: [Int64: Int] = [:]
        var order: [Int64] = []
        for t in Set(tokens) {
            var seen: Set<Int64> = []
            let near: [(Int32, Double)]
            if let m = memo[t] { near = m } else {
                near = names.similar(to: t, minSimilarity: Self.blockingSimilarity, prefixes: false)
                memo[t] = near
            }
            for (term, _) in near {
                for (d, n) in namePostings[Int(term)] {
                    let key = Int64(d) << 32 | Int64(n)
                    guard seen.insert(key).inserted else { continue }
                    if count[key] == nil { order.append(key) }
                    count[key, default: 0] += 1
                }
            }
        }
        let words = Set(tokens.filter { $0.count > 1 }).count
        let needed = max(1, min(2, words))
        return order.filter { count[$0]! >= needed }.map { (Int($0 >> 32), Int($0 & 0xFFFF_FFFF)) }
    }
}
