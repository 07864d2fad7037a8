import Foundation
import FuzzSupport
import SandyqMedia

// Photos, PDFs and videos from anyone: MediaInspector.inspect and MetadataStripper on raw bytes.
// Properties: the stripper's output does not depend on how the input is fed; stripping its
// output again changes nothing and removes nothing; nothing in it reads as a GPS position.

func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

/// A TIFF block with IFD0 (Make) linking a GPS IFD (latitude N 50/1).
let tiff: [UInt8] = Array("MM".utf8) + be16(42) + be32(8)
    + be16(2) + be16(0x010F) + be16(2) + be32(4) + Array("Cam\0".utf8) + be16(0x8825) + be16(4) + be32(1) + be32(38) + be32(0)
    + be16(2) + be16(1) + be16(2) + be32(2) + Array("N\0\0\0".utf8) + be16(2) + be16(5) + be32(1) + be32(68) + be32(0)
    + be32(50) + be32(1)

func segment(_ m: UInt8, _ body: [UInt8]) -> [UInt8] { [0xFF, m] + be16(body.count + 2) + body }
func chunk(_ t: String, _ body: [UInt8]) -> [UInt8] { be32(body.count) + Array(t.utf8) + body + [0, 0, 0, 0] }
func atom(_ t: String, _ body: [UInt8]) -> [UInt8] { be32(body.count + 8) + t.unicodeScalars.map { UInt8($0.value) } + body }

func seeds(_: String) -> [(String, [UInt8])] {
    let jpeg = [0xFF, 0xD8] + segment(0xE0, Array("JFIF\0".utf8) + [1, 1, 0, 0, 1, 0, 1, 0, 0])
        + segment(0xE1, Array("Exif\0\0".utf8) + tiff) + segment(0xE1, Array("http://ns.adobe.com/xap/1.0/\0".utf8)
            + Array("<x:xmpmeta exif:GPSLatitude=\"50,1N\"><dc:creator><rdf:li>A</rdf:li></dc:creator></x:xmpmeta>".utf8))
        + segment(0xED, Array("Photoshop 3.0\0".utf8)) + segment(0xFE, Array("note".utf8))
        + segment(0xDA, [1, 1, 0, 0, 63, 0]) + [0x12, 0xFF, 0x00, 0xFF, 0xD0, 0xFF, 0xD9]
    let png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", be32(1) + be32(1) + [8, 2, 0, 0, 0])
        + chunk("tEXt", Array("Author\0A".utf8)) + chunk("eXIf", tiff) + chunk("tIME", be16(2026) + [3, 1, 10, 0, 0])
        + chunk("iTXt", Array("XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta tiff:Make=\"C\"/>".utf8)) + chunk("zTXt", Array("c\0\0x".utf8))
        + chunk("IDAT", [0x78, 0x9C, 0x63, 0, 0, 0, 1, 0, 1]) + chunk("IEND", [])
    let text = { (t: String, s: String) in atom(t, be16(s.utf8.count) + be16(0) + Array(s.utf8)) }
    let moov = atom("moov", atom("mvhd", [0, 0, 0, 0] + be32(3_855_204_000) + [UInt8](repeating: 0, count: 92))
        + atom("trak", atom("tkhd", [UInt8](repeating: 0, count: 84)) + atom("udta", text("\u{A9}nam", "clip")))
        + atom("udta", text("\u{A9}xyz", "+50.46-030.52/") + text("\u{A9}mak", "Apple")) + atom("meta", [0, 0, 0, 0]))
    let ftyp = atom("ftyp", Array("isomisom".utf8))
    let xmpUUID: [UInt8] = [0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC]
    let mp4 = ftyp + atom("mdat", [1, 2, 3, 4]) + moov + atom("uuid", xmpUUID + Array("<x:xmpmeta/>".utf8))
    let mov = atom("ftyp", Array("qt  ".utf8)) + be32(16) + Array("mdat".utf8) + be32(0) + be32(24) + moov
    let pdf = Array("%PDF-1.4\n1 0 obj << /Author (A \\(b\\) \\101) /Creator <FEFF0041> >> endobj\ntrailer << /Info 1 0 R >>\n%%EOF\n".utf8)
    return [("jpeg", jpeg), ("png", png), ("mp4", mp4), ("mov", mov), ("pdf", pdf), ("id3", Array("ID3\u{4}\0\0\0\0\0\0".utf8))]
}

func strip(_ b: [UInt8], feed: Int, type: MediaType? = nil) -> (out: [UInt8], removed: [String], type: MediaType?)? {
    var s = MetadataStripper(type: type)
    var out: [UInt8] = []
    var i = 0
    do {
        while i < b.count {
            out += try s.feed(b[i..<min(b.count, i + feed)])
            i += feed
        }
        out += try s.finish()
    } catch {
        return nil
    }
    return (out, s.removed, s.type)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMedia(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    let b = fuzzInput(data, size)
    _ = MediaInspector.inspect(head: b)
    guard let whole = strip(b, feed: max(b.count, 1)) else { return 0 }
    let split = strip(b, feed: b.count / 3 + 1)
    fuzzCheck(split?.out == whole.out && split?.removed == whole.removed, "output independent of feed sizes")
    // Of the type found before: a stripped file can be too short to sniff (a bare JPEG SOI).
    let again = strip(whole.out, feed: max(whole.out.count, 1), type: whole.type)
    fuzzCheck(again?.out == whole.out, "stripped output strips to itself")
    fuzzCheck(again?.removed.isEmpty == true, "nothing left to remove")
    fuzzCheck(!MediaInspector.inspect(head: whole.out).findings.contains { $0.kind == .gps }, "no GPS after strip")
    return 0
}
