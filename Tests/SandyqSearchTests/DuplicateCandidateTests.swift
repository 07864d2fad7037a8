import Testing
import SandyqCore
@testable import SandyqSearch

/// Duplicate candidates are counted in flat buffers kept across queries. They must be exactly
/// the (doc, name) pairs the blocking rule defines, computed here the slow way: every name of
/// every doc in range, each query token counted once when one of its near terms is a token of
/// that name.
@Suite struct DuplicateCandidateTests {
    static let first = ["Мұхтар", "Mukhtar", "Асқар", "Askar", "Айгүл", "Aigul", "Ерлан", "Сәуле", "Ольга", "Olga", "Дәурен"]
    static let last = ["Жәкішев", "Dzhakishev", "Бокаев", "Bokayev", "Ахметов", "Akhmetov", "Қасымова", "Иванова", "Омаров", "Omarov"]

    static func name(_ rng: inout SplitMix64) -> String {
        var words = [first[Int(rng.next() % UInt64(first.count))], last[Int(rng.next() % UInt64(last.count))]]
        if rng.next() % 4 == 0 { words.insert(first[Int(rng.next() % UInt64(first.count))], at: 1) }
        if rng.next() % 5 == 0 { words.removeLast() }
        // A typo: one letter dropped.
        if rng.next() % 3 == 0, var w = words.first.map(Array.init), w.count > 3 {
            w.remove(at: Int(rng.next() % UInt64(w.count)))
            words[0] = String(w)
        }
        return words.joined(separator: " ")
    }

    static func index(seed: UInt64, docs: Int) -> SearchIndex {
        var rng = SplitMix64(seed: seed)
        let entries = (0..<docs).map { d -> SearchIndex.Entry in
            var doc = CaseDocument()
            doc.persons = (0..<(1 + Int(rng.next() % 3))).map { _ in CaseDocument.Person(name: name(&rng)) }
            // Aliases and officials take slots too; officials are never candidates, and a name
            // of punctuation alone folds to no token.
            if rng.next() % 4 == 0 { doc.persons?[0].aliases = [name(&rng), "—"] }
            if rng.next() % 4 == 0 { doc.officials = [CaseDocument.Official(name: name(&rng))] }
            return SearchIndex.Entry(id: "c\(d)", document: doc, mergedInto: rng.next() % 10 == 0 ? "c0" : nil)
        }
        return SearchIndex(entries)
    }

