import Foundation
import SandyqCore
import SandyqCrypto
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// A photo with GPS in its EXIF, built byte by byte: what attach finds in it and records.
enum GPSPhoto {
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] { [0xFF, marker] + be16(body.count + 2) + body }

    /// Big-endian TIFF: IFD0 with Make and a GPS IFD link; GPS 43°14'20.04" N, 76°53'22.92" E.
    static let tiff: [UInt8] = {
        let make = Array("Canon".utf8) + [0]
        // IFD0 at 8: 2 entries (26 bytes + 4), GPS IFD at 38: 4 entries (50 bytes + 4), data at 92.
        let gpsOff = 8 + 2 + 2 * 12 + 4
        let dataOff = gpsOff + 2 + 4 * 12 + 4
        let lat = be32(43) + be32(1) + be32(14) + be32(1) + be32(2004) + be32(100)
        let lon = be32(76) + be32(1) + be32(53) + be32(1) + be32(2292) + be32(100)
        var out = Array("MM".utf8) + be16(42) + be32(8)
        out += be16(2) + be16(0x010F) + be16(2) + be32(make.count) + be32(dataOff)
        out += be16(0x8825) + be16(4) + be32(1) + be32(gpsOff) + be32(0)
        out += be16(4) + be16(1) + be16(2) + be32(2) + Array("N".utf8) + [0, 0, 0]
        out += be16(2) + be16(5) + be32(3) + be32(dataOff + make.count)
        out += be16(3) + be16(2) + be32(2) + Array("E".utf8) + [0, 0, 0]
        out += be16(4) + be16(5) + be32(3) + be32(dataOff + make.count + lat.count) + be32(0)
        return out + make + lat + lon
    }()

    static let jfif = segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
    static let scan: [UInt8] = segment(0xDB, [0] + [UInt8](repeating: 1, count: 64)) + segment(0xDA, [1, 1, 0, 0, 63, 0]) + [0x12, 0x34, 0xFF, 0xD9]
    static let jpeg: [UInt8] = [0xFF, 0xD8] + jfif + segment(0xE1, Array("Exif".utf8) + [0, 0] + tiff) + scan
}

@Suite(.serialized) struct EvidenceMetaTests {
    static func write(_ dir: TempDir, _ name: String, _ b: [UInt8]) throws -> String {
        let p = dir.file(name)
        try Data(b).write(to: URL(fileURLWithPath: p))
        return p
    }

    @Test("attach records what a photo says about where it was made, and list reads it back with a plain warning")
    func attachRecordsFindings() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let p = try Self.write(dir, "photo.jpg", GPSPhoto.jpeg)
        let e = try c.attach(ref, path: p)
        #expect(e.type == "image/jpeg")
        #expect(e.findings.contains { $0.kind == .gps })
        #expect(e.findings.contains { $0.kind == .device && $0.value == "Canon" })
        let listed = try #require(try c.evidence(ref).first)
        #expect(listed.findings == e.findings, "the findings are sealed in the op and read back from the record")
        #expect(listed.metadataWarnings.contains("this file says where it was made: 43.2389 N, 76.8897 E"), "\(listed.metadataWarnings)")
        #expect(listed.metadataWarnings.contains("this file names the device that made it: Canon"))
        // The record's meta field is compact JSON of kind, label and value.
        let state = try c.caseState(ref)
        let meta = try #require(state.value("evidence", e.fid, "meta"))
        #expect(meta.hasPrefix("[{\"kind\":"), "\(meta)")
        #expect(EvidenceEntry.metadataWarnings(meta: meta) == listed.metadataWarnings)
        #expect(!meta.contains("\n"))
    }

    @Test("a file with nothing to say gets no meta field and no warning")
    func plainFileHasNoFindings() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let p = try Self.write(dir, "notes.bin", [UInt8](repeating: 0x41, count: 5000))
        let e = try c.attach(ref, path: p)
        #expect(e.type == "application/octet-stream")
        #expect(e.findings.isEmpty && e.metadataWarnings.isEmpty)
        #expect(try c.caseState(ref).value("evidence", e.fid, "meta") == nil)
    }

    @Test("meta that does not read as findings reads as none, and an unknown kind as other")
    func metaDecodeIsLenient() {
        #expect(EvidenceMeta.decode("not json").isEmpty)
        #expect(EvidenceMeta.decode("").isEmpty)
        let f = EvidenceMeta.decode(#"[{"kind":"weather","value":"rain"}]"#)
        #expect(f == [MediaFinding(.other, "", "rain")])
        let round = [MediaFinding(.gps, "EXIF GPS position", "-1.5, 2.25")]
        #expect(EvidenceMeta.decode(EvidenceMeta.encode(round)) == round)
        #expect(EvidenceMeta.place("-1.5, 2.25") == "1.5000 S, 2.2500 E")
    }

    @Test("media errors map to node errors with their own codes, as bad data")
    func mediaErrorsMap() {
        for m in [MediaError.notStrippable(.pdf), .malformed("x"), .truncated] {
            let n = NodeError.from(m as any Error)
            #expect(n.code == m.code && n.kind == .corrupt)
        }
    }
}

