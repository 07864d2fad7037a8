extension SearchIndex {
    /// A name token blocks a candidate when it is at least this near a name token of it.
    static let blockingSimilarity = 0.8

    /// Cases among `among` (by position in `entries`) with a person whose name probably is
    /// one of `names`: the best match per case, strongest first. Merged cases are left out
    /// (their persons live on in the case they were merged into).
    public func duplicates(ofNames given: [String], threshold: Double = NameFolding.duplicateThreshold,
                           among: Range<Int>? = nil, excluding: Set<String> = []) -> [DuplicateMatch] {
        let range = among ?? entries.indices
        var bestPerDoc: [Int: DuplicateMatch] = [:]
        for g in given {
            let gt = NameFolding.tokens(g)
            guard !gt.isEmpty else { continue }
            for (d, nameIdx) in candidates(for: gt) where range.contains(d) && !excluding.contains(entries[d].id) {
                let n = docs[d].names[nameIdx]
                let s = NameFolding.similarity(gt, n.tokens)
                guard s >= threshold, s > (bestPerDoc[d]?.score ?? 0) else { continue }
                bestPerDoc[d] = DuplicateMatch(caseId: entries[d].id, ref: entries[d].document.ref, name: n.display,
                                               matchedName: g, score: rounded(s))
            }
        }
        return bestPerDoc.sorted { ($0.value.score, -$0.key) > ($1.value.score, -$1.key) }.map(\.value)
    }

    /// Every person name and alias of `doc`.
    public static func personNames(_ doc: CaseDocument) -> [String] {
        (doc.persons ?? []).flatMap { [$0.name] + ($0.aliases ?? []) }
    }

    /// Pairs of cases in the index that probably concern the same person, strongest first.
    public func duplicatePairs(threshold: Double = NameFolding.duplicateThreshold) -> [DuplicatePair] {
        var out: [DuplicatePair] = []
        for (d, e) in entries.enumerated() where e.mergedInto == nil {
            var bestPerDoc: [Int: (Double, Name, Name)] = [:]
            for n in docs[d].names where !n.isOfficial {
                for (o, oi) in candidates(for: n.tokens) where o > d {
                    let other = docs[o].names[oi]
                    let s = NameFolding.similarity(n.tokens, other.tokens)
                    if s >= threshold, s > (bestPerDoc[o]?.0 ?? 0) { bestPerDoc[o] = (s, n, other) }
                }
            }
            for (o, (s, a, b)) in bestPerDoc {
                out.append(DuplicatePair(first: .init(caseId: e.id, ref: e.document.ref, name: a.display),
                                         second: .init(caseId: entries[o].id, ref: entries[o].document.ref, name: b.display),
                                         score: rounded(s)))
            }
        }
        return out.sorted { ($0.score, $1.first.caseId, $1.second.caseId) > ($1.score, $0.first.caseId, $0.second.caseId) }
    }

    /// (doc, name) pairs sharing at least one near token with `tokens`, each once.
    func candidates(for tokens: [[UInt8]]) -> [(Int, Int)] {
        var seen: Set<Int64> = []
        var out: [(Int, Int)] = []
        for t in tokens {
            for (term, _) in names.similar(to: t, minSimilarity: Self.blockingSimilarity, prefixes: false) {
                for (d, n) in namePostings[Int(term)] {
                    let key = Int64(d) << 32 | Int64(n)
                    if seen.insert(key).inserted { out.append((Int(d), Int(n))) }
                }
            }
        }
        return out
    }
}
