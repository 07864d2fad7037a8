import Testing
@testable import SandyqMedia

@Suite struct MediaInspectorTests {
    func value(_ r: MediaReport, _ label: String) -> String? { r.findings.first { $0.label == label }?.value }

    @Test func sniffsByContentOnly() {
        #expect(MediaType.sniff(head: Fixture.jpeg()) == .jpeg)
        #expect(MediaType.sniff(head: Fixture.png) == .png)
        #expect(MediaType.sniff(head: Fixture.pdf) == .pdf)
        #expect(MediaType.sniff(head: Fixture.mp4) == .mp4)
        #expect(MediaType.sniff(head: Fixture.atom("ftyp", Array("qt  ".utf8))) == .mov)
        #expect(MediaType.sniff(head: [0x1A, 0x45, 0xDF, 0xA3, 1]) == .webm)
        #expect(MediaType.sniff(head: Array("OggS\0".utf8)) == .ogg)
        #expect(MediaType.sniff(head: Array("ID3\u{4}".utf8)) == .mp3)
        #expect(MediaType.sniff(head: [0xFF, 0xFB, 0x90, 0x64]) == .mp3)
        #expect(MediaType.sniff(head: Array("RIFF\0\0\0\0WAVEfmt ".utf8)) == .wav)
        #expect(MediaType.sniff(head: Array("RIFF\0\0\0\0AVI ".utf8)) == .unknown)
        #expect(MediaType.sniff(head: []) == .unknown)
        #expect(MediaType.sniff(head: [0xFF, 0xD8]) == .unknown, "two bytes are not yet a JPEG")
    }

    @Test func jpegExifGivesGPSDeviceTimeSoftwareAndPerson() {
        let r = MediaInspector.inspect(head: Fixture.jpeg())
        #expect(r.type == .jpeg && r.canStrip)
        #expect(value(r, "EXIF GPS position") == "50.460000, -30.520000")
        #expect(value(r, "EXIF GPS altitude") == "179.5 m")
        #expect(value(r, "EXIF Make") == "Canon")
        #expect(value(r, "EXIF Model") == "EOS 5D")
        #expect(value(r, "EXIF Software") == "Fotoshop 1.0")
        #expect(value(r, "EXIF Artist") == "A. Photographer")
        #expect(value(r, "EXIF DateTimeOriginal") == "2026:03:01 09:59:58")
        #expect(r.findings.first { $0.label == "EXIF GPS position" }?.kind == .gps)
        #expect(value(r, "XMP exif:GPSLatitude") == "50,27.6N")
        #expect(value(r, "XMP dc:creator") == "Anna K")
        #expect(value(r, "XMP xmp:CreatorTool") == "Editor 2")
        #expect(value(r, "JPEG comment") == "shot by Anna")
        #expect(r.findings.contains { $0.label == "IPTC" })
        #expect(!r.findings.contains { $0.value.contains("unreadable") })
    }

    @Test func pngTextExifAndTime() {
        let r = MediaInspector.inspect(head: Fixture.png)
        #expect(r.type == .png)
        #expect(value(r, "PNG tEXt Author") == "Anna K")
        #expect(r.findings.first { $0.label == "PNG tEXt Author" }?.kind == .person)
        #expect(value(r, "PNG eXIf GPS position") == "50.460000, -30.520000")
        #expect(value(r, "PNG tIME") == "2026-03-01 10:00:00")
        #expect(value(r, "PNG iTXt Software") == "Editor 3")
    }

    @Test func mp4UserDataAndCreationTime() {
        let r = MediaInspector.inspect(head: Fixture.mp4)
        #expect(r.type == .mp4)
        #expect(value(r, "MP4 location (ISO 6709)") == "+50.4601-030.5201/")
        #expect(r.findings.first { $0.label == "MP4 location (ISO 6709)" }?.kind == .gps)
        #expect(value(r, "MP4 make") == "Apple")
        #expect(value(r, "MP4 model") == "iPhone 15")
        #expect(value(r, "MP4 mvhd creation time") == "2026-03-01T10:00:00Z")
        #expect(r.findings.contains { $0.label == "MP4 trak udta" })
    }

