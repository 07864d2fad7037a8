import CQREncode
import SandyqNode

/// A QR code drawn as SVG on the server: an invitation shown on the coordinator's screen for a
/// phone or a second laptop to read, with no script and no image file.
enum QRCode {
    /// The modules of `text` at error-correction level M (a creased printout still reads), or
    /// nil if it does not fit in a QR code.
    static func modules(_ text: String) -> [[Bool]]? {
        guard let qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(qr) }
        let w = Int(qr.pointee.width)
        return (0..<w).map { y in (0..<w).map { x in qr.pointee.data[y * w + x] & 1 == 1 } }
    }

    /// An SVG with a four-module quiet zone, one path, `label` as its accessible name.
    static func svg(_ text: String, label: String, size: Int = 320) -> String? {
        guard let m = modules(text) else { return nil }
        let w = m.count + 8
        var d = ""
        for (y, row) in m.enumerated() {
            for (x, dark) in row.enumerated() where dark { d += "M\(x + 4) \(y + 4)h1v1h-1z" }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img" aria-label="\(ReportHTML.esc(label))" \
            width="\(size)" height="\(size)" viewBox="0 0 \(w) \(w)" shape-rendering="crispEdges">\
            <rect width="\(w)" height="\(w)" fill="#fff"/><path fill="#000" d="\(d)"/></svg>
            """
    }
}
