import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// The writer's chunk stream, decrypted with the recipient's key through BundleFormat's public
// functions and checked against the layout the format describes (Protocol/bundles.md):
// every chunk opens at its index, only the last is final, contents concatenate to the record
// stream, each chunk's first-record offset names the first record starting in it. Plus the
// edge cases a random fixture rarely hits: records ending exactly on a chunk boundary, an end
// record that fills its chunk, a header record larger than a chunk.

/// Decrypts every chunk of a bundle.
func bundleOpenChunks(_ path: String, keys: BoxKeyPair) throws -> [BundleFormat.Chunk?] {
    let bytes = bundleFileBytes(path)
    let pre = try BundleFormat.parsePreamble(bytes)
    let key = try #require(BundleFormat.openFileKey(pre, with: keys), "no entry opens")
    let cs = BundleFormat.chunkSize
    #expect((bytes.count - pre.length) % cs == 0)
    return stride(from: pre.length, to: bytes.count, by: cs).enumerated().map { i, off in
        BundleFormat.openChunk(Array(bytes[off..<min(off + cs, bytes.count)]), index: UInt64(i), key: key, noncePrefix: pre.noncePrefix)
    }
}

/// The record stream a bundle of these envelopes must carry; `headerBody` is the signed header record's body.
func bundleExpectedStream(headerBody: [UInt8], envelopes: [Envelope]) -> (bytes: [UInt8], starts: [Int]) {
    var out = BundleFormat.record(.header, headerBody)
    var starts = [0]
    let cap = BundleFormat.chunkCapacity
    for (i, e) in envelopes.enumerated() {
        // Compact (type 6: kind ‖ what follows the length) when the op follows the one before
        // it in its chain and starts in the chunk that one started in (Protocol/bundles.md).
        let b = i > 0 ? envelopes[i - 1] : nil
        let compact = b.map { b in b.author == e.author && e.seq == b.seq + 1 && e.prev == b.id && starts.last! / cap == out.count / cap } ?? false
        starts.append(out.count)
        if compact {
            let body = [e.encoded[1]] + Array(e.encoded[(Envelope.headerLength + 4)...])
            out += [6] + [UInt8(body.count >> 24), UInt8((body.count >> 16) & 0xff), UInt8((body.count >> 8) & 0xff), UInt8(body.count & 0xff)] + body
        } else {
            out += BundleFormat.record(.op, e.encoded)
        }
    }
    var w = ByteWriter()
    w.varint(UInt64(envelopes.count))
    starts.append(out.count)
    out += BundleFormat.record(.end, w.bytes)
    return (out, starts)
}

/// Checks a bundle's chunks against the layout; returns the number of data chunks.
@discardableResult
func checkBundleStructure(_ path: String, keys: BoxKeyPair, header: BundleFormat.Header, signer: SigningKeyPair, envelopes: [Envelope],
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let chunks = try bundleOpenChunks(path, keys: keys)
    // Ed25519 is deterministic: the header record is the fields signed over this file's preamble.
    let preamble = Array(bundleFileBytes(path).prefix(try BundleFormat.parsePreamble(bundleFileBytes(path)).length))
    let (stream, starts) = bundleExpectedStream(headerBody: BundleFormat.signedHeader(header, preamble: preamble, signer: signer), envelopes: envelopes)
    let cap = BundleFormat.chunkCapacity
    let dataChunks = stream.count / cap + 1
    #expect(chunks.count == BundleFormat.paddedChunkCount(dataChunks), "chunk count", sourceLocation: sourceLocation)
    for (i, c) in chunks.enumerated() {
        guard let c else { Issue.record("chunk \(i) does not open", sourceLocation: sourceLocation); continue }
        #expect(c.final == (i == chunks.count - 1), "chunk \(i) final flag \(c.final)", sourceLocation: sourceLocation)
        let lo = min(i * cap, stream.count), hi = min((i + 1) * cap, stream.count)
        #expect(bundleSame(c.content, Array(stream[lo..<hi])), "chunk \(i) content (\(c.content.count) bytes, expected \(hi - lo))", sourceLocation: sourceLocation)
        let first = starts.first { $0 >= i * cap && $0 < (i + 1) * cap && $0 < stream.count }
        let want = first.map { UInt32($0 - i * cap) } ?? BundleFormat.noRecordStart
        #expect(c.firstRecord == want, "chunk \(i) first record \(c.firstRecord), expected \(want)", sourceLocation: sourceLocation)
    }
    return dataChunks
}

