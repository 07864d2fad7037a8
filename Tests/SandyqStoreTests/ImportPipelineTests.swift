import Testing
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
