import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// Truncated, bit-flipped and partly damaged bundles: the reader never crashes, never yields
// an op that was not written, reports the damage, and loses only the records that touch it.

@Suite struct BundleDamageTests {
    // A3: cut the file inside the preamble, inside chunks and at chunk boundaries.
    @Test(arguments: [100, 3000])
    func truncatedFiles(count: Int) throws {
        let f = count == 100 ? BundleOpFixture.hundred : BundleOpFixture.large
        let dir = try TempDir()
        let path = dir.file("whole.sqb")
        let header = f.header()
        try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        let whole = bundleFileBytes(path)
        let pre = bundlePreambleLength(recipients: 1)
        let cs = BundleFormat.chunkSize
        let total = (whole.count - pre) / cs
        let layout = BundleStreamLayout(header: header, envelopes: f.envelopes)
        let written = f.ids
        let cut = dir.file("cut.sqb")

        // Inside the preamble: an error, never an op.
        for c in Set([0, 1, 6, 7, 8, 9, 10, 11, 20, 25, 26, pre / 2, pre - 17, pre - 1]) {
            bundleWriteBytes(cut, Array(whole.prefix(c)))
            let o = bundleReadAll(cut, keys: f.box)
            #expect(o.envelopes.isEmpty, "cut at \(c): ops from a preamble")
            switch (c, o.error) {
            case (0, .bundle(.empty)?): break
            case (1..<10, .bundle(.notABundle)?): break
            case (10..., .bundle(.bundleTruncated)?): break
            default: Issue.record("cut at \(c) of the preamble (\(pre) bytes): \(String(describing: o.error))")
            }
        }

        // Inside and between chunks.
        var ks = Set(0..<min(total, 4))
        ks.formUnion([total / 2, layout.dataChunks - 2, layout.dataChunks - 1, layout.dataChunks, total - 1].filter { $0 >= 0 && $0 < total })
        var checked = 0
        for k in ks.sorted() {
            for within in [0, 1, 4096, cs / 2, cs - 1] {
                let c = pre + k * cs + within
                guard c < whole.count else { continue }
                bundleWriteBytes(cut, Array(whole.prefix(c)))
                let o = bundleReadAll(cut, keys: f.box)
                checked += 1
                let at = "cut at \(c) (chunk \(k) + \(within), \(total) chunks, \(count) ops)"
                #expect(o.error == nil, "\(at): \(String(describing: o.error))")
                #expect(o.envelopes.allSatisfy { written.contains($0.id) }, "\(at): an op that was never written")
                let expected = layout.opsWithin(firstChunks: k).map { f.envelopes[$0].id }
                #expect(o.envelopes.map(\.id) == expected,
                        "\(at): got \(o.envelopes.count) ops, expected the \(expected.count) in the intact chunks")
                #expect(o.truncated, "\(at): not reported truncated")
                #expect(!o.intact, "\(at): reported intact")
                #expect((o.header != nil) == (k >= 1), "\(at): header \(o.header == nil ? "missing" : "present")")
                if k >= 1 { #expect(o.header == header) }
            }
        }
        #expect(checked >= 10)
    }

