import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// BundleWriter -> file -> BundleReader at the library level: round trips, addressing,
// padding buckets and malformed inputs.

@Suite struct BundleRoundTripTests {
    // A1: round trip at 1, 100 and 3000 envelopes (~1 KiB values: records straddle chunks).
    @Test(arguments: [1, 100, 3000])
    func roundTrip(count: Int) throws {
        let f = count == 1 ? BundleOpFixture.one : count == 100 ? BundleOpFixture.hundred : BundleOpFixture.large
        #expect(f.envelopes.count == count)
        let dir = try TempDir()
        let path = dir.file("rt.sqb")
        let header = f.header(imported: [Array(repeating: 7, count: 16), Array(repeating: 9, count: 16)])
        let reported = try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)

        let bytes = bundleFileBytes(path)
        #expect(reported == bytes.count, "finish() reported \(reported) bytes, the file has \(bytes.count)")
        let pre = bundlePreambleLength(recipients: 1)
        #expect((bytes.count - pre) % BundleFormat.chunkSize == 0, "size \(bytes.count) is not preamble \(pre) + whole chunks")
        let layout = BundleStreamLayout(header: header, envelopes: f.envelopes)
        let chunks = (bytes.count - pre) / BundleFormat.chunkSize
        #expect(chunks == BundleFormat.paddedChunkCount(layout.dataChunks),
                "\(chunks) chunks on disk, expected paddedChunkCount(\(layout.dataChunks)) = \(BundleFormat.paddedChunkCount(layout.dataChunks))")
        if count == 3000 {
            // The point of the fixture: many records cross a chunk boundary.
            let straddling = layout.ops.filter { layout.chunks(of: $0).count > 1 }.count
            #expect(layout.dataChunks > 16 && straddling >= layout.dataChunks - 2, "straddling records: \(straddling)")
        }
        // No byte of the preamble's fixed part leaks more than magic, version and entry count.
        #expect(Array(bytes[0..<7]) == BundleFormat.magic)
        #expect(bytes[7] == BundleFormat.version)
        #expect(Int(bytes[8]) << 8 | Int(bytes[9]) == BundleFormat.entryGroup)

        let out = bundleReadAll(path, keys: f.box, batch: 97)
        #expect(out.error == nil, "read failed: \(String(describing: out.error))")
        #expect(out.header == header)
        #expect(out.envelopes.count == count)
        #expect(out.envelopes.map(\.id) == f.envelopes.map(\.id), "envelopes differ or arrive out of order")
        let sameBytes = out.envelopes.map(\.encoded) == f.envelopes.map(\.encoded)
        #expect(sameBytes, "envelope bytes differ")
        #expect(out.intact)
        #expect(!out.truncated)
        #expect(out.damagedChunks == 0 && out.malformedRecords == 0)
        #expect(out.declaredOps == UInt64(count))
    }

    // A1 (extra): a single record larger than two chunks, between small ones, round-trips.
    @Test func recordSpanningSeveralChunks() throws {
        let f = BundleOpFixture(count: 6, valueSize: 150_000, seed: 42)
        let dir = try TempDir()
        let path = dir.file("big.sqb")
        let header = f.header()
        try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        let layout = BundleStreamLayout(header: header, envelopes: f.envelopes)
        #expect(layout.ops.contains { layout.chunks(of: $0).count >= 3 }, "fixture lacks a record spanning 3 chunks")
        let out = bundleReadAll(path, keys: f.box)
        #expect(out.error == nil)
        #expect(out.envelopes.map(\.id) == f.envelopes.map(\.id))
        #expect(out.intact)
    }

    // A1 (extra): an empty export (0 ops: an acknowledgement) still carries its header.
    @Test func zeroOpBundle() throws {
        let f = BundleOpFixture.one
        let dir = try TempDir()
        let path = dir.file("empty-ops.sqb")
        try writeTestBundle(path, [], header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
        #expect(bundleFileBytes(path).count == bundlePreambleLength(recipients: 1) + BundleFormat.chunkSize)
        let out = bundleReadAll(path, keys: f.box)
        #expect(out.error == nil)
        #expect(out.header == f.header())
        #expect(out.envelopes.isEmpty)
        #expect(out.intact)
        #expect(out.declaredOps == 0)
    }

    // A2: another key gets notForMe; each of three recipients reads everything.
    @Test func addressing() throws {
        let f = BundleOpFixture.hundred
        let dir = try TempDir()
        let others = [BoxKeyPair(), BoxKeyPair()]
        let recipients = [f.box] + others
        let path = dir.file("three.sqb")
        try writeTestBundle(path, f.envelopes, header: f.header(), recipients: recipients.map(\.publicKey), signer: f.signing)
        for (i, k) in recipients.enumerated() {
            let out = bundleReadAll(path, keys: k)
            #expect(out.error == nil, "recipient \(i): \(String(describing: out.error))")
            #expect(out.envelopes.map(\.id) == f.envelopes.map(\.id), "recipient \(i) read other envelopes")
            #expect(out.header == f.header())
            #expect(out.intact, "recipient \(i)")
        }
        let stranger = bundleReadAll(path, keys: BoxKeyPair())
        #expect(stranger.error == .bundle(.notForMe), "stranger got \(String(describing: stranger.error))")
        #expect(stranger.envelopes.isEmpty && stranger.header == nil)

        // A single-recipient bundle refuses the other two.
        let solo = dir.file("solo.sqb")
        try writeTestBundle(solo, f.envelopes, header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
        for k in others { #expect(bundleReadAll(solo, keys: k).error == .bundle(.notForMe)) }

        // Five recipients pad to eight entries; every one of them can read.
        let five = [f.box] + (0..<4).map { _ in BoxKeyPair() }
        let p5 = dir.file("five.sqb")
        try writeTestBundle(p5, Array(f.envelopes.prefix(3)), header: f.header(), recipients: five.map(\.publicKey), signer: f.signing)
        let b5 = bundleFileBytes(p5)
        #expect(Int(b5[8]) << 8 | Int(b5[9]) == 8)
        for k in five { #expect(bundleReadAll(p5, keys: k).envelopes.count == 3) }
    }

    @Test func noRecipientsIsAUsageError() throws {
        let dir = try TempDir()
        #expect(throws: SyncError.usage("a bundle needs at least one recipient")) {
            _ = try BundleWriter(path: dir.file("x.sqb"), recipients: [], header: BundleOpFixture.one.header(), signer: BundleOpFixture.one.signing)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.sqb")))
    }

    /// A header of another version would make a file every reader holds malformed: refused at once.
    @Test func aHeaderOfAnotherVersionIsAUsageError() throws {
        let dir = try TempDir()
        var h = BundleOpFixture.one.header()
        h.version = 2
        #expect(throws: SyncError.self) {
            _ = try BundleWriter(path: dir.file("v2.sqb"), recipients: [BundleOpFixture.one.box.publicKey], header: h, signer: BundleOpFixture.one.signing)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("v2.sqb")))
    }

    /// An author's next op in another project (seq and prev follow on) goes whole: a compact
    /// record takes its project from the op before it, so it would come back as another op.
    @Test func theNextOpInAnotherProjectIsWrittenWhole() throws {
        let f = BundleOpFixture.one
        let other = ProjectID.random()
        let first = f.envelopes[0]
        let next = OpWriter(keys: f.signing, project: other, seq: first.seq, prev: first.id, clock: HybridClock())
            .sealed([.projectName("другой")], readers: [f.box.publicKey], wallMillis: 1_700_000_000_000)
        let dir = try TempDir()
        let path = dir.file("two.sqb")
        try writeTestBundle(path, [first, next], header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
        let o = bundleReadAll(path, keys: f.box)
        #expect(o.envelopes.map(\.id) == [first.id, next.id])
        #expect(o.malformedRecords == 0)
    }

    // A6: garbage, empty, a directory, magic with a wrong version, a missing file.
    @Test func notBundles() throws {
        let dir = try TempDir()
        let keys = BoxKeyPair()
        var rng = BundleSyncRNG(seed: 6)

        let garbage = dir.file("garbage.sqb")
        bundleWriteBytes(garbage, rng.bytes(200_000))
        #expect(bundleReadAll(garbage, keys: keys).error == .bundle(.notABundle))

        let text = dir.file("text.sqb")
        bundleWriteBytes(text, Array("just some notes, not a bundle\n".utf8))
        #expect(bundleReadAll(text, keys: keys).error == .bundle(.notABundle))

        let empty = dir.file("empty.sqb")
        bundleWriteBytes(empty, [])
        #expect(bundleReadAll(empty, keys: keys).error == .bundle(.empty))

        let tiny = dir.file("tiny.sqb")
        bundleWriteBytes(tiny, [0x53])
        #expect(bundleReadAll(tiny, keys: keys).error == .bundle(.notABundle))

        let sub = dir.file("adir.sqb")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        let d = bundleReadAll(sub, keys: keys)
        guard case .io = d.error else { Issue.record("directory: \(String(describing: d.error))"); return }

        let missing = bundleReadAll(dir.file("missing.sqb"), keys: keys)
        guard case .io = missing.error else { Issue.record("missing: \(String(describing: missing.error))"); return }

        // A real bundle with its version byte bumped, and magic + version 4 + nothing else.
        let real = dir.file("real.sqb")
        try writeTestBundle(real, BundleOpFixture.one.envelopes, header: BundleOpFixture.one.header(), recipients: [BundleOpFixture.one.box.publicKey], signer: BundleOpFixture.one.signing)
        var v4 = bundleFileBytes(real)
        v4[BundleFormat.magic.count] = 4
        let future = dir.file("future.sqb")
        bundleWriteBytes(future, v4)
        #expect(bundleReadAll(future, keys: BundleOpFixture.one.box).error == .bundle(.bundleUnsupportedVersion))
        let stub = dir.file("stub.sqb")
        bundleWriteBytes(stub, BundleFormat.magic + [4, 0, 4])
        #expect(bundleReadAll(stub, keys: keys).error == .bundle(.bundleUnsupportedVersion))
        // Version 1 (unsigned headers) is refused as such, with its own message.
        bundleWriteBytes(stub, BundleFormat.magic + [1, 0, 4])
        #expect(bundleReadAll(stub, keys: keys).error == .bundle(.obsoleteVersion))
        #expect(bundleReadAll(real, keys: BundleOpFixture.one.box).intact, "the unmodified bundle must still read")

        // Entry counts the format forbids.
        for bad: [UInt8] in [[0, 0], [0, 3], [0x04, 0x04], [0xFF, 0xFC]] {
            var b = bundleFileBytes(real)
            b[8] = bad[0]; b[9] = bad[1]
            bundleWriteBytes(stub, b)
            let o = bundleReadAll(stub, keys: BundleOpFixture.one.box)
            #expect(o.error == .bundle(.bundleMalformed("recipient entry count")), "entry count \(bad): \(String(describing: o.error))")
        }
    }

    // A7: padding buckets.
    @Test func paddingBuckets() throws {
        var last = 0
        var violations: [String] = []
        for n in 1...200_000 {
            let p = BundleFormat.paddedChunkCount(n)
            if p < n { violations.append("paddedChunkCount(\(n)) = \(p) < n") }
            if p < last { violations.append("not monotonic at \(n): \(last) -> \(p)") }
            if n > 16, Double(p) > Double(n) * 1.125 { violations.append("paddedChunkCount(\(n)) = \(p) pads more than 12.5%") }
            if n <= 16, p & (p - 1) != 0 { violations.append("paddedChunkCount(\(n)) = \(p) is not a power of two") }
            last = p
            if violations.count > 5 { break }
        }
        #expect(violations.isEmpty, "\(violations)")
        // Few buckets: 10k distinct inputs map to far fewer sizes.
        #expect(Set((1...10_000).map(BundleFormat.paddedChunkCount)).count < 200)
        #expect(BundleFormat.paddedChunkCount(17) == 18)
        #expect(BundleFormat.paddedChunkCount(33) == 36)

        // Bundles of 1...16 small ops are one size; 1...4 recipients too.
        let f = BundleOpFixture(count: 17, valueSize: 100, seed: 7)
        let dir = try TempDir()
        var sizes = Set<Int>()
        for n in 1...16 {
            let p = dir.file("n\(n).sqb")
            try writeTestBundle(p, Array(f.envelopes.prefix(n)), header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
            sizes.insert(bundleFileBytes(p).count)
        }
        #expect(sizes.count == 1, "sizes for 1...16 ops: \(sizes.sorted())")
        var recipientSizes = Set<Int>()
        for r in 1...4 {
            let p = dir.file("r\(r).sqb")
            try writeTestBundle(p, f.envelopes, header: f.header(), recipients: [f.box.publicKey] + (1..<r).map { _ in BoxKeyPair().publicKey }, signer: f.signing)
            recipientSizes.insert(bundleFileBytes(p).count)
        }
        #expect(recipientSizes.count == 1, "sizes for 1...4 recipients: \(recipientSizes.sorted())")

        // Bundles needing 3 and 4 data chunks land in the same bucket (4 chunks).
        let big = BundleOpFixture(count: 200, valueSize: 1024, seed: 8)
        var chunkSizes: [Int: Int] = [:]
        for n in stride(from: 20, through: 200, by: 10) {
            let p = dir.file("c\(n).sqb")
            try writeTestBundle(p, Array(big.envelopes.prefix(n)), header: big.header(), recipients: [big.box.publicKey], signer: big.signing)
            let dataChunks = BundleStreamLayout(header: big.header(), envelopes: Array(big.envelopes.prefix(n))).dataChunks
            chunkSizes[dataChunks] = bundleFileBytes(p).count
        }
        if let s3 = chunkSizes[3], let s4 = chunkSizes[4] { #expect(s3 == s4) } else {
            Issue.record("fixture did not produce 3- and 4-chunk bundles: \(chunkSizes.keys.sorted())")
        }
    }
}
