import SandyqCrypto

/// The bundle file format (Protocol/bundles.md), without I/O: a preamble that seals a
/// random file key to each recipient, then fixed-size chunks, each sealed on its own.
/// Chunks carry a stream of records that may span chunks; each chunk says where its
/// first record starts, so a damaged chunk loses only the records that touch it.
public enum BundleFormat {
    public static let magic = Array("SANDYQB".utf8)
    /// What a writer writes. 3: op records may be compact (record type 6). 2: the header record
    /// is signed by its sender; still read. 1 (unsigned) is refused: see `obsoleteVersion`.
    public static let version: UInt8 = 3
    /// The versions a reader opens.
    public static let readable: ClosedRange<UInt8> = 2...3
    /// Prefix of what a sender signs, so a header signature can never pass for an op's or a handshake's.
    public static let headerSignatureContext = Array("sandyq-bundle-header".utf8)
    /// Ciphertext size of every chunk: the file length says only how many chunks there are.
    public static let chunkSize = 64 * 1024
    public static let chunkPlaintext = chunkSize - AEAD.tagLength
    /// flags u8, first-record offset u32, used length u32.
    public static let chunkHeader = 9
    public static let chunkCapacity = chunkPlaintext - chunkHeader
    public static let noRecordStart: UInt32 = 0xFFFF_FFFF
    /// Recipient entries come in groups of this many (random filler), hiding the exact count.
    public static let entryGroup = 4
    public static let entryLength = SymmetricKey.length + SealedBox.overhead
    public static let noncePrefixLength = 16
    public static let maxEntries = 1024

    public enum RecordType: UInt8, Sendable {
        case header = 1
        case op = 2
        case end = 3
        /// A sealed evidence chunk (evidence.md), after the ops.
        case evidenceChunk = 4
        /// A signed holding statement (evidence.md, "Holding statements").
        case evidenceHeld = 5
        /// Version 3: an op whose project, author, seq and prev the reader takes from the op record
        /// before it (the same project and author, the next seq, prev its id): kind ‖ body ‖ signature.
        case compactOp = 6
    }

    /// What a compact op record elides: the envelope's fixed header and its length.
    public static let compactSaving = Envelope.headerLength + 4 - 1

    /// The body of a compact op record for `envelope`, an encoded op whose author, seq and prev
    /// follow the op before it: its kind, then everything after the length.
    public static func compactBody(_ envelope: UnsafeRawBufferPointer) -> (kind: UInt8, rest: UnsafeRawBufferPointer) {
        (envelope[1], UnsafeRawBufferPointer(rebasing: envelope[(Envelope.headerLength + 4)...]))
    }

    /// The op a compact record stands for, given the op record read before it.
    public static func expandCompact(_ body: [UInt8], after last: Envelope) throws(CoreError) -> Envelope {
        guard body.count > Signature.length else { throw .bundleMalformed("compact op record") }
        var w = ByteWriter(capacity: body.count + compactSaving)
        w.u8(Envelope.version); w.u8(body[0]); w.raw(last.project.bytes); w.raw(last.author.bytes)
        w.u64(last.seq &+ 1); w.raw(last.id.bytes); w.u32(UInt32(body.count - 1 - Signature.length))
        w.raw(Array(body[1...]))
        return try Envelope(decoding: w.bytes)
    }

    /// The encrypted part's first record: who sent it, for which project, and what they held.
    public struct Header: Sendable, Equatable {
        public var project: ProjectID
        public var sender: NodeID
        public var senderVector: VersionVector
        public var bundleID: BundleID
        public var part: UInt32
        public var createdMillis: UInt64
        /// Ids of bundles the sender imported lately, so their writers can delete them.
        public var imported: [BundleID]
        /// The file's version, which the header repeats (and signs).
        public var version: UInt8

        public init(project: ProjectID, sender: NodeID, senderVector: VersionVector, bundleID: BundleID, part: UInt32,
                    createdMillis: UInt64, imported: [BundleID] = [], version: UInt8 = BundleFormat.version) {
            self.project = project; self.sender = sender; self.senderVector = senderVector
            self.bundleID = bundleID; self.part = part; self.createdMillis = createdMillis; self.imported = imported
            self.version = version
        }

