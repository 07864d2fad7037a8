import Foundation
import SandyqCore
import SandyqCrypto

/// Streams a bundle to disk: ops go in as they come, chunks go out as they fill, so
/// memory stays bounded however large the export. Writes to a temporary name, flushes,
/// then renames: a stick pulled mid-write leaves the old bundle or the new one.
public final class BundleWriter {
    public let path: String
    private let tmpPath: String
    private let fd: Int32
    private let key = SymmetricKey()
    private let noncePrefix = Random.bytes(BundleFormat.noncePrefixLength)
    /// The chunk being filled: its plaintext, content from `chunkHeader` on, `used` bytes so far.
    private var plain = [UInt8](repeating: 0, count: BundleFormat.chunkPlaintext)
    private var used = 0
    private var firstRecord: UInt32 = BundleFormat.noRecordStart
    private var chunkIndex: UInt64 = 0
    public private(set) var bytesWritten = 0
    public private(set) var opsWritten = 0
    public private(set) var chunksWritten = 0
    /// Bytes of records (header, ops, end) appended so far, before chunking: what a part budget counts.
    public private(set) var recordBytes = 0
    private var finished = false
    /// The last op record written: its author, seq and id, and the chunk it started in. The
    /// next op of the same chain goes compact only when it starts in that chunk too, so a
    /// damaged chunk costs no more than the records that touch it (Protocol/bundles.md).
    private var lastOp: (project: [UInt8], author: [UInt8], seq: UInt64, id: [UInt8], chunk: UInt64)?
    /// Op records written compact (each 93 bytes shorter than whole).
    public private(set) var compactOps = 0

    /// `signer` signs the header over the preamble; readers refuse the file unless it is the key
    /// of the header's `sender`.
    public init(path: String, recipients: [BoxPublicKey], header: BundleFormat.Header, signer: SigningKeyPair) throws(SyncError) {
        guard !recipients.isEmpty else { throw .usage("a bundle needs at least one recipient") }
        guard recipients.count <= BundleFormat.maxEntries else { throw .usage("a bundle can have at most \(BundleFormat.maxEntries) recipients") }
        // The header repeats the file's version, and readers hold it to that.
        guard header.version == BundleFormat.version else { throw .usage("a bundle header of version \(header.version); this writer writes \(BundleFormat.version)") }
        self.path = path
        // A fresh, unguessable name opened exclusively and never through a symlink: in a mailbox
        // folder others can write to, a planted link must not make an export overwrite a key file.
        tmpPath = path + ".partial-" + Hex.encode(Random.bytes(8))
        fd = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create \(tmpPath): \(String(cString: strerror(errno)))") }
        // On a throw below, the deinit (which a class's init that throws once every property is
        // set still runs) closes and unlinks: closing here too closed the number twice.
        let preamble = BundleFormat.preamble(fileKey: key, recipients: recipients, noncePrefix: noncePrefix)
        try writeAll(preamble)
        try appendRecord(.header, BundleFormat.signedHeader(header, preamble: preamble, signer: signer))
    }

    deinit {
        if !finished { close(fd); unlink(tmpPath) }
    }

    /// The file size so far plus the chunk being filled.
    public var estimatedSize: Int { bytesWritten + BundleFormat.chunkSize }

    public func append(_ env: Envelope) throws(SyncError) {
        try bytes(env.encoded) { (p) throws(SyncError) in
            try bytes(env.id.bytes) { (id) throws(SyncError) in try append(encodedOp: p, id: id) }
        }
    }

    /// An op as `Envelope.encoded` holds it, straight from the store, with the id the store
    /// keeps beside it: export need not decode (nor hash) what the store checked on the way in.
    /// It goes as a compact record when it follows the last op record in its chain, in the chunk
    /// that record started in.
    public func append(encodedOp p: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer) throws(SyncError) {
        let h = Envelope.headerLength
        let seq = p[50..<58].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let start = chunkIndex
        if let last = lastOp, last.chunk == start, p.count > h + 4, seq == last.seq &+ 1, last.project.elementsEqual(p[2..<18]),
           last.author.elementsEqual(p[18..<50]), last.id.elementsEqual(p[58..<h]) {
            let (kind, rest) = BundleFormat.compactBody(p)
            try appendRecord(.compactOp, rest, lead: kind)
            compactOps += 1
        } else {
            try appendRecord(.op, p)
        }
        lastOp = (Array(p[2..<18]), Array(p[18..<50]), seq, Array(id), start)
        opsWritten += 1
    }

    /// A sealed evidence chunk, as stored (Protocol/evidence.md); after the ops.
    public func append(chunk: [UInt8]) throws(SyncError) {
        try bytes(chunk) { (p) throws(SyncError) in try appendRecord(.evidenceChunk, p) }
        chunksWritten += 1
    }

    /// A signed holding statement.
    public func append(held: [UInt8]) throws(SyncError) {
        try bytes(held) { (p) throws(SyncError) in try appendRecord(.evidenceHeld, p) }
    }

    private func appendRecord(_ type: BundleFormat.RecordType, _ body: [UInt8]) throws(SyncError) {
        try bytes(body) { (p) throws(SyncError) in try appendRecord(type, p) }
    }

