import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqSync

// The bundle vectors of Protocol/vectors/bundle/ (written by scripts/vectors/gen_bundle_vectors.py,
// an independent Python implementation of Protocol/bundles.md), read in place through
// BundleReader(path:keys:) and classified as bundles.md "Classifying a bundle" says, which is
// what Node.importBundle does: preamble and entries (BundleReader.init), then the header's
// project, then the chunk stream (truncated before malformed).

@Suite struct BundleVectorTests {
    static let folder = SyncVectorFile.Folder.bundle
    static let names = folder.names

    /// What reading one vector's bundle through the Swift reader produced.
    struct Outcome: CustomStringConvertible {
        var expect = ""
        var initError: CoreError?
        var header: BundleFormat.Header?
        var envelopes: [Envelope] = []
        var declaredOps: UInt64?
        var damagedChunks = 0
        var malformedRecords = 0
        var truncated = false
        var intact = false

        var description: String {
            "\(expect): error \(initError.map { "\($0)" } ?? "none"), header \(header == nil ? "absent" : "present"), "
                + "\(envelopes.count) ops, declared \(declaredOps.map(String.init) ?? "none"), damaged \(damagedChunks), "
                + "malformed records \(malformedRecords), truncated \(truncated), intact \(intact)"
        }
    }

    /// Opens, checks the header's project, drains. The class is fixed by the first failure in that order.
    static func read(_ path: String, keys: BoxKeyPair, project: ProjectID) throws -> Outcome {
        var out = Outcome()
        let reader: BundleReader
        switch Result(catching: { () throws(SyncError) -> BundleReader in try BundleReader(path: path, keys: keys) }) {
        case let .success(r):
            reader = r
        case let .failure(.bundle(e)):
            out.initError = e
            out.expect = e.failureClass ?? e.code
            return out
        case let .failure(other):
            throw other
        }
        // As Node.importBundle: a header naming another project refuses the bundle before any op lands.
        let wrongProject = reader.header.map { $0.project != project } ?? false
        var rounds = 0
        while let batch = try reader.next(max: 3) {
            out.envelopes += batch
            rounds += 1
            if rounds > 10_000 { Issue.record("\(path): the reader never ended"); break }
        }
        out.header = reader.header
        out.declaredOps = reader.declaredOps
        out.damagedChunks = reader.damagedChunks
        out.malformedRecords = reader.malformedRecords
        out.truncated = reader.truncated
        out.intact = reader.intact
        if wrongProject {
            out.expect = CoreError.bundleWrongProject.failureClass ?? ""
        } else if reader.truncated {
            out.expect = CoreError.bundleTruncated.failureClass ?? ""
        } else if reader.damagedChunks > 0 || reader.malformedRecords > 0 || reader.header == nil {
            out.expect = "malformed"
        } else {
            out.expect = "ok"
        }
        return out
    }

    // MARK: the catalog

    static let expectedNames: Set<String> = [
        "bundle_ok", "bundle_ok_one_chunk", "bundle_truncated_last_chunk", "bundle_missing_final_chunk",
        "bundle_flipped_chunk_byte", "bundle_chunk_swapped", "bundle_not_for_me", "bundle_flipped_entry_byte",
        "bundle_wrong_magic", "bundle_unsupported_version", "bundle_empty", "bundle_short_file",
        "bundle_truncated_preamble", "bundle_entry_count_5", "bundle_entry_count_0", "bundle_wrong_project",
        "bundle_unknown_record_type", "bundle_version_1", "bundle_header_wrong_signer", "bundle_header_moved",
        "bundle_second_header", "bundle_op_before_header", "bundle_end_record_long", "bundle_end_record_empty",
        "bundle_v3_ok", "bundle_v3_flipped_chunk_byte", "bundle_v3_compact_without_op_before", "bundle_v3_header_version_2",
    ]

