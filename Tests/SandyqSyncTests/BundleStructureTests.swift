import Foundation
import Testing
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
func openChunks(_ path: String, keys: BoxKeyPair) throws -> [BundleFormat.Chunk?] {
    let bytes = fileBytes(path)
    let pre = try BundleFormat.parsePreamble(bytes)
    let key = try #require(BundleFormat.openFileKey(pre, with: keys), "no entry opens")
    let cs = BundleFormat.chunkSize
    #expect((bytes.count - pre.length) % cs == 0)
    return stride(from: pre.length, to: bytes.count, by: cs).enumerated().map { i, off in
        BundleFormat.openChunk(Array(bytes[off..<min(off + cs, bytes.count)]), index: UInt64(i), key: key, noncePrefix: pre.noncePrefix)
    }
}

/// The record stream a bundle of these envelopes must carry.
func expectedStream(header: BundleFormat.Header, envelopes: [Envelope]) -> (bytes: [UInt8], starts: [Int]) {
    var out = BundleFormat.record(.header, header.encoded())
    var starts = [0]
    for e in envelopes { starts.append(out.count); out += BundleFormat.record(.op, e.encoded) }
    var w = ByteWriter()
    w.varint(UInt64(envelopes.count))
    starts.append(out.count)
    out += BundleFormat.record(.end, w.bytes)
    return (out, starts)
}

/// Checks a bundle's chunks against the layout; returns the number of data chunks.
@discardableResult
func checkStructure(_ path: String, keys: BoxKeyPair, header: BundleFormat.Header, envelopes: [Envelope],
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let chunks = try openChunks(path, keys: keys)
    let (stream, starts) = expectedStream(header: header, envelopes: envelopes)
    let cap = BundleFormat.chunkCapacity
    let dataChunks = stream.count / cap + 1
    #expect(chunks.count == BundleFormat.paddedChunkCount(dataChunks), "chunk count", sourceLocation: sourceLocation)
    for (i, c) in chunks.enumerated() {
        guard let c else { Issue.record("chunk \(i) does not open", sourceLocation: sourceLocation); continue }
        #expect(c.final == (i == chunks.count - 1), "chunk \(i) final flag \(c.final)", sourceLocation: sourceLocation)
        let lo = min(i * cap, stream.count), hi = min((i + 1) * cap, stream.count)
        #expect(c.content == Array(stream[lo..<hi]), "chunk \(i) content (\(c.content.count) bytes, expected \(hi - lo))", sourceLocation: sourceLocation)
        let first = starts.first { $0 >= i * cap && $0 < (i + 1) * cap && $0 < stream.count }
        let want = first.map { UInt32($0 - i * cap) } ?? BundleFormat.noRecordStart
        #expect(c.firstRecord == want, "chunk \(i) first record \(c.firstRecord), expected \(want)", sourceLocation: sourceLocation)
    }
    return dataChunks
}

/// Sealed ops whose sizes are chosen, so records can be made to end exactly on chunk boundaries.
struct SizedOps {
    let f = OpFixture.one
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
            let got = 5 + e.encoded.count
            if got == recordLength { envelopes.append(e); return }
            l += recordLength - got
        }
        throw SizedOpsError("cannot make a record of \(recordLength) bytes")
    }

    mutating func append(valueLength: Int) { envelopes.append(op(valueLength)) }
}

struct SizedOpsError: Error { let what: String; init(_ w: String) { what = w } }

@Suite struct BundleStructureTests {
    @Test(arguments: [1, 100, 3000])
    func chunksMatchTheLayout(count: Int) throws {
        let f = count == 1 ? OpFixture.one : count == 100 ? OpFixture.hundred : OpFixture.large
        let dir = TempDir()
        let path = dir.file("s.sqb")
        try writeBundle(path, f.envelopes, header: f.header(), recipients: [f.box.publicKey, BoxKeyPair().publicKey])
        try checkStructure(path, keys: f.box, header: f.header(), envelopes: f.envelopes)
    }