/// Sealed ops whose sizes are chosen, so records can be made to end exactly on chunk boundaries.
struct BundleSizedOps {
    let f = BundleOpFixture.one
    var envelopes: [Envelope]
    private var clock = HybridClock()

    init() { envelopes = f.envelopes }

    /// A fresh writer at the chain head (a fresh sealing session each time, so sizes depend only on the value).
    private func writer() -> OpWriter {
        OpWriter(keys: f.signing, project: f.project, seq: envelopes.last!.seq, prev: envelopes.last!.id, clock: clock)
    }

    private func op(_ valueLength: Int) -> Envelope {
        writer().sealed([.put(case: try! CaseID(bytes: Array(repeating: 1, count: 16)), path: FieldPath(field: "summary"),
                              value: String(repeating: "x", count: max(0, valueLength)), supersedes: [])],
                        readers: [f.box.publicKey], wallMillis: 1_700_000_000_000 + UInt64(envelopes.count))
    }

    /// Appends an op whose record (5 + envelope bytes) is exactly `recordLength` long.
    mutating func append(recordLength: Int) throws {
        var l = recordLength - 200
        for _ in 0..<6 {
            let e = op(l)
            // Compact or not, as the writer will write it.
            let got = BundleStreamLayout(header: f.header(), envelopes: envelopes + [e]).ops.last!.count
            if got == recordLength { envelopes.append(e); return }
            l += recordLength - got
        }
        throw BundleSizedOpsError("cannot make a record of \(recordLength) bytes")
    }

    mutating func append(valueLength: Int) { envelopes.append(op(valueLength)) }
}

struct BundleSizedOpsError: Error { let what: String; init(_ w: String) { what = w } }

@Suite struct BundleStructureTests {
    @Test(arguments: [1, 100, 3000])
    func chunksMatchTheLayout(count: Int) throws {
        let f = count == 1 ? BundleOpFixture.one : count == 100 ? BundleOpFixture.hundred : BundleOpFixture.large
        let dir = try TempDir()
        let path = dir.file("s.sqb")
        try writeTestBundle(path, f.envelopes, header: f.header(), recipients: [f.box.publicKey, BoxKeyPair().publicKey], signer: f.signing)
        try checkBundleStructure(path, keys: f.box, header: f.header(), signer: f.signing, envelopes: f.envelopes)
    }

    /// An op record ends exactly where chunk 0 ends: chunk 1 must start clean (first record 0),
    /// and with chunk 0 damaged the reader must pick up at chunk 1's first byte.
    @Test func recordEndingOnAChunkBoundary() throws {
        var s = BundleSizedOps()
        let header = s.f.header()
        let used = 5 + header.encoded().count + Signature.length + 5 + s.envelopes[0].encoded.count
        try s.append(recordLength: BundleFormat.chunkCapacity - used)
        for _ in 0..<3 { s.append(valueLength: 300) }
        let layout = BundleStreamLayout(header: header, envelopes: s.envelopes)
        try #require(layout.ops[1].upperBound == BundleFormat.chunkCapacity, "fixture: op 1 ends at \(layout.ops[1].upperBound)")

        let dir = try TempDir()
        let path = dir.file("edge.sqb")
        try writeTestBundle(path, s.envelopes, header: header, recipients: [s.f.box.publicKey], signer: s.f.signing)
        try checkBundleStructure(path, keys: s.f.box, header: header, signer: s.f.signing, envelopes: s.envelopes)
        let chunks = try bundleOpenChunks(path, keys: s.f.box)
        #expect(chunks[1]?.firstRecord == 0)
        #expect(bundleReadAll(path, keys: s.f.box).envelopes.map(\.id) == s.envelopes.map(\.id))

        var bytes = bundleFileBytes(path)
        bytes[bundlePreambleLength(recipients: 1) + 500] ^= 1
        bundleWriteBytes(path, bytes)
        let o = bundleReadAll(path, keys: s.f.box)
        #expect(o.envelopes.map(\.id) == s.envelopes.dropFirst(2).map(\.id), "after losing chunk 0 the reader must resume at chunk 1's first record")
        #expect(o.damagedChunks == 1 && o.header == nil && !o.truncated)
    }

