import Foundation
import SandyqNode

/// Every string the desk shows, in Kazakh, Russian and English, from the catalogue files
/// (Catalogue/AREA.LANG.json, embedded in the binary so nothing is read from outside the node).
/// One file per area of the app and language; a key lives in exactly one area.
public struct Catalogue: Sendable {
    /// Kazakh first: the order the language switch shows.
    public static let languages = ["kk", "ru", "en"]
    public static let shared = Catalogue()

    public let tables: [String: [String: String]]

    /// The catalogue files of each language, one per area.
    static let files: [String: [[UInt8]]] = [
        "en": [
            PackageResources.desk_en_json, PackageResources.dossier_en_json, PackageResources.usb_en_json, PackageResources.edit_en_json,
            PackageResources.change_en_json, PackageResources.a11y_en_json, PackageResources.evidence_en_json,
            PackageResources.coord_en_json, PackageResources.coordesk_en_json, PackageResources.sync_en_json, PackageResources.share_en_json,
            PackageResources.backup_en_json, PackageResources.casemodel_en_json, PackageResources.withdraw_en_json,
        ],
        "ru": [
            PackageResources.desk_ru_json, PackageResources.dossier_ru_json, PackageResources.usb_ru_json, PackageResources.edit_ru_json,
            PackageResources.change_ru_json, PackageResources.a11y_ru_json, PackageResources.evidence_ru_json,
            PackageResources.coord_ru_json, PackageResources.coordesk_ru_json, PackageResources.sync_ru_json, PackageResources.share_ru_json,
            PackageResources.backup_ru_json, PackageResources.casemodel_ru_json, PackageResources.withdraw_ru_json,
        ],
        "kk": [
            PackageResources.desk_kk_json, PackageResources.dossier_kk_json, PackageResources.usb_kk_json, PackageResources.edit_kk_json,
            PackageResources.change_kk_json, PackageResources.a11y_kk_json, PackageResources.evidence_kk_json,
            PackageResources.coord_kk_json, PackageResources.coordesk_kk_json, PackageResources.sync_kk_json, PackageResources.share_kk_json,
            PackageResources.backup_kk_json, PackageResources.casemodel_kk_json, PackageResources.withdraw_kk_json,
        ],
    ]

    init() {
        func load(_ bytes: [UInt8]) -> [String: String] {
            // A catalogue that does not parse is a build mistake the tests catch; show keys meanwhile.
            (try? JSONDecoder().decode([String: String].self, from: Data(bytes))) ?? [:]
        }
        var t: [String: [String: String]] = [:]
        for (lang, files) in Self.files {
            for bytes in files { t[lang, default: [:]].merge(load(bytes)) { a, _ in a } }
        }
        tables = t
    }

    /// The text of `key` in `lang` with `{name}` placeholders filled; the key itself if missing
    /// (the catalogue test fails on any such key).
    public func text(_ key: String, _ lang: String, _ args: [String: String] = [:]) -> String {
        var s = tables[lang]?[key] ?? tables["en"]?[key] ?? key
        for (k, v) in args { s = s.replacingOccurrences(of: "{\(k)}", with: v) }
        return s
    }

    /// A value from one of the case model's closed lists, in `lang`; other values as they are.
    public func value(_ field: String, _ v: String, _ lang: String) -> String {
        let key = Self.vocabulary[field].map { "\($0).\(v)" }
        guard let key, let s = tables[lang]?[key] else { return v }
        return s
    }

    /// Which catalogue prefix holds the words of a closed-list field.
    static let vocabulary = ["status": "status", "code": "code", "stage": "stage", "type": "type", "agency": "agency",
                             "kind": "kind", "reliability": "reliability", "datePrecision": "datePrecision",
                             "involvement": "involvement", "whereabouts": "whereabouts", "counsel": "counsel",
                             "familyContact": "familyContact", "verdict": "verdict", "sentenceKind": "sentenceKind",
                             "body": "body", "progress": "progress", "relation": "relation", "consent": "consent"]