    /// An op record ends exactly where chunk 0 ends: chunk 1 must start clean (first record 0),
    /// and with chunk 0 damaged the reader must pick up at chunk 1's first byte.
    @Test func recordEndingOnAChunkBoundary() throws {
        var s = SizedOps()
        let header = s.f.header()
        let used = 5 + header.encoded().count + 5 + s.envelopes[0].encoded.count
        try s.append(recordLength: BundleFormat.chunkCapacity - used)
        for _ in 0..<3 { s.append(valueLength: 300) }
        let layout = StreamLayout(header: header, envelopes: s.envelopes)
        try #require(layout.ops[1].upperBound == BundleFormat.chunkCapacity, "fixture: op 1 ends at \(layout.ops[1].upperBound)")

        let dir = TempDir()
        let path = dir.file("edge.sqb")
        try writeBundle(path, s.envelopes, header: header, recipients: [s.f.box.publicKey])
        try checkStructure(path, keys: s.f.box, header: header, envelopes: s.envelopes)
        let chunks = try openChunks(path, keys: s.f.box)
        #expect(chunks[1]?.firstRecord == 0)
        #expect(readAll(path, keys: s.f.box).envelopes.map(\.id) == s.envelopes.map(\.id))

        var bytes = fileBytes(path)
        bytes[preambleLength(recipients: 1) + 500] ^= 1
        writeBytes(path, bytes)
        let o = readAll(path, keys: s.f.box)
        #expect(o.envelopes.map(\.id) == s.envelopes.dropFirst(2).map(\.id), "after losing chunk 0 the reader must resume at chunk 1's first record")
        #expect(o.damagedChunks == 1 && o.header == nil && !o.truncated)
    }

    /// The end record fills chunk 0 exactly: the writer must still emit a final (empty) chunk,
    /// and the reader must call the file intact.
    @Test func endRecordFillingItsChunk() throws {
        var s = SizedOps()
        let header = s.f.header()
        let used = 5 + header.encoded().count + 5 + s.envelopes[0].encoded.count
        try s.append(recordLength: BundleFormat.chunkCapacity - used - 6)   // end record: 5 + varint(2) = 6
        let layout = StreamLayout(header: header, envelopes: s.envelopes)
        try #require(layout.end.upperBound == BundleFormat.chunkCapacity, "fixture: end record ends at \(layout.end.upperBound)")
        let dir = TempDir()
        let path = dir.file("end.sqb")
        try writeBundle(path, s.envelopes, header: header, recipients: [s.f.box.publicKey])
        #expect(try checkStructure(path, keys: s.f.box, header: header, envelopes: s.envelopes) == 2)
        let o = readAll(path, keys: s.f.box)
        #expect(o.envelopes.map(\.id) == s.envelopes.map(\.id))
        #expect(o.intact && o.declaredOps == 2)
        // Cut after chunk 0: the end record arrived but not the final chunk.
        writeBytes(path, Array(fileBytes(path).prefix(preambleLength(recipients: 1) + BundleFormat.chunkSize)))
        let cut = readAll(path, keys: s.f.box)
        #expect(cut.envelopes.count == 2 && cut.truncated && !cut.intact)
    }

    /// A header record larger than a chunk (a long imported list) spans chunks and still reads.
    @Test func headerLargerThanAChunk() throws {
        let f = OpFixture.hundred
        let imported = (0..<4096).map { i in Array(Hash.blake2b([UInt8(i & 0xff), UInt8(i >> 8)], length: 16)) }
        let header = f.header(imported: imported)
        #expect(header.encoded().count > BundleFormat.chunkCapacity)
        let dir = TempDir()
        let path = dir.file("bighead.sqb")
        try writeBundle(path, f.envelopes, header: header, recipients: [f.box.publicKey])
        try checkStructure(path, keys: f.box, header: header, envelopes: f.envelopes)
        let o = readAll(path, keys: f.box)
        #expect(o.header == header)
        #expect(o.envelopes.map(\.id) == f.envelopes.map(\.id))
        #expect(o.intact)
    }
}