    /// The end record fills chunk 0 exactly: the writer must still emit a final (empty) chunk,
    /// and the reader must call the file intact.
    @Test func endRecordFillingItsChunk() throws {
        var s = BundleSizedOps()
        let header = s.f.header()
        let used = 5 + header.encoded().count + Signature.length + 5 + s.envelopes[0].encoded.count
        try s.append(recordLength: BundleFormat.chunkCapacity - used - 6)   // end record: 5 + varint(2) = 6
        let layout = BundleStreamLayout(header: header, envelopes: s.envelopes)
        try #require(layout.end.upperBound == BundleFormat.chunkCapacity, "fixture: end record ends at \(layout.end.upperBound)")
        let dir = try TempDir()
        let path = dir.file("end.sqb")
        try writeTestBundle(path, s.envelopes, header: header, recipients: [s.f.box.publicKey], signer: s.f.signing)
        #expect(try checkBundleStructure(path, keys: s.f.box, header: header, signer: s.f.signing, envelopes: s.envelopes) == 2)
        let o = bundleReadAll(path, keys: s.f.box)
        #expect(o.envelopes.map(\.id) == s.envelopes.map(\.id))
        #expect(o.intact && o.declaredOps == 2)
        // Cut after chunk 0: the end record arrived but not the final chunk.
        bundleWriteBytes(path, Array(bundleFileBytes(path).prefix(bundlePreambleLength(recipients: 1) + BundleFormat.chunkSize)))
        let cut = bundleReadAll(path, keys: s.f.box)
        #expect(cut.envelopes.count == 2 && cut.truncated && !cut.intact)
    }

    /// A header record larger than a chunk (a long imported list) spans chunks and still reads.
    @Test func headerLargerThanAChunk() throws {
        let f = BundleOpFixture.hundred
        let imported = (0..<4096).map { i in Array(Hash.blake2b([UInt8(i & 0xff), UInt8(i >> 8)], length: 16)) }
        let header = f.header(imported: imported)
        #expect(header.encoded().count > BundleFormat.chunkCapacity)
        let dir = try TempDir()
        let path = dir.file("bighead.sqb")
        try writeTestBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey], signer: f.signing)
        try checkBundleStructure(path, keys: f.box, header: header, signer: f.signing, envelopes: f.envelopes)
        let o = bundleReadAll(path, keys: f.box)
        #expect(o.header == header)
        #expect(o.envelopes.map(\.id) == f.envelopes.map(\.id))
        #expect(o.intact)
    }
}

/// Seals records into a bundle by hand with BundleFormat's public functions, laid out as
/// BundleWriter does, so the reader can be fed records the writer never makes. `header`, given
/// the preamble, makes the first record (a header must be signed over the preamble).
func handMadeBundle(_ path: String, recipients: [BoxPublicKey], header: (([UInt8]) -> [UInt8])? = nil, records: [[UInt8]]) {
    let key = SymmetricKey()
    let prefix = Random.bytes(BundleFormat.noncePrefixLength)
    var out = BundleFormat.preamble(fileKey: key, recipients: recipients, noncePrefix: prefix)
    var stream: [UInt8] = []
    var starts: [Int] = []
    for r in (header.map { [$0(out)] } ?? []) + records { starts.append(stream.count); stream += r }
    let cap = BundleFormat.chunkCapacity
    let total = BundleFormat.paddedChunkCount(stream.count / cap + 1)
    for i in 0..<total {
        let lo = min(i * cap, stream.count), hi = min((i + 1) * cap, stream.count)
        let first = starts.first { $0 >= i * cap && $0 < (i + 1) * cap }.map { UInt32($0 - i * cap) } ?? BundleFormat.noRecordStart
        out += try! BundleFormat.sealChunk(index: UInt64(i), final: i == total - 1, firstRecord: first,
                                      content: Array(stream[lo..<hi]), key: key, noncePrefix: prefix)
    }
    bundleWriteBytes(path, out)
}

func endRecord(_ n: Int) -> [UInt8] {
    var w = ByteWriter()
    w.varint(UInt64(n))
    return BundleFormat.record(.end, w.bytes)
}

