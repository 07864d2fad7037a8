import SandyqCore

/// RFC 4180 CSV: comma-separated, CRLF line ends, fields quoted when they hold a comma, a
/// quote or a line break, quotes doubled. UTF-8 without a byte-order mark.
public enum ReportCSV {
    public static func encode(_ rows: [[String]]) -> String {
        rows.map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func field(_ s: String) -> String {
        // A leading = + - @ would be run as a formula by spreadsheets: prefix it with a quote.
        // Per scalar: "=" followed by a combining mark is one Character, yet a spreadsheet sees "=".
        var v = s
        if let f = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(f),
           !(v.unicodeScalars.dropFirst().allSatisfy { ("0"..."9").contains($0) || $0 == "." }) { v = "'" + v }
        guard v.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0.isLineBreak }) else { return v }
        return "\"" + v.replacingQuotes() + "\""
    }

    /// The sanctions list, one row per official.
    public static func sanctions(_ r: SanctionsReport) -> String {
        var rows: [[String]] = [["rank", "name", "other_spellings", "agencies", "positions", "case_count", "cases", "persons", "acts", "sources", "involvement"]]
        for (i, o) in r.officials.enumerated() {
            rows.append([
                "\(i + 1)", o.name, o.variants.dropFirst().joined(separator: "; "), o.agencies.joined(separator: "; "),
                o.positions.joined(separator: "; "), "\(o.caseCount)",
                o.cases.map { $0.ref ?? $0.caseId }.joined(separator: "; "),
                o.cases.map { $0.persons.joined(separator: ", ") }.joined(separator: "; "),
                Array(Set(o.cases.compactMap(\.act))).sorted().joined(separator: " | "),
                o.sources.joined(separator: "; "),
                (o.involvement ?? []).joined(separator: "; "),
            ])
        }
        return encode(rows)
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var o = ""
        for u in unicodeScalars { if u == "\"" { o += "\"\"" } else { o.unicodeScalars.append(u) } }
        return o
    }
}