@Suite(.serialized) struct StripAtCaptureTests {
    @Test("strip at capture seals the cleaned photo: its hash and size are recorded, what was removed is listed, no place is kept")
    func stripsBeforeSealing() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let p = try EvidenceMetaTests.write(dir, "photo.jpg", GPSPhoto.jpeg)
        var s = MetadataStripper()
        let clean = try s.feed(GPSPhoto.jpeg) + s.finish()
        #expect(clean.count < GPSPhoto.jpeg.count)
        let e = try c.attach(ref, path: p, stripAtCapture: true)
        #expect(e.sha256 == Hex.encode(SHA256.hash(clean)) && e.size == clean.count)
        #expect(e.strippedAtCapture && !e.stripped.isEmpty && e.stripped == s.removed)
        #expect(e.findings.isEmpty && e.metadataWarnings.isEmpty)
        let listed = try #require(try c.evidence(ref).first)
        #expect(listed.strippedAtCapture && listed.stripped == e.stripped && listed.sha256 == e.sha256)
        let state = try c.caseState(ref)
        #expect(state.value("evidence", e.fid, "meta") == nil, "the removed place is not kept in the record")
        // What is sealed is the clean file: export gives it back, and it says nothing about where.
        let out = dir.sub("out")
        let r = try c.exportEvidence(ref, to: out)
        #expect(r.failures.isEmpty)
        let got = try EvidenceTests.bytes(out + "/photo.jpg")
        #expect(got == clean)
        #expect(!MediaInspector.inspect(head: got).findings.contains { $0.kind == .gps })
    }

    @Test("strip at capture refuses a PDF or an unknown file as bad data, and records nothing")
    func refusesWhatCannotBeCleaned() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let pdf = try EvidenceMetaTests.write(dir, "a.pdf", Array("%PDF-1.7\n/Author (Anna)\n%%EOF\n".utf8))
        let bin = try EvidenceMetaTests.write(dir, "b.bin", [1, 2, 3, 4, 5])
        for p in [pdf, bin] {
            #expect(throws: NodeError.self) { try Node.checkAttachable(p, strip: true) }
            do {
                _ = try c.attach(ref, path: p, stripAtCapture: true)
                Issue.record("\(p) was attached")
            } catch {
                #expect(error.kind == .corrupt && error.code == "media.not_strippable", "\(error.code)")
                #expect(error.message.contains("cannot be removed"))
            }
        }
        try Node.checkAttachable(pdf)
        #expect(try c.evidence(ref).isEmpty)
        #expect(try c.sentEvidence().isEmpty, "no chunk is left behind")
    }

    @Test("a photo that changes while it is cleaned records nothing")
    func changeWhileStrippingIsRefused() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        // Over one chunk, so the hook runs before the file is done.
        let big: [UInt8] = Array(GPSPhoto.jpeg.prefix(GPSPhoto.jpeg.count - 2)) + [UInt8](repeating: 0x11, count: EvidenceChunk.plainSize + 100) + [0xFF, 0xD9]
        let p = try EvidenceMetaTests.write(dir, "big.jpg", big)
        Node.afterChunk = { _ in
            if let h = FileHandle(forWritingAtPath: p) { h.seekToEndOfFile(); h.write(Data([0])); try? h.close() }
        }
        defer { Node.afterChunk = nil }
        #expect(throws: NodeError.self) { _ = try c.attach(ref, path: p, stripAtCapture: true) }
        #expect(try c.evidence(ref).isEmpty)
        #expect(try c.sentEvidence().isEmpty)
    }
}

