import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// Fuzz bytes as the plaintext record stream of a bundle, sealed into valid chunks for a fixed
// recipient, so BundleReader's record parser, resynchronisation and end handling are reached.
// Input: n u8 (1 + n % 8 chunks) ‖ per chunk: flags u8, first_record u16, used u16 ‖ contents.
//   flags bit 0: final; bit 1: damage the chunk's ciphertext; bit 2: first_record = none;
//   bit 3: cut the file inside this chunk (and stop).
//   used = ffff: the rest of the input (up to a chunk's capacity).
// Each chunk takes `used` bytes of the contents in turn.

let recipient = Fixed.box(secretHex: Fixed.bundleRecipientSecret)
let fileKey = Fixed.symmetric("file key")
let noncePrefix = [UInt8](repeating: 0x5a, count: BundleFormat.noncePrefixLength)
/// Sealed boxes are randomised; one preamble for the whole run keeps inputs replayable.
let preamble = BundleFormat.preamble(fileKey: fileKey, recipients: [recipient.publicKey], noncePrefix: noncePrefix)

struct ChunkSpec {
    var flags: UInt8
    var first: UInt16
    var used: UInt16
}

func encode(_ chunks: [(ChunkSpec, [UInt8])]) -> [UInt8] {
    var w = ByteWriter()
    w.u8(UInt8(chunks.count - 1))
    for (s, _) in chunks { w.u8(s.flags); w.u16(s.first); w.u16(s.used) }
    for (_, c) in chunks { w.raw(c) }
    return w.bytes
}

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    // The chunk contents of the vector bundles that carry their file key.
    for v in VectorFile.all(in: vectors + "/bundle") {
        guard let key = v.fields["file_key"], let file = v.fields["file"],
              let data = FileManager.default.contents(atPath: vectors + "/bundle/" + file),
              let pre = try? BundleFormat.parsePreamble([UInt8](data)) else { continue }
        let k = Fixed.symmetric(hex: key)
        let body = [UInt8](data.dropFirst(pre.length))
        var chunks: [(ChunkSpec, [UInt8])] = []
        var i = 0
        while i * BundleFormat.chunkSize < body.count && chunks.count < 8 {
            let c = Array(body[(i * BundleFormat.chunkSize)..<min(body.count, (i + 1) * BundleFormat.chunkSize)])
            if let ch = BundleFormat.openChunk(c, index: UInt64(i), key: k, noncePrefix: pre.noncePrefix) {
                let none = ch.firstRecord == BundleFormat.noRecordStart
                chunks.append((ChunkSpec(flags: (ch.final ? 1 : 0) | (none ? 4 : 0), first: none ? 0 : UInt16(ch.firstRecord),
                                         used: UInt16(ch.content.count)), ch.content))
            } else {
                chunks.append((ChunkSpec(flags: c.count < BundleFormat.chunkSize ? 8 : 2, first: 0, used: 0), []))
            }
            i += 1
        }
        if !chunks.isEmpty { out.append((v.name, encode(chunks))) }
    }
    // A small stream: header, the ops of the op vectors, end; in one chunk, and split over three.
    let sender = NodeID(signingKey: Fixed.signing("sender").publicKey, boxKey: recipient.publicKey)
    let header = BundleFormat.Header(project: (try? ProjectID(bytes: [UInt8](repeating: 1, count: 16)))!, sender: sender,
                                     senderVector: VersionVector([sender.signingKey: 3]), bundleID: BundleID(bytes: [UInt8](repeating: 2, count: 16))!,
                                     part: 0, createdMillis: 1_767_225_600_000, imported: [BundleID(bytes: [UInt8](repeating: 3, count: 16))!])
    // Since format 2: the header is signed over the preamble, or the reader refuses the file at open.
    var stream = BundleFormat.record(.header, BundleFormat.signedHeader(header, preamble: preamble, signer: Fixed.signing("sender")))
    var n: UInt64 = 0
    for v in VectorFile.all(in: vectors + "/ops") where stream.count < 6000 {
        if let env = v.bytes("envelope"), env.count < 2000 { stream += BundleFormat.record(.op, env); n += 1 }
    }
    var end = ByteWriter(); end.varint(n)
    stream += BundleFormat.record(.end, end.bytes)
    out.append(("stream", encode([(ChunkSpec(flags: 1, first: 0, used: 0xffff), stream)])))
    let a = stream.count / 3, b = 2 * stream.count / 3
    out.append(("stream-split", encode([(ChunkSpec(flags: 0, first: 0, used: UInt16(a)), Array(stream[..<a])),
                                        (ChunkSpec(flags: 6, first: 0, used: UInt16(b - a)), Array(stream[a..<b])),
                                        (ChunkSpec(flags: 1, first: 0, used: 0xffff), Array(stream[b...]))])))
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundleRecords(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    var r = FuzzReader(fuzzInput(data, size))
    let count = 1 + Int(r.u8() % 8)
    let specs = (0..<count).map { _ in ChunkSpec(flags: r.u8(), first: r.u16(), used: r.u16()) }
    var file = preamble
    var cut = false, finalBeforeCut = false
    for (i, s) in specs.enumerated() {
        let content = r.prefix(min(s.used == 0xffff ? r.remaining : Int(s.used), BundleFormat.chunkCapacity))
        let first = s.flags & 4 != 0 ? BundleFormat.noRecordStart : UInt32(s.first)
        var chunk = try! BundleFormat.sealChunk(index: UInt64(i), final: s.flags & 1 != 0, firstRecord: first, content: content,
                                           key: fileKey, noncePrefix: noncePrefix)
        if s.flags & 2 != 0 { chunk[Int(s.first) % chunk.count] ^= 0x01 }
        if s.flags & 8 != 0 { chunk = Array(chunk.prefix(Int(s.first) % chunk.count)); cut = true }
        file += chunk
        if cut { break }
        if s.flags & 3 == 1 { finalBeforeCut = true }
    }
    let result = BundleFile.read(file, keys: recipient)
    guard let reader = result.reader else {
        // The preamble is fixed and valid, so only the header record (the fuzzed stream's first) may be refused.
        let why = String(describing: result.opened)
        guard case let .bundle(e)? = result.opened as? SyncError else { fuzzCheck(false, "the fixed preamble opens: \(why)"); return 0 }
        fuzzCheck(![CoreError.empty, .notABundle, .bundleUnsupportedVersion, .obsoleteVersion, .notForMe].contains(e), "the fixed preamble opens: \(why)")
        return 0
    }
    fuzzCheck(result.ops == reader.opsRead, "every op read is handed out")
    // Bytes after an intact final chunk are ignored (bundles.md, "Reading"), so only a cut before one counts.
    if cut && !finalBeforeCut { fuzzCheck(!reader.intact, "a file cut before its final chunk is not intact") }
    return 0
}
