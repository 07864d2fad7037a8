import Testing
@testable import SandyqMedia

@Suite struct MetadataStripperTests {
    @Test func jpegKeepsJFIFICCAndScanDropsTheRest() throws {
        let (out, removed) = try Fixture.strip(Fixture.jpeg())
        #expect(out == Fixture.strippedJPEG)
        #expect(removed.map { $0.split(separator: " (").first.map(String.init) ?? "" }
            == ["JPEG APP1 EXIF", "JPEG APP1 XMP", "JPEG APP13 IPTC", "JPEG COM comment"])
        #expect(MediaInspector.inspect(head: out).findings.isEmpty)
    }

    @Test func pngDropsTextExifAndTimeChunks() throws {
        let (out, removed) = try Fixture.strip(Fixture.png)
        #expect(out == Fixture.strippedPNG)
        #expect(removed.count == 4)
        #expect(MediaInspector.inspect(head: out).findings.isEmpty)
    }

    @Test func pngBytesAfterIENDAreKeptNotParsed() throws {
        let file = Fixture.png + [0xFF, 0xFF, 0xFF, 0xFF, 1, 2]
        #expect(try Fixture.strip(file).out == Fixture.strippedPNG + [0xFF, 0xFF, 0xFF, 0xFF, 1, 2])
    }

    @Test func mp4MetadataBecomesFreeAtomsOfTheSameSize() throws {
        let (out, removed) = try Fixture.strip(Fixture.mp4)
        #expect(out.count == Fixture.mp4.count)
        // Samples and every offset stay where they were.
        let mdatAt = 28
        #expect(Array(out[(mdatAt + 8)..<(mdatAt + 8 + Fixture.samples.count)]) == Fixture.samples)
        #expect(Array(out.prefix(mdatAt + 8 + Fixture.samples.count)) == Array(Fixture.mp4.prefix(mdatAt + 8 + Fixture.samples.count)))
        #expect(removed.count == 2, "\(removed)")
        let r = MediaInspector.inspect(head: out)
        #expect(!r.findings.contains { $0.kind == .gps || $0.kind == .device }, "\(r.findings)")
        // The user data's bytes are zeros now, not just renamed.
        #expect(Fixture.find(Array("iPhone".utf8), in: out) == nil && Fixture.find(Array("+50.46".utf8), in: out) == nil)
        #expect(Fixture.find(Array("free".utf8), in: out) != nil)
        #expect(Fixture.find(Array("clip".utf8), in: out) == nil)
    }

    @Test(arguments: ["jpeg", "png", "mp4"])
    func outputDoesNotDependOnFeedSizes(_ name: String) throws {
        let file = name == "jpeg" ? Fixture.jpeg() : name == "png" ? Fixture.png : Fixture.mp4
        let whole = try Fixture.strip(file)
        for n in 1...file.count {
            let parts = try Fixture.strip(file, feeds: n)
            #expect(parts.out == whole.out, "feeds of \(n)")
            #expect(parts.removed == whole.removed, "feeds of \(n)")
        }
    }

    @Test(arguments: ["jpeg", "png", "mp4"])
    func strippingIsIdempotent(_ name: String) throws {
        let file = name == "jpeg" ? Fixture.jpeg() : name == "png" ? Fixture.png : Fixture.mp4
        let once = try Fixture.strip(file)
        let twice = try Fixture.strip(once.out)
        #expect(twice.out == once.out)
        #expect(twice.removed.isEmpty, "\(twice.removed)")
    }

    @Test func formatsItCannotStripSaySo() {
        for file in [Fixture.pdf, Array("OggS\0\0\0\0\0\0\0\0\0".utf8), Array("hello".utf8), []] {
            #expect(throws: MediaError.self) { try Fixture.strip(file) }
        }
        #expect(throws: MediaError.notStrippable(.pdf)) { try Fixture.strip(Fixture.pdf) }
    }
}

extension Fixture {
    static func find(_ needle: [UInt8], in b: [UInt8]) -> Int? { MediaInspector.find(needle, in: b, from: 0) }
}
