import Foundation
import SandyqCore
import SandyqSearch

extension Node {
    /// A search index over every case this node can read. Built in memory from the unlocked
    /// view and never stored: callers hold it as long as they need it.
    public func searchIndex() throws(NodeError) -> SearchIndex {
        let v = try view()
        if let s = searchCache { return s }
        let s = SearchIndex(v.orderedCases.map(SearchIndex.Entry.init))
        searchCache = s
        return s
    }

    public func search(_ query: SearchQuery) throws(NodeError) -> [SearchHit] {
        try searchIndex().search(query)
    }

    /// How many cases match, and the first `first` in full: what a page of results needs.
    public func searchPage(_ query: SearchQuery, first: Int) throws(NodeError) -> (count: Int, hits: [SearchHit]) {
        try searchIndex().page(query, first: first)
    }

    /// For each document about to be added, the existing cases (and the earlier documents of
    /// the same batch) with a person that is probably one of its persons. Batch members are
    /// named `#1`, `#2`, ... (their position in `docs`, from 1) since they have no id yet.
    public func duplicateWarnings(for docs: [CaseDocument],
                                  threshold: Double = NameFolding.duplicateThreshold) throws(NodeError) -> [[DuplicateMatch]] {
        let existing = try view().orderedCases.map(SearchIndex.Entry.init)
        let batch = docs.enumerated().map { SearchIndex.Entry(id: "#\($0.offset + 1)", document: $0.element) }
        return SearchIndex.ofNames(existing + batch).duplicatesOfEntries(from: existing.count, threshold: threshold)
    }

    /// Pairs of readable cases that probably concern the same person.
    public func duplicatePairs(threshold: Double = NameFolding.duplicateThreshold) throws(NodeError) -> [DuplicatePair] {
        try searchIndex().duplicatePairs(threshold: threshold)
    }
}

/// How long building the index and answering queries take, over synthetic cases in memory.
public enum SearchBenchmark {
    public struct Result: Sendable, Codable {
        public var cases: Int
        public var terms: Int
        public var queries: Int
        public var buildSeconds: Double
        public var p50Millis: Double
        public var p99Millis: Double
        public var maxMillis: Double
        public var meanHits: Double
        /// `case duplicates` over the same cases: seconds, and pairs found (the synthetic names repeat, so many).
        public var duplicatePairsSeconds: Double
        public var duplicatePairs: Int
        /// The same figures per kind of query.
        public var byKind: [Kind]

        public struct Kind: Sendable, Codable {
            public var kind: String
            public var queries: Int
            public var p50Millis: Double
            public var p99Millis: Double
            public var meanHits: Double
        }
    }

    static let kinds = ["name in Latin", "name in Cyrillic", "surname alone", "a word of the text", "Latin name + status + agency filters"]

    /// Builds `cases` synthetic cases shaped like the seeds (Kazakh and Russian names and
    /// prose, officials, charges, events), indexes them, and times `queries` searches:
    /// names in another script or transliteration, surnames alone, words of the text,
    /// and filtered queries. Deterministic (a fixed seed), so runs compare.
    public static func run(cases: Int = 10_000, queries: Int = 1_000) -> Result {
        var rng = SyntheticRandom(seed: 0x5A4E_4459_51)
        let docs = (0..<cases).map { SyntheticCases.document($0, &rng) }
        let entries = docs.enumerated().map { SearchIndex.Entry(id: "case-\($0.offset)", document: $0.element) }

        let t0 = DispatchTime.now().uptimeNanoseconds
        let index = SearchIndex(entries)
        let buildSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9

        var qs: [SearchQuery] = []
        for i in 0..<queries {
            let d = docs[Int(rng.next() % UInt64(cases))]
            let name = d.persons?.first?.name ?? "Бокаев"
            switch i % 5 {
            case 0: qs.append(SearchQuery(text: SyntheticCases.latin(name)))
            case 1: qs.append(SearchQuery(text: name))
            case 2: qs.append(SearchQuery(text: String(name.split(separator: " ").last ?? "")))
            case 3: qs.append(SearchQuery(text: SyntheticCases.words[Int(rng.next() % UInt64(SyntheticCases.words.count))]))
            default: qs.append(SearchQuery(text: SyntheticCases.latin(name), status: d.status, agency: d.officials?.first?.agency))
            }
        }
        var times: [(kind: Int, ms: Double, hits: Int)] = []
        for (i, q) in qs.enumerated() {
            let s = DispatchTime.now().uptimeNanoseconds
            let n = index.search(q).count
            times.append((i % 5, Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6, n))
        }
        func pct(_ xs: [Double], _ p: Double) -> Double {
            let sorted = xs.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
        }
        func mean(_ xs: [Int]) -> Double { xs.isEmpty ? 0 : Double(xs.reduce(0, +)) / Double(xs.count) }
        let all = times.map(\.ms)
        let byKind = kinds.enumerated().map { k, name in
            let t = times.filter { $0.kind == k }
            return Result.Kind(kind: name, queries: t.count, p50Millis: pct(t.map(\.ms), 0.5), p99Millis: pct(t.map(\.ms), 0.99),
                               meanHits: mean(t.map(\.hits)))
        }.filter { $0.queries > 0 }
        let p0 = DispatchTime.now().uptimeNanoseconds
        let pairs = index.duplicatePairs().count
        let pairSeconds = Double(DispatchTime.now().uptimeNanoseconds - p0) / 1e9
        return Result(cases: cases, terms: index.termCount, queries: queries, buildSeconds: buildSeconds,
                      p50Millis: pct(all, 0.5), p99Millis: pct(all, 0.99), maxMillis: all.max() ?? 0,
                      meanHits: mean(times.map(\.hits)), duplicatePairsSeconds: pairSeconds, duplicatePairs: pairs, byKind: byKind)
    }
}

