@testable import SandyqMedia

/// Small files built byte by byte, so each test knows exactly what is in them.
enum Fixture {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func ascii(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    /// A TIFF entry: tag, type, count, value bytes (big-endian).
    struct Entry {
        var tag: Int
        var type: Int
        var count: Int
        var data: [UInt8]

        static func text(_ tag: Int, _ s: String) -> Entry { Entry(tag: tag, type: 2, count: s.utf8.count + 1, data: ascii(s)) }

        static func rationals(_ tag: Int, _ v: [(Int, Int)]) -> Entry {
            Entry(tag: tag, type: 5, count: v.count, data: v.flatMap { be32($0.0) + be32($0.1) })
        }
    }

    /// A big-endian TIFF block with IFD0 and, when given, an Exif IFD and a GPS IFD linked from it.
    static func tiff(_ ifd0: [Entry], exif: [Entry] = [], gps: [Entry] = []) -> [UInt8] {
        func ifdSize(_ n: Int) -> Int { 2 + 12 * n + 4 }
        var main = ifd0
        if !exif.isEmpty { main.append(Entry(tag: 0x8769, type: 4, count: 1, data: [0, 0, 0, 0])) }
        if !gps.isEmpty { main.append(Entry(tag: 0x8825, type: 4, count: 1, data: [0, 0, 0, 0])) }
        let off0 = 8
        let offExif = off0 + ifdSize(main.count)
        let offGPS = offExif + (exif.isEmpty ? 0 : ifdSize(exif.count))
        var dataOff = offGPS + (gps.isEmpty ? 0 : ifdSize(gps.count))
        for i in main.indices where main[i].tag == 0x8769 { main[i].data = be32(offExif) }
        for i in main.indices where main[i].tag == 0x8825 { main[i].data = be32(offGPS) }
        var out: [UInt8] = Array("MM".utf8) + be16(42) + be32(off0)
        var data: [UInt8] = []
        for ifd in [main, exif, gps] where !ifd.isEmpty {
            out += be16(ifd.count)
            for e in ifd {
                out += be16(e.tag) + be16(e.type) + be32(e.count)
                if e.data.count <= 4 {
                    out += e.data + [UInt8](repeating: 0, count: 4 - e.data.count)
                } else {
                    out += be32(dataOff + data.count)
                    data += e.data
                }
            }
            out += be32(0)
        }
        dataOff = out.count
        return out + data
    }

    static let gpsTIFF = tiff(
        [.text(0x010F, "Canon"), .text(0x0110, "EOS 5D"), .text(0x0131, "Fotoshop 1.0"), .text(0x013B, "A. Photographer"),
         .text(0x0132, "2026:03:01 10:00:00")],
        exif: [.text(0x9003, "2026:03:01 09:59:58")],
        gps: [.text(1, "N"), .rationals(2, [(50, 1), (27, 1), (36, 1)]), .text(3, "W"), .rationals(4, [(30, 1), (31, 1), (12, 1)]),
              Entry(tag: 5, type: 1, count: 1, data: [0]), .rationals(6, [(1795, 10)])])

    static func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] { [0xFF, marker] + be16(body.count + 2) + body }

    static let jfif = segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
    static let icc = segment(0xE2, Array("ICC_PROFILE".utf8) + [0, 1, 1] + [UInt8](repeating: 7, count: 20))
    static let dqt = segment(0xDB, [0] + [UInt8](repeating: 1, count: 64))
    /// SOS, scan bytes (with a stuffed FF00 and a restart marker), EOI.
    static let scan: [UInt8] = segment(0xDA, [1, 1, 0, 0, 63, 0]) + [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]

    static func jpeg(app1: [UInt8] = gpsTIFF, extra: [UInt8] = []) -> [UInt8] {
        [0xFF, 0xD8] + jfif + segment(0xE1, Array("Exif".utf8) + [0, 0] + app1) + icc
            + segment(0xE1, Array("http://ns.adobe.com/xap/1.0/".utf8) + [0] + Array(xmp.utf8))
            + segment(0xED, Array("Photoshop 3.0".utf8) + [0, 1, 2, 3]) + segment(0xFE, Array("shot by Anna".utf8)) + extra + dqt + scan
    }

    /// The same JPEG as its metadata-free version should be.
    static let strippedJPEG: [UInt8] = [0xFF, 0xD8] + jfif + icc + dqt + scan

    static let xmp = """
        <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:GPSLatitude="50,27.6N" xmp:CreatorTool="Editor 2">\
        <dc:creator><rdf:Seq><rdf:li>Anna K</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>
        """

    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(body.count) + Array(type.utf8) + body + [0, 0, 0, 0] }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let ihdr = chunk("IHDR", be32(1) + be32(1) + [8, 2, 0, 0, 0])
    static let idat = chunk("IDAT", [0x78, 0x9C, 0x63, 0x60, 0x60, 0x60, 0, 0, 0, 4, 0, 1])

    static let png: [UInt8] = pngSignature + ihdr + chunk("tEXt", Array("Author".utf8) + [0] + Array("Anna K".utf8))
        + chunk("eXIf", gpsTIFF) + chunk("tIME", be16(2026) + [3, 1, 10, 0, 0]) + idat
        + chunk("iTXt", Array("Software".utf8) + [0, 0, 0, 0, 0] + Array("Editor 3".utf8)) + chunk("IEND", [])
    static let strippedPNG: [UInt8] = pngSignature + ihdr + idat + chunk("IEND", [])

    static func atom(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(body.count + 8) + Array(type.unicodeScalars.map { UInt8($0.value) }) + body }
    static func textAtom(_ type: String, _ s: String) -> [UInt8] { atom(type, be16(s.utf8.count) + be16(0x15C7) + Array(s.utf8)) }

    /// mvhd version 0: creation 2026-03-01T10:00:00Z (seconds since 1904).
    static let mvhd = atom("mvhd", [0, 0, 0, 0] + be32(3_855_204_000) + be32(3_855_204_000) + be32(1000) + be32(5000) + [UInt8](repeating: 0, count: 80))
    static let udta = atom("udta", textAtom("\u{A9}xyz", "+50.4601-030.5201/") + textAtom("\u{A9}mak", "Apple") + textAtom("\u{A9}mod", "iPhone 15"))
    static let trak = atom("trak", atom("tkhd", [UInt8](repeating: 0, count: 84)) + atom("udta", textAtom("\u{A9}nam", "clip")))
    static let samples: [UInt8] = (0..<200).map { UInt8($0 % 251) }

    /// ftyp, mdat, then moov at the end (as a phone writes it).
    static let mp4: [UInt8] = atom("ftyp", Array("isom".utf8) + be32(0x200) + Array("isomiso2mp41".utf8))
        + atom("mdat", samples) + atom("moov", mvhd + trak + udta)

    static let pdf: [UInt8] = Array("""
        %PDF-1.7
        1 0 obj << /Type /Catalog >> endobj
        2 0 obj << /Author (Anna \\(K\\)) /Creator <FEFF0045006400690074006F0072> /Producer (Writer 7) /CreationDate (D:20260301100000Z) >> endobj
        trailer << /Root 1 0 R /Info 2 0 R >>
        %%EOF
        """.utf8)

    static func strip(_ file: [UInt8], feeds: Int? = nil) throws(MediaError) -> (out: [UInt8], removed: [String]) {
        var s = MetadataStripper()
        var out: [UInt8] = []
        var i = 0
        let step = feeds ?? max(file.count, 1)
        while i < file.count {
            out += try s.feed(file[i..<min(file.count, i + step)])
            i += step
        }
        out += try s.finish()
        return (out, s.removed)
    }
}