/// Authenticated chunks carrying records the writer never makes: the reader counts them as
/// malformed, skips as little as it can, and never returns an op that was not sent.
@Suite struct BundleMalformedRecordTests {
    let f = BundleOpFixture.hundred
    var ops: [[UInt8]] { f.envelopes.map { BundleFormat.record(.op, $0.encoded) } }
    /// The fixture's header record, signed by its sender over the preamble it is given.
    var headerRecord: ([UInt8]) -> [UInt8] {
        let f = f
        return { BundleFormat.record(.header, BundleFormat.signedHeader(f.header(), preamble: $0, signer: f.signing)) }
    }

    @Test func handMadeBundleReadsLikeAWrittenOne() throws {
        let dir = try TempDir()
        let path = dir.file("hand.sqb")
        handMadeBundle(path, recipients: [f.box.publicKey], header: headerRecord, records: ops + [endRecord(ops.count)])
        let o = bundleReadAll(path, keys: f.box)
        #expect(o.header == f.header() && o.intact && o.envelopes.map(\.id) == f.envelopes.map(\.id))
    }

    /// A header record of an unknown version: no header, every op still arrives, nothing buffered.
    @Test func unreadableHeaderRecord() throws {
        let dir = try TempDir()
        let path = dir.file("h2.sqb")
        var h = f.header().encoded()
        h[0] = 4
        let f = f
        handMadeBundle(path, recipients: [f.box.publicKey], header: { pre in
            BundleFormat.record(.header, h + f.signing.sign(BundleFormat.headerMessage(preamble: pre, fields: h)).bytes)
        }, records: ops + [endRecord(ops.count)])
        let r = try BundleReader(path: path, keys: f.box)
        #expect(r.header == nil)
        let first = try #require(try r.next(max: 7))
        #expect(first.count <= 7, "next(max: 7) returned \(first.count)")
        var all = first
        while let b = try r.next(max: 50) { all += b }
        #expect(all.map(\.id) == f.envelopes.map(\.id))
        #expect(r.malformedRecords == 1 && !r.intact)
    }

    /// An op record whose body is not an envelope: counted, skipped, its neighbours arrive.
    @Test func garbageOpBody() throws {
        let dir = try TempDir()
        let path = dir.file("junk.sqb")
        var rng = BundleSyncRNG(seed: 99)
        let junk = BundleFormat.record(.op, rng.bytes(300))
        handMadeBundle(path, recipients: [f.box.publicKey], header: headerRecord, records: Array(ops[..<50]) + [junk] + ops[50...] + [endRecord(ops.count)])
        let o = bundleReadAll(path, keys: f.box)
        #expect(o.envelopes.map(\.id) == f.envelopes.map(\.id))
        #expect(o.malformedRecords == 1 && !o.intact && !o.truncated && o.damagedChunks == 0)
    }

    /// A record of unknown type, or one claiming an absurd length: the reader cannot tell where the
    /// next record starts, so it drops the rest of that chunk and resumes at the next chunk's
    /// first record. Exactly the records starting in between are lost.
    @Test(arguments: ["unknown type", "huge length"])
    func unparseableRecord(kind: String) throws {
        let dir = try TempDir()
        let path = dir.file("bad.sqb")
        let bad: [UInt8] = kind == "unknown type" ? [9, 0, 0, 0, 4, 1, 2, 3, 4] : [2, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0]
        let body = Array(ops[..<30]) + [bad] + ops[30...] + [endRecord(ops.count)]
        var headerBytes: [UInt8] = []
        let sign = headerRecord
        handMadeBundle(path, recipients: [f.box.publicKey], header: { let r = sign($0); headerBytes = r; return r }, records: body)
        let records = [headerBytes] + body
        var pos = 0
        var starts: [Int] = []
        for r in records { starts.append(pos); pos += r.count }
        let badStart = starts[31]
        let cap = BundleFormat.chunkCapacity
        let resume = (badStart / cap + 1) * cap
        // Op i sits at records[i + 1] before the bad record, records[i + 2] after it.
        let expected = f.envelopes.indices.filter { i in i < 30 || starts[i + 2] >= resume }.map { f.envelopes[$0].id }
        let o = bundleReadAll(path, keys: f.box)
        #expect(o.envelopes.map(\.id) == expected, "\(kind): got \(o.envelopes.count), expected \(expected.count)")
        #expect(expected.count < f.envelopes.count && expected.count > 30)
        #expect(o.malformedRecords == 1 && !o.intact && o.damagedChunks == 0)
        #expect(o.envelopes.allSatisfy { f.ids.contains($0.id) })
    }
}