    // A4: flip bytes of a one-op bundle (preamble + one 64 KiB chunk).
    @Test func everyByteFlipped() async throws {
        let f = BundleOpFixture.one
        let dir = try TempDir()
        let path = dir.file("one.sqb")
        try writeTestBundle(path, f.envelopes, header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
        let original = bundleFileBytes(path)
        let pre = try BundleFormat.parsePreamble(original)
        #expect(original.count == pre.length + BundleFormat.chunkSize)
        // The entry that opens for us; the others are filler. The header's signature covers the
        // whole preamble, so a flip in a filler is an altered file too: refused whole, as forged.
        let mine = pre.entries.indices.filter { (try? f.box.openSecret(pre.entries[$0])) != nil }
        try #require(mine.count == 1, "expected exactly one entry for the recipient, found \(mine)")
        let entriesStart = BundleFormat.magic.count + 3
        let filler: Set<Int> = Set(pre.entries.indices.filter { $0 != mine[0] }.flatMap { i in
            (entriesStart + i * BundleFormat.entryLength)..<(entriesStart + (i + 1) * BundleFormat.entryLength)
        })

        // Every preamble byte with each of its 8 bits, and every chunk byte with one bit each. Under
        // a sanitizer (scripts/sanitize.sh sets SANDYQ_TEST_SAMPLE=N) every Nth chunk byte: the
        // 65,536 reads cost most of that run's time, and the plain suite still flips them all.
        let sample = max(1, Int(ProcessInfo.processInfo.environment["SANDYQ_TEST_SAMPLE"] ?? "") ?? 1)
        var flips: [(pos: Int, mask: UInt8)] = []
        for p in 0..<pre.length { for b in 0..<8 { flips.append((p, UInt8(1) << UInt8(b))) } }
        for p in stride(from: pre.length, to: original.count, by: sample) { flips.append((p, UInt8(1) << UInt8(p % 8))) }

        let writtenIDs = f.ids
        let written = f.envelopes.map(\.encoded)
        let workers = 4
        let started = Date()
        let tallies = await withTaskGroup(of: BundleFlipTally.self) { group in
            for w in 0..<workers {
                let mineFlips = stride(from: w, to: flips.count, by: workers).map { flips[$0] }
                let file = dir.file("flip-\(w).sqb")
                group.addTask {
                    var t = BundleFlipTally()
                    var bytes = original
                    bundleWriteBytes(file, bytes)
                    let fd = open(file, O_WRONLY)
                    defer { close(fd) }
                    for (pos, mask) in mineFlips {
                        bytes[pos] ^= mask
                        _ = pwrite(fd, [bytes[pos]], 1, off_t(pos))
                        let o = bundleReadAll(file, keys: f.box)
                        bytes[pos] ^= mask
                        _ = pwrite(fd, [bytes[pos]], 1, off_t(pos))
                        t.reads += 1
                        let at = "flip 0x\(String(mask, radix: 16)) at \(pos)"
                        if o.envelopes.contains(where: { !writtenIDs.contains($0.id) }) || o.envelopes.contains(where: { !written.contains($0.encoded) }) {
                            t.failures.append("\(at): yielded an op that was never written")
                        }
                        if let e = o.error {
                            t.errors[String(describing: e), default: 0] += 1
                            if case .io = e { t.failures.append("\(at): io error \(e)") }
                            if !o.envelopes.isEmpty { t.failures.append("\(at): ops despite an error") }
                            if filler.contains(pos) {
                                t.fillerRefused += 1
                                if e != .bundle(.bundleBadSignature) { t.failures.append("\(at): a filler flip gave \(e), not a bad signature") }
                            }
                        } else if filler.contains(pos) {
                            t.failures.append("\(at): a filler flip went unnoticed")
                        } else if o.intact {
                            t.failures.append("\(at): damage not detected (intact, \(o.envelopes.count) ops)")
                        } else {
                            t.damaged += 1
                        }
                        if t.failures.count > 20 { break }
                    }
                    return t
                }
            }
            var all: [BundleFlipTally] = []
            for await t in group { all.append(t) }
            return all
        }
        let total = tallies.reduce(into: BundleFlipTally()) { acc, t in
            acc.reads += t.reads; acc.fillerRefused += t.fillerRefused; acc.damaged += t.damaged
            acc.failures += t.failures; acc.errors.merge(t.errors, uniquingKeysWith: +)
        }
        print("everyByteFlipped: \(total.reads) reads (every \(sample == 1 ? "" : "\(sample)th ")chunk byte) of a \(original.count)-byte bundle in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; damaged \(total.damaged), filler refused as altered \(total.fillerRefused), errors \(total.errors)")
        #expect(total.reads == flips.count)
        #expect(total.failures.isEmpty, "\(total.failures.prefix(20))")
        // Sanity: each class of outcome happened (the fuzz really exercised the reader).
        #expect(total.errors["\(SyncError.bundle(.notForMe))", default: 0] >= BundleFormat.entryLength * 8)
        #expect(total.errors["\(SyncError.bundle(.notABundle))", default: 0] == BundleFormat.magic.count * 8)
        #expect(total.damaged >= BundleFormat.chunkSize / sample)
        #expect(total.fillerRefused == filler.count * 8)
        #expect(total.errors["\(SyncError.bundle(.bundleBadSignature))", default: 0] == filler.count * 8)
    }

    // A5: one damaged chunk in the middle of 3000 ops loses only the records touching it.
    @Test(arguments: [2, 0, -1])
    func damagedChunkLosesOnlyItsRecords(which: Int) throws {
        let f = BundleOpFixture.large
        let dir = try TempDir()
        let path = dir.file("mid.sqb")
        let header = f.header()
        try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        let layout = BundleStreamLayout(header: header, envelopes: f.envelopes)
        let chunk = which >= 0 ? which : layout.dataChunks - 1   // -1: the chunk holding the end record
        var bytes = bundleFileBytes(path)
        let pre = bundlePreambleLength(recipients: 1)
        bytes[pre + chunk * BundleFormat.chunkSize + 1000] ^= 0x20
        bundleWriteBytes(path, bytes)

        let o = bundleReadAll(path, keys: f.box)
        #expect(o.error == nil)
        let lost = Set(layout.opsTouching(chunk: chunk))
        let expected = f.envelopes.indices.filter { !lost.contains($0) }.map { f.envelopes[$0].id }
        #expect(o.envelopes.map(\.id) == expected,
                "chunk \(chunk) damaged: got \(o.envelopes.count) ops, expected \(expected.count) (lost \(lost.sorted()))")
        #expect(o.damagedChunks == 1)
        #expect(o.malformedRecords == 0)
        #expect(!o.truncated, "a damaged chunk is not a truncation")
        #expect(!o.intact)
        let smallest = layout.ops.map(\.count).min()!
        #expect(lost.count >= 1 && lost.count <= 2 * BundleFormat.chunkCapacity / smallest,
                "lost \(lost.count) ops for one chunk")
        if chunk == 0 {
            #expect(o.header == nil, "the header lives in chunk 0")
        } else {
            #expect(o.header == header)
        }
        if chunk == layout.dataChunks - 1 { #expect(o.declaredOps == nil) } else { #expect(o.declaredOps == 3000) }
    }

