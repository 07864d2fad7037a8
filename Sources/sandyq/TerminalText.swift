import Foundation

/// Text that came from case data, peers or the command line, made safe to show on a
/// terminal. A case title holding ESC could otherwise retitle the window (`ESC ]0;...`),
/// clear the screen (`ESC [2J`) or rewrite what a coordinator reads; a bidi override
/// (U+202E) could reverse a fingerprint or a file name on screen.
///
/// Every C0 control (but tab, and line feed where a value may span lines), DEL, every C1
/// control, the bidi embeddings, overrides, isolates and marks (U+202A-U+202E,
/// U+2066-U+2069, U+200E, U+200F, U+061C) and the Unicode line and paragraph separators
/// are shown as a visible `\u{XX}` instead. Works per Unicode scalar: a combining mark or a
/// prepended mark cannot hide a control inside one Character. --json output is left to
/// the JSON encoder (it escapes C0 controls; the rest is data for a program, not a screen).
enum TerminalText {
    static func isNeutralised(_ u: Unicode.Scalar, keepNewlines: Bool) -> Bool {
        switch u.value {
        case 0x09: return false
        case 0x0A: return !keepNewlines
        case 0x00...0x1F, 0x7F, 0x80...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// `s` with every unsafe scalar written out as `\u{XX}`.
    static func safe(_ s: String, keepNewlines: Bool = false) -> String {
        // Fast path: most output is plain.
        guard s.unicodeScalars.contains(where: { isNeutralised($0, keepNewlines: keepNewlines) }) else { return s }
        var o = ""  // not a UnicodeScalarView: appending to one is quadratic
        for u in s.unicodeScalars {
            if isNeutralised(u, keepNewlines: keepNewlines) {
                o += "\\u{\(String(u.value, radix: 16, uppercase: true))}"
            } else {
                o.unicodeScalars.append(u)
            }
        }
        return o
    }
}

/// Prints one line to stdout, neutralised; `multiline` keeps the line feeds inside it.
func say(_ s: String, multiline: Bool = false) {
    print(TerminalText.safe(s, keepNewlines: multiline))
}

/// Writes one line to stderr, neutralised (errors echo input: a case ref, a file name).
func sayError(_ s: String, multiline: Bool = false) {
    FileHandle.standardError.write(Data((TerminalText.safe(s, keepNewlines: multiline) + "\n").utf8))
}
