import Testing
@testable import SandyqMedia

/// Broken metadata must never crash, hang or allocate by what a length field claims; the
/// reader says "unreadable metadata" and the stripper still removes the segment.
@Suite struct MalformedMediaTests {
    func unreadable(_ r: MediaReport) -> Bool { r.findings.contains { $0.value.contains("unreadable metadata") } }

    /// IFD0 holding one inline Make, then `rest` entries (raw), then the next-IFD pointer.
    func tiff(entries: [[UInt8]], next: Int = 0) -> [UInt8] {
        Array("MM".utf8) + Fixture.be16(42) + Fixture.be32(8) + Fixture.be16(entries.count + 1)
            + Fixture.be16(0x010F) + Fixture.be16(2) + Fixture.be32(4) + Array("Cam\0".utf8)
            + entries.flatMap { $0 } + Fixture.be32(next)
    }

    func entry(_ tag: Int, _ type: Int, _ count: Int, _ value: Int) -> [UInt8] {
        Fixture.be16(tag) + Fixture.be16(type) + Fixture.be32(count) + Fixture.be32(value)
    }

    func checkJPEG(_ t: [UInt8], _ what: String) throws {
        let r = MediaInspector.inspect(head: Fixture.jpeg(app1: t))
        #expect(unreadable(r), "\(what): \(r.findings)")
        #expect(r.findings.contains { $0.label == "EXIF Make" && $0.value == "Cam" }, "\(what): what was readable is still shown")
        #expect(try Fixture.strip(Fixture.jpeg(app1: t)).out == Fixture.strippedJPEG, "\(what)")
    }

    @Test func exifIFDLoopEnds() throws {
        try checkJPEG(tiff(entries: [], next: 8), "IFD0 pointing at itself")
        try checkJPEG(tiff(entries: [entry(0x8769, 4, 1, 8)]), "Exif IFD pointing at IFD0")
    }

    @Test func exifOffsetsOutOfRange() throws {
        try checkJPEG(tiff(entries: [entry(0x0110, 2, 100, 0x7FFF_FF00)]), "value offset past the block")
        try checkJPEG(tiff(entries: [entry(0x8825, 4, 1, 0xFFFF_FFF0)]), "GPS IFD past the block")
        try checkJPEG(tiff(entries: [], next: 0xFFFF_FFFF), "next IFD past the block")
    }

    @Test func exifCountsThatOverflow() throws {
        try checkJPEG(tiff(entries: [entry(0x0110, 5, 0xFFFF_FFFF, 8)]), "count times size past 2^32")
        try checkJPEG(tiff(entries: [entry(0x0110, 12, 0x2000_0000, 8)]), "count times 8 wraps 32 bits")
        // An IFD that claims 65535 entries in a block of a few dozen bytes.
        var t = tiff(entries: [])
        t[8] = 0xFF
        t[9] = 0xFF
        let r = MediaInspector.inspect(head: Fixture.jpeg(app1: t))
        #expect(unreadable(r))
        #expect(try Fixture.strip(Fixture.jpeg(app1: t)).out == Fixture.strippedJPEG)
    }

    @Test func exifWithoutTIFFHeader() throws {
        let r = MediaInspector.inspect(head: Fixture.jpeg(app1: Array("XX".utf8)))
        #expect(unreadable(r))
        #expect(try Fixture.strip(Fixture.jpeg(app1: [])).out == Fixture.strippedJPEG)
    }

    @Test func jpegBrokenMarkersAreRefusedByTheStripper() {
        // A segment length below 2, and a byte where a marker must be.
        #expect(throws: MediaError.self) { try Fixture.strip([0xFF, 0xD8, 0xFF, 0xE1, 0, 1] + Fixture.scan) }
        #expect(throws: MediaError.self) { try Fixture.strip([0xFF, 0xD8, 0x00] + Fixture.scan) }
        #expect(unreadable(MediaInspector.inspect(head: [0xFF, 0xD8, 0xFF, 0xE1, 0, 1] + Fixture.scan)))
        #expect(unreadable(MediaInspector.inspect(head: [0xFF, 0xD8, 0xFF, 0x00, 0, 0, 0, 0])))
    }