    /// How a phone records where a video was taken: moov/meta with keys and ilst.
    @Test func quickTimeMetadataKeys() throws {
        func key(_ name: String) -> [UInt8] { Fixture.be32(8 + name.utf8.count) + Array("mdta".utf8) + Array(name.utf8) }
        func item(_ index: Int, _ value: String) -> [UInt8] {
            Fixture.be32(8 + 16 + value.utf8.count) + Fixture.be32(index) + Fixture.atom("data", Fixture.be32(1) + Fixture.be32(0) + Array(value.utf8))
        }
        let meta = Fixture.atom("meta", Fixture.atom("hdlr", [UInt8](repeating: 0, count: 24))
            + Fixture.atom("keys", Fixture.be32(0) + Fixture.be32(2) + key("com.apple.quicktime.location.ISO6709") + key("com.apple.quicktime.model"))
            + Fixture.atom("ilst", item(1, "+50.4601-030.5201+179.500/") + item(2, "iPhone 15")))
        let file = Fixture.atom("ftyp", Array("qt  ".utf8)) + Fixture.atom("moov", Fixture.mvhd + meta)
        let r = MediaInspector.inspect(head: file)
        #expect(r.type == .mov)
        #expect(r.findings.contains { $0.kind == .gps && $0.value == "+50.4601-030.5201+179.500/" }, "\(r.findings)")
        #expect(value(r, "MP4 com.apple.quicktime.model") == "iPhone 15")
        let out = try Fixture.strip(file).out
        #expect(out.count == file.count)
        #expect(!MediaInspector.inspect(head: out).findings.contains { $0.kind == .gps || $0.kind == .device })
    }

    @Test func pdfInfoDictionary() {
        let r = MediaInspector.inspect(head: Fixture.pdf)
        #expect(r.type == .pdf && !r.canStrip)
        #expect(value(r, "PDF Author") == "Anna (K)")
        #expect(value(r, "PDF Creator") == "Editor")
        #expect(value(r, "PDF Producer") == "Writer 7")
        #expect(value(r, "PDF CreationDate") == "D:20260301100000Z")
    }

    /// A 2 GiB video with its moov at the end is inspected by reading a few kilobytes.
    @Test func largeFileIsReadThroughTheReaderNotWhole() {
        let mdatSize = 2 << 30
        let head = Fixture.atom("ftyp", Array("isom".utf8) + Fixture.be32(0)) + Fixture.be32(mdatSize) + Array("mdat".utf8)
        let moov = Fixture.atom("moov", Fixture.mvhd + Fixture.udta)
        let moovAt = head.count - 8 + mdatSize
        let size = moovAt + moov.count
        var read = 0
        let r = MediaInspector.inspect(size: size) { off, n in
            read += n
            var out: [UInt8] = []
            for o in off..<min(size, off + n) {
                if o < head.count { out.append(head[o]) } else if o >= moovAt { out.append(moov[o - moovAt]) } else { out.append(0) }
                if out.count > 4 << 20 { break }
            }
            return out
        }
        #expect(value(r, "MP4 make") == "Apple")
        #expect(read < MediaInspector.headLength + 4096, "read \(read) bytes")
    }

    @Test func textFromFilesCannotDriveATerminal() {
        let t = Fixture.tiff([.text(0x010F, "Evil\u{1B}[2J\u{202E}Cam" + String(repeating: "x", count: 1000))])
        let r = MediaInspector.inspect(head: Fixture.jpeg(app1: t))
        let make = value(r, "EXIF Make") ?? ""
        #expect(make.hasPrefix("Evil [2J Cam"))
        #expect(make.count <= MediaFinding.maxValueLength + 1)
    }

    @Test func errorCodesAreStable() {
        #expect(MediaError.notStrippable(.pdf).code == "media.not_strippable")
        #expect(MediaError.malformed("x").code == "media.malformed")
        #expect(MediaError.truncated.code == "media.truncated")
    }
}
