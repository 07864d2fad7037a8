import Foundation
import Testing

@testable import SandyqNode
@testable import SandyqWeb

/// The catalogues are complete in every language, and the templates use only keys they hold.
@Suite struct CatalogueTests {
    let cat = Catalogue.shared
    static let webDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/SandyqWeb")

    static func placeholders(_ s: String) -> Set<String> {
        let re = try! NSRegularExpression(pattern: "\\{[a-z]+\\}")
        return Set(re.matches(in: s, range: NSRange(s.startIndex..., in: s)).map { String(s[Range($0.range, in: s)!]) })
    }

    /// Each area file is listed, parses, and shares no key with another area.
    @Test func everyAreaFileIsLoadedAndKeysAreUnique() throws {
        let dir = Self.webDir.appendingPathComponent("Catalogue")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        for lang in Catalogue.languages {
            let mine = names.filter { $0.hasSuffix(".\(lang).json") }
            #expect(mine.count == Catalogue.files[lang]?.count, "\(lang): \(mine.count) files, \(Catalogue.files[lang]?.count ?? 0) loaded")
            var seen: [String: String] = [:]
            for f in mine {
                let table = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: dir.appendingPathComponent(f)))
                for k in table.keys {
                    #expect(seen[k] == nil, "\(k) is in both \(seen[k] ?? "") and \(f)")
                    seen[k] = f
                }
            }
        }
    }

    @Test func everyKeyInEveryLanguage() {
        let en = Set(cat.tables["en"]?.keys ?? [:].keys)
        #expect(en.count > 150)
        for lang in Catalogue.languages {
            let keys = Set(cat.tables[lang]?.keys ?? [:].keys)
            #expect(keys == en, "\(lang) lacks \(en.subtracting(keys).sorted()) and has extra \(keys.subtracting(en).sorted())")
            for (k, v) in cat.tables[lang] ?? [:] {
                #expect(!v.trimmingCharacters(in: .whitespaces).isEmpty, "\(lang).\(k) is empty")
                #expect(Self.placeholders(v) == Self.placeholders(cat.tables["en"]?[k] ?? ""), "\(lang).\(k) has other placeholders than English")
            }
        }
    }

    /// A Kazakh or Russian string written in Latin letters alone is an English string left untranslated.
    @Test func noEnglishInKazakhOrRussian() {
        // A code's prefix (sqi-, sqr-, a node id's sqn-) and "QR" are what the screen and the code itself show, in every language;
        // so are the Tor network's name and its addresses' ending (.onion), and the title line a backup
        // piece is printed with (SANDYQ BACKUP SHARE 1 OF 5, ANY 3), which people find on their paper.
        let allowed: Set<String> = ["UTC", "Esc", "QR", "sqi", "sqr", "sqn", "Tor", "onion", "Onion", "SANDYQ", "BACKUP", "SHARE", "ANY"]
        for lang in ["kk", "ru"] {
            for (k, v) in cat.tables[lang] ?? [:] {
                let bare = v.replacingOccurrences(of: "\\{[a-z]+\\}", with: "", options: .regularExpression)
                let words = bare.split { !$0.isLetter }.map(String.init).filter { !allowed.contains($0) }
                let latin = words.filter { w in w.unicodeScalars.allSatisfy { ($0.value | 0x20) >= 0x61 && ($0.value | 0x20) <= 0x7A } }
                #expect(latin.isEmpty, "\(lang).\(k) has Latin words \(latin)")
            }
        }
    }

    @Test func everyClosedListValueAndFieldIsTranslated() {
        for lang in Catalogue.languages {
            for s in CaseSchema.statuses { #expect(cat.tables[lang]?["status.\(s)"] != nil, "\(lang) status.\(s)") }
            for f in CaseSchema.caseFields { #expect(cat.tables[lang]?["field.\(f)"] != nil, "\(lang) field.\(f)") }
            for c in CaseSchema.collections {
                #expect(cat.tables[lang]?["case.\(c.name)"] != nil, "\(lang) case.\(c.name)")
                for f in c.fields { #expect(cat.tables[lang]?["field.\(f)"] != nil, "\(lang) field.\(f)") }
                for (field, values) in c.choices {
                    for v in values {
                        let key = "\(Catalogue.vocabulary[field] ?? "?").\(v)"
                        #expect(cat.tables[lang]?[key] != nil, "\(lang) \(key)")
                    }
                }
            }
            for r in Role.allCases { #expect(cat.tables[lang]?["role.\(r.rawValue)"] != nil, "\(lang) role.\(r.rawValue)") }
        }
    }

    @Test func templatesUseOnlyKnownKeysAndTheScalarEscape() throws {
        let dir = Self.webDir.appendingPathComponent("Templates")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".mustache") }
        #expect(Set(files.map { String($0.dropLast(".mustache".count)) }) == Set(Templates.sources.keys))
        let keys = Set(cat.templateTable("en").keys)
        let ref = try NSRegularExpression(pattern: "\\{\\{[#^/]?t\\.([A-Za-z0-9_]+)\\}\\}")
        for f in files {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            #expect(text.hasPrefix("{{% CONTENT_TYPE: SANDYQ_HTML}}"), "\(f) must declare the scalar escape first")
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(f) prints something unescaped")
            for m in ref.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let k = String(text[Range(m.range(at: 1), in: text)!])
                #expect(keys.contains(k), "\(f) uses t.\(k), which no catalogue has")
            }
        }
    }

    /// Words a page shows come from the catalogue; a template's own text is markup and punctuation.
    @Test func templatesHoldNoWordsOfTheirOwn() throws {
        let dir = Self.webDir.appendingPathComponent("Templates")
        let strip = try NSRegularExpression(pattern: "\\{\\{[^}]*\\}\\}|<[^>]*>")
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) where f.hasSuffix(".mustache") {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            let bare = strip.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
            let words = bare.split { !$0.isLetter }
            #expect(words.isEmpty, "\(f) shows words of its own: \(words.prefix(5))")
        }
    }

    @Test func datesInEachLanguage() {
        #expect(cat.date("2024-05-02", "en") == "2 May 2024")
        #expect(cat.date("2024-05-02", "ru") == "2 мая 2024 г.")
        #expect(cat.date("2024-05-02", "kk") == "2024 ж. 2 мамыр")
        #expect(cat.date("2024-05", "ru") == "май 2024 г.")
        #expect(cat.date("2024", "kk") == "2024 ж.")
        #expect(cat.date("около 2019", "en") == "около 2019")
        #expect(cat.date("2024-13-01", "en") == "2024-13-01")
    }

    @Test func reportTimesInEachLanguage() {
        #expect(cat.reportTime("2026-12-03 16:58 UTC", "ru") == "3 декабря 2026 г., 16:58 UTC")
        #expect(cat.reportTime("2026-12-03 16:58 UTC", "kk") == "2026 ж. 3 желтоқсан, 16:58 UTC")
        #expect(cat.reportTime("2026-13-03 16:58 UTC", "en") == "2026-13-03 16:58 UTC")
        #expect(cat.reportTime("вчера", "en") == "вчера")
    }

    @Test func browserLanguage() {
        #expect(Catalogue.preferred(acceptLanguage: "kk-KZ,kk;q=0.9,ru;q=0.8") == "kk")
        #expect(Catalogue.preferred(acceptLanguage: "de-DE,en;q=0.5") == "en")
        #expect(Catalogue.preferred(acceptLanguage: nil) == "ru")
    }
}