        /// The header's fields without the signature: what the sender signs, after the preamble's hash.
        public func encoded() -> [UInt8] {
            var w = ByteWriter()
            w.u8(version)
            w.raw(project.bytes); w.raw(sender.signingKey.bytes); w.raw(sender.boxKey.bytes)
            w.blob(senderVector.encoded()); w.raw(bundleID.bytes); w.u32(part); w.u64(createdMillis)
            w.varint(UInt64(imported.count)); for i in imported { w.raw(i.bytes) }
            return w.bytes
        }

        /// Decodes the fields alone (no signature); `openHeader` decodes and verifies a record.
        public init(decoding b: [UInt8]) throws(CoreError) {
            do {
                var r = ByteReader(b)
                let v = try r.u8()
                guard BundleFormat.readable.contains(v) else { throw CoreError.bundleMalformed("bundle header record version") }
                version = v
                project = try ProjectID(bytes: try r.raw(16))
                sender = NodeID(signingKey: try .init(bytes: try r.raw(32)), boxKey: try .init(bytes: try r.raw(32)))
                senderVector = try VersionVector(decoding: try r.blob(max: 1 << 24))
                func id() throws -> BundleID {
                    guard let id = BundleID(bytes: try r.raw(BundleID.length)) else { throw CoreError.bundleMalformed("bundle header record") }
                    return id
                }
                bundleID = try id(); part = try r.u32(); createdMillis = try r.u64()
                let n = try r.varint()
                guard n <= 4096 else { throw CoreError.bundleMalformed("bundle header record") }
                imported = try (0..<Int(n)).map { _ in try id() }
                try r.expectEnd()
            } catch let CoreError.bundleMalformed(why) { throw .bundleMalformed(why) } catch { throw .bundleMalformed("bundle header record") }
        }
    }

    /// What the sender signs: the context, the hash of the whole preamble (so the signature binds
    /// this file's entries and nonce prefix, and a header cannot be moved into another file), the fields.
    public static func headerMessage(preamble: [UInt8], fields: [UInt8]) -> [UInt8] {
        headerSignatureContext + Hash.blake2b(preamble, length: 32) + fields
    }

    /// The header record's body: the fields, then the sender's Ed25519 signature.
    public static func signedHeader(_ h: Header, preamble: [UInt8], signer: SigningKeyPair) -> [UInt8] {
        let fields = h.encoded()
        return fields + signer.sign(headerMessage(preamble: preamble, fields: fields)).bytes
    }

    /// Decodes a header record body and checks that the sender it names signed it over `preamble`.
    /// `bundleMalformed` when it does not decode; `bundleBadSignature` when the signature does not verify.
    public static func openHeader(_ body: [UInt8], preamble: [UInt8]) throws(CoreError) -> Header {
        guard body.count > Signature.length else { throw .bundleMalformed("bundle header record") }
        let fields = Array(body.dropLast(Signature.length))
        let h = try Header(decoding: fields)
        // The header repeats the file's version: a version-2 header in a version-3 file is not this file's.
        guard preamble.count > magic.count, h.version == preamble[magic.count] else { throw .bundleMalformed("bundle header record version") }
        guard let sig = try? Signature(bytes: Array(body.suffix(Signature.length))),
              h.sender.signingKey.isValidSignature(sig, for: headerMessage(preamble: preamble, fields: fields)) else {
            throw .bundleBadSignature
        }
        return h
    }

    /// The cleartext start of the file: magic, version, the sealed file key for each recipient, the nonce prefix.
    public static func preamble(fileKey: SymmetricKey, recipients: [BoxPublicKey], noncePrefix: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.raw(magic); w.u8(version)
        let padded = paddedEntryCount(recipients.count)
        w.u16(UInt16(padded))
        // Shuffled, so the entry's position says nothing about who it is for.
        var entries = recipients.filter(\.opensSealedBoxes).map { $0.seal(fileKey.secret) }
        // Filler is a sealed box too: 80 random bytes would show a set top bit in byte 31, which no X25519 key has.
        while entries.count < padded { entries.append(BoxKeyPair().publicKey.seal(Random.bytes(SymmetricKey.length))) }
        var rng = SodiumRNG()
        entries.shuffle(using: &rng)
        for e in entries { w.raw(e) }
        w.raw(noncePrefix)
        return w.bytes
    }

