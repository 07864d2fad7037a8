import Foundation

/// Reads the tags that identify a maker from a TIFF structure (EXIF in JPEG APP1, PNG eXIf).
/// Every offset and count is checked against the block; each IFD is read at most once, so a
/// loop of IFD pointers ends; a broken structure yields an "unreadable metadata" finding.
struct ExifReader {
    let b: [UInt8]
    let little: Bool
    let label: String
    var findings: [MediaFinding] = []
    var problem: String?
    private var seen: Set<Int> = []

    /// At most this many IFDs are read per block (IFD0, IFD1, Exif, GPS, interop and a few more).
    static let maxIFDs = 8

    static func read(_ tiff: ArraySlice<UInt8>, label: String) -> [MediaFinding] {
        let b = Array(tiff)
        guard b.count >= 8, (b[0] == 0x49 && b[1] == 0x49) || (b[0] == 0x4D && b[1] == 0x4D) else {
            return [MediaFinding(.other, label, "unreadable metadata (no TIFF header)")]
        }
        var r = ExifReader(b: b, little: b[0] == 0x49, label: label)
        guard r.u16(2) == 42, let ifd0 = r.u32(4) else {
            return [MediaFinding(.other, label, "unreadable metadata (no TIFF header)")]
        }
        r.ifd(Int(ifd0), kind: .main)
        var out = [MediaFinding(.other, label, "EXIF block present (\(b.count) bytes)")] + r.findings
        if let p = r.problem { out.append(MediaFinding(.other, label, "unreadable metadata (\(p))")) }
        return out
    }

    enum IFDKind { case main, exif, gps }

    func u16(_ o: Int) -> Int? {
        guard o >= 0, o + 2 <= b.count else { return nil }
        return little ? Int(b[o]) | Int(b[o + 1]) << 8 : Int(b[o]) << 8 | Int(b[o + 1])
    }

    func u32(_ o: Int) -> UInt32? {
        guard o >= 0, o + 4 <= b.count else { return nil }
        let v = [b[o], b[o + 1], b[o + 2], b[o + 3]].map(UInt32.init)
        return little ? v[0] | v[1] << 8 | v[2] << 16 | v[3] << 24 : v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3]
    }

    /// An entry's value bytes: inline when they fit in 4 bytes, else at the offset it gives.
    func value(entry e: Int) -> (type: Int, count: Int, bytes: ArraySlice<UInt8>)? {
        guard let type = u16(e + 2), let count32 = u32(e + 4) else { return nil }
        let sizes = [1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8]
        guard let size = sizes[type] else { return nil }
        let (total, overflow) = Int(count32).multipliedReportingOverflow(by: size)
        guard !overflow else { return nil }
        if total <= 4 { return (type, Int(count32), b[(e + 8)..<(e + 8 + total)]) }
        guard let off32 = u32(e + 8) else { return nil }
        let off = Int(off32)
        guard off <= b.count, total <= b.count - off else { return nil }
        return (type, Int(count32), b[off..<(off + total)])
    }

    mutating func ifd(_ offset: Int, kind: IFDKind) {
        guard !seen.contains(offset) else { problem = "IFD loop"; return }
        guard seen.count < Self.maxIFDs else { problem = "too many IFDs"; return }
        seen.insert(offset)
        guard let n = u16(offset), n <= (b.count - offset - 2) / 12 else {
            problem = "IFD at \(offset) out of range"
            return
        }
        var gps: [Int: (type: Int, count: Int, bytes: ArraySlice<UInt8>)] = [:]
        for i in 0..<n {
            let e = offset + 2 + i * 12
            guard let tag = u16(e) else { break }
            guard let v = value(entry: e) else {
                problem = "tag \(tag) value out of range"
                continue
            }
            switch kind {
            case .main, .exif:
                if let (k, name) = Self.textTags[tag] {
                    findings.append(MediaFinding(k, "\(label) \(name)", text(v.bytes)))
                } else if tag == 0x8769 || tag == 0x8825, let p = number(v, 0) {
                    ifd(Int(p), kind: tag == 0x8769 ? .exif : .gps)
                }
            case .gps:
                gps[tag] = v
            }
        }
        if kind == .gps { gpsFindings(gps) }
        // IFD0 links to IFD1 (the thumbnail's tags).
        if kind == .main, let next = u32(offset + 2 + n * 12), next != 0 { ifd(Int(next), kind: .main) }
    }

    static let textTags: [Int: (MediaFinding.Kind, String)] = [
        0x010F: (.device, "Make"), 0x0110: (.device, "Model"), 0x0131: (.software, "Software"),
        0x013B: (.person, "Artist"), 0x8298: (.person, "Copyright"), 0x0132: (.time, "DateTime"),
        0x9003: (.time, "DateTimeOriginal"), 0x9004: (.time, "DateTimeDigitized"),
        0xA430: (.person, "CameraOwnerName"), 0xA431: (.device, "BodySerialNumber"), 0xA434: (.device, "LensModel"),
        0x010E: (.other, "ImageDescription"), 0x9286: (.other, "UserComment"),
    ]

    func text(_ s: ArraySlice<UInt8>) -> String { MediaText.string(s) }

    /// The i-th number of a BYTE/SHORT/LONG value.
    func number(_ v: (type: Int, count: Int, bytes: ArraySlice<UInt8>), _ i: Int) -> UInt32? {
        guard i < v.count else { return nil }
        let s = v.bytes.startIndex
        switch v.type {
        case 1, 7: return UInt32(v.bytes[s + i])
        case 3: return u16(s + 2 * i).map { UInt32($0) }
        case 4: return u32(s + 4 * i)
        default: return nil
        }
    }

    func rational(_ v: (type: Int, count: Int, bytes: ArraySlice<UInt8>), _ i: Int) -> Double? {
        guard v.type == 5 || v.type == 10, i < v.count else { return nil }
        let o = v.bytes.startIndex + 8 * i
        guard let n = u32(o), let d = u32(o + 4), d != 0 else { return nil }
        return v.type == 10 ? Double(Int32(bitPattern: n)) / Double(Int32(bitPattern: d)) : Double(n) / Double(d)
    }

    func degrees(_ v: (type: Int, count: Int, bytes: ArraySlice<UInt8>)?) -> Double? {
        guard let v, v.count >= 1, let d = rational(v, 0) else { return nil }
        let m = v.count >= 2 ? rational(v, 1) ?? 0 : 0
        let s = v.count >= 3 ? rational(v, 2) ?? 0 : 0
        return d + m / 60 + s / 3600
    }

    mutating func gpsFindings(_ g: [Int: (type: Int, count: Int, bytes: ArraySlice<UInt8>)]) {
        if g.isEmpty { return }
        let latRef = g[1].map { text($0.bytes) } ?? "N"
        let lonRef = g[3].map { text($0.bytes) } ?? "E"
        if let lat = degrees(g[2]), let lon = degrees(g[4]), lat.isFinite, lon.isFinite {
            let la = latRef.hasPrefix("S") ? -lat : lat
            let lo = lonRef.hasPrefix("W") ? -lon : lon
            findings.append(MediaFinding(.gps, "\(label) GPS position", String(format: "%.6f, %.6f", la, lo)))
        } else if g[2] != nil || g[4] != nil {
            findings.append(MediaFinding(.gps, "\(label) GPS position", "present but unreadable"))
        }
        if let a = g[6].flatMap({ rational($0, 0) }), a.isFinite {
            let below = g[5].flatMap { number($0, 0) } == 1
            findings.append(MediaFinding(.gps, "\(label) GPS altitude", String(format: "%.1f m", below ? -a : a)))
        }
        if let d = g[29] { findings.append(MediaFinding(.time, "\(label) GPS date", text(d.bytes))) }
        let known: Set<Int> = [0, 1, 2, 3, 4, 5, 6, 29]
        if g.keys.contains(where: { !known.contains($0) }) {
            findings.append(MediaFinding(.gps, "\(label) GPS IFD", "\(g.count) GPS tags"))
        }
    }
}