    static func slow(_ index: SearchIndex, _ tokens: [[UInt8]], _ range: Range<Int>) -> Set<[Int]> {
        let near = Set(tokens).map { t in Set(index.names.similar(to: t, minSimilarity: SearchIndex.blockingSimilarity, prefixes: false).map(\.0)) }
        let needed = max(1, min(2, Set(tokens.filter { $0.count > 1 }).count))
        var out = Set<[Int]>()
        for d in range where index.entries[d].mergedInto == nil {
            for (n, name) in index.docs[d].names.enumerated() where !name.isOfficial {
                let terms = Set(name.tokens.compactMap { index.names.ids[$0] })
                if near.filter({ !$0.isDisjoint(with: terms) }).count >= needed { out.insert([d, n]) }
            }
        }
        return out
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func candidatesAreExactlyTheBlockingRule(seed: UInt64) {
        let index = Self.index(seed: seed, docs: 300)
        var rng = SplitMix64(seed: seed &* 77)
        var scratch = CandidateScratch()
        // Start near the stamp's wrap, so the reset runs in the middle of the queries.
        scratch.token = .max - 300
        for q in 0..<200 {
            let tokens = NameFolding.nameTokens(Self.name(&rng))
            let a = Int(rng.next() % 300), b = Int(rng.next() % 301)
            let range = min(a, b)..<max(a, b)
            let fast = index.candidates(for: tokens, among: range, scratch: &scratch)
            #expect(fast.count == Set(fast.map { [$0.0, $0.1] }).count, "query \(q): a pair twice")
            #expect(Set(fast.map { [$0.0, $0.1] }) == Self.slow(index, tokens, range), "query \(q), docs \(range)")
        }
    }

    @Test func anImportFindsEachEarlierNamesake() {
        let index = Self.index(seed: 9, docs: 400)
        let warnings = index.duplicatesOfEntries(from: 250)
        for (k, w) in warnings.enumerated() {
            let i = 250 + k
            var expected = Set<String>()
            for g in SearchIndex.personNames(index.entries[i].document) {
                let gt = NameFolding.nameTokens(g)
                for pair in Self.slow(index, gt, 0..<i)
                where NameFolding.similarity(gt, index.docs[pair[0]].names[pair[1]].tokens) >= NameFolding.duplicateThreshold {
                    expected.insert(index.entries[pair[0]].id)
                }
            }
            #expect(Set(w.map(\.caseId)) == expected, "case \(i)")
            // Each match's score is its best name's, as scored without the memo.
            for m in w {
                let d = index.entries.firstIndex { $0.id == m.caseId }!
                let best = SearchIndex.personNames(index.entries[i].document).flatMap { g in
                    let gt = NameFolding.nameTokens(g)
                    return Self.slow(index, gt, d..<(d + 1)).map { NameFolding.similarity(gt, index.docs[d].names[$0[1]].tokens) }
                }.max() ?? 0
                #expect(abs(m.score - best) < 0.006, "case \(i) against \(m.caseId): \(m.score), best \(best)")
            }
        }
        #expect(warnings.contains { !$0.isEmpty }, "the names repeat, so some case has a namesake")
    }

    @Test func pairsAreExactlyTheSlowPairs() {
        let index = Self.index(seed: 11, docs: 250)
        var expected = Set<[Int]>()
        for d in index.entries.indices where index.entries[d].mergedInto == nil {
            for n in index.docs[d].names where !n.isOfficial {
                for pair in Self.slow(index, n.tokens, (d + 1)..<index.entries.count)
                where NameFolding.similarity(n.tokens, index.docs[pair[0]].names[pair[1]].tokens) >= NameFolding.duplicateThreshold {
                    expected.insert([d, pair[0]])
                }
            }
        }
        let ids = Dictionary(uniqueKeysWithValues: index.entries.enumerated().map { ($0.element.id, $0.offset) })
        let pairs = index.duplicatePairs()
        #expect(Set(pairs.map { [ids[$0.first.caseId]!, ids[$0.second.caseId]!] }) == expected)
        #expect(pairs.count == expected.count && !pairs.isEmpty)
    }

    @Test func aNamesOnlyIndexWarnsAsTheFullOne() {
        let full = Self.index(seed: 13, docs: 300)
        let names = SearchIndex.ofNames(full.entries)
        #expect(names.termCount == 0, "no field text indexed")
        let a = full.duplicatesOfEntries(from: 200), b = names.duplicatesOfEntries(from: 200)
        #expect(a.map { $0.map { [$0.caseId, $0.name, "\($0.score)"] } } == b.map { $0.map { [$0.caseId, $0.name, "\($0.score)"] } })
        #expect(a.contains { !$0.isEmpty })
    }

    /// The import's cached path returns exactly what one query per case returns: the same
    /// cases, scores, names shown and order.
    @Test(arguments: [UInt64(21), 22, 23])
    func anImportWarnsAsOneQueryPerCase(seed: UInt64) {
        let index = Self.index(seed: seed, docs: 300)
        let warnings = index.duplicatesOfEntries(from: 100)
        for (k, w) in warnings.enumerated() {
            let i = 100 + k
            #expect(w == index.duplicates(ofNames: SearchIndex.personNames(index.entries[i].document), among: 0..<i), "case \(i)")
        }
        #expect(warnings.contains { $0.count > 1 })
    }
}