    /// A field's name; a collection may name its own field otherwise (an act's `type` is what was done).
    public func field(_ name: String, _ lang: String, in collection: String = "") -> String {
        if !collection.isEmpty, let s = tables[lang]?["field.\(collection).\(name)"] ?? tables["en"]?["field.\(collection).\(name)"] { return s }
        return text("field.\(name)", lang)
    }

    /// A case-model date (YYYY, YYYY-MM or YYYY-MM-DD) written out in `lang`; anything else as it is.
    public func date(_ s: String, _ lang: String) -> String {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), parts[0].count == 4, let y = Int(parts[0]),
              parts.dropFirst().allSatisfy({ $0.count == 2 && Int($0) != nil }) else { return s }
        if parts.count == 1 { return text("date.year", lang, ["y": "\(y)"]) }
        guard let m = Int(parts[1]), (1...12).contains(m) else { return s }
        if parts.count == 2 { return text("monthYear.\(m)", lang, ["y": "\(y)"]) }
        guard let d = Int(parts[2]), (1...31).contains(d) else { return s }
        return text("date.day", lang, ["d": "\(d)", "month": text("month.\(m)", lang), "y": "\(y)"])
    }

    /// A moment (milliseconds since 1970) as a date and time in `lang`.
    public func moment(millis: UInt64, _ lang: String) -> String {
        let utc = ReportLabels.utc(millis: millis)  // YYYY-MM-DD HH:MM UTC
        let day = String(utc.prefix(10)), hm = utc.dropFirst(11).prefix(5)
        return text("date.time", lang, ["date": date(day, lang), "hh": String(hm.prefix(2)), "mm": String(hm.suffix(2))])
    }

    /// How long ago a moment was, in whole days, with its date and time.
    public func ago(millis: Int64, now: Int64, _ lang: String) -> String {
        let days = max(0, (now - millis) / 86_400_000)
        let at = moment(millis: UInt64(max(0, millis)), lang)
        if days == 0 { return text("ago.today", lang, ["at": at]) }
        return text("ago.days.\(Self.plural(Int(days), lang))", lang, ["n": "\(days)", "at": at])
    }

    /// The plural form a count takes: Russian has three, English two, Kazakh one.
    static func plural(_ n: Int, _ lang: String) -> String {
        switch lang {
        case "ru":
            if n % 10 == 1 && n % 100 != 11 { return "one" }
            if (2...4).contains(n % 10) && !(12...14).contains(n % 100) { return "few" }
            return "many"
        case "en": return n == 1 ? "one" : "many"
        default: return "many"
        }
    }

    /// A report's `YYYY-MM-DD HH:MM UTC` written out in `lang`; anything else as it is.
    public func reportTime(_ s: String, _ lang: String) -> String {
        let p = s.split(separator: " ")
        guard p.count == 3, p[2] == "UTC", p[0].count == 10, p[1].count == 5, p[1].dropFirst(2).first == ":" else { return s }
        let day = date(String(p[0]), lang)
        guard day != String(p[0]) else { return s }
        return text("date.time", lang, ["date": day, "hh": String(p[1].prefix(2)), "mm": String(p[1].suffix(2))])
    }

    /// The language to show when the person has not chosen: the browser's first of ours.
    public static func preferred(acceptLanguage: String?) -> String {
        for part in (acceptLanguage ?? "").split(separator: ",") {
            let tag = part.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            let primary = String(tag.prefix { $0 != "-" })
            if languages.contains(primary) { return primary }
        }
        return "ru"
    }

    /// The table a template reads as `t`: keys with `.` written `_`, since mustache reads dots as paths.
    func templateTable(_ lang: String) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in tables["en"] ?? [:] { out[k.replacingOccurrences(of: ".", with: "_")] = tables[lang]?[k] ?? v }
        return out
    }
}
