import CQREncode

/// A QR code drawn as SVG on the server: an invitation shown on the coordinator's screen for a
/// phone or a second laptop to read, with no script and no image file; and a backup share's
/// text on paper (`sandyq backup split`).
public enum QRCode {
    /// The modules of `text` at error-correction level M (a creased printout still reads), or
    /// nil if it does not fit in a QR code.
    static func modules(_ text: String) -> [[Bool]]? {
        guard let qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(qr) }
        let w = Int(qr.pointee.width)
        return (0..<w).map { y in (0..<w).map { x in qr.pointee.data[y * w + x] & 1 == 1 } }
    }

    /// The drawing the invitation template turns into an SVG: the side in modules, with a
    /// four-module quiet zone, and one path of unit squares. Escaped like any other value.
    static func drawing(_ text: String) -> (size: Int, path: String)? {
        guard let m = modules(text) else { return nil }
        var d = ""
        for (y, row) in m.enumerated() {
            for (x, dark) in row.enumerated() where dark { d += "M\(x + 4) \(y + 4)h1v1h-1z" }
        }
        return (m.count + 8, d)
    }

    /// A standalone SVG file of `text`'s QR code, 4 px per module, or nil if it does not fit.
    public static func svg(_ text: String) -> String? {
        guard let q = drawing(text) else { return nil }
        let px = q.size * 4
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(px)" height="\(px)" viewBox="0 0 \(q.size) \(q.size)" shape-rendering="crispEdges">
            <rect width="\(q.size)" height="\(q.size)" fill="#fff"/><path fill="#000" d="\(q.path)"/>
            </svg>

            """
    }
}