/// What the page prints from a case cannot become markup, whatever Unicode it hides in.
@Suite struct EscapingTests {
    static let attacks = [
        "<script>alert(1)</script>", "\" autofocus onfocus=\"alert(1)", "' onmouseover='alert(1)",
        "\"\u{0301} onfocus=alert(1) x=\"", "<\u{0338}img src=x onerror=alert(1)>", "&lt;b&gt;", "\u{202E}<b>",
        "</textarea><svg onload=alert(1)>", "{{t.app_name}}",
    ]

    @Test func everyAttackIsInertInTextAndAttributes() {
        for a in Self.attacks {
            var c: [String: Any] = ["t": Catalogue.shared.templateTable("en"), "lang": "en", "title": a, "unlocked": true, "csrf": a,
                                    "langs": [] as [Any], "idleNote": a]
            c["heading"] = a
            c["body"] = a
            let html = Templates.render("message", c)
            // The attack's markup characters never reach the page raw.
            #expect(!html.contains("<script>") && !html.contains("<svg") && !html.contains("<b>") && !html.contains("onfocus=\"alert"))
            // Each quote in the value is an entity, so no attribute ends early.
            let inAttr = html.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first ?? ""
            let value = inAttr.prefix { $0 != "\"" }
            #expect(value.unicodeScalars.allSatisfy { $0 != "'" && $0 != "<" && $0 != ">" }, "\(a) broke out: \(value)")
            #expect(ReportHTML.esc(a).unicodeScalars.count == value.unicodeScalars.count, "\(a) was cut at \(value)")
        }
    }
}

@Suite struct DeskTests {
    @Test func theLoginTokenOpensOneSessionOnce() {
        let desk = Desk(home: "/nonexistent")
        let token = desk.loginToken!
        #expect(token.count == 64)
        // One digit off; a token ending in "0" must not be tried as its own wrong twin (it would spend it).
        #expect(desk.login(token: String(token.dropLast()) + (token.hasSuffix("0") ? "1" : "0")) == nil)
        let s = desk.login(token: token)
        #expect(s != nil)
        #expect(desk.login(token: token) == nil)
        #expect(desk.loginToken == nil)
        #expect(desk.session(s?.id)?.csrf == s?.csrf)
        #expect(desk.session("nope") == nil)
    }

    @Test func onlyLoopbackIsServed() throws {
        for ok in ["127.0.0.1:0", "127.0.0.1:8080", "[::1]:9000", "localhost:1234", "127.1.2.3:80"] {
            #expect(throws: Never.self) { _ = try WebApp.parseListen(ok) }
        }
        for bad in ["0.0.0.0:80", "192.168.1.5:80", ":80", "example.org:80", "[::]:80", "127.0.0.1", "10.0.0.1:99999", "127.0.0.256:1"] {
            #expect(throws: WebError.self) { _ = try WebApp.parseListen(bad) }
        }
    }

    @Test func formsDecode() {
        let f = Form.parse("csrf=ab%2Bc&passphrase=a+b%20c%C3%A9&x=1&x=2&empty=")
        #expect(f["csrf"] == "ab+c" && f["passphrase"] == "a b cé" && f["x"] == "1" && f["empty"] == "")
        #expect(Form.cookies("a=1; sandyq_session=xyz ;b=2")["sandyq_session"] == "xyz")
    }
}