    /// A record (`BundleFormat.record`: type, u32 length, body) copied into the chunks as it
    /// comes, with no record-sized copy in between; `lead` is a first body byte kept apart
    /// (a compact op's kind).
    private func appendRecord(_ type: BundleFormat.RecordType, _ body: UnsafeRawBufferPointer, lead: UInt8? = nil) throws(SyncError) {
        let length = body.count + (lead == nil ? 0 : 1)
        recordBytes += 5 + length
        if firstRecord == BundleFormat.noRecordStart { firstRecord = UInt32(used) }
        let n = UInt32(length)
        var head = (type.rawValue, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff))
        try withUnsafeBytes(of: &head) { (p) throws(SyncError) in try feed(p) }
        if var lead { try withUnsafeBytes(of: &lead) { (p) throws(SyncError) in try feed(p) } }
        try feed(body)
    }

    /// `Array.withUnsafeBytes` rethrows untyped; this keeps the writer's errors typed.
    private func bytes(_ a: [UInt8], _ body: (UnsafeRawBufferPointer) throws(SyncError) -> Void) throws(SyncError) {
        var failure: SyncError?
        a.withUnsafeBytes { p in
            do throws(SyncError) { try body(p) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Bytes into the chunk being filled, sealing each chunk as it fills. A chunk starts with no
    /// record start until one begins in it (`flushChunk` resets the mark).
    private func feed(_ p: UnsafeRawBufferPointer) throws(SyncError) {
        var offset = 0
        while offset < p.count {
            let n = min(BundleFormat.chunkCapacity - used, p.count - offset)
            plain.withUnsafeMutableBytes { b in
                UnsafeMutableRawBufferPointer(rebasing: b[(BundleFormat.chunkHeader + used)...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: p[offset..<(offset + n)]))
            }
            offset += n
            used += n
            if used == BundleFormat.chunkCapacity { try flushChunk(final: false) }
        }
    }

    private func flushChunk(final: Bool) throws(SyncError) {
        let sealed = BundleFormat.sealChunk(index: chunkIndex, final: final, firstRecord: firstRecord, plain: &plain, used: used,
                                            key: key, noncePrefix: noncePrefix)
        try writeAll(sealed)
        chunkIndex += 1
        used = 0
        firstRecord = BundleFormat.noRecordStart
    }

    private func writeAll(_ bytes: [UInt8]) throws(SyncError) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            off += n
        }
        bytesWritten += bytes.count
    }

    /// Ends the stream, pads to a size bucket, flushes and renames into place.
    @discardableResult
    public func finish() throws(SyncError) -> Int {
        do throws(SyncError) {
            try appendRecord(.end, varintBytes(UInt64(opsWritten)))
            let total = BundleFormat.paddedChunkCount(Int(chunkIndex) + 1)
            try flushChunk(final: Int(chunkIndex) + 1 == total)
            while Int(chunkIndex) < total { try flushChunk(final: Int(chunkIndex) + 1 == total) }
            guard fsync(fd) == 0 else { throw .io("cannot flush \(tmpPath): \(String(cString: strerror(errno)))") }
            close(fd)
            finished = true
            guard rename(tmpPath, path) == 0 else {
                let why = String(cString: strerror(errno))
                unlink(tmpPath)
                throw .io("cannot move the bundle into place at \(path): \(why)")
            }
            let dir = (path as NSString).deletingLastPathComponent
            let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
            if dfd >= 0 { fsync(dfd); close(dfd) }
            return bytesWritten
        } catch {
            if !finished { close(fd); finished = true }
            unlink(tmpPath)
            throw error
        }
    }

    private func varintBytes(_ v: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 10)
        w.varint(v)
        return w.bytes
    }
}

/// Every failure in this module: a bundle that does not write or read, a handshake refused,
/// a session that breaks its protocol. Callers match `code`, never the message.
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    case usage(String)
    case io(String)
    case bundle(CoreError)
    case protocolViolation(String)

    // A handshake refused.
    case unsupportedVersion
    case badNetworkKey
    case stale
    case replayed
    case authenticationFailed
    case notAllowed(String)
    case truncated

    /// Stable and unique per case (a bundle's is its CoreError code); the table is in docs/architecture.md.
    public var code: String {
        switch self {
        case .usage: "sync.usage"
        case .io: "sync.io"
        case let .bundle(b): b.code
        case .protocolViolation: "sync.protocol-violation"
        case .unsupportedVersion: "handshake.unsupported-version"
        case .badNetworkKey: "handshake.bad-network-key"
        case .stale: "handshake.stale"
        case .replayed: "handshake.replayed"
        case .authenticationFailed: "handshake.authentication-failed"
        case .notAllowed: "handshake.not-allowed"
        case .truncated: "handshake.truncated"
        }
    }

    public var description: String {
        switch self {
        case let .usage(m), let .io(m), let .protocolViolation(m): m
        case let .bundle(b): b.description
        case .unsupportedVersion: "handshake version not supported"
        case .badNetworkKey: "first message does not carry the project's network key (a stranger, or a wrong network key)"
        case .stale: "handshake clock too far from ours"
        case .replayed: "handshake message replayed"
        case .authenticationFailed: "handshake authentication failed"
        case let .notAllowed(why): why
        case .truncated: "handshake message truncated"
        }
    }
}

/// The earlier name, kept so code written against it still compiles; each case keeps its meaning.
@available(*, deprecated, renamed: "SyncError")
public typealias HandshakeError = SyncError
