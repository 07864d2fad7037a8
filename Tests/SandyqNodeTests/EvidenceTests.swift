import Foundation
import SandyqCore
import SandyqCrypto
import SandyqReports
import SandyqSearch
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// Attached files: sealed in chunks, recorded by one op, exported byte for byte and checked.
@Suite(.serialized) struct EvidenceTests {
    static func randomFile(_ dir: TempDir, _ name: String, size: Int) throws -> String {
        let p = dir.file(name)
        try Data(Random.bytes(size)).write(to: URL(fileURLWithPath: p))
        return p
    }

    static func withCase(_ dir: TempDir) throws -> (Node, String) {
        let (c, _) = try NodeFixture.founder(dir)
        var doc = CaseDocument()
        doc.title = "Іс"
        doc.ref = "ev-1"
        let id = try c.addCase(doc)
        return (c, id.description)
    }

    static func bytes(_ p: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: p))) }

    @Test("attach then export gives back the same bytes: 3.5 MiB, exactly 1 MiB, 1 byte")
    func roundTrip() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let sizes = [3 * (1 << 20) + (1 << 19), 1 << 20, 1]
        var paths: [String] = []
        for (i, size) in sizes.enumerated() {
            let p = try Self.randomFile(dir, "f\(i).bin", size: size)
            paths.append(p)
            let e = try c.attach(ref, path: p, note: "n\(i)")
            #expect(e.chunks == EvidenceChunk.chunkCount(size: size))
            #expect(e.sha256 == Hex.encode(SHA256.hash(try Self.bytes(p))))
        }
        #expect(EvidenceChunk.chunkCount(size: sizes[0]) == 4 && EvidenceChunk.chunkCount(size: sizes[1]) == 1)
        let listed = try c.evidence(ref)
        #expect(listed.count == 3 && listed.allSatisfy(\.complete))
        let out = dir.sub("out")
        let r = try c.exportEvidence(ref, to: out)
        #expect(r.failures.isEmpty)
        #expect(r.written.count == 3)
        for (i, p) in paths.enumerated() {
            #expect(try Self.bytes(out + "/f\(i).bin") == (try Self.bytes(p)), "file \(i) differs after export")
        }
        let check = try Node.verifyManifest(out, members: [c.nodeID.signingKey])
        #expect(check.ok, "\(check.problems)")
        #expect(check.files == 3)
        // verify finds the case and op by the file's SHA-256, and nothing for another file.
        let v = try c.verifyEvidence(path: paths[0])
        #expect(v.matches.count == 1 && v.matches[0].caseID.description == ref)
        let other = try Self.randomFile(dir, "other.bin", size: 10)
        #expect(try c.verifyEvidence(path: other).matches.isEmpty)
        _ = c
    }

    @Test("empty files, directories and FIFOs are refused before anything is read or recorded")
    func refusesNonFiles() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let before = try c.store.opCount
        let empty = dir.file("empty")
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect { try c.attach(ref, path: empty) } throws: { ($0 as? NodeError)?.code == "evidence.empty" }
        try FileManager.default.createDirectory(atPath: dir.sub("d"), withIntermediateDirectories: true)
        #expect { try c.attach(ref, path: dir.sub("d")) } throws: { ($0 as? NodeError)?.code == "evidence.not-a-file" }
        let fifo = dir.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        // No writer ever opens it: a blocking open would hang here.
        #expect { try c.attach(ref, path: fifo) } throws: { ($0 as? NodeError)?.code == "evidence.not-a-file" }
        #expect(try c.store.opCount == before)
        #expect(try c.store.chunkSummaries().isEmpty)
        _ = c
    }

    @Test("a file that grows while it is read records nothing and leaves no chunk")
    func changingFile() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let p = try Self.randomFile(dir, "grow.bin", size: 2 * (1 << 20) + 5)
        let before = try c.store.opCount
        Node.afterChunk = { i in
            if i == 0, let h = FileHandle(forWritingAtPath: p) { h.seekToEndOfFile(); h.write(Data([1, 2, 3])); try? h.close() }
        }
        defer { Node.afterChunk = nil }
        #expect { try c.attach(ref, path: p) } throws: { ($0 as? NodeError)?.code == "evidence.changed" }
        #expect(try c.store.opCount == before)
        #expect(try c.store.chunkIndexes(fid: [], includingPending: true).isEmpty)
        #expect(try c.store.chunkSummaries().isEmpty)
        let n = try c.store.db.prepare("SELECT count(*) FROM evidence_chunks")
        _ = try n.step()
        #expect(n.int(0) == 0, "the chunks of a refused attach must be gone")
        _ = c
    }

    @Test("a failure when the record is stored leaves no op and no chunk; a crash's pending chunks are swept")
    func chunksAndOpLandTogether() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let p = try Self.randomFile(dir, "x.bin", size: 3000)
        let before = try c.store.opCount
        // A trigger makes the op's insert fail after the chunks were stored.
        try c.store.db.execute("CREATE TEMP TRIGGER refuse BEFORE INSERT ON ops BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;")
        #expect(throws: NodeError.self) { try c.attach(ref, path: p) }
        try c.store.db.execute("DROP TRIGGER refuse")
        #expect(try c.store.opCount == before)
        let n = try c.store.db.prepare("SELECT count(*) FROM evidence_chunks")
        _ = try n.step()
        #expect(n.int(0) == 0)
        // Pending rows of a dead attach go at the next open; an attach under way keeps its own.
        try c.store.putChunk(fid: [1], index: 0, count: 1, bytes: [0], pending: 1)
        try c.store.putChunk(fid: [2], index: 0, count: 1, bytes: [0], pending: Int64(Node.wallMillis()))
        c = try NodeFixture.open(dir, "c")
        #expect(try c.store.chunkIndexes(fid: [1], includingPending: true).isEmpty)
        #expect(try c.store.chunkIndexes(fid: [2], includingPending: true) == [0])
        // And the node still attaches.
        _ = try c.attach(ref, path: p)
        #expect(try c.evidence(ref).count == 1)
        _ = c
    }

    @Test("a missing chunk makes a file incomplete and export refuses that file alone")
    func missingChunk() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let a = try c.attach(ref, path: try Self.randomFile(dir, "a.bin", size: 2 * (1 << 20) + 1))
        _ = try c.attach(ref, path: try Self.randomFile(dir, "b.bin", size: 100))
        try c.store.deleteChunk(fid: Hex.decode(a.fid)!, index: 1)
        let listed = try c.evidence(ref)
        #expect(listed.first { $0.fid == a.fid }?.complete == false)
        #expect(listed.first { $0.fid == a.fid }?.present == 2)
        let r = try c.exportEvidence(ref, to: dir.sub("out"))
        #expect(r.written.map(\.path) == ["b.bin"])
        #expect(r.failures.map(\.code) == ["evidence.incomplete"])
        #expect(!FileManager.default.fileExists(atPath: dir.sub("out") + "/a.bin"))
        _ = c
    }

    @Test("a flipped byte, a chunk from another file or from another position: that file is not exported")
    func damagedChunks() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let a = try c.attach(ref, path: try Self.randomFile(dir, "a.bin", size: 2 * (1 << 20)))
        let b = try c.attach(ref, path: try Self.randomFile(dir, "b.bin", size: 2 * (1 << 20)))
        let d = try c.attach(ref, path: try Self.randomFile(dir, "d.bin", size: 2 * (1 << 20)))
        _ = try c.attach(ref, path: try Self.randomFile(dir, "ok.bin", size: 10))
        let fa = Hex.decode(a.fid)!, fb = Hex.decode(b.fid)!, fd = Hex.decode(d.fid)!
        var flipped = try #require(try c.store.chunk(fid: fa, index: 1))
        flipped[flipped.count - 5] ^= 1
        try c.store.replaceChunk(fid: fa, index: 1, bytes: flipped)
        try c.store.replaceChunk(fid: fb, index: 0, bytes: try #require(try c.store.chunk(fid: fa, index: 0)))
        try c.store.replaceChunk(fid: fd, index: 0, bytes: try #require(try c.store.chunk(fid: fd, index: 1)))
        let r = try c.exportEvidence(ref, to: dir.sub("out"))
        #expect(r.written.map(\.path) == ["ok.bin"])
        let codes = Dictionary(uniqueKeysWithValues: r.failures.map { ($0.name, $0.code) })
        #expect(codes["a.bin"] == "evidence.chunk-unreadable")
        #expect(codes["b.bin"] == "evidence.chunk-misplaced")
        #expect(codes["d.bin"] == "evidence.chunk-misplaced")
        for n in ["a.bin", "b.bin", "d.bin", "a.bin.partial"] {
            #expect(!FileManager.default.fileExists(atPath: dir.sub("out") + "/" + n))
        }
        _ = c
    }

    @Test("attack: a reader re-seals a chunk with the file's own key; it opens, so only the recorded SHA-256 stops its export")
    func resealedChunkWithTheFileKey() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let a = try c.attach(ref, path: try Self.randomFile(dir, "a.bin", size: (1 << 20) + 100))
        let fid = Hex.decode(a.fid)!
        // What any reader of the case can do: take the key from the record and seal other bytes.
        let state = try #require(try c.view().orderedCases.first { $0.id.description == ref })
        let keyHex = try #require(state.secret("evidence", a.fid, "key"))
        let key = try SymmetricKey(SecureBytes(try #require(Hex.decode(keyHex))))
        let forged = EvidenceChunk.seal(Random.bytes(100), key: key, project: try c.requireProject(), fileID: fid, index: 1, count: 2)
        try c.store.replaceChunk(fid: fid, index: 1, bytes: forged.encoded())
        let r = try c.exportEvidence(ref, to: dir.sub("out"))
        #expect(r.written.isEmpty)
        #expect(r.failures.map(\.code) == ["evidence.hash-mismatch"])
        #expect(!FileManager.default.fileExists(atPath: dir.sub("out") + "/a.bin"))
        _ = c
    }

    @Test("verify-manifest names an edited manifest, a changed file and a swapped file")
    func forgedManifest() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        _ = try c.attach(ref, path: try Self.randomFile(dir, "a.bin", size: 50))
        _ = try c.attach(ref, path: try Self.randomFile(dir, "b.bin", size: 60))
        let out = dir.sub("out")
        _ = try c.exportEvidence(ref, to: out)
        let members: Set<SigningPublicKey> = [c.nodeID.signingKey]
        #expect(try Node.verifyManifest(out, members: members).ok)

        // A changed file.
        var a = try Self.bytes(out + "/a.bin")
        a[0] ^= 1
        try Data(a).write(to: URL(fileURLWithPath: out + "/a.bin"))
        var check = try Node.verifyManifest(out, members: members)
        #expect(check.problems.count == 1 && check.problems[0].hasPrefix("a.bin:"))
        a[0] ^= 1
        try Data(a).write(to: URL(fileURLWithPath: out + "/a.bin"))

        // Two files swapped.
        let b = try Self.bytes(out + "/b.bin")
        try Data(b).write(to: URL(fileURLWithPath: out + "/a.bin"))
        try Data(a).write(to: URL(fileURLWithPath: out + "/b.bin"))
        check = try Node.verifyManifest(out, members: members)
        #expect(Set(check.problems.map { String($0.prefix(6)) }) == ["a.bin:", "b.bin:"])
        try Data(a).write(to: URL(fileURLWithPath: out + "/a.bin"))
        try Data(b).write(to: URL(fileURLWithPath: out + "/b.bin"))

        // An edited manifest: the signature no longer verifies.
        let mp = out + "/manifest.json"
        let original = try Self.bytes(mp)
        let edited = String(decoding: original, as: UTF8.self).replacingOccurrences(of: "a.bin", with: "x.bin")
        try Data(edited.utf8).write(to: URL(fileURLWithPath: mp))
        check = try Node.verifyManifest(out, members: members)
        #expect(check.problems.contains { $0.contains("signature does not verify") })

        // Re-signed by a stranger: it verifies as a signature but the signer is not a member.
        try Data(original).write(to: URL(fileURLWithPath: mp))
        #expect(try Node.verifyManifest(out, members: members).ok)
        #expect(try Node.verifyManifest(out, members: []).problems.contains { $0.contains("not a member") })
        _ = c
    }

    @Test("the file key never shows: case document, registers, reports, CSV, search; set/add/remove refuse the collection")
    func keyStaysInside() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        let e = try c.attach(ref, path: try Self.randomFile(dir, "a.bin", size: 10))
        let state = try c.caseState(ref)
        let key = try #require(state.secret("evidence", e.fid, "key"))
        #expect(key.count == 64)
        #expect(state.registers.keys.allSatisfy { $0.field != "key" })
        #expect(state.value("evidence", e.fid, "key") == nil)
        let doc = String(decoding: try JSONEncoder().encode(state.document), as: UTF8.self)
        #expect(!doc.contains(key))
        let dossier = try c.dossier(ref)
        #expect(!ReportMarkdown.dossier(dossier).contains(key))
        #expect(!ReportHTML.dossier(dossier).contains(key))
        #expect(!String(decoding: try JSONEncoder().encode(dossier), as: UTF8.self).contains(key))
        #expect(!ReportExport.csv(view: try c.view()).contains(key))
        #expect(try c.search(SearchQuery(text: key)).isEmpty)
        // The key survives a restart through the snapshot, still apart from the registers.
        c = try NodeFixture.open(dir, "c")
        let again = try c.caseState(ref)
        #expect(again.secret("evidence", e.fid, "key") == key)
        #expect(again.registers.keys.allSatisfy { $0.field != "key" })
        // Only attach writes the collection.
        #expect { try c.addElement(ref, collection: "evidence", fields: ["name": "x"]) } throws: { ($0 as? NodeError)?.code == "case.read-only" }
        #expect { try c.set(ref, fields: [(FieldPath(collection: "evidence", element: e.fid, field: "name"), "y")]) } throws: {
            ($0 as? NodeError)?.code == "case.read-only"
        }
        #expect { try c.removeElement(ref, collection: "evidence", element: e.fid) } throws: { ($0 as? NodeError)?.code == "case.read-only" }
        _ = c
    }

    @Test("a write-only node attaches but cannot read back or export")
    func writeOnlyReporter() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        _ = try c.attach(ref, path: try Self.randomFile(dir, "a.bin", size: 10))
        try c.setWriteOnly(true, passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)))
        #expect { try c.exportEvidence(to: dir.sub("out")) } throws: { ($0 as? NodeError)?.code == "evidence.write-only" }
        #expect(try c.sentEvidence().count == 1)
        _ = c
    }

    /// Hands `to` every chunk `from` holds, the way a carrier would.
    static func copyChunks(_ from: Node, to: Node) throws {
        for s in try from.store.chunkSummaries() {
            for i in 0..<s.count {
                if let b = try from.store.chunk(fid: s.fid, index: i) { try to.store.putChunk(fid: s.fid, index: i, count: s.count, bytes: b) }
            }
        }
    }

    @Test("a write-only reporter attaches; the coordinator exports the same bytes; the reporter lists ids only")
    func reporterAttachesCoordinatorExports() throws {
        let dir = try TempDir()
        var (c, _) = try NodeFixture.founder(dir)
        var r = try RoleKit.make(dir, "r", writeOnly: true)
        try RoleKit.admit(r, as: .reporter, by: c)
        let id = try r.addCase(RoleKit.doc("Дело репортёра", person: "Бауыржан"))
        let p = try Self.randomFile(dir, "scan.pdf", size: (1 << 20) + 77)
        let e = try r.attach(id.description, path: p)
        try NodeFixture.sync(r, to: c)
        try Self.copyChunks(r, to: c)
        let out = dir.sub("out")
        let x = try c.exportEvidence(to: out)
        #expect(x.failures.isEmpty && x.written.count == 1)
        #expect(try Self.bytes(out + "/scan.pdf") == (try Self.bytes(p)))
        #expect(x.written.first?.entry.attachedBy == r.nodeID.signingKey)
        // The reporter, reopened, holds the chunks but cannot read the record or the key.
        r = try NodeFixture.open(dir, "r")
        #expect(try r.evidence().isEmpty)
        #expect(try r.sentEvidence().map(\.fid) == [e.fid])
        // It still attaches to its case by the whole id, which it cannot read; a prefix is not enough.
        #expect { try r.attach(String(id.description.prefix(8)), path: p) } throws: { ($0 as? NodeError)?.kind == .notFound }
        let second = try r.attach(id.description, path: p)
        try NodeFixture.sync(r, to: c)
        try Self.copyChunks(r, to: c)
        #expect(try c.evidence(id.description).map(\.fid).sorted() == [e.fid, second.fid].sorted())
        #expect { try r.exportEvidence(to: dir.sub("out2")) } throws: { ($0 as? NodeError)?.code == "evidence.write-only" }
        _ = c
    }

    @Test("a lawyer exports the files of the cases shared with it, and no others")
    func lawyerExportsSharedOnly() throws {
        let dir = try TempDir()
        var (c, _) = try NodeFixture.founder(dir)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: c)
        let shared = try c.addCase(RoleKit.doc("Общее", person: "Айгуль"))
        let other = try c.addCase(RoleKit.doc("Чужое", person: "Данияр"))
        try c.share(shared.description, with: l.nodeID)
        let a = try c.attach(shared.description, path: try Self.randomFile(dir, "shared.bin", size: 500))
        let b = try c.attach(other.description, path: try Self.randomFile(dir, "other.bin", size: 500))
        try NodeFixture.sync(c, to: l)
        try Self.copyChunks(c, to: l)
        #expect(try l.evidence().map(\.fid) == [a.fid])
        let x = try l.exportEvidence(to: dir.sub("out"))
        #expect(x.written.map(\.path) == ["shared.bin"])
        #expect(!FileManager.default.fileExists(atPath: dir.sub("out") + "/other.bin"))
        #expect(try l.verifyEvidence(path: dir.file("other.bin")).matches.isEmpty, "\(b.fid) is not the lawyer's to see")
        _ = c
    }

    @Test("a merge leaves each file with the case it was attached to, still exportable")
    func mergeKeepsFilesInPlace() throws {
        let dir = try TempDir()
        var (c, ref) = try Self.withCase(dir)
        var doc = CaseDocument()
        doc.title = "Іс"
        let keep = try c.addCase(doc)
        let e = try c.attach(ref, path: try Self.randomFile(dir, "a.bin", size: 100))
        _ = try c.merge(keep: keep.description, other: ref)
        #expect(try c.caseState(keep.description).elements("evidence").isEmpty)
        #expect(try c.caseState(ref).elements("evidence") == [e.fid])
        #expect(try c.exportEvidence(to: dir.sub("out")).written.count == 1)
        _ = c
    }
}
