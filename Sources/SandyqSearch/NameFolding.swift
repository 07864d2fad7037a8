import SandyqCore

/// Folds names and words written in Kazakh, Russian or Ukrainian Cyrillic, or in any of
/// the usual Latin transliterations of them, to one Latin skeleton, and scores how alike
/// two folded names are (DESIGN.md, "Names in three scripts").
///
/// Folding runs in two steps. First every letter becomes lowercase ASCII Latin: Cyrillic by
/// a transliteration table (ж -> zh, х -> kh, ш -> sh, ы -> y, ...; the Kazakh letters
/// ә ғ қ ң ө ұ ү һ і and the Ukrainian і ї є ґ fold onto their nearest Russian sound),
/// Latin letters with diacritics to their base (or to a digraph where a Kazakh or Turkic
/// Latin alphabet uses them: ş -> sh, ç -> ch), combining marks (stress, breve, diaeresis)
/// are dropped. Then one pass over the Latin letters collapses what transliterations
/// disagree on, so Cyrillic and Latin input meet:
///
/// | input | skeleton | | input | skeleton |
/// |---|---|---|---|---|
/// | zh, dzh, dj, j | j | | y, i (and й, ы, и, і) | i |
/// | kh, h | h | | ya / ia, yu / iu | ia, iu |
/// | sh, sch, shch (and skh) | sh | | ye at a word's start, y between a vowel and e | e |
/// | ch, tch, cz | c | | doubled letters | one |
/// | c (alone), q, ck | k | | a final -ov, -ova | -ev, -eva |
/// | x | ks | | w | v |
/// | ng | n | | ph | f |
///
/// So "Мұхтар Жәкішев", "Мухтар Джакишев", "Mukhtar Dzhakishev" and "Jakishev Mukhtar"
/// all fold to the tokens `muhtar jakishev`.
public enum NameFolding {
    /// At or above this a pair of names is "probably the same person".
    public static let duplicateThreshold = 0.85

