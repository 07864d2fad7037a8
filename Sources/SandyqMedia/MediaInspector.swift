/// Lists what a file says about its maker, for a warning before it is shared.
///
/// The file is read through a closure `read(offset, count)` that returns up to `count` bytes at
/// `offset` (fewer at the end), so a caller streams from disk or a store and never loads a large
/// file whole. At most `headLength` bytes are read from the start, `tailLength` from the end (a
/// PDF's trailer) and, for MP4/MOV, the `moov` atom wherever it sits, up to `maxMoovLength`.
public enum MediaInspector {
    public typealias Reader = (_ offset: Int, _ count: Int) -> [UInt8]

    /// Bytes of the file's start that JPEG, PNG and PDF metadata is looked for in.
    public static let headLength = 1 << 20
    /// Bytes of the file's end that a PDF's Info dictionary is looked for in.
    public static let tailLength = 256 << 10
    /// Larger `moov` atoms are reported, not read.
    public static let maxMoovLength = 64 << 20
    /// PNG chunks and MP4 atoms walked at most, so a file of tiny chunks cannot stall a reader.
    public static let maxStructures = 100_000

    /// A file held in memory (or its first `headLength` bytes, if that is all the caller has).
    public static func inspect(head: [UInt8]) -> MediaReport {
        inspect(size: head.count) { off, n in
            guard off >= 0, off < head.count, n > 0 else { return [] }
            return Array(head[off..<min(head.count, off + min(n, head.count - off))])
        }
    }

    public static func inspect(size: Int, read: Reader) -> MediaReport {
        let head = read(0, min(size, headLength))
        let type = MediaType.sniff(head: head)
        var f: [MediaFinding]
        switch type {
        case .jpeg: f = jpeg(head, complete: head.count >= size)
        case .png: f = png(size: size, read: read)
        case .pdf: f = pdf(head: head, tail: size > head.count ? read(max(head.count, size - tailLength), tailLength) : [])
        case .mp4, .mov: f = mp4(size: size, read: read)
        case .mp3: f = head.starts(with: Array("ID3".utf8)) ? [MediaFinding(.other, "ID3", "ID3 tag present (artist, title, comments may name people)")] : []
        default: f = []
        }
        return MediaReport(type: type, findings: f)
    }

    // MARK: JPEG

    static func jpeg(_ b: [UInt8], complete: Bool) -> [MediaFinding] {
        var out: [MediaFinding] = []
        var i = 2
        while i + 4 <= b.count {
            guard b[i] == 0xFF else {
                out.append(MediaFinding(.other, "JPEG", "unreadable metadata (no marker at \(i))"))
                return out
            }
            let m = b[i + 1]
            if m == 0xFF { i += 1; continue }
            if m == 0xDA || m == 0xD9 { return out }
            if (0xD0...0xD7).contains(m) || m == 0x01 { i += 2; continue }
            let len = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard len >= 2 else {
                out.append(MediaFinding(.other, "JPEG", "unreadable metadata (segment length \(len))"))
                return out
            }
            let body = b[(i + 4)..<min(b.count, i + 2 + len)]
            let cut = i + 2 + len > b.count
            switch m {
            case 0xE1:
                if body.starts(with: exifID) {
                    out += ExifReader.read(body.dropFirst(exifID.count), label: "EXIF")
                } else if body.starts(with: xmpID) {
                    out += XMPReader.read(body.dropFirst(xmpID.count), label: "XMP")
                } else if body.starts(with: xmpExtID) {
                    out.append(MediaFinding(.other, "XMP", "extended XMP packet present"))
                } else {
                    out.append(MediaFinding(.other, "APP1", "unknown APP1 segment (\(len - 2) bytes)"))
                }
            case 0xED:
                out.append(MediaFinding(.other, "IPTC", "Photoshop/IPTC segment present (captions, bylines, places may name people)"))
            case 0xFE:
                out.append(MediaFinding(.other, "JPEG comment", MediaText.string(body)))
            default: break
            }
            if cut {
                if !complete {
                    out.append(MediaFinding(.other, "JPEG", "metadata continues past the bytes read"))
                }
                return out
            }
            i += 2 + len
        }
        return out
    }

