import Foundation
import SandyqCore
import SandyqCrypto
import SandyqNode
import Testing
import SandyqTestSupport

/// `bundle export --max-size`: parts fill up to the budget Protocol/bundles.md states ("Split parts").
@Suite("Split bundle parts fill up to the stated budget")
struct BundlePartBudgetTests {
    @Test("the budget: the largest padded chunk count that fits, less the final-chunk byte")
    func budgetArithmetic() {
        // One recipient: the preamble holds 4 entries, 26 + 80 * 4 = 346 bytes.
        #expect(BundleFormat.preambleLength(entries: BundleFormat.paddedEntryCount(1)) == 346)
        let floor = BundleFormat.PartBudget(maxSize: 262_144, recipients: 1)
        #expect(floor.chunks == 2, "3 chunks pad to 4, which with the preamble is over 262,144")
        #expect(floor.streamBytes == 2 * BundleFormat.chunkCapacity - 1)
        #expect(BundleFormat.PartBudget(maxSize: 262_144 + 346, recipients: 1).chunks == 4)
        #expect(BundleFormat.PartBudget(maxSize: 262_144 + 345, recipients: 1).chunks == 2)
        // 1,024 recipients: an 81,946-byte preamble still leaves one chunk at the floor.
        #expect(BundleFormat.PartBudget(maxSize: 262_144, recipients: 1024).chunks == 2)
        #expect(BundleFormat.PartBudget(maxSize: 1 << 20, recipients: 1).chunks == 8)
        #expect(BundleFormat.PartBudget(maxSize: 17 * 65_536 + 346, recipients: 1).chunks == 16)
        #expect(BundleFormat.PartBudget(maxSize: 18 * 65_536 + 346, recipients: 1).chunks == 18)
        #expect(floor.fits(opLength: floor.streamBytes - 20, after: 0))
        #expect(!floor.fits(opLength: floor.streamBytes - 19, after: 0))
    }

    @Test("a few hundred small ops: parts as full as the rule allows, at the floor and at 1 MiB", arguments: [262_144, 1 << 20])
    func partsFillUp(maxSize: Int) throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        let filler = String(repeating: "Показание свидетеля. ", count: 40)
        for i in 0..<300 { _ = try c.addCase(RoleKit.doc("Дело \(i) \(filler)", person: "Человек \(i)")) }
        let envs = try c.envelopes(missingFrom: VersionVector())
        let out = dir.sub("parts.sqb")
        let e = try c.exportBundle(to: [c2.nodeID], out: out, all: true, maxSize: maxSize)
        #expect(e.ops == envs.count)

        // The rule, applied by hand: greedy in (author, seq) order, a new part when the op and the
        // largest end record would not fit; each part then pads its chunk count.
        let budget = BundleFormat.PartBudget(maxSize: maxSize, recipients: 1)
        let header = BundleFormat.Header(project: pid, sender: c.nodeID, senderVector: try c.versionVector(),
                                         bundleID: BundleID(bytes: Array(repeating: 0, count: 16))!, part: 1, createdMillis: 0)
        let headerRecord = BundleFormat.recordHeader + header.encoded().count + Signature.length
        // An op's record is compact when it follows the op before it in its chain and starts in
        // the chunk that one started in (Protocol/bundles.md, version 3); the budget is checked
        // against the whole envelope's length, the bytes used are the record's.
        var parts: [[Int]] = [[]]
        var used = headerRecord
        var last: (env: Envelope, start: Int)?
        for env in envs {
            if !budget.fits(opLength: env.encoded.count, after: used), !parts[parts.count - 1].isEmpty {
                parts.append([]); used = headerRecord; last = nil
            }
            let cap = BundleFormat.chunkCapacity
            let compact = last.map { l in
                l.env.author == env.author && env.seq == l.env.seq + 1 && env.prev == l.env.id && l.start / cap == used / cap
            } ?? false
            let record = BundleFormat.recordHeader + env.encoded.count - (compact ? BundleFormat.compactSaving : 0)
            parts[parts.count - 1].append(record)
            last = (env, used)
            used += record
        }
        func expectedSize(_ records: [Int]) -> Int {
            var count = ByteWriter(); count.varint(UInt64(records.count))
            let stream = headerRecord + records.reduce(0, +) + BundleFormat.recordHeader + count.bytes.count
            let chunks = stream / BundleFormat.chunkCapacity + 1
            return BundleFormat.preambleLength(entries: 4) + BundleFormat.paddedChunkCount(chunks) * BundleFormat.chunkSize
        }
        let sizes = try e.files.map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as! Int }
        print("max-size \(maxSize): \(envs.count) ops, \(envs.reduce(0) { $0 + $1.encoded.count }) bytes, parts \(parts.map(\.count)) of \(sizes) bytes")
        #expect(e.files.count == parts.count, "parts: \(sizes)")
        #expect(sizes == parts.map(expectedSize))
        #expect(sizes.allSatisfy { $0 <= maxSize })
        // Every part but the last has no room left for the op that opened the next one.
        #expect(parts.dropLast().allSatisfy { $0.count > 1 }, "a part held one op: \(parts.map(\.count))")
        if maxSize == 262_144 { #expect(parts.count >= 2, "the ops should need more than one part at the floor") }

        // The parts together give the sender's store.
        for f in e.files.reversed() { _ = try c2.importBundle(f) }
        #expect(try c2.versionVector() == (try c.versionVector()))
    }
}