extension SearchBenchmark {
    /// What one hostile case costs duplicate scoring: `cases` synthetic cases, then one case
    /// whose person's name has `tokens` words (the synthetic first names and surnames, so
    /// each word meets real postings), plus the same name again as an alias.
    public struct LongName: Sendable, Codable {
        public var cases: Int
        public var tokens: Int
        /// Building the index with the hostile case in it.
        public var indexSeconds: Double
        /// The warnings `case add` computes for the hostile case against the others.
        public var warningSeconds: Double
        /// `case duplicates` over all of them.
        public var pairsSeconds: Double
        public var pairs: Int
        /// A search for the hostile name's first words.
        public var searchSeconds: Double
    }

    public static func longName(tokens: Int, cases: Int = 2_000) -> LongName {
        var rng = SyntheticRandom(seed: 0x4C4F_4E47)
        var entries = (0..<cases).map { SearchIndex.Entry(id: "case-\($0)", document: SyntheticCases.document($0, &rng)) }
        let words = (0..<tokens).map { i in
            i % 2 == 0 ? rng.pick(SyntheticCases.firstNames) : rng.pick(SyntheticCases.prefixes) + rng.pick(SyntheticCases.stems).lowercased()
        }
        var hostile = CaseDocument()
        var p = CaseDocument.Person(name: words.joined(separator: " "))
        p.aliases = [words.reversed().joined(separator: " ")]
        hostile.persons = [p]
        func seconds(_ body: () -> Void) -> Double {
            let t = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
        }
        var index = SearchIndex(entries)
        let warnings = seconds {
            entries.append(SearchIndex.Entry(id: "#1", document: hostile))
            index = SearchIndex(entries)
            _ = index.duplicatesOfEntries(from: cases)
        }
        let build = seconds { index = SearchIndex(entries) }
        var pairs = 0
        let pairSeconds = seconds { pairs = index.duplicatePairs().count }
        let search = seconds { _ = index.search(SearchQuery(text: words.prefix(3).joined(separator: " "))) }
        return LongName(cases: cases, tokens: tokens, indexSeconds: build, warningSeconds: warnings,
                        pairsSeconds: pairSeconds, pairs: pairs, searchSeconds: search)
    }
}

/// Deterministic, so the benchmark's cases are the same every run.
typealias SyntheticRandom = SplitMix64

