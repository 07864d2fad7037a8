import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqStore

/// One verified signature on a chain's later op vouches for the ops it links to (ops.md section 6).
@Suite struct ChainVouchingTests {
    /// `env` with one bit of its signature flipped: bytes its author never signed.
    func garbled(_ env: Envelope) throws -> Envelope {
        var b = env.encoded
        b[b.count - 10] ^= 0x01
        return try Envelope(decoding: b)
    }

    func sealedOp(_ f: Founder, seq: UInt64, prev: OpID, _ name: String) -> Envelope {
        f.writer(seq: seq - 1, prev: prev).sealed([.projectName(name)], readers: [f.identity.box.publicKey], wallMillis: 1_700_000_000_000)
    }

    @Test func authorsOwnChainVouchesForAnOpWhoseSignatureFails() throws {
        let f = Founder()
        let genesis = f.writer().membership(.genesis(founder: f.nodeID, nonce: f.nonce))
        let o2 = sealedOp(f, seq: 2, prev: genesis.id, "two")
        let bad3 = try garbled(sealedOp(f, seq: 3, prev: o2.id, "three"))
        #expect(throws: CoreError.badSignature) { try bad3.verifySignature() }
        let o4 = sealedOp(f, seq: 4, prev: bad3.id, "four")

        // Alone, the op with the failing signature is refused.
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let r1 = try store.importEnvelopes([genesis, o2, bad3], project: f.project)
        #expect(r1.new == 2)
        #expect(r1.refused.map(\.reason) == [.badSignature])
        #expect(r1.refused.first?.id == bad3.id)
        // With its successor, the author's signature on o4 covers bad3's hash: both land.
        let r2 = try store.importEnvelopes([o4, bad3], project: f.project)
        #expect(r2.new == 2 && r2.refused.isEmpty)
        #expect(try store.versionVector()[f.author] == 4)
        // `check` judges the stored log by the same rule.
        #expect(try store.integrityProblems().isEmpty)
    }

    @Test func aForgedHeadVouchesForNothingAndTheHonestRunBelowLands() throws {
        let f = Founder()
        let genesis = f.writer().membership(.genesis(founder: f.nodeID, nonce: f.nonce))
        let o2 = sealedOp(f, seq: 2, prev: genesis.id, "two")
        let o3 = sealedOp(f, seq: 3, prev: o2.id, "three")
        let forged4 = try garbled(sealedOp(f, seq: 4, prev: o3.id, "four"))
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let r = try store.importEnvelopes([forged4, o3, genesis, o2], project: f.project)
        #expect(r.new == 3)
        #expect(r.refused.count == 1)
        #expect(r.refused.first?.id == forged4.id)
        #expect(r.refused.first?.reason == .badSignature)
    }

    @Test func oneMemberCannotVouchForBytesInAnothersName() throws {
        let a = Founder(), b = Founder()
        // Bytes that claim b's key, with a signature b never made.
        let genuineB = b.writer(project: a.project).sealed([.projectName("b")], readers: [b.identity.box.publicKey], wallMillis: 1)
        let forgedB = try garbled(genuineB)
        // a signs an op whose prev is the forgery's hash, at the seq right above it.
        let aOp = a.writer(seq: forgedB.seq, prev: forgedB.id)
            .sealed([.projectName("a")], readers: [a.identity.box.publicKey], wallMillis: 2)
        #expect(aOp.prev == forgedB.id && aOp.seq == forgedB.seq + 1)
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let r = try store.importEnvelopes([forgedB, aOp], project: a.project)
        #expect(r.refused.map(\.id).contains(forgedB.id))
        #expect(r.refused.first { $0.id == forgedB.id }?.reason == .badSignature)
        #expect(!(try store.allEnvelopes().map(\.id).contains(forgedB.id)))
    }

    @Test func checkFlagsAStoredOpNoSignatureVouchesFor() throws {
        let f = Founder()
        let genesis = f.writer().membership(.genesis(founder: f.nodeID, nonce: f.nonce))
        let bad2 = try garbled(sealedOp(f, seq: 2, prev: genesis.id, "two"))
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        // `verified: true` skips the check (the path for a node's own fresh ops), so the bad op lands.
        _ = try store.importEnvelopes([genesis, bad2], project: f.project, verified: true)
        #expect(try store.integrityProblems() == ["1 stored ops fail to decode or verify"])
    }
}