@Suite(.serialized) struct EvidenceGetTests {
    @Test("get writes a working copy without EXIF by default, and the original byte for byte when asked")
    func workingAndOriginal() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let p = try EvidenceMetaTests.write(dir, "photo.jpg", GPSPhoto.jpeg)
        let e = try c.attach(ref, path: p)
        let work = dir.file("work.jpg")
        let w = try c.getEvidence(String(e.fid.prefix(10)), to: work)
        #expect(!w.original && w.notice == nil && !w.removed.isEmpty)
        let wb = try EvidenceTests.bytes(work)
        #expect(w.sha256 == Hex.encode(SHA256.hash(wb)) && wb != GPSPhoto.jpeg)
        let found = MediaInspector.inspect(head: wb).findings
        #expect(!found.contains { $0.kind == .gps || $0.label.hasPrefix("EXIF") }, "\(found)")
        let orig = dir.file("orig.jpg")
        let o = try c.getEvidence(e.fid, to: orig, original: true)
        #expect(o.original && o.removed.isEmpty)
        #expect(Hex.encode(SHA256.hash(try EvidenceTests.bytes(orig))) == e.sha256)
        #expect(try EvidenceTests.bytes(orig) == GPSPhoto.jpeg)
        // Nothing is overwritten; an unknown id is not found.
        #expect(throws: NodeError.self) { _ = try c.getEvidence(e.fid, to: orig) }
        #expect(try EvidenceTests.bytes(orig) == GPSPhoto.jpeg)
        do {
            _ = try c.getEvidence("ffffffffffff", to: dir.file("x"))
            Issue.record("an unknown id was written")
        } catch { #expect(error.kind == .notFound) }
    }

    @Test("a working copy of a format that cannot be cleaned is the original, and says so")
    func workingCopyOfPDFSaysSo() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let bytes = Array("%PDF-1.7\n1 0 obj << /Author (Anna) >> endobj\n%%EOF\n".utf8)
        let e = try c.attach(ref, path: try EvidenceMetaTests.write(dir, "a.pdf", bytes))
        let w = try c.getEvidence(e.fid, to: dir.file("w.pdf"))
        #expect(w.original && w.notice?.contains("cannot be removed") == true)
        #expect(try EvidenceTests.bytes(dir.file("w.pdf")) == bytes)
    }
}

@Suite(.serialized) struct WorkingExportTests {
    @Test("export --working writes copies without GPS and a manifest with both SHA-256s; a plain export is unchanged")
    func workingExport() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let e = try c.attach(ref, path: try EvidenceMetaTests.write(dir, "photo.jpg", GPSPhoto.jpeg))
        let plain = dir.sub("court")
        _ = try c.exportEvidence(ref, to: plain)
        #expect(try EvidenceTests.bytes(plain + "/photo.jpg") == GPSPhoto.jpeg)
        let plainManifest = String(decoding: try EvidenceTests.bytes(plain + "/manifest.json"), as: UTF8.self)
        #expect(!plainManifest.contains("working"), "an export of originals says nothing of copies")

        let out = dir.sub("work")
        let r = try c.exportEvidence(ref, to: out, working: true)
        #expect(r.failures.isEmpty && r.written.count == 1)
        let copy = try EvidenceTests.bytes(out + "/photo.jpg")
        #expect(copy != GPSPhoto.jpeg)
        #expect(!MediaInspector.inspect(head: copy).findings.contains { $0.kind == .gps })
        let doc = try JSONDecoder().decode(EvidenceManifest.Document.self, from: Data(try EvidenceTests.bytes(out + "/manifest.json")))
        let f = try #require(doc.files.first)
        #expect(f.sha256 == e.sha256 && f.size == e.size, "the original's, as recorded")
        #expect(f.workingSha256 == Hex.encode(SHA256.hash(copy)) && f.workingSize == copy.count)
        let check = try Node.verifyManifest(out, members: [c.nodeID.signingKey])
        #expect(check.ok, "\(check.problems)")
        // A changed copy is still caught.
        try Data(copy + [0]).write(to: URL(fileURLWithPath: out + "/photo.jpg"))
        #expect(!(try Node.verifyManifest(out, members: [c.nodeID.signingKey])).ok)
    }
}