/// Synthetic cases for the benchmark: names built from Kazakh and Russian syllables, prose
/// from the seeds' vocabulary. Not real people.
enum SyntheticCases {
    static let firstNames = ["Мұхтар", "Асқар", "Ерлан", "Айгүл", "Жанар", "Серік", "Бақыт", "Нұрлан", "Гүлнара", "Әсет",
                             "Дәулет", "Ержан", "Қайрат", "Сәуле", "Жанболат", "Максим", "Елена", "Ольга", "Тимур", "Алмат",
                             "Мадина", "Айдос", "Руслан", "Ғалым", "Өмір", "Ұлан", "Інкәр", "Бота", "Арман", "Дина"]
    static let stems = ["Жәкіш", "Бокай", "Ерімбет", "Тоқмад", "Матай", "Жұма", "Ақберді", "Әбіш", "Түлба", "Бөкен",
                        "Ахмедьяр", "Оразб", "Эмберген", "Аспандияр", "Семен", "Джаукер", "Сұлтан", "Мендығази", "Жұмағұл",
                        "Жексеба", "Клыш", "Есхоз", "Бегімбет", "Сабанши", "Жамали", "Тлеуж", "Жылынба", "Елшіба", "Енсебек",
                        "Нұрғали", "Қасым", "Сейіт", "Құнанба", "Байзақ", "Төлеу", "Шәріп", "Иманғали", "Қожахмет", "Үсен", "Һади"]
    static let prefixes = ["", "Бай", "Нұр", "Ақ", "Қара", "Сары", "Тұр", "Ер", "Жан", "Әл", "Көк", "Бек"]
    static let endings = ["ев", "ов", "ин", "ұлы", "ова", "ева", ""]
    static let cities = ["Алматы", "Астана", "Шымкент", "Ақтау", "Жаңаөзен", "Орал", "Атырау", "Қарағанды", "Павлодар", "Тараз"]
    static let words = ["пытки", "экстремизм", "политзаключённый", "журналист", "задержан", "приговор", "суд", "обыск",
                        "активист", "голодовка", "Европарламент", "резолюция", "адвокат", "қамауға", "сот", "наразылық",
                        "митинг", "Көше", "ДВК", "жалоба", "психиатрическая", "этап", "колония", "штраф"]
    static let officials = ["Карім Масімов", "Гізат Нурдаулєтов", "Єрлан Тургумбаєв", "Бауыржан Жақсылықов", "Ирина Петрова",
                            "Серік Тоқтарбаев", "Дмитрий Ким", "Асқар Оспанов"]

    static func document(_ i: Int, _ rng: inout SyntheticRandom) -> CaseDocument {
        var d = CaseDocument()
        // 30 first names x about 2,900 surnames: namesakes occur, as they do, but not in every other case.
        let prefix = rng.pick(prefixes), stem = rng.pick(stems)
        let surname = prefix.isEmpty ? stem : prefix + stem.lowercased()
        let name = rng.pick(firstNames) + " " + surname + rng.pick(endings)
        var p = CaseDocument.Person(name: name)
        p.birthYear = 1950 + Int(rng.next() % 50)
        d.persons = [p]
        d.ref = "bench-\(i)"
        d.title = "\(name) — \(rng.pick(words)), \(rng.pick(words))"
        d.status = rng.pick(CaseSchema.statuses)
        d.city = rng.pick(cities)
        d.summary = (0..<40).map { _ in rng.pick(words) }.joined(separator: " ")
        var c = CaseDocument.Charge()
        c.code = "criminal"; c.article = rng.pick(["405", "174", "274", "272", "380"]); c.stage = "trial"
        d.charges = [c]
        d.events = (0..<3).map { _ in
            var e = CaseDocument.Event(type: rng.pick(["arrest", "hearing", "verdict", "search"]))
            e.date = "20\(10 + rng.next() % 14)-0\(1 + rng.next() % 9)-1\(rng.next() % 10)"
            e.place = rng.pick(cities)
            e.description = (0..<12).map { _ in rng.pick(words) }.joined(separator: " ")
            return e
        }
        var o = CaseDocument.Official(name: rng.pick(officials))
        o.agency = rng.pick(["police", "knb", "prosecutor", "court"])
        d.officials = [o]
        var s = CaseDocument.Source(reference: "https://example.org/\(i)")
        s.kind = "url"
        d.sources = [s]
        d.tags = [rng.pick(words)]
        return d
    }

    /// A plain Latin transliteration (passport style), for queries in another script.
    static func latin(_ s: String) -> String {
        let t: [Character: String] = [
            "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
            "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
            "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
            "э": "e", "ю": "yu", "я": "ya", "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u",
            "һ": "h", "і": "i", "є": "ye", "ї": "yi", "ґ": "g",
        ]
        var out = ""
        for ch in s {
            let l = Character(ch.lowercased())
            if let m = t[l] { out += ch.isUppercase ? m.capitalized : m } else { out.append(ch) }
        }
        return out
    }
}