    public struct Preamble: Sendable {
        public let version: UInt8
        public let entries: [[UInt8]]
        public let noncePrefix: [UInt8]
        public let length: Int
    }

    /// Parses the preamble from the first bytes of a file.
    public static func parsePreamble(_ b: [UInt8]) throws(CoreError) -> Preamble {
        guard b.count >= magic.count + 3 else { throw b.isEmpty ? .empty : .notABundle }
        guard Array(b[0..<magic.count]) == magic else { throw .notABundle }
        guard readable.contains(b[magic.count]) else { throw b[magic.count] == 1 ? .obsoleteVersion : .bundleUnsupportedVersion }
        let n = Int(b[magic.count + 1]) << 8 | Int(b[magic.count + 2])
        guard n >= 1, n <= maxEntries, n % entryGroup == 0 else { throw .bundleMalformed("recipient entry count") }
        let start = magic.count + 3
        let length = start + n * entryLength + noncePrefixLength
        guard b.count >= length else { throw .bundleTruncated }
        let entries = (0..<n).map { Array(b[(start + $0 * entryLength)..<(start + ($0 + 1) * entryLength)]) }
        return Preamble(version: b[magic.count], entries: entries, noncePrefix: Array(b[(length - noncePrefixLength)..<length]), length: length)
    }

    /// Bytes of preamble for `n` recipients, so readers know how much to read first.
    public static func preambleLength(entries n: Int) -> Int { magic.count + 3 + n * entryLength + noncePrefixLength }

    public static func openFileKey(_ p: Preamble, with keys: BoxKeyPair) -> SymmetricKey? {
        for e in p.entries {
            if let k = try? keys.openSecret(e), let key = try? SymmetricKey(k) { return key }
        }
        return nil
    }

    static func nonce(prefix: [UInt8], index: UInt64) -> [UInt8] {
        var n = prefix
        for s in stride(from: 56, through: 0, by: -8) { n.append(UInt8((index >> UInt64(s)) & 0xff)) }
        return n
    }

    /// Seals one chunk. `content` is at most `chunkCapacity` bytes; the rest is zero padding.
    public static func sealChunk(index: UInt64, final: Bool, firstRecord: UInt32, content: [UInt8],
                                 key: SymmetricKey, noncePrefix: [UInt8]) throws(CoreError) -> [UInt8] {
        guard content.count <= chunkCapacity else { throw .bundleMalformed("chunk content of \(content.count) bytes over \(chunkCapacity)") }
        var plain = [UInt8](repeating: 0, count: chunkPlaintext)
        plain.replaceSubrange(chunkHeader..<(chunkHeader + content.count), with: content)
        return sealChunk(index: index, final: final, firstRecord: firstRecord, plain: &plain, used: content.count, key: key, noncePrefix: noncePrefix)
    }

    /// Seals one chunk whose `plain` (`chunkPlaintext` bytes) already holds `used` bytes of
    /// content after the chunk header: fills the header, zeroes the padding, seals. A writer
    /// keeps one such buffer and copies records straight into it.
    public static func sealChunk(index: UInt64, final: Bool, firstRecord: UInt32, plain: inout [UInt8], used: Int,
                                 key: SymmetricKey, noncePrefix: [UInt8]) -> [UInt8] {
        precondition(plain.count == chunkPlaintext && used >= 0 && used <= chunkCapacity)
        plain.withUnsafeMutableBytes { b in
            b[0] = final ? 1 : 0
            for i in 0..<4 { b[1 + i] = UInt8(truncatingIfNeeded: firstRecord >> (24 - 8 * UInt32(i))) }
            for i in 0..<4 { b[5 + i] = UInt8(truncatingIfNeeded: UInt32(used) >> (24 - 8 * UInt32(i))) }
            let pad = UnsafeMutableRawBufferPointer(rebasing: b[(chunkHeader + used)...])
            pad.initializeMemory(as: UInt8.self, repeating: 0)
        }
        // The final flag is also associated data: a truncated file cannot pass its last chunk off as final.
        return AEAD.seal(plain, key: key, nonce: nonce(prefix: noncePrefix, index: index), associatedData: [final ? 1 : 0])
    }

