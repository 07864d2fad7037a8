import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// Shared fixtures for the BundleWriter / BundleReader tests: a one-author project whose ops
// are made by SandyqCore's OpWriter (genesis, then sealed ops carrying random mutations),
// bundle files in a temp directory, and a model of where each record lands in the chunk
// stream so tests can say exactly which ops a damaged or truncated file must still yield.

/// SplitMix64, so a failing run can be replayed from the seed in its message.
struct BundleSyncRNG: RandomNumberGenerator, Sendable {
    let seed: UInt64
    private var mix: SplitMix64
    init(seed: UInt64) { self.seed = seed; mix = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { mix.next() }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &self) } }
    mutating func below(_ n: Int) -> Int { Int.random(in: 0..<n, using: &self) }
    /// Printable text of about `n` bytes (Cyrillic and ASCII, as case records are).
    mutating func text(_ n: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(n + 4)
        while out.count < n { out += Self.alphabet[below(Self.alphabet.count)] }
        return String(decoding: out, as: UTF8.self)
    }
    static let alphabet: [[UInt8]] = "абвгдежзийклмнопрстуфхцчшщыэюяәғқңөұүһі ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,".map { Array(String($0).utf8) }
}

/// One author's project and the ops it wrote, ready to bundle.
struct BundleOpFixture: Sendable {
    let signing: SigningKeyPair
    let box: BoxKeyPair
    let project: ProjectID
    let node: NodeID
    /// Genesis first, then sealed ops.
    let envelopes: [Envelope]

    /// `count` envelopes in all: genesis plus `count - 1` sealed ops with ~`valueSize`-byte values.
    init(count: Int, valueSize: Int = 1024, seed: UInt64 = 0x5EED_B0D1) {
        precondition(count >= 1)
        var rng = BundleSyncRNG(seed: seed &+ UInt64(count) &* 31 &+ UInt64(valueSize))
        signing = SigningKeyPair(seed: SecureBytes(rng.bytes(32)))
        box = try! BoxKeyPair(secretKey: SecureBytes(rng.bytes(32)))
        node = NodeID(signingKey: signing.publicKey, boxKey: box.publicKey)
        let nonce = rng.bytes(16)
        project = ProjectID.derive(founder: node, nonce: nonce)
        let w = OpWriter(keys: signing, project: project, seq: 0, prev: .zero, clock: HybridClock())
        var envs = [w.membership(.genesis(founder: node, nonce: nonce))]
        var cases: [CaseID] = []
        var wall: UInt64 = 1_700_000_000_000
        for _ in 1..<count {
            wall += UInt64(rng.below(60_000))
            var muts: [Mutation] = []
            let pick = rng.below(10)
            if cases.isEmpty || pick < 3 {
                let c = try! CaseID(bytes: rng.bytes(16))
                cases.append(c)
                muts.append(.put(case: c, path: FieldPath(field: "title"), value: rng.text(40), supersedes: []))
            }
            let c = cases[rng.below(cases.count)]
            switch rng.below(4) {
            case 0:
                muts.append(.add(case: c, collection: "persons", element: Hex.encode(rng.bytes(4))))
                muts.append(.put(case: c, path: FieldPath(field: "summary"), value: rng.text(valueSize), supersedes: []))
            case 1:
                muts.append(.remove(case: c, collection: "tags", element: Hex.encode(rng.bytes(4)), observed: envs.suffix(2).map(\.id)))
                muts.append(.put(case: c, path: FieldPath(field: "notes"), value: rng.text(valueSize), supersedes: []))
            default:
                muts.append(.put(case: c, path: FieldPath(field: "summary"), value: rng.text(valueSize),
                                 supersedes: envs.count > 1 ? [envs[envs.count - 1].id] : []))
            }
            envs.append(w.sealed(muts, readers: [box.publicKey], wallMillis: wall))
        }
        envelopes = envs
    }

    func header(part: UInt32 = 1, imported: [[UInt8]] = []) -> BundleFormat.Header {
        let ids = imported.map { BundleID(bytes: $0)! }
        let last = envelopes.last!
        return BundleFormat.Header(project: project, sender: node, senderVector: VersionVector([signing.publicKey: last.seq]),
                                   bundleID: BundleID(bytes: Hash.blake2b(Array("bundle".utf8) + project.bytes, length: 16))!,
                                   part: part, createdMillis: 1_700_000_000_123, imported: ids)
    }

    var ids: Set<OpID> { Set(envelopes.map(\.id)) }