    @Test func catalog() throws {
        #expect(Set(Self.names.map { String($0.dropLast(4)) }) == Self.expectedNames,
                "the vector folder and this list differ: regenerate, or update the list with bundles.md")
        var classes: Set<String> = []
        var binaries: Set<String> = []
        var size = 0
        for name in Self.names {
            let v = try SyncVectorFile(Self.folder, name)
            classes.insert(v.expect)
            let url = try v.fileURL()
            binaries.insert(url.lastPathComponent)
            #expect(url.lastPathComponent == String(name.dropLast(4)) + ".bin", "\(name): file should be named after the vector")
            size += (try? Data(contentsOf: url).count) ?? 0
        }
        #expect(classes == SyncVectorFile.expects["bundle"]!, "every class has a vector")
        // Nothing else in the folder: every .bin belongs to a vector.
        #expect(Set(Self.folder.files) == Set(Self.names).union(binaries))
        #expect(size > 0 && size <= 2_050_000, "bundle vectors take \(size) bytes")
    }

    // MARK: each vector

    @Test(arguments: names)
    func vector(_ name: String) throws {
        let v = try SyncVectorFile(Self.folder, name)
        let url = try v.fileURL()
        let data = [UInt8](try Data(contentsOf: url))
        #expect(Hash.blake2b(data) == (try v.bytes("file_blake2b")), "\(name): the .bin is not the one the header describes")
        let keys = try BoxKeyPair(secretKey: SecureBytes(try v.bytes("recipient_box_secret")))
        let project = try ProjectID(bytes: try v.bytes("project"))

        // The file key, through BundleFormat's own preamble parser.
        if let fileKey = try v.optionalBytes("file_key") {
            let pre = try BundleFormat.parsePreamble(data)
            #expect(BundleFormat.openFileKey(pre, with: keys)?.secret.unsafeCopy == fileKey, "\(name): file key")
        }

        let o = try Self.read(url.path, keys: keys, project: project)
        #expect(o.expect == v.expect, "\(name): \(o)")
        if v.expect == "bad_signature" {
            // Refused when the header is read, before any op.
            #expect(o.initError == .bundleBadSignature && o.envelopes.isEmpty, "\(name): \(o)")
            return
        }

        guard v.has("file_key") else {
            // Refused before any chunk: nothing was read.
            #expect(o.initError != nil, "\(name): \(o)")
            #expect(o.envelopes.isEmpty)
            return
        }
        #expect(o.initError == nil, "\(name): \(o)")
        if let header = try v.optionalBytes("header") {
            // The record is the fields and the sender's signature over this file's preamble.
            #expect(o.header?.encoded() == Array(header.dropLast(Signature.length)), "\(name): header record")
            let preamble = Array(data.prefix(try BundleFormat.parsePreamble(data).length))
            #expect((try? BundleFormat.openHeader(header, preamble: preamble)) == o.header)
            #expect(throws: CoreError.bundleBadSignature) { try BundleFormat.openHeader(header, preamble: Array(preamble.dropLast()) + [~(preamble.last ?? 0)]) }
        } else {
            #expect(o.header == nil, "\(name): a header where none survives")
        }
        let ids = try v.bytes("op_ids")
        #expect(ids.count % 32 == 0)
        let want = stride(from: 0, to: ids.count, by: 32).map { Array(ids[$0..<($0 + 32)]) }
        #expect(o.envelopes.map(\.id.bytes) == want, "\(name): got \(o.envelopes.count) ops, expected \(want.count)")
        // Every op that comes out is a whole, correctly signed envelope.
        for e in o.envelopes {
            #expect(throws: Never.self) { try e.verifySignature() }
        }
        #expect(o.declaredOps == (try v.optionalInt("declared_ops")), "\(name): declared op count")
        #expect(UInt64(o.damagedChunks) == (try v.int("damaged_chunks")), "\(name): damaged chunks")
        #expect(UInt64(o.malformedRecords) == (try v.int("malformed_records")), "\(name): malformed records")
        #expect(o.intact == (v.expect == "ok" || v.expect == "wrong_project"), "\(name): intact")
    }

    // MARK: the specific refusals behind the classes

    @Test func refusalsBeforeAnyChunk() throws {
        let cases: [(String, CoreError)] = [
            ("bundle_empty", .empty), ("bundle_short_file", .notABundle), ("bundle_wrong_magic", .notABundle),
            ("bundle_unsupported_version", .bundleUnsupportedVersion), ("bundle_version_1", .obsoleteVersion),
            ("bundle_truncated_preamble", .bundleTruncated),
            ("bundle_entry_count_5", .bundleMalformed("recipient entry count")),
            ("bundle_entry_count_0", .bundleMalformed("recipient entry count")),
            ("bundle_not_for_me", .notForMe), ("bundle_flipped_entry_byte", .notForMe),
        ]
        for (name, error) in cases {
            let v = try SyncVectorFile(Self.folder, name + ".txt")
            let keys = try BoxKeyPair(secretKey: SecureBytes(try v.bytes("recipient_box_secret")))
            let o = try Self.read(try v.fileURL().path, keys: keys, project: try ProjectID(bytes: try v.bytes("project")))
            #expect(o.initError == error, "\(name): \(o)")
        }
    }

    /// A reader refuses more than 1024 entries (bundle_entry_count_* vectors), so a writer must not
    /// write them: 1025 recipients pad to 1028 entries, a file no recipient could open.
    @Test func writerRefusesMoreRecipientsThanReadersAccept() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-vectors-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let me = BoxKeyPair()
        let signer = SigningKeyPair()
        let sender = NodeID(signingKey: signer.publicKey, boxKey: me.publicKey)
        let header = BundleFormat.Header(project: .random(), sender: sender, senderVector: VersionVector(),
                                         bundleID: try #require(BundleID(bytes: [UInt8](repeating: 7, count: 16))), part: 1, createdMillis: 0)
        let others = (0..<(BundleFormat.maxEntries - 1)).map { _ in BoxKeyPair().publicKey }
        // 1024 recipients: the most a reader accepts; the file opens.
        let full = dir + "/full.sqb"
        let w = try BundleWriter(path: full, recipients: others + [me.publicKey], header: header, signer: signer)
        try w.finish()
        #expect(try BundleReader(path: full, keys: me).header == header)
        // 1025: refused at once, and no file is left behind.
        let over = dir + "/over.sqb"
        #expect(throws: SyncError.self) {
            let w = try BundleWriter(path: over, recipients: others + [me.publicKey, BoxKeyPair().publicKey], header: header, signer: signer)
            try w.finish()
        }
        #expect(!FileManager.default.fileExists(atPath: over))
    }

    /// Filler entries must look like real ones. A real entry starts with an X25519 public key, and
    /// those always have the top bit of byte 31 clear (u < 2^255 - 19); 80 uniformly random bytes
    /// have it set half the time, which would tell a seizer "this one is filler" and so bound the
    /// recipient count. 16 one-recipient bundles carry 48 fillers: random filler fails this with
    /// probability 1 - 2^-48.
    @Test func fillerEntriesLookLikeSealedBoxes() throws {
        let key = SymmetricKey()
        var entries: [[UInt8]] = []
        for _ in 0..<16 {
            let pre = BundleFormat.preamble(fileKey: key, recipients: [BoxKeyPair().publicKey], noncePrefix: Random.bytes(16))
            entries += try BundleFormat.parsePreamble(pre).entries
        }
        #expect(entries.count == 64)
        let marked = entries.filter { $0[31] & 0x80 != 0 }.count
        #expect(marked == 0, "\(marked) of 64 entries are visibly not sealed boxes")
    }

    /// The one-chunk bundle opens for its second recipient too, and for no one else.
    @Test func addressing() throws {
        let v = try SyncVectorFile(Self.folder, "bundle_ok_one_chunk.txt")
        let data = [UInt8](try Data(contentsOf: try v.fileURL()))
        let pre = try BundleFormat.parsePreamble(data)
        #expect(pre.entries.count == 4 && pre.length == 10 + 4 * 80 + 16)
        let lawyer = try BoxKeyPair(secretKey: SecureBytes(try v.bytes("recipient_box_secret")))
        var opened = 0
        for e in pre.entries where (try? lawyer.openSecret(e)) != nil { opened += 1 }
        #expect(opened == 1, "exactly one entry is the lawyer's")
        #expect(pre.entries.allSatisfy { $0[31] & 0x80 == 0 }, "fillers look like sealed boxes")
        #expect(BundleFormat.openFileKey(pre, with: BoxKeyPair()) == nil, "a stranger's key opens nothing")
        // The file length says only the padded entry count and the chunk count.
        #expect((data.count - pre.length) % BundleFormat.chunkSize == 0)
    }
}
