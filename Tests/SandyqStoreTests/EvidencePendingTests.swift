import Foundation
import SandyqCore
import SandyqTestSupport
import Testing

@testable import SandyqStore

/// Pending chunks of an attach: marked 1 with the start time kept apart, confirmed in place,
/// swept when their attach died; rows from before migration 10 are swept by their own time.
@Suite struct EvidencePendingTests {
    static func fid(_ b: UInt8) -> [UInt8] { [UInt8](repeating: b, count: 16) }

    @Test func sweepKeepsRunningAttachesAndDropsDeadOnes() throws {
        let dir = try TempDir()
        let store = try OpStore(path: dir.file("s.db"))
        let now: Int64 = 1_800_000_000_000, hour: Int64 = 3_600_000
        try store.putChunk(fid: Self.fid(1), index: 0, count: 1, bytes: [1], pending: now)            // running
        try store.putChunk(fid: Self.fid(2), index: 0, count: 1, bytes: [2], pending: now - 2 * hour) // died
        try store.putChunk(fid: Self.fid(3), index: 0, count: 1, bytes: [3])                           // confirmed
        // Before migration 10: the start time in `pending` itself, old and fresh.
        try store.db.prepare("INSERT INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(?, 0, 1, x'04', ?)")
            .run([.blob(Self.fid(4)), .int(now - 2 * hour)])
        try store.db.prepare("INSERT INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(?, 0, 1, x'05', ?)")
            .run([.blob(Self.fid(5)), .int(now)])
        // Marked pending with no note of its start: nothing is running it.
        try store.db.prepare("INSERT INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(?, 0, 1, x'06', 1)").run([.blob(Self.fid(6))])
        #expect(try store.sweepPendingChunks(before: now - hour) == 3)
        for (f, kept) in [(1, true), (2, false), (3, true), (4, false), (5, true), (6, false)] {
            #expect(try !store.chunkIndexes(fid: Self.fid(UInt8(f)), includingPending: true).isEmpty == kept, "file \(f)")
        }
        // Only confirmed chunks are read; confirming keeps the bytes and drops the note.
        #expect(try store.chunk(fid: Self.fid(1), index: 0) == nil)
        try store.confirmChunks(fid: Self.fid(1), count: 1)
        #expect(try store.chunk(fid: Self.fid(1), index: 0) == [1])
        let s = try store.db.prepare("SELECT count(*) FROM evidence_pending")
        _ = try s.step()
        #expect(s.int(0) == 0)
    }
}
