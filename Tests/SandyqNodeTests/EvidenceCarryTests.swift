import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// Evidence chunks carried in bundles: by need, across parts in any order, acknowledged by
/// signed holding statements, and let go by a reporter once a coordinator checked them.
@Suite(.serialized) struct EvidenceCarryTests {
    static func parts(_ x: Node.BundleExport) -> [String] { x.files }

    @Test("a reporter's file crosses in parts imported backwards; the answer lets the reporter remove its copy")
    func partsInAnyOrderThenRelease() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        try RoleKit.admit(r, as: .reporter, by: c)
        let id = try r.addCase(RoleKit.doc("Дело", person: "Бауыржан"))
        let p = try EvidenceTests.randomFile(dir, "video.mp4", size: 5 * (1 << 20) + 123)
        let e = try r.attach(id.description, path: p)
        try NodeFixture.sync(r, to: c)
        // 3 MiB parts: the six chunks need at least three files.
        let x = try r.exportBundle(to: [c.nodeID], out: dir.file("out.sqb"), maxSize: 3 << 20)
        #expect(x.chunks == 6)
        #expect(x.files.count >= 3)
        for f in x.files { #expect((try FileManager.default.attributesOfItem(atPath: f)[.size] as? Int ?? .max) <= 3 << 20) }
        var stored = 0
        for f in x.files.reversed() {
            let i = try c.importBundle(f)
            stored += i.chunks.stored
            #expect(i.chunks.refused == 0)
        }
        #expect(stored == 6)
        let out = dir.sub("out")
        let ex = try c.exportEvidence(to: out)
        #expect(ex.failures.isEmpty)
        #expect(try EvidenceTests.bytes(out + "/video.mp4") == (try EvidenceTests.bytes(p)))
        #expect(try c.heldFiles().first { $0.fid == e.fid }?.verifiedMillis ?? 0 > 0)

        // Before any answer the reporter keeps its copy, and refuses to let it go.
        #expect { try r.releaseAcknowledged([e.fid]) } throws: { ($0 as? NodeError)?.code == "evidence.not-acknowledged" }
        #expect(try r.releaseAcknowledged().isEmpty)
        // The coordinator's answer says, signed, that it holds and checked the file.
        let back = try c.exportBundle(to: [r.nodeID], out: dir.file("back.sqb"))
        #expect(back.chunks == 0, "a reporter is handed no chunks")
        let got = try r.importBundle(back.files[0])
        #expect(got.holdings == 1)
        let held = try #require(try r.heldFiles().first { $0.fid == e.fid })
        #expect(held.acknowledgedByCoordinator && held.holders.map(\.node) == [c.nodeID.signingKey])
        let dbPath = r.home + "/" + (try FileManager.default.contentsOfDirectory(atPath: r.home).first { $0.hasSuffix(".db") } ?? "")
        func size() throws -> Int { (try FileManager.default.attributesOfItem(atPath: dbPath)[.size] as? Int) ?? 0 }
        let before = try size()
        #expect(before > 5 << 20, "the chunks are in \(dbPath): \(before) bytes")
        // The coordinator is where the archive lives: it does not let go of the file.
        #expect { try c.releaseAcknowledged() } throws: { ($0 as? NodeError)?.code == "evidence.keeps-all" }
        #expect(try c.heldFiles().first { $0.fid == e.fid }?.present == 6)
        let gone = try r.releaseAcknowledged()
        // The store shrinks: a seized laptop's file must not keep the size of what it let go.
        let after = try size()
        #expect(after < 1 << 20, "\(after) bytes left after the release")
        #expect(gone.map(\.fid) == [e.fid])
        #expect(try r.store.chunkIndexes(fid: Hex.decode(e.fid)!).isEmpty)
        #expect(try r.heldFiles().first { $0.fid == e.fid }?.releasedMillis ?? 0 > 0)
        // Nothing more is owed to the coordinator, which holds it: no chunks in the next bundle.
        #expect(try c.exportBundle(to: [r.nodeID], out: dir.file("again.sqb")).chunks == 0)
        #expect(try r.exportBundle(to: [c.nodeID], out: dir.file("r2.sqb")).chunks == 0)
    }