    // A5 (extra): with chunk 0 (and so the header) lost, the reader must still stream: it may not
    // buffer the whole file while looking for a header that cannot come (a 3.8 GB bundle would
    // exhaust memory), so the first batch respects `max`.
    @Test func lostHeaderDoesNotBufferTheWholeFile() throws {
        let f = BundleOpFixture.large
        let dir = try TempDir()
        let path = dir.file("nohead.sqb")
        let header = f.header()
        try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        var bytes = bundleFileBytes(path)
        bytes[bundlePreambleLength(recipients: 1) + 77] ^= 4
        bundleWriteBytes(path, bytes)
        let r = try BundleReader(path: path, keys: f.box)
        #expect(r.header == nil)
        let first = try #require(try r.next(max: 10))
        #expect(first.count <= 10, "next(max: 10) returned \(first.count) envelopes: the reader buffered the file looking for the header")
        var all = first
        while let b = try r.next(max: 500) { all += b }
        let lost = Set(BundleStreamLayout(header: header, envelopes: f.envelopes).opsTouching(chunk: 0))
        #expect(all.map(\.id) == f.envelopes.indices.filter { !lost.contains($0) }.map { f.envelopes[$0].id })
        #expect(r.damagedChunks == 1 && !r.intact)

        // An intact file batches as asked too. (An undecodable header record: BundleMalformedRecordTests.)
        try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        let ok = try BundleReader(path: path, keys: f.box)
        #expect(ok.header == header)
        #expect(try ok.next(max: 10)?.count == 10)
    }

    // A5 (extra): two chunks swapped in place are both rejected (the nonce binds position).
    @Test func swappedChunksAreRejected() throws {
        let f = BundleOpFixture.large
        let dir = try TempDir()
        let path = dir.file("swap.sqb")
        let header = f.header()
        try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        let layout = BundleStreamLayout(header: header, envelopes: f.envelopes)
        let orig = bundleFileBytes(path)
        var bytes = orig
        let pre = bundlePreambleLength(recipients: 1), cs = BundleFormat.chunkSize
        let a = Array(bytes[(pre + 3 * cs)..<(pre + 4 * cs)]), b = Array(bytes[(pre + 4 * cs)..<(pre + 5 * cs)])
        bytes.replaceSubrange((pre + 3 * cs)..<(pre + 4 * cs), with: b)
        bytes.replaceSubrange((pre + 4 * cs)..<(pre + 5 * cs), with: a)
        bundleWriteBytes(path, bytes)
        let o = bundleReadAll(path, keys: f.box)
        let lost = Set(layout.opsTouching(chunk: 3) + layout.opsTouching(chunk: 4))
        #expect(o.damagedChunks == 2)
        #expect(o.envelopes.map(\.id) == f.envelopes.indices.filter { !lost.contains($0) }.map { f.envelopes[$0].id })

        // A chunk from another bundle (same key holder, other file key) is rejected too.
        let other = dir.file("other.sqb")
        try writeTestBundle(other, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        var mixed = orig
        let foreign = bundleFileBytes(other)
        mixed.replaceSubrange((pre + 3 * cs)..<(pre + 5 * cs), with: foreign[(pre + 3 * cs)..<(pre + 5 * cs)])
        bundleWriteBytes(path, mixed)
        let m = bundleReadAll(path, keys: f.box)
        #expect(m.damagedChunks == 2)
        #expect(m.envelopes.allSatisfy { f.ids.contains($0.id) })
    }
}

struct BundleFlipTally: Sendable {
    var reads = 0
    var fillerRefused = 0
    var damaged = 0
    var errors: [String: Int] = [:]
    var failures: [String] = []
}
