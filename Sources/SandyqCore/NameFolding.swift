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
/// | sh, sch, shch | w | | ye at a word's start, y between a vowel and e | e |
/// | ch, tch, cz | c | | doubled letters | one |
/// | c (alone), q, ck | k | | a final -ov, -ova | -ev, -eva |
/// | x | ks | | w | v |
/// | ng | n | | ph | f |
///
/// So "Мұхтар Жәкішев", "Мухтар Джакишев", "Mukhtar Dzhakishev" and "Jakishev Mukhtar"
/// all fold to the tokens `muhtar jakiwev`.
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
            if let mapped = table[v] {
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
                if n1 == a_("h") { out.append(a_("w")); i += (n2 == a_("c") && n3 == a_("h")) ? 4 : 2 }
                else if n1 == a_("c"), n2 == a_("h") { out.append(a_("w")); i += 3 }
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
        // Doubled letters: Онлабеккызы / Onlabekkyzy / Onlabekyzy; Nataliya / Natalia.
        var collapsed: [UInt8] = []
        collapsed.reserveCapacity(out.count)
        for c in out where collapsed.last != c || isDigit(c) { collapsed.append(c) }
        // A glide before e: Yerlan / Ерлан, Bayev / Баев.
        var glided: [UInt8] = []
        glided.reserveCapacity(collapsed.count)
        for (k, c) in collapsed.enumerated() {
            if c == a_("i"), k + 1 < collapsed.count, collapsed[k + 1] == a_("e"),
               k == 0 || isVowel(collapsed[k - 1]) { continue }
            glided.append(c)
        }
        // -ов / -ев / -ov / -ev, and the feminine -ова / -ева.
        let m = glided.count
        if m >= 4, glided[m - 2] == a_("o"), glided[m - 1] == a_("v") { glided[m - 2] = a_("e") }
        else if m >= 5, glided[m - 3] == a_("o"), glided[m - 2] == a_("v"), glided[m - 1] == a_("a") { glided[m - 3] = a_("e") }
        return glided
    }

    @inline(__always) static func a_(_ s: Unicode.Scalar) -> UInt8 { UInt8(s.value) }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isVowel(_ c: UInt8) -> Bool {
        c == 0x61 || c == 0x65 || c == 0x69 || c == 0x6F || c == 0x75
    }

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
        var aFlags = [Bool](repeating: false, count: la)
        var bFlags = [Bool](repeating: false, count: lb)
        var matches = 0
        for i in 0..<la {
            let lo = max(0, i - window), hi = min(lb - 1, i + window)
            if lo > hi { continue }
            for j in lo...hi where !bFlags[j] && a[i] == b[j] {
                aFlags[i] = true; bFlags[j] = true; matches += 1
                break
            }
        }
        if matches == 0 { return 0 }
        var transpositions = 0, k = 0
        for i in 0..<la where aFlags[i] {
            while !bFlags[k] { k += 1 }
            if a[i] != b[k] { transpositions += 1 }
            k += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(la) + m / Double(lb) + (m - Double(transpositions / 2)) / m) / 3
        var prefix = 0
        while prefix < min(4, la, lb), a[prefix] == b[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }

    /// How alike two tokens are: Jaro-Winkler, and an initial ("M.") counts as its name.
    public static func tokenSimilarity(_ a: [UInt8], _ b: [UInt8]) -> Double {
        if a.count == 1 || b.count == 1 {
            guard let x = a.first, let y = b.first else { return 0 }
            return a.count == b.count ? (x == y ? 1 : 0) : (x == y ? 0.9 : 0)
        }
        return jaroWinkler(a, b)
    }

    /// How well `query` is covered by `name`, 0...1: each query token is paired with a
    /// distinct name token (best pairs first); the score is the mean of the paired
    /// similarities averaged with the worst of them, so one strong token (a shared surname)
    /// cannot carry a name whose other token does not match at all. Order does not matter.
    public static func coverage(of query: [[UInt8]], by name: [[UInt8]]) -> Double {
        guard !query.isEmpty, !name.isEmpty else { return 0 }
        var pairs: [(Double, Int, Int)] = []
        pairs.reserveCapacity(query.count * name.count)
        for (i, q) in query.enumerated() {
            for (j, t) in name.enumerated() { pairs.append((tokenSimilarity(q, t), i, j)) }
        }
        pairs.sort { $0.0 > $1.0 }
        var best = [Double](repeating: 0, count: query.count)
        var usedQ = [Bool](repeating: false, count: query.count)
        var usedN = [Bool](repeating: false, count: name.count)
        for (s, i, j) in pairs where !usedQ[i] && !usedN[j] {
            best[i] = s; usedQ[i] = true; usedN[j] = true
        }
        let mean = best.reduce(0, +) / Double(best.count)
        return (mean + (best.min() ?? 0)) / 2
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
