import Foundation
import Testing
@testable import SandyqReports

/// Escaping works per Unicode scalar: a prepended mark (U+0600) or a combining mark makes
/// one Character of itself and the next scalar, which then compares unequal to "<", "|" or
/// "=", while a browser, a Markdown renderer or a spreadsheet still sees that scalar.
@Suite struct ReportEscapingTests {
    static let hiders: [String] = ["\u{600}", "\u{601}", "\u{6DD}", "\u{110BD}", "a\u{301}", "\u{1F1E6}"]

    @Test(arguments: hiders)
    func htmlEscapesEveryAngleBracketAndQuote(_ hider: String) {
        let payload = hider + "<meta http-equiv=refresh content=\"0;url=http://attacker.invalid/\">" + hider + "'" + hider + "&"
        let out = ReportHTML.esc(payload)
        #expect(!out.unicodeScalars.contains("<") && !out.unicodeScalars.contains(">") && !out.unicodeScalars.contains("\""), "\(out)")
        #expect(!out.unicodeScalars.contains("'"))
        #expect(out.contains("&lt;meta") && out.unicodeScalars.suffix(5).elementsEqual("&amp;".unicodeScalars))
        #expect(ReportHTML.esc("a\u{0}b\u{1b}c\td") == "abc\td", "C0 controls are parse errors: dropped")
    }

    @Test(arguments: hiders)
    func markdownCellKeepsItsPipesAndTags(_ hider: String) {
        let cell = ReportMarkdown.cell(hider + "|" + hider + "<script>")
        #expect(!cell.unicodeScalars.split(separator: "\\").dropFirst().contains { $0.first != "|" && $0.first != "<" && $0.first != ">" })
        #expect(cell.contains("\\|") && cell.contains("\\<script\\>"), "\(cell)")
        #expect(ReportMarkdown.inline(hider + "<img src=x>").contains("\\<img"))
    }

    @Test func csvQuotesAndDefusesPerScalar() {
        // "=" + U+0301 is one Character but a spreadsheet reads a formula.
        #expect(ReportCSV.field("=\u{301}HYPERLINK(\"http://attacker.invalid\")").unicodeScalars.prefix(3).elementsEqual("\"'=".unicodeScalars))
        #expect(ReportCSV.field("\u{600},x") == "\"\u{600},x\"", "a hidden comma must be quoted")
        #expect(ReportCSV.field("\u{600}\"") == "\"\u{600}\"\"\"", "a hidden quote must be doubled")
        #expect(ReportCSV.field("-12.5") == "-12.5" && ReportCSV.field("plain") == "plain")
    }

    @Test func lineBreaksPerScalar() {
        #expect(ReportHTML.brs("a\r\nb\nc\u{2028}d") == "a<br>b<br>c<br>d")
    }
}
