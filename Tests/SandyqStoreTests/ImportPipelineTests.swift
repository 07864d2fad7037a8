import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqStore

/// `importBatches(prefetch: true)` reads batches on a second thread; it must keep every
/// property of the plain import: same result, one transaction, errors surface, no hang.
@Suite struct ImportPipelineTests {
    struct Boom: Error {}

    func batches(_ envs: [Envelope], size: Int) -> [[Envelope]] {
        stride(from: 0, to: envs.count, by: size).map { Array(envs[$0..<min($0 + size, envs.count)]) }
    }

    @Test func prefetchedImportMatchesThePlainOne() throws {
        let f = Founder()
        let envs = f.chain(sealed: 300)
        let dirA = try TempDir(), dirB = try TempDir()
        let plain = try OpStore(path: dirA.file(OpStore.fileName))
        let piped = try OpStore(path: dirB.file(OpStore.fileName))
        var a = batches(envs.shuffled(), size: 37)[...]
        var b = a
        let ra = try plain.importBatches(project: f.project) { a.popFirst() }
        let rb = try piped.importBatches(project: f.project, prefetch: true) { b.popFirst() }
        #expect(ra.new == envs.count && rb.new == envs.count)
        #expect(rb.refused.isEmpty)
        #expect(try piped.allEnvelopes().map(\.id) == (try plain.allEnvelopes().map(\.id)))
    }

    @Test func aFailingSourceRollsBackEverythingAndSurfaces() throws {
        let f = Founder()
        let envs = f.chain(sealed: 100)
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        var parts = batches(envs, size: 10)[...]
        var calls = 0
        #expect(throws: Boom.self) {
            _ = try store.importBatches(project: f.project, prefetch: true) {
                calls += 1
                if calls == 6 { throw Boom() }
                return parts.popFirst()
            }
        }
        #expect(try store.opCount == 0)
        // A rerun completes it.
        var again = batches(envs, size: 10)[...]
        let r = try store.importBatches(project: f.project, prefetch: true) { again.popFirst() }
        #expect(r.new == envs.count)
    }

    @Test func aFailingStoreStopsTheProducerAndSurfaces() throws {
        let f = Founder()
        let envs = f.chain(sealed: 50)
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        var produced = 0
        // The screen throws nothing, but a refused project on every op would not fail; so make
        // the store fail instead: its file is read-only to the transaction via a held write lock.
        let other = try OpStore(path: dir.file(OpStore.fileName))
        try other.db.execute("BEGIN IMMEDIATE")
        defer { try? other.db.execute("ROLLBACK") }
        #expect(throws: (any Error).self) {
            _ = try store.importBatches(project: f.project, prefetch: true) {
                produced += 1
                return produced > 1000 ? nil : envs   // endless unless the producer is stopped
            }
        }
        #expect(produced < 1000)
    }
}

/// The aggregate shortcut in `versionVector` must agree with a walk of every seq.
@Suite struct VersionVectorShortcutTests {
    @Test func aForkThatHidesAGapStillStopsTheVectorAtTheGap() throws {
        let f = Founder()
        let genesis = f.writer().membership(.genesis(founder: f.nodeID, nonce: f.nonce))
        let a2 = f.writer(seq: 1, prev: genesis.id).sealed([.projectName("A")], readers: [f.identity.box.publicKey], wallMillis: 1)
        let b2 = f.writer(seq: 1, prev: genesis.id).sealed([.projectName("B")], readers: [f.identity.box.publicKey], wallMillis: 2)
        let w3 = f.writer(seq: 2, prev: a2.id)
        _ = w3.sealed([.projectName("3")], readers: [f.identity.box.publicKey], wallMillis: 3)   // seq 3, withheld
        let s4 = w3.sealed([.projectName("4")], readers: [f.identity.box.publicKey], wallMillis: 4)
        #expect(s4.seq == 4)
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        // Four ops with top seq 4: the counts match, but seq 3 is missing and seq 2 is forked.
        _ = try store.importEnvelopes([genesis, a2, b2, s4], project: f.project)
        #expect(try store.opCount == 4)
        #expect(try store.versionVector()[f.author] == 2)
        // A regular chain takes the shortcut and reports its top.
        let g = Founder()
        let chain = g.chain(sealed: 9)
        _ = try store.importEnvelopes(chain, project: g.project)
        #expect(try store.versionVector()[g.author] == 10)
    }
}

@Suite struct MembershipQueryPlanTests {
    /// Reading membership ops must use the partial index, not scan the log.
    @Test func membershipOpsAreReadThroughTheirIndex() throws {
        let f = Founder()
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        _ = try store.importEnvelopes(f.chain(sealed: 20), project: f.project)
        #expect(try store.membershipEnvelopes().count == 1)
        var plan: [String] = []
        try store.db.prepare("EXPLAIN QUERY PLAN " + OpStore.membershipSQL).rows { plan.append($0.text(3)) }
        #expect(plan.contains { $0.contains("USING INDEX ops_kind") })
    }
}