/// A few fields of an XMP packet (XML text); the packet's presence is itself a finding.
enum XMPReader {
    static let fields: [(String, MediaFinding.Kind)] = [
        ("exif:GPSLatitude", .gps), ("exif:GPSLongitude", .gps), ("exif:GPSAltitude", .gps),
        ("dc:creator", .person), ("xmp:CreatorTool", .software), ("tiff:Make", .device), ("tiff:Model", .device),
        ("xmp:CreateDate", .time), ("photoshop:DateCreated", .time), ("exif:DateTimeOriginal", .time),
        ("pdf:Producer", .software), ("xmpMM:DocumentID", .other),
    ]

    static func read(_ packet: ArraySlice<UInt8>, label: String) -> [MediaFinding] {
        let text = MediaText.string(packet)
        var out = [MediaFinding(.other, label, "XMP packet present (\(packet.count) bytes)")]
        for (name, kind) in fields {
            if let v = value(of: name, in: text) { out.append(MediaFinding(kind, "\(label) \(name)", v)) }
        }
        return out
    }

    /// `name="v"` as an attribute, or the text of `<name>v</name>` (its first rdf:li if a list).
    static func value(of name: String, in text: String) -> String? {
        if let r = text.range(of: name + "=\"") {
            let rest = text[r.upperBound...]
            if let end = rest.firstIndex(of: "\"") { return String(rest[..<end]) }
        }
        guard let open = text.range(of: "<" + name) else { return nil }
        var rest = text[open.upperBound...]
        guard let gt = rest.firstIndex(of: ">") else { return nil }
        rest = rest[rest.index(after: gt)...]
        if let li = rest.range(of: "<rdf:li"), let close = rest.range(of: "</" + name), li.lowerBound < close.lowerBound {
            rest = rest[li.upperBound...]
            guard let gt2 = rest.firstIndex(of: ">") else { return nil }
            rest = rest[rest.index(after: gt2)...]
        }
        guard let end = rest.firstIndex(of: "<") else { return nil }
        let v = String(rest[..<end]).trimmingSpaces()
        return v.isEmpty ? nil : v
    }
}