    @Test("a lawyer is carried the files of shared cases only; a coordinator is not sent what it said it holds")
    func byNeed() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: c)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let shared = try c.addCase(RoleKit.doc("Общее", person: "Айгуль"))
        let other = try c.addCase(RoleKit.doc("Чужое", person: "Данияр"))
        try c.share(shared.description, with: l.nodeID)
        let a = try c.attach(shared.description, path: try EvidenceTests.randomFile(dir, "a.bin", size: 3000))
        _ = try c.attach(other.description, path: try EvidenceTests.randomFile(dir, "b.bin", size: 3000))
        let toLawyer = try c.exportBundle(to: [l.nodeID], out: dir.file("l.sqb"))
        #expect(toLawyer.chunks == 1)
        let li = try l.importBundle(toLawyer.files[0])
        #expect(li.chunks.verified == [a.fid])
        #expect(try l.evidence().allSatisfy(\.complete))
        // The second coordinator gets both; once it says so, neither is carried to it again.
        let toC2 = try c.exportBundle(to: [c2.nodeID], out: dir.file("c2.sqb"))
        #expect(toC2.chunks == 2)
        #expect(try c2.importBundle(toC2.files[0]).chunks.verified.count == 2)
        #expect(try c.exportBundle(to: [c2.nodeID], out: dir.file("c2b.sqb")).chunks == 2, "not yet acknowledged")
        let answer = try c2.exportBundle(to: [c.nodeID], out: dir.file("ans.sqb"))
        #expect(try c.importBundle(answer.files[0]).holdings == 2)
        #expect(try c.exportBundle(to: [c2.nodeID], out: dir.file("c2c.sqb")).chunks == 0)
        // The dossier names the file, its digest, who attached it, and both nodes that hold it checked.
        let d = try c.dossier(shared.description)
        let f = try #require(d.evidence?.first)
        #expect(d.evidence?.count == 1 && f.id == a.fid && f.sha256 == a.sha256 && f.size == 3000)
        #expect(f.attached.author == c.nodeID.fingerprint && f.attached.op == a.op.description)
        #expect(f.heldBy.map(\.node) == [c.nodeID.fingerprint, c2.nodeID.fingerprint] && f.heldBy.allSatisfy(\.checked))
        let html = try c.renderReport(.dossier(shared.description), format: .html)
        #expect(html.contains(a.sha256) && html.contains(c2.nodeID.fingerprint))
        let md = try c.renderReport(.dossier(shared.description), format: .md)
        #expect(md.contains(a.sha256) && md.contains("Evidence files"))
        // The lawyer's dossier: it holds the file itself, and the coordinator said so too; the
        // coordinator's word to it named the shared file only, not the other case's.
        #expect(try l.dossier(shared.description).evidence?.first?.heldBy.map(\.node) == [l.nodeID.fingerprint, c.nodeID.fingerprint])
        #expect(try c.holdingStatement(for: l.nodeID.signingKey)?.files.map { Hex.encode($0.fileID) } == [a.fid])
        #expect(try l.store.holdings(holder: c.nodeID.signingKey.bytes).map { Hex.encode($0.fid) } == [a.fid])
    }

    /// Seals a bundle from `from` to `to` holding `records`, as a modified client would.
    static func plantBundle(_ path: String, from: Node, to: Node, chunks: [[UInt8]] = [], held: [[UInt8]] = []) throws {
        let h = BundleFormat.Header(project: try from.requireProject(), sender: from.nodeID, senderVector: VersionVector(),
                                    bundleID: .random(), part: 1, createdMillis: 1, imported: [])
        let w = try BundleWriter(path: path, recipients: [to.nodeID.boxKey], header: h, signer: from.identity.signing)
        for b in held { try w.append(held: b) }
        for b in chunks { try w.append(chunk: b) }
        try w.finish()
    }

    @Test("a flipped chunk, a chunk of another file and a forged holding statement are refused; nothing held is lost")
    func attacks() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let e = try c.attach(ref, path: try EvidenceTests.randomFile(dir, "a.bin", size: (1 << 20) + 5))
        try NodeFixture.sync(c, to: c2)
        let fid = Hex.decode(e.fid)!
        let good0 = try #require(try c.store.chunk(fid: fid, index: 0))
        let good1 = try #require(try c.store.chunk(fid: fid, index: 1))
        var flipped = good0
        flipped[flipped.count - 3] ^= 1
        // Chunk 1's bytes under chunk 0's header: the tag binds the index.
        var moved = good1
        moved.replaceSubrange(33..<37, with: [0, 0, 0, 0])
        try Self.plantBundle(dir.file("bad.sqb"), from: c, to: c2, chunks: [flipped, moved])
        let bad = try c2.importBundle(dir.file("bad.sqb"))
        #expect(bad.chunks.refused == 2 && bad.chunks.stored == 0)
        #expect(try c2.store.chunkIndexes(fid: fid).isEmpty)
        // The genuine chunks still land after the planted ones.
        try Self.plantBundle(dir.file("good.sqb"), from: c, to: c2, chunks: [good1, good0])
        #expect(try c2.importBundle(dir.file("good.sqb")).chunks.verified == [e.fid])

        // A stranger's statement, and a member's statement carried in another member's bundle.
        let stranger = SigningKeyPair()
        let forged = EvidenceHeld.sign(project: try c.requireProject(), files: [.init(fileID: fid, count: 2, verified: true)],
                                       createdMillis: 5, by: stranger)
        #expect { try c.acceptHolding(forged.encoded()) } throws: { ($0 as? NodeError)?.code == "evidence.holding-not-member" }
        let c2says = try #require(try c2.holdingStatement(for: c.nodeID.signingKey))
        #expect { try c.acceptHolding(c2says.encoded(), from: c.nodeID.signingKey) } throws: {
            ($0 as? NodeError)?.code == "evidence.holding-not-sender"
        }
        var tampered = c2says.encoded()
        tampered[tampered.count - 70] ^= 1
        #expect(throws: NodeError.self) { try c.acceptHolding(tampered) }
        #expect(try c.acceptHolding(c2says.encoded(), from: c2.nodeID.signingKey) == 1)
        #expect(try c.heldFiles().first?.holders.map(\.node) == [c2.nodeID.signingKey])
    }

    @Test("a chunk that arrives before its record is kept, and checked once the record comes")
    func chunkBeforeRecord() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let e = try c.attach(ref, path: try EvidenceTests.randomFile(dir, "a.bin", size: 10))
        let fid = Hex.decode(e.fid)!
        try Self.plantBundle(dir.file("chunks.sqb"), from: c, to: c2, chunks: [try #require(try c.store.chunk(fid: fid, index: 0))])
        let first = try c2.importBundle(dir.file("chunks.sqb"))
        #expect(first.chunks.stored == 1 && first.chunks.verified.isEmpty)
        let ops = try c.exportBundle(to: [c2.nodeID], out: dir.file("ops.sqb"))
        let second = try c2.importBundle(ops.files[0])
        #expect(second.chunks.known == 1 && second.chunks.verified == [e.fid])
        #expect(try c2.evidence().first?.complete == true)
    }

    @Test("attack: a member's record names 10^11 chunks (or a short id); readers neither trap nor loop on it", .timeLimit(.minutes(1)))
    func forgedChunkCount() throws {
        let dir = try TempDir()
        let (c, ref) = try EvidenceTests.withCase(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let id = try c.caseState(ref).id
        for (element, chunks) in [(String(repeating: "ab", count: 16), "99999999999"), ("abcd", "3")] {
            let forged = try CaseEditor.addElement(case: id, collection: "evidence",
                                                   fields: ["sha256": String(repeating: "0", count: 64), "size": "1", "chunks": chunks,
                                                            "key": String(repeating: "11", count: 32), "name": "x.bin"],
                                                   element: element, system: true)
            _ = try c.write(batch: [forged])
        }
        _ = try c2.importBundle(try c.exportBundle(to: [c2.nodeID], out: dir.file("f.sqb")).files[0])
        #expect(try c2.chunkWants().files.isEmpty)
        #expect(try c2.readableFiles().isEmpty)
        #expect(try c2.checkUnverified().verified.isEmpty)
    }
}