    static let exifID: [UInt8] = Array("Exif".utf8) + [0, 0]
    static let xmpID: [UInt8] = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0]
    static let xmpExtID: [UInt8] = Array("http://ns.adobe.com/xmp/extension/".utf8) + [0]

    // MARK: PNG

    static func be32(_ b: [UInt8], _ o: Int) -> Int {
        guard o >= 0, o + 4 <= b.count else { return 0 }
        return Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
    }

    static func png(size: Int, read: Reader) -> [MediaFinding] {
        var out: [MediaFinding] = []
        var off = 8
        var walked = 0
        while off + 8 <= size {
            walked += 1
            if walked > maxStructures {
                out.append(MediaFinding(.other, "PNG", "too many chunks; later chunks not read"))
                break
            }
            let h = read(off, 8)
            guard h.count == 8 else { break }
            let len = be32(h, 0)
            let type = MediaText.string(h[4..<8])
            guard len <= 0x7FFF_FFFF, len <= size - off - 12 else {
                out.append(MediaFinding(.other, "PNG", "unreadable metadata (chunk \(type) runs past the end)"))
                break
            }
            if ["tEXt", "iTXt", "zTXt", "eXIf", "tIME"].contains(type) {
                let body = read(off + 8, min(len, headLength))
                out += pngChunk(type, body[...])
            }
            if type == "IEND" { break }
            off += 12 + len
        }
        return out
    }

    static func pngChunk(_ type: String, _ b: ArraySlice<UInt8>) -> [MediaFinding] {
        let key = b.firstIndex(of: 0).map { MediaText.string(b[b.startIndex..<$0]) } ?? ""
        let after = (b.firstIndex(of: 0) ?? b.endIndex) + 1
        switch type {
        case "eXIf": return ExifReader.read(b, label: "PNG eXIf")
        case "tIME":
            guard b.count == 7 else { return [MediaFinding(.time, "PNG tIME", "unreadable metadata")] }
            let s = b.startIndex
            let y = Int(b[s]) << 8 | Int(b[s + 1])
            return [MediaFinding(.time, "PNG tIME", "\(y)-\(two(b[s + 2]))-\(two(b[s + 3])) \(two(b[s + 4])):\(two(b[s + 5])):\(two(b[s + 6]))")]
        case "tEXt":
            return [MediaFinding(pngKind(key), "PNG tEXt \(key)", after <= b.endIndex ? MediaText.string(b[after...]) : "")]
        case "iTXt":
            // keyword 0 flag method language 0 translated-keyword 0 text
            var p = after + 2
            for _ in 0..<2 { p = (p <= b.endIndex ? b[p...].firstIndex(of: 0) ?? b.endIndex : b.endIndex) + 1 }
            let compressed = after < b.endIndex && b[after] != 0
            let v = compressed ? "(compressed text)" : p <= b.endIndex ? MediaText.string(b[p...]) : ""
            if key == "XML:com.adobe.xmp", !compressed, p <= b.endIndex { return XMPReader.read(b[p...], label: "PNG XMP") }
            return [MediaFinding(pngKind(key), "PNG iTXt \(key)", v)]
        default:
            return [MediaFinding(pngKind(key), "PNG zTXt \(key)", "(compressed text)")]
        }
    }

    static func two(_ v: UInt8) -> String { v < 10 ? "0\(v)" : "\(v)" }

    static func pngKind(_ key: String) -> MediaFinding.Kind {
        switch key.lowercased() {
        case "author", "copyright", "disclaimer": .person
        case "software": .software
        case "creation time": .time
        case "source": .device
        default: .other
        }
    }

    // MARK: PDF

    static let pdfKeys: [(String, MediaFinding.Kind)] = [
        ("Author", .person), ("Creator", .software), ("Producer", .software), ("CreationDate", .time), ("ModDate", .time),
        ("Title", .other), ("Subject", .other), ("Keywords", .other),
    ]

    static func pdf(head: [UInt8], tail: [UInt8]) -> [MediaFinding] {
        var out: [MediaFinding] = []
        var seen: Set<String> = []
        for part in [head, tail] {
            for (key, kind) in pdfKeys {
                for v in pdfStrings(after: Array("/\(key)".utf8), in: part) where seen.insert("\(key)\u{0}\(v)").inserted {
                    out.append(MediaFinding(kind, "PDF \(key)", v))
                }
            }
            if let x = find(Array("<x:xmpmeta".utf8), in: part, from: 0), !seen.contains("xmp") {
                seen.insert("xmp")
                let end = find(Array("</x:xmpmeta>".utf8), in: part, from: x) ?? min(part.count, x + 65536)
                out += XMPReader.read(part[x..<end], label: "PDF XMP")
            }
        }
        out.append(MediaFinding(.other, "PDF", "metadata in compressed object streams or mid-file is not read"))
        return out
    }

    static func find(_ needle: [UInt8], in b: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, b.count >= needle.count, from <= b.count - needle.count else { return nil }
        var i = from
        while i <= b.count - needle.count {
            if b[i] == needle[0] && b[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// The string values written after `/Key` (literal `( )` with escapes, or hex `< >`).
    static func pdfStrings(after key: [UInt8], in b: [UInt8]) -> [String] {
        var out: [String] = []
        var from = 0
        while out.count < 8, let k = find(key, in: b, from: from) {
            from = k + key.count
            var i = from
            // The key must end here (/Creator is not /CreatorTool).
            if i < b.count, !(b[i] == 0x20 || b[i] == 0x28 || b[i] == 0x3C || b[i] == 0x0A || b[i] == 0x0D) { continue }
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
            guard i < b.count else { break }
            var raw: [UInt8] = []
            if b[i] == 0x28 {
                var depth = 1
                i += 1
                while i < b.count, raw.count < 4096 {
                    let c = b[i]
                    if c == 0x5C, i + 1 < b.count {
                        let e = b[i + 1]
                        let map: [UInt8: UInt8] = [0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09, 0x62: 0x08, 0x66: 0x0C]
                        if (0x30...0x37).contains(e) {
                            var v = 0
                            var j = i + 1
                            while j < b.count, j < i + 4, (0x30...0x37).contains(b[j]) { v = v * 8 + Int(b[j] - 0x30); j += 1 }
                            raw.append(UInt8(v & 0xFF))
                            i = j
                            continue
                        }
                        raw.append(map[e] ?? e)
                        i += 2
                        continue
                    }
                    if c == 0x28 { depth += 1 }
                    if c == 0x29 { depth -= 1; if depth == 0 { break } }
                    raw.append(c)
                    i += 1
                }
            } else if b[i] == 0x3C, i + 1 < b.count, b[i + 1] != 0x3C {
                var hex: [UInt8] = []
                i += 1
                while i < b.count, b[i] != 0x3E, hex.count < 8192 {
                    if let v = hexValue(b[i]) { hex.append(v) }
                    i += 1
                }
                if hex.count % 2 == 1 { hex.append(0) }
                raw = stride(from: 0, to: hex.count, by: 2).map { hex[$0] << 4 | hex[$0 + 1] }
            } else {
                continue
            }
            out.append(pdfText(raw))
        }
        return out
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    /// UTF-16BE with a byte-order mark, else bytes as Latin-1/UTF-8.
    static func pdfText(_ raw: [UInt8]) -> String {
        if raw.count >= 2, raw[0] == 0xFE, raw[1] == 0xFF {
            let units = stride(from: 2, to: raw.count - 1, by: 2).map { UInt16(raw[$0]) << 8 | UInt16(raw[$0 + 1]) }
            return String(decoding: units, as: UTF16.self)
        }
        return MediaText.string(raw[...])
    }

    // MARK: MP4 / QuickTime

    struct Atom {
        let type: String
        let offset: Int
        let header: Int
        let size: Int
    }

    /// The atom at `off` among `[off, end)`, or nil when its size is impossible.
    static func atom(_ h: [UInt8], at off: Int, end: Int) -> Atom? {
        guard h.count >= 8 else { return nil }
        var size = be32(h, 0)
        var header = 8
        if size == 1 {
            guard h.count >= 16 else { return nil }
            let hi = be32(h, 8)
            guard hi < 0x8000_0000 else { return nil }
            size = hi << 32 | be32(h, 12)
            header = 16
        } else if size == 0 {
            size = end - off
        }
        guard size >= header, size <= end - off else { return nil }
        return Atom(type: MediaText.string(h[4..<8]), offset: off, header: header, size: size)
    }

    static func mp4(size: Int, read: Reader) -> [MediaFinding] {
        var out: [MediaFinding] = []
        var off = 0
        var walked = 0
        while off + 8 <= size {
            walked += 1
            guard walked <= maxStructures, let a = atom(read(off, 16), at: off, end: size) else {
                out.append(MediaFinding(.other, "MP4", "unreadable metadata (atom at \(off))"))
                break
            }
            switch a.type {
            case "moov":
                if a.size > maxMoovLength {
                    out.append(MediaFinding(.other, "MP4", "moov atom of \(a.size) bytes not read"))
                } else {
                    let body = read(a.offset, a.size)
                    out += moov(body, from: a.header, to: body.count)
                }
            case "udta", "meta":
                out.append(MediaFinding(.other, "MP4 \(a.type)", "top-level \(a.type) atom present (\(a.size) bytes)"))
            case "uuid":
                let u = read(a.offset + a.header, 16)
                if u == xmpUUID {
                    let n = min(a.size - a.header - 16, headLength)
                    out += XMPReader.read(read(a.offset + a.header + 16, max(0, n))[...], label: "MP4 XMP")
                }
            default: break
            }
            off += a.size
        }
        return out
    }

    static let xmpUUID: [UInt8] = [0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC]

    /// The children of an atom held in memory, as (atom, its bytes).
    static func children(_ b: [UInt8], from: Int, to: Int) -> (atoms: [Atom], broken: Bool) {
        var out: [Atom] = []
        var p = from
        while p + 8 <= to {
            guard out.count < maxStructures, let a = atom(Array(b[p..<min(to, p + 16)]), at: p, end: to) else { return (out, true) }
            out.append(a)
            p += a.size
        }
        return (out, false)
    }

    static func moov(_ b: [UInt8], from: Int, to: Int) -> [MediaFinding] {
        var out: [MediaFinding] = []
        let (atoms, broken) = children(b, from: from, to: to)
        for a in atoms {
            let body = a.offset + a.header
            let end = a.offset + a.size
            switch a.type {
            case "mvhd":
                // version(1) flags(3) creation time: 4 bytes, or 8 in version 1; seconds since 1904.
                guard end - body >= 12 else { continue }
                let hi = be32(b, body + 4)
                // A 64-bit time past year ~100000 is garbage; not worth a date.
                let secs = b[body] == 1 ? (hi < 0x1000 ? hi << 32 | be32(b, body + 8) : 0) : hi
                if secs != 0 { out.append(MediaFinding(.time, "MP4 mvhd creation time", isoDate(since1904: secs))) }
            case "udta":
                out += udta(b, from: body, to: end)
            case "meta":
                out.append(MediaFinding(.other, "MP4 meta", "metadata atom present (\(a.size) bytes): keys such as location, make, model"))
                out += mdta(b, from: body, to: end)
            case "trak":
                for t in children(b, from: body, to: end).atoms where t.type == "udta" || t.type == "meta" {
                    out.append(MediaFinding(.other, "MP4 trak \(t.type)", "track metadata atom present (\(t.size) bytes)"))
                }
            default: break
            }
        }
        if broken { out.append(MediaFinding(.other, "MP4 moov", "unreadable metadata (atom sizes out of range)")) }
        return out
    }

    static let udtaKeys: [String: (MediaFinding.Kind, String)] = [
        "\u{A9}xyz": (.gps, "location (ISO 6709)"), "\u{A9}mak": (.device, "make"), "\u{A9}mod": (.device, "model"),
        "\u{A9}swr": (.software, "software"), "\u{A9}too": (.software, "encoder"), "\u{A9}day": (.time, "date"),
        "\u{A9}ART": (.person, "artist"), "\u{A9}aut": (.person, "author"), "\u{A9}cmt": (.other, "comment"),
    ]

    /// QuickTime user-data text atoms: 2-byte length, 2-byte language, text.
    static func udta(_ b: [UInt8], from: Int, to: Int) -> [MediaFinding] {
        var out: [MediaFinding] = []
        let (atoms, broken) = children(b, from: from, to: to)
        for a in atoms {
            let type = String(Array(b[(a.offset + 4)..<(a.offset + 8)]).map { Character(Unicode.Scalar($0)) })
            guard let (kind, name) = udtaKeys[type] else {
                if a.type != "free" { out.append(MediaFinding(.other, "MP4 udta", "atom \(MediaText.clean(type)) present")) }
                continue
            }
            let body = a.offset + a.header
            let end = a.offset + a.size
            guard end - body >= 4 else { continue }
            let n = Int(b[body]) << 8 | Int(b[body + 1])
            let text = b[(body + 4)..<min(end, body + 4 + n)]
            out.append(MediaFinding(kind, "MP4 \(name)", MediaText.string(text)))
        }
        if broken { out.append(MediaFinding(.other, "MP4 udta", "unreadable metadata (atom sizes out of range)")) }
        return out
    }

    /// QuickTime metadata (`meta` with `keys` and `ilst`), where phones put the location:
    /// item N of `ilst` holds the value of key N, in a `data` atom (type, locale, value).
    static func mdta(_ b: [UInt8], from: Int, to: Int) -> [MediaFinding] {
        // QuickTime's meta has no version and flags; ISO's has 4 bytes of them.
        for start in [from, from + 4] where start <= to {
            let (atoms, broken) = children(b, from: start, to: to)
            guard !broken, let keys = atoms.first(where: { $0.type == "keys" }), let ilst = atoms.first(where: { $0.type == "ilst" }) else { continue }
            var names: [String] = []
            var p = keys.offset + keys.header + 8
            let kend = keys.offset + keys.size
            while p + 8 <= kend, names.count < 1000 {
                let n = be32(b, p)
                guard n >= 8, n <= kend - p else { break }
                names.append(MediaText.string(b[(p + 8)..<(p + n)]))
                p += n
            }
            var out: [MediaFinding] = []
            for item in children(b, from: ilst.offset + ilst.header, to: ilst.offset + ilst.size).atoms {
                let index = be32(b, item.offset + 4)
                guard index >= 1, index <= names.count,
                    let data = children(b, from: item.offset + item.header, to: item.offset + item.size).atoms.first(where: { $0.type == "data" }),
                    data.size >= data.header + 8
                else { continue }
                let key = names[index - 1]
                let value = b[(data.offset + data.header + 8)..<(data.offset + data.size)]
                out.append(MediaFinding(mdtaKind(key), "MP4 \(key)", MediaText.string(value)))
            }
            return out
        }
        return []
    }

    static func mdtaKind(_ key: String) -> MediaFinding.Kind {
        let k = key.lowercased()
        if k.contains("location") { return .gps }
        if k.hasSuffix(".make") || k.hasSuffix(".model") { return .device }
        if k.hasSuffix(".software") { return .software }
        if k.contains("creationdate") { return .time }
        if k.hasSuffix(".author") || k.hasSuffix(".artist") { return .person }
        return .other
    }

    /// Seconds since 1904-01-01 UTC as an ISO 8601 date and time.
    static func isoDate(since1904 s: Int) -> String {
        let unix = s - 2_082_844_800
        let days = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400
        let rem = unix - days * 86400
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func p2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(p2(m))-\(p2(d))T\(p2(rem / 3600)):\(p2(rem / 60 % 60)):\(p2(rem % 60))Z"
    }
}