    /// The 3000-op fixture (~1 KiB values, so records straddle chunk boundaries), built once.
    static let large = BundleOpFixture(count: 3000)
    static let hundred = BundleOpFixture(count: 100)
    static let one = BundleOpFixture(count: 1)
}

/// Writes `envelopes` into a bundle at `path` for `recipients`; returns the bytes `finish` reported.
@discardableResult
func writeTestBundle(_ path: String, _ envelopes: [Envelope], header: BundleFormat.Header,
                 recipients: [BoxPublicKey], signer: SigningKeyPair) throws -> Int {
    let w = try BundleWriter(path: path, recipients: recipients, header: header, signer: signer)
    for e in envelopes { try w.append(e) }
    return try w.finish()
}

/// Byte equality as a plain Bool, so a failing #expect does not try to diff megabytes.
func bundleSame(_ a: [UInt8], _ b: [UInt8]) -> Bool { a == b }

func bundleFileBytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

func bundleWriteBytes(_ path: String, _ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// What reading a bundle to its end produced.
struct BundleReadOutcome {
    var error: SyncError?
    var header: BundleFormat.Header?
    var envelopes: [Envelope] = []
    var intact = false
    var truncated = false
    var damagedChunks = 0
    var malformedRecords = 0
    var declaredOps: UInt64?
}

/// Opens and drains a bundle; errors from `init` or `next` end up in `error`.
func bundleReadAll(_ path: String, keys: BoxKeyPair, batch: Int = 2048) -> BundleReadOutcome {
    var out = BundleReadOutcome()
    do {
        let r = try BundleReader(path: path, keys: keys)
        out.header = r.header
        var guardRail = 0
        while let b = try r.next(max: batch) {
            out.envelopes += b
            guardRail += 1
            // A reader that never reaches nil would hang the suite; fail instead.
            if guardRail > 1_000_000 { Issue.record("reader of \(path) never ended"); break }
        }
        out.header = r.header
        out.intact = r.intact
        out.truncated = r.truncated
        out.damagedChunks = r.damagedChunks
        out.malformedRecords = r.malformedRecords
        out.declaredOps = r.declaredOps
    } catch {
        out.error = error
    }
    return out
}

/// Where each record sits in the decrypted chunk stream (offsets into the concatenated chunk
/// contents), from the writer's layout: header record, op records, end record.
struct BundleStreamLayout {
    let headerLength: Int
    /// [start, end) of each op record.
    let ops: [Range<Int>]
    let end: Range<Int>

    init(header: BundleFormat.Header, envelopes: [Envelope]) {
        headerLength = 5 + header.encoded().count + Signature.length
        var pos = headerLength
        var rs: [Range<Int>] = []
        for (i, e) in envelopes.enumerated() {
            // The writer's rule (Protocol/bundles.md, version 3): compact when the op follows the
            // one before it in its chain and starts in the chunk that one started in.
            let before = i > 0 ? envelopes[i - 1] : nil
            let compact = before.map { b in
                b.author == e.author && e.seq == b.seq + 1 && e.prev == b.id && rs[i - 1].lowerBound / Self.cap == pos / Self.cap
            } ?? false
            let length = compact ? 5 + e.encoded.count - BundleFormat.compactSaving : 5 + e.encoded.count
            rs.append(pos..<(pos + length))
            pos += length
        }
        ops = rs
        var w = ByteWriter()
        w.varint(UInt64(envelopes.count))
        end = pos..<(pos + 5 + w.bytes.count)
    }

    static let cap = BundleFormat.chunkCapacity

    /// Chunks written before padding: the writer always flushes the chunk the end record
    /// leaves it in (an empty one when the end record fills a chunk exactly).
    var dataChunks: Int { end.upperBound / Self.cap + 1 }

    func chunks(of r: Range<Int>) -> ClosedRange<Int> { (r.lowerBound / Self.cap)...((r.upperBound - 1) / Self.cap) }

    /// Indices of ops whose records lie entirely within the first `k` chunks.
    func opsWithin(firstChunks k: Int) -> [Int] { ops.indices.filter { ops[$0].upperBound <= k * Self.cap } }

    /// Indices of ops whose records touch chunk `c`.
    func opsTouching(chunk c: Int) -> [Int] { ops.indices.filter { chunks(of: ops[$0]).contains(c) } }
}

/// The byte length of a bundle's preamble for `recipients` recipients.
func bundlePreambleLength(recipients: Int) -> Int {
    let entries = (recipients + BundleFormat.entryGroup - 1) / BundleFormat.entryGroup * BundleFormat.entryGroup
    return BundleFormat.preambleLength(entries: entries)
}

