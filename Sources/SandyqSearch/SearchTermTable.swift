import SandyqCore

/// Interned folded terms with a trigram index (near spellings) and a sorted order (prefixes).
struct SearchTermTable: Sendable {
    var ids: [[UInt8]: Int32] = [:]
    var terms: [[UInt8]] = []
    var postings: [[UInt32]] = []
    var trigrams: [UInt32: [Int32]] = [:]
    var sorted: [Int32] = []

    mutating func intern(_ t: [UInt8]) -> Int32 {
        if let id = ids[t] { return id }
        let id = Int32(terms.count)
        ids[t] = id
        terms.append(t)
        postings.append([])
        return id
    }

    mutating func finish() {
        for (id, t) in terms.enumerated() {
            for g in Set(Self.trigrams(t)) { trigrams[g, default: []].append(Int32(id)) }
        }
        sorted = terms.indices.map(Int32.init).sorted { terms[Int($0)].lexicographicallyPrecedes(terms[Int($1)]) }
    }

    static func trigrams(_ t: [UInt8]) -> [UInt32] {
        let padded = [0x24] + t + [0x24]
        guard padded.count >= 3 else { return [] }
        return (0...(padded.count - 3)).map { UInt32(padded[$0]) << 16 | UInt32(padded[$0 + 1]) << 8 | UInt32(padded[$0 + 2]) }
    }

    /// Terms equal to `q` (1), starting with it (prefixScore), or spelled nearly like it (their Jaro-Winkler).
    func similar(to q: [UInt8], minSimilarity: Double, prefixes: Bool) -> [(Int32, Double)] {
        var out: [Int32: Double] = [:]
        if let id = ids[q] { out[id] = 1 }
        let isNumber = q.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        if isNumber { return out.map { ($0.key, $0.value) } }  // 405 must not find 406
        if prefixes, q.count >= 3 {
            // The first sorted term not below q, then on while terms start with q.
            var lo = 0, hi = sorted.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if terms[Int(sorted[mid])].lexicographicallyPrecedes(q) { lo = mid + 1 } else { hi = mid }
            }
            var n = 0
            while lo < sorted.count, n < 200, terms[Int(sorted[lo])].starts(with: q) {
                let id = sorted[lo]
                if out[id] == nil { out[id] = SearchIndex.prefixScore }
                lo += 1; n += 1
            }
        }
        let qg = Set(Self.trigrams(q))
        if q.count >= 3, !qg.isEmpty {
            var shared: [Int32: Int] = [:]
            for g in qg { for id in trigrams[g] ?? [] { shared[id, default: 0] += 1 } }
            let need = max(1, qg.count / 3)
            for (id, k) in shared where k >= need && out[id] != 1 {
                let t = terms[Int(id)]
                guard abs(t.count - q.count) <= 3 else { continue }
                let s = NameFolding.jaroWinkler(q, t)
                if s >= minSimilarity, s > (out[id] ?? 0) { out[id] = s }
            }
        }
        return out.map { ($0.key, $0.value) }
    }
}