    @Test func jpegSegmentRunningPastTheEndIsStillDropped() throws {
        let file = [0xFF, 0xD8] + Fixture.jfif + [0xFF, 0xE1, 0xFF, 0xFF] + Array("Exif\0\0MM".utf8)
        let (out, removed) = try Fixture.strip(file)
        #expect(out == [0xFF, 0xD8] + Fixture.jfif)
        #expect(removed.count == 1)
    }

    /// Fill bytes go with the marker they precede: none is left dangling when it is dropped,
    /// so a stripped file strips again to itself.
    @Test func jpegFillBytesBeforeADroppedSegment() throws {
        let file = [0xFF, 0xD8] + Fixture.jfif + [0xFF, 0xFF, 0xFF] + Fixture.segment(0xFE, Array("hi".utf8)) + [0xFF, 0xFF] + Fixture.dqt + Fixture.scan
        let once = try Fixture.strip(file)
        #expect(once.out == [0xFF, 0xD8] + Fixture.jfif + [0xFF, 0xFF] + Fixture.dqt + Fixture.scan)
        #expect(try Fixture.strip(once.out).out == once.out)
        let cut = [0xFF, 0xD8] + Fixture.jfif + [0xFF, 0xFF] + [0xFF, 0xFE, 0xFF, 0xFF, 1]
        #expect(try Fixture.strip(cut).out == [0xFF, 0xD8] + Fixture.jfif)
        #expect(throws: MediaError.self) { try Fixture.strip([0xFF, 0xD8] + [UInt8](repeating: 0xFF, count: MetadataStripper.maxFill + 10)) }
    }

    @Test func pngChunkLengthPastTheEnd() throws {
        let file = Fixture.pngSignature + Fixture.ihdr + Fixture.be32(0x7FFF_FFF0) + Array("tEXt".utf8) + Array("Author\0x".utf8)
        #expect(unreadable(MediaInspector.inspect(head: file)))
        #expect(try Fixture.strip(file).out == Fixture.pngSignature + Fixture.ihdr)
        // Past PNG's own limit of 2^31 - 1: refused, not guessed at.
        let huge = Fixture.pngSignature + Fixture.ihdr + Fixture.be32(0x8000_0000) + Array("IDAT".utf8)
        #expect(throws: MediaError.malformed("PNG chunk length 2147483648")) { try Fixture.strip(huge) }
        #expect(unreadable(MediaInspector.inspect(head: huge)))
    }

    @Test func atomSizeZeroRunsToTheEnd() throws {
        let udta0 = Fixture.be32(0) + Array("udta".utf8) + Fixture.textAtom("\u{A9}mak", "Apple")
        let (out, removed) = try Fixture.strip(Fixture.atom("ftyp", Array("isom".utf8)) + udta0)
        #expect(out == Fixture.atom("ftyp", Array("isom".utf8)) + Fixture.be32(0) + Array("free".utf8) + [UInt8](repeating: 0, count: udta0.count - 8))
        #expect(removed.count == 1)
        let mdat0 = Fixture.atom("ftyp", Array("isom".utf8)) + Fixture.be32(0) + Array("mdat".utf8) + Fixture.samples
        #expect(try Fixture.strip(mdat0).out == mdat0)
        let moov0 = Fixture.atom("ftyp", Array("isom".utf8)) + Fixture.be32(0) + Array("moov".utf8) + Fixture.mvhd + Fixture.udta
        #expect(MediaInspector.inspect(head: moov0).findings.contains { $0.kind == .gps })
        #expect(try Fixture.strip(moov0).out.count == moov0.count)
    }

