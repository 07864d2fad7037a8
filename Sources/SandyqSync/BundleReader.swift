import Foundation
import SandyqCore
import SandyqCrypto

/// Streams a bundle from disk chunk by chunk. A damaged chunk loses only the records that
/// touch it: reading resumes at the next chunk's first record start.
public final class BundleReader {
    public let path: String
    private let handle: FileHandle
    private let key: SymmetricKey
    private let noncePrefix: [UInt8]
    private var chunkIndex: UInt64 = 0
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var resyncing = false
    private var sawFinal = false
    private var atEOF = false
    /// Records parsed so far: only the first may be the header.
    private var records = 0
    /// The cleartext preamble, which the header's signature covers.
    private let preamble: [UInt8]
    public private(set) var header: BundleFormat.Header?
    public private(set) var damagedChunks = 0
    public private(set) var malformedRecords = 0
    public private(set) var truncated = false
    public private(set) var declaredOps: UInt64?
    public private(set) var opsRead = 0
    /// Records that arrived before their header (possible only when chunk 0 was damaged).
    private var queued: [Envelope] = []
    /// The file's format version (2 or 3): only 3 has compact op records.
    private var version: UInt8 = BundleFormat.version
    /// The op record read last, since the last resynchronisation: a compact record's author,
    /// seq, prev and project come from it and the header.
    private var lastOp: Envelope?
    /// What a pass yields: the ops (evidence records skipped), or the evidence records (ops skipped).
    public enum Pass: Sendable { case ops, evidence }
    public enum EvidenceRecord: Sendable, Equatable {
        case chunk([UInt8])
        case held([UInt8])
    }
    private let pass: Pass
    private var evidence: [EvidenceRecord] = []
    public private(set) var chunksRead = 0

    /// Opens the file, finds this node's entry and reads the header, whose signature it checks.
    /// Throws `notForMe` when no entry opens, `bundleBadSignature` when the header's sender did not sign it.
    public init(path: String, keys: BoxKeyPair, pass: Pass = .ops) throws(SyncError) {
        self.path = path
        self.pass = pass
        let h = try Self.openRegularFile(path)
        handle = h
        let head = (try? h.read(upToCount: BundleFormat.preambleLength(entries: 0))) ?? Data()
        let first = [UInt8](head)
        do {
            _ = try BundleFormat.parsePreamble(first)
        } catch CoreError.bundleTruncated {
            // The short read covered the fixed part only; read the entries that the count names.
        } catch {
            try? h.close()
            throw .bundle(error)
        }
        let n = Int(first[BundleFormat.magic.count + 1]) << 8 | Int(first[BundleFormat.magic.count + 2])
        let rest = [UInt8]((try? h.read(upToCount: BundleFormat.preambleLength(entries: n) - first.count)) ?? Data())
        let pre: BundleFormat.Preamble
        preamble = first + rest
        do { pre = try BundleFormat.parsePreamble(preamble) } catch { try? h.close(); throw .bundle(error) }
        guard let k = BundleFormat.openFileKey(pre, with: keys) else { try? h.close(); throw .bundle(.notForMe) }
        key = k
        noncePrefix = pre.noncePrefix
        version = pre.version
        // The header record comes first; read until it appears (or the file ends). When chunk 0 is
        // damaged, or the first record is not a readable header, it cannot appear: stop at once
        // rather than buffer the whole file (up to 3.8 GB) in `queued` looking for it.
        do {
            while header == nil, !atEOF, damagedChunks == 0, malformedRecords == 0, queued.isEmpty, evidence.isEmpty {
                if let env = try nextRecordEnvelope() { queued.append(env) }
            }
        } catch {
            try? h.close()
            throw error
        }
    }

    /// Opens `path` for reading only if it is a regular file. A FIFO named `*.sqb` on a stick
    /// would block `open` until someone writes to it, and a device could stream for ever: both
    /// are refused without reading. O_NONBLOCK and a second check on the open descriptor close
    /// the window in which the file could be swapped for one.
    static func openRegularFile(_ path: String) throws(SyncError) -> FileHandle {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .io("\(path) is not a regular file (a folder, FIFO or device): not read") }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .io("\(path) is not a regular file (a folder, FIFO or device): not read")
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    deinit { try? handle.close() }

    /// Up to `max` envelopes; nil at the end of the file.
    public func next(max: Int = 2048) throws(SyncError) -> [Envelope]? {
        var out = queued
        queued.removeAll()
        while out.count < max, !atEOF {
            if let e = try nextRecordEnvelope() { out.append(e) }
        }
        return out.isEmpty && atEOF ? nil : out
    }