    public struct Chunk: Sendable {
        public let final: Bool
        public let firstRecord: UInt32
        public let content: [UInt8]
    }

    /// Opens one chunk; nil when it does not authenticate (damaged, or out of place).
    public static func openChunk(_ c: [UInt8], index: UInt64, key: SymmetricKey, noncePrefix: [UInt8]) -> Chunk? {
        guard c.count == chunkSize else { return nil }
        let n = nonce(prefix: noncePrefix, index: index)
        for final in [false, true] {
            if let p = try? AEAD.open(c, key: key, nonce: n, associatedData: [final ? 1 : 0]) {
                var r = ByteReader(p)
                guard let flags = try? r.u8(), (flags & 1 == 1) == final, let first = try? r.u32(), let used = try? r.u32(),
                      used <= UInt32(chunkCapacity), let content = try? r.raw(Int(used)) else { return nil }
                return Chunk(final: final, firstRecord: first, content: content)
            }
        }
        return nil
    }

    /// Chunks a file of `n` chunks is padded to: powers of two up to 16, then steps of an
    /// eighth of the power of two below, so padding costs at most 12.5% and sizes fall in few buckets.
    public static func paddedChunkCount(_ n: Int) -> Int {
        if n <= 16 {
            var p = 1
            while p < n { p <<= 1 }
            return p
        }
        var p = 16
        while p * 2 < n { p <<= 1 }
        let step = p / 8
        return (n + step - 1) / step * step
    }

    /// Recipient entries a preamble holds for `recipients`: rounded up to a whole `entryGroup`.
    public static func paddedEntryCount(_ recipients: Int) -> Int {
        (recipients + entryGroup - 1) / entryGroup * entryGroup
    }

    /// Type and length before every record's body.
    public static let recordHeader = 5
    /// The end record at its largest: a varint op count takes at most 10 bytes.
    public static let maxEndRecord = recordHeader + 10

    /// How much one part of a split export may hold (Protocol/bundles.md, "Split parts").
    public struct PartBudget: Sendable, Equatable {
        /// The most chunks a part may fill: the largest `d` whose padded file fits in the size limit (at least 1).
        public let chunks: Int
        /// Record-stream bytes (header, op and end records) a part may hold so that it fills at
        /// most `chunks` chunks. One less than `chunks` full chunks: a stream that fills its last
        /// chunk exactly is followed by an empty final chunk.
        public let streamBytes: Int

        public init(maxSize: Int, recipients: Int) {
            let preamble = BundleFormat.preambleLength(entries: BundleFormat.paddedEntryCount(recipients))
            var d = max(1, (maxSize - preamble) / BundleFormat.chunkSize)
            while d > 1 && BundleFormat.paddedChunkCount(d) * BundleFormat.chunkSize + preamble > maxSize { d -= 1 }
            chunks = d
            streamBytes = d * BundleFormat.chunkCapacity - 1
        }

        /// Whether an op record for an envelope of `opLength` bytes, and then the end record,
        /// still fit after `used` bytes of record stream.
        public func fits(opLength: Int, after used: Int) -> Bool {
            used + BundleFormat.recordHeader + opLength + BundleFormat.maxEndRecord <= streamBytes
        }
    }

    /// A record: type u8, length u32, body.
    public static func record(_ type: RecordType, _ body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: body.count + 5)
        w.u8(type.rawValue); w.u32(UInt32(body.count)); w.raw(body)
        return w.bytes
    }

    public static let maxRecord = Envelope.maxBodyLength + 4096
}

/// A RandomNumberGenerator over libsodium, for shuffles whose order must not leak.
public struct SodiumRNG: RandomNumberGenerator, Sendable {
    public init() {}
    public mutating func next() -> UInt64 { Random.uint64() }
}