    @Test func atomSizeOneUsesTheLargeSize() throws {
        let udta = Fixture.be32(1) + Array("udta".utf8) + Fixture.be32(0) + Fixture.be32(16 + 4) + [1, 2, 3, 4]
        let file = Fixture.atom("ftyp", Array("isom".utf8)) + udta + Fixture.atom("mdat", Fixture.samples)
        let out = try Fixture.strip(file).out
        #expect(out == Fixture.atom("ftyp", Array("isom".utf8)) + Fixture.be32(1) + Array("free".utf8) + Fixture.be32(0) + Fixture.be32(20)
            + [0, 0, 0, 0] + Fixture.atom("mdat", Fixture.samples))
        // A large size below its own header, or past 2^63.
        #expect(throws: MediaError.self) { try Fixture.strip(Fixture.atom("ftyp", []) + Fixture.be32(1) + Array("udta".utf8) + Fixture.be32(0) + Fixture.be32(8)) }
        #expect(throws: MediaError.self) { try Fixture.strip(Fixture.atom("ftyp", []) + Fixture.be32(1) + Array("mdat".utf8) + [0xFF] + [UInt8](repeating: 0, count: 7)) }
    }

    @Test func atomSizesTooSmallOrHuge() throws {
        #expect(throws: MediaError.self) { try Fixture.strip(Fixture.atom("ftyp", []) + Fixture.be32(4) + Array("udta".utf8)) }
        // A huge mdat that the file does not hold: copied as far as it goes, nothing buffered.
        let cut = Fixture.atom("ftyp", Array("isom".utf8)) + Fixture.be32(0xFFFF_FFFF) + Array("mdat".utf8) + Fixture.samples
        #expect(try Fixture.strip(cut).out == cut)
        #expect(unreadable(MediaInspector.inspect(head: cut)))
        // A moov larger than the stripper holds is refused before it is buffered.
        let bigMoov = Fixture.atom("ftyp", []) + Fixture.be32(0x7FFF_FFFF) + Array("moov".utf8)
        #expect(throws: MediaError.self) { try Fixture.strip(bigMoov) }
        // A moov child whose size runs past the moov.
        let badChild = Fixture.atom("ftyp", []) + Fixture.atom("moov", Fixture.be32(0x100) + Array("udta".utf8) + [1, 2, 3])
        #expect(throws: MediaError.self) { try Fixture.strip(badChild) }
        #expect(unreadable(MediaInspector.inspect(head: badChild)))
    }

    @Test func truncatedHeaderIsAnError() {
        #expect(throws: MediaError.truncated) { try Fixture.strip(Fixture.strippedPNG.dropLast(12) + [0, 0, 0]) }
        #expect(throws: MediaError.truncated) { try Fixture.strip([0xFF, 0xD8] + Fixture.jfif + [0xFF]) }
    }

    /// Thousands of damaged copies of each fixture: no crash, and whatever strips is a fixed point.
    @Test func mutatedFilesNeverCrashAndStripToAFixedPoint() {
        var rng = SplitMix(seed: 17)
        var stripped = 0
        for base in [Fixture.jpeg(), Fixture.png, Fixture.mp4, Fixture.pdf] {
            for _ in 0..<1500 {
                var f = base
                for _ in 0..<(1 + Int(rng.next() % 6)) {
                    let at = Int(rng.next() % UInt64(f.count))
                    f[at] = rng.next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 4 == 0 { f = Array(f.prefix(Int(rng.next() % UInt64(f.count)))) }
                _ = MediaInspector.inspect(head: f)
                guard let once = try? Fixture.strip(f) else { continue }
                stripped += 1
                let split = Int(rng.next() % UInt64(max(f.count, 1))) + 1
                #expect((try? Fixture.strip(f, feeds: split))?.out == once.out)
                #expect((try? Fixture.strip(once.out))?.out == once.out)
                #expect(!MediaInspector.inspect(head: once.out).findings.contains { $0.kind == .gps })
            }
        }
        #expect(stripped > 1000)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