    /// The next evidence record (a `.evidence` pass); nil at the end of the file.
    public func nextEvidence() throws(SyncError) -> EvidenceRecord? {
        queued.removeAll()
        while evidence.isEmpty, !atEOF { _ = try nextRecordEnvelope() }
        return evidence.isEmpty ? nil : evidence.removeFirst()
    }

    /// True when the file ended with an authenticated final chunk and nothing was damaged.
    public var intact: Bool { sawFinal && damagedChunks == 0 && malformedRecords == 0 && !truncated }

    private func loadChunk() -> Bool {
        guard !sawFinal else { atEOF = true; return false }
        let data = (try? handle.read(upToCount: BundleFormat.chunkSize)) ?? Data()
        if data.isEmpty { truncated = true; atEOF = true; return false }
        defer { chunkIndex += 1 }
        if data.count < BundleFormat.chunkSize { truncated = true; damagedChunks += 1; atEOF = true; return false }
        guard let c = BundleFormat.openChunk([UInt8](data), index: chunkIndex, key: key, noncePrefix: noncePrefix) else {
            damagedChunks += 1
            pending.removeAll(); pendingOffset = 0
            resyncing = true
            lastOp = nil
            return true
        }
        if c.final { sawFinal = true }
        if resyncing {
            guard c.firstRecord != BundleFormat.noRecordStart, Int(c.firstRecord) <= c.content.count else { return true }
            pending = Array(c.content[Int(c.firstRecord)...]); pendingOffset = 0
            resyncing = false
        } else {
            if pendingOffset > 0 { pending.removeFirst(pendingOffset); pendingOffset = 0 }
            pending.append(contentsOf: c.content)
        }
        return true
    }

    /// Parses the next record; returns an envelope for op records, nil for others.
    private func nextRecordEnvelope() throws(SyncError) -> Envelope? {
        while true {
            let avail = pending.count - pendingOffset
            if avail >= 5 {
                let type = pending[pendingOffset]
                let len = Int(pending[pendingOffset + 1]) << 24 | Int(pending[pendingOffset + 2]) << 16
                    | Int(pending[pendingOffset + 3]) << 8 | Int(pending[pendingOffset + 4])
                guard len <= BundleFormat.maxRecord, type >= 1, type <= (version >= 3 ? 6 : 5) else {
                    malformedRecords += 1
                    pending.removeAll(); pendingOffset = 0; resyncing = true; lastOp = nil
                    if !loadChunk() { return nil }
                    continue
                }
                if avail >= 5 + len {
                    // A pass skips the other pass's records without copying them (a chunk is 1 MiB).
                    let skipped = pass == .ops ? type == 4 || type == 5 : type == 2 || type == 6
                    let body = skipped ? [] : Array(pending[(pendingOffset + 5)..<(pendingOffset + 5 + len)])
                    pendingOffset += 5 + len
                    records += 1
                    guard let recordType = BundleFormat.RecordType(rawValue: type) else { malformedRecords += 1; return nil }
                    switch recordType {
                    case .header:
                        // Only as the stream's first record: a second header could override the signed one.
                        guard records == 1, damagedChunks == 0 else { malformedRecords += 1; return nil }
                        do { header = try BundleFormat.openHeader(body, preamble: preamble) } catch {
                            if error == .bundleBadSignature { throw .bundle(.bundleBadSignature) }
                            malformedRecords += 1
                        }
                        return nil
                    case .evidenceChunk, .evidenceHeld:
                        guard pass == .evidence else { return nil }
                        if recordType == .evidenceChunk { chunksRead += 1; evidence.append(.chunk(body)) } else { evidence.append(.held(body)) }
                        return nil
                    case .op, .compactOp:
                        guard pass == .ops else { opsRead += 1; return nil }
                        let env: Envelope?
                        if recordType == .op {
                            env = try? Envelope(decoding: body)
                        } else if let last = lastOp {
                            env = try? BundleFormat.expandCompact(body, after: last)
                        } else {
                            env = nil  // no op record before it since the last resynchronisation
                        }
                        lastOp = env
                        guard let env else { malformedRecords += 1; return nil }
                        opsRead += 1
                        return env
                    case .end:
                        var r = ByteReader(body)
                        declaredOps = try? r.varint()
                        // Everything after the end record is padding.
                        while !sawFinal && loadChunk() {}
                        atEOF = true
                        if !sawFinal { truncated = true }
                        return nil
                    }
                }
            }
            if atEOF || !loadChunk() {
                if pending.count - pendingOffset > 0 && !sawFinal { truncated = true }
                atEOF = true
                return nil
            }
        }
    }
}