    /// The skeleton of `text`: its folded tokens, joined by spaces.
    public static func fold(_ text: String) -> String {
        tokens(text).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// The folded tokens of `text`, in order. Digits stay (so an article number or a year
    /// is a token); anything that is neither letter nor digit separates tokens.
    public static func tokens(_ text: String) -> [[UInt8]] {
        var out: [[UInt8]] = []
        forEachToken(text) { out.append($0) }
        return out
    }

    /// Name scoring (duplicates, and a name as a whole in search) looks at no more than this
    /// many words of a name, each cut to this many folded letters. A person's name has a
    /// handful of words; a hostile case with a 4,000-word name made every pairing cost
    /// 4,000 x 4,000 token comparisons (issue 13: 52 s for one `case add`).
    public static let maxNameTokens = 8
    public static let maxNameTokenLength = 32

    /// The tokens name scoring uses: the first `maxNameTokens`, each at most
    /// `maxNameTokenLength` long.
    public static func nameTokens(_ text: String) -> [[UInt8]] {
        var out: [[UInt8]] = []
        forEachToken(text) { t in
            if out.count < maxNameTokens { out.append(t.count > maxNameTokenLength ? Array(t.prefix(maxNameTokenLength)) : t) }
        }
        return out
    }

    /// Calls `body` with each folded token of `text`, with no intermediate arrays of strings.
    public static func forEachToken(_ text: String, _ body: ([UInt8]) -> Void) {
        var latin: [UInt8] = []
        latin.reserveCapacity(32)
        func flush() {
            if !latin.isEmpty {
                let t = skeleton(latin)
                if !t.isEmpty { body(t) }
                latin.removeAll(keepingCapacity: true)
            }
        }
        for s in text.unicodeScalars {
            let v = s.value
            if v < 0x80 {
                let b = UInt8(v)
                switch b {
                case 0x61...0x7A, 0x30...0x39: latin.append(b)
                case 0x41...0x5A: latin.append(b | 0x20)
                case 0x27, 0x60: continue  // apostrophes inside a name: O'Brien, Мар'яна
                default: flush()
                }
                continue
            }
            if v >= flatBase, v < flatBase + UInt32(flat.count) {
                var packed = flat[Int(v - flatBase)]
                if packed != 0 {
                    if packed != emptyMapping {
                        while packed != 0 { latin.append(UInt8(truncatingIfNeeded: packed)); packed >>= 8 }
                    }
                    continue
                }
            }
            if let mapped = table[v] {  // outside the flat range (none today; kept so the table alone decides)
                latin.append(contentsOf: mapped)
                continue
            }
            if (0x0300...0x036F).contains(v) || v == 0x2019 || v == 0x02BC || v == 0x02BB { continue }  // marks, ’ ʼ ʻ
            let p = s.properties
            if p.isAlphabetic {
                // A letter outside the table: try its lowercase form, else its first scalar.
                if let lower = p.lowercaseMapping.unicodeScalars.first, lower != s, let m = table[lower.value] {
                    latin.append(contentsOf: m)
                } else {
                    flush()  // a script this table does not know: keep it out of the skeleton
                }
                continue
            }
            if p.generalCategory == .nonspacingMark || p.generalCategory == .enclosingMark { continue }
            flush()
        }
        flush()
    }

    /// The second step: one left-to-right pass over lowercase ASCII.
    static func skeleton(_ t: [UInt8]) -> [UInt8] {
        let n = t.count
        @inline(__always) func at(_ i: Int) -> UInt8 { i < n ? t[i] : 0 }
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var i = 0
        while i < n {
            let c = t[i], n1 = at(i + 1), n2 = at(i + 2), n3 = at(i + 3)
            switch c {
            case a_("s"):
                // ш, щ (shch) and German sch all become sh, which is also what с + х (skh) becomes once kh is h:
                // Kazakh Latin writes Асхат as Ashat.
                if n1 == a_("h") { out.append(a_("s")); out.append(a_("h")); i += (n2 == a_("c") && n3 == a_("h")) ? 4 : 2 }
                else if n1 == a_("c"), n2 == a_("h") { out.append(a_("s")); out.append(a_("h")); i += 3 }
                else { out.append(c); i += 1 }
            case a_("c"):
                if n1 == a_("h") || n1 == a_("z") { out.append(a_("c")); i += 2 }
                else if n1 == a_("k") { out.append(a_("k")); i += 2 }
                else { out.append(a_("k")); i += 1 }
            case a_("t"):
                if n1 == a_("c"), n2 == a_("h") { out.append(a_("c")); i += 3 }
                else if n1 == a_("z") { out.append(a_("t")); out.append(a_("s")); i += 2 }
                else { out.append(c); i += 1 }
            case a_("z"):
                if n1 == a_("h") { out.append(a_("j")); i += 2 } else { out.append(c); i += 1 }
            case a_("d"):
                if n1 == a_("z"), n2 == a_("h") { out.append(a_("j")); i += 3 }
                else if n1 == a_("j") { out.append(a_("j")); i += 2 }
                else { out.append(c); i += 1 }
            case a_("k"):
                if n1 == a_("h") { out.append(a_("h")); i += 2 } else { out.append(c); i += 1 }
            case a_("g"):
                if n1 == a_("h") { out.append(a_("g")); i += 2 } else { out.append(c); i += 1 }
            case a_("n"):
                if n1 == a_("g") { out.append(a_("n")); i += 2 } else { out.append(c); i += 1 }
            case a_("p"):
                if n1 == a_("h") { out.append(a_("f")); i += 2 } else { out.append(c); i += 1 }
            case a_("x"): out.append(a_("k")); out.append(a_("s")); i += 1
            case a_("q"): out.append(a_("k")); i += 1
            case a_("w"): out.append(a_("v")); i += 1
            case a_("y"): out.append(a_("i")); i += 1
            default: out.append(c); i += 1
            }
        }
        // Doubled letters: Онлабеккызы / Onlabekkyzy / Onlabekyzy; Nataliya / Natalia. In place.
        var w = 0
        for r in 0..<out.count {
            let c = out[r]
            if w > 0, out[w - 1] == c, !isDigit(c) { continue }
            out[w] = c; w += 1
        }
        out.removeLast(out.count - w)
        // A glide before e: Yerlan / Ерлан, Bayev / Баев. In place, reading ahead of writing.
        w = 0
        for r in 0..<out.count {
            let c = out[r]
            if c == a_("i"), r + 1 < out.count, out[r + 1] == a_("e"), r == 0 || isVowel(out[r - 1]) { continue }
            out[w] = c; w += 1
        }
        out.removeLast(out.count - w)
        // -ов / -ев / -ov / -ev, and the feminine -ова / -ева.
        let m = out.count
        if m >= 4, out[m - 2] == a_("o"), out[m - 1] == a_("v") { out[m - 2] = a_("e") }
        else if m >= 5, out[m - 3] == a_("o"), out[m - 2] == a_("v"), out[m - 1] == a_("a") { out[m - 3] = a_("e") }
        return out
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    // A short name: the folding tables call it hundreds of times.
    @inline(__always) static func a_(_ s: Unicode.Scalar) -> UInt8 { UInt8(s.value) }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isVowel(_ c: UInt8) -> Bool {
        c == 0x61 || c == 0x65 || c == 0x69 || c == 0x6F || c == 0x75
    }

    /// `table` for U+00C0..<U+0500 as a flat array: up to four Latin bytes packed low byte
    /// first, 0 for "not in the table", `emptyMapping` for letters that fold to nothing (ъ ь).
    static let flatBase: UInt32 = 0x00C0
    static let emptyMapping: UInt32 = 0xFFFF_FFFF
    static let flat: [UInt32] = {
        var f = [UInt32](repeating: 0, count: 0x0500 - Int(flatBase))
        for (k, v) in table where k >= flatBase && k < 0x0500 {
            precondition(v.count <= 4, "a mapping longer than four letters")
            f[Int(k - flatBase)] = v.isEmpty ? emptyMapping : v.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        return f
    }()

    /// Non-ASCII letters, both cases, to lowercase Latin.
    static let table: [UInt32: [UInt8]] = {
        var t: [UInt32: [UInt8]] = [:]
        func put(_ letters: String, _ latin: String) {
            for s in letters.unicodeScalars { t[s.value] = Array(latin.utf8) }
        }
        // Russian
        put("аА", "a"); put("бБ", "b"); put("вВ", "v"); put("гГ", "g"); put("дД", "d"); put("еЕ", "e")
        put("ёЁ", "e"); put("жЖ", "zh"); put("зЗ", "z"); put("иИ", "i"); put("йЙ", "y"); put("кК", "k")
        put("лЛ", "l"); put("мМ", "m"); put("нН", "n"); put("оО", "o"); put("пП", "p"); put("рР", "r")
        put("сС", "s"); put("тТ", "t"); put("уУ", "u"); put("фФ", "f"); put("хХ", "kh"); put("цЦ", "ts")
        put("чЧ", "ch"); put("шШ", "sh"); put("щЩ", "shch"); put("ъЪьЬ", ""); put("ыЫ", "y"); put("эЭ", "e")
        put("юЮ", "yu"); put("яЯ", "ya")
        // Kazakh
        put("әӘ", "a"); put("ғҒ", "g"); put("қҚ", "k"); put("ңҢ", "ng"); put("өӨ", "o"); put("ұҰ", "u")
        put("үҮ", "u"); put("һҺ", "h"); put("іІ", "i")
        // Ukrainian and Belarusian (і above)
        put("їЇ", "i"); put("єЄ", "e"); put("ґҐ", "g"); put("ўЎ", "u")
        // Latin with diacritics; Kazakh and Turkic Latin letters where they stand for a digraph
        put("àáâãäåāăąǎÀÁÂÃÄÅĀĂĄǍəƏ", "a"); put("æÆ", "ae"); put("çÇčČćĆ", "ch"); put("ďĎđĐ", "d")
        put("èéêëēĕėęěÈÉÊËĒĔĖĘĚ", "e"); put("ğĞġĠģĢ", "g"); put("ìíîïīĭįıǐÌÍÎÏĪĬĮİǏ", "i")
        put("ķĶ", "k"); put("ĺļľłĹĻĽŁ", "l"); put("ñÑńŃņŅňŇ", "ng")
        put("òóôõöøōŏőǒÒÓÔÕÖØŌŎŐǑ", "o"); put("œŒ", "oe"); put("ŕŗřŔŖŘ", "r")
        put("śŚŝŜ", "s"); put("şŞšŠșȘ", "sh"); put("ţŢťŤțȚ", "t")
        put("ùúûüũūŭůűųǔÙÚÛÜŨŪŬŮŰŲǓ", "u"); put("ýÿŷÝŸŶ", "y"); put("źŹżŻ", "z"); put("žŽ", "zh"); put("ß", "ss")
        // Greek letters a name might borrow in a transliteration: none; digits in other scripts: none.
        return t
    }()

    // MARK: similarity

    /// Jaro-Winkler similarity of two folded tokens, 0...1.
    public static func jaroWinkler(_ a: [UInt8], _ b: [UInt8]) -> Double {
        if a == b { return a.isEmpty ? 0 : 1 }
        let la = a.count, lb = b.count
        if la == 0 || lb == 0 { return 0 }
        let window = max(0, max(la, lb) / 2 - 1)
        // Match flags on the stack: this runs for every candidate pair of a search or a duplicate scan.
        return withUnsafeTemporaryAllocation(of: Bool.self, capacity: la + lb) { flags in
            flags.initialize(repeating: false)
            var matches = 0
            for i in 0..<la {
                let lo = max(0, i - window), hi = min(lb - 1, i + window)
                if lo > hi { continue }
                for j in lo...hi where !flags[la + j] && a[i] == b[j] {
                    flags[i] = true; flags[la + j] = true; matches += 1
                    break
                }
            }
            if matches == 0 { return 0 }
            var transpositions = 0, k = 0
            for i in 0..<la where flags[i] {
                while !flags[la + k] { k += 1 }
                if a[i] != b[k] { transpositions += 1 }
                k += 1
            }
            let m = Double(matches)
            let jaro = (m / Double(la) + m / Double(lb) + (m - Double(transpositions / 2)) / m) / 3
            var prefix = 0
            while prefix < min(4, la, lb), a[prefix] == b[prefix] { prefix += 1 }
            return jaro + Double(prefix) * 0.1 * (1 - jaro)
        }
    }

    /// How alike two tokens are: the mean of Jaro-Winkler and the Dice coefficient of their
    /// letter pairs; an initial ("M.") counts as its name at 0.9.
    ///
    /// Jaro-Winkler alone is lenient with long names that share a long run of letters but
    /// begin differently, which Kazakh surnames often do (Байжанов / Қаражанов: 0.87); the
    /// letter pairs they share are few (0.53), while a transliteration variant or a typo
    /// keeps most of its pairs (Dzakishev / Jakishev: 0.77).
    public static func tokenSimilarity(_ a: [UInt8], _ b: [UInt8]) -> Double {
        if a == b { return a.isEmpty ? 0 : 1 }
        if a.count == 1 || b.count == 1 {
            guard let x = a.first, let y = b.first else { return 0 }
            return a.count == b.count ? 0 : (x == y ? 0.9 : 0)
        }
        return (jaroWinkler(a, b) + dice(a, b)) / 2
    }

    /// Dice coefficient of the letter pairs (bigrams) of two tokens of two letters or more.
    public static func dice(_ a: [UInt8], _ b: [UInt8]) -> Double {
        guard a.count >= 2, b.count >= 2 else { return a == b ? 1 : 0 }
        let na = a.count - 1
        let common = withUnsafeTemporaryAllocation(of: UInt16.self, capacity: na) { pairs -> Int in
            for i in 0..<na { pairs.initializeElement(at: i, to: UInt16(a[i]) << 8 | UInt16(a[i + 1])) }
            var common = 0
            for i in 0..<(b.count - 1) {
                let p = UInt16(b[i]) << 8 | UInt16(b[i + 1])
                if let k = pairs.firstIndex(of: p) { common += 1; pairs[k] = 0 }
            }
            return common
        }
        return Double(2 * common) / Double(na + b.count - 1)
    }

    /// How well `query` is covered by `name`, 0...1: each query token is paired with a
    /// distinct name token (best pairs first); the score is the mean of the paired
    /// similarities averaged with the worst of them, so one strong token (a shared surname)
    /// cannot carry a name whose other token does not match at all. Order does not matter.
    public static func coverage(of query: [[UInt8]], by name: [[UInt8]]) -> Double {
        guard !query.isEmpty, !name.isEmpty else { return 0 }
        let nq = query.count, nn = name.count
        // Every pair's similarity, then the best pairs greedily; all on the stack.
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: nq * nn + nq) { buf in
            for i in 0..<nq { for j in 0..<nn { buf.initializeElement(at: i * nn + j, to: tokenSimilarity(query[i], name[j])) } }
            for i in 0..<nq { buf.initializeElement(at: nq * nn + i, to: 0) }
            var usedQ: UInt64 = 0, usedN: UInt64 = 0
            for _ in 0..<min(nq, nn, 64) {
                var best = -1.0, bi = -1, bj = -1
                for i in 0..<min(nq, 64) where usedQ & (1 << i) == 0 {
                    for j in 0..<min(nn, 64) where usedN & (1 << j) == 0 && buf[i * nn + j] > best {
                        best = buf[i * nn + j]; bi = i; bj = j
                    }
                }
                guard bi >= 0 else { break }
                buf[nq * nn + bi] = best
                usedQ |= 1 << bi; usedN |= 1 << bj
            }
            var sum = 0.0, worst = 1.0
            for i in 0..<nq { let s = buf[nq * nn + i]; sum += s; worst = min(worst, s) }
            return (sum / Double(nq) + worst) / 2
        }
    }

    /// How likely two names are the same person's, 0...1, symmetric: the shorter name's
    /// coverage by the longer (a patronymic on one side costs nothing), except that one
    /// shared token between a one-token name and a longer one is never enough on its own.
    public static func similarity(_ a: [[UInt8]], _ b: [[UInt8]]) -> Double {
        let (short, long) = a.count <= b.count ? (a, b) : (b, a)
        let s = coverage(of: short, by: long)
        if short.count == 1 && long.count > 1 { return min(s, 0.75) }
        return s
    }

    public static func similarity(_ a: String, _ b: String) -> Double { similarity(tokens(a), tokens(b)) }
}
