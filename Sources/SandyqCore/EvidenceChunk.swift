import SandyqCrypto

/// One sealed piece of an evidence file. Layout and reasons: Protocol/evidence.md.
/// `version ‖ project 16 ‖ fid 16 ‖ u32 index ‖ u32 count ‖ nonce 24 ‖ u32 n ‖ ciphertext n`
public struct EvidenceChunk: Sendable, Equatable {
    public static let version: UInt8 = 1
    public static let fileIDLength = 16
    /// Plaintext bytes per chunk; the last chunk of a file holds 1 ... this many.
    public static let plainSize = 1 << 20
    public static let maxCiphertext = plainSize + AEAD.tagLength
    /// The most chunks a record may name that a node acts on (4 TiB): a count from a peer's
    /// record sizes loops and want lists, so a forged one must not reach them.
    public static let maxCount = 1 << 22
    /// version ‖ project ‖ fid ‖ index ‖ count: the associated data.
    public static let headerLength = 1 + 16 + fileIDLength + 4 + 4
    public static let overhead = headerLength + AEAD.nonceLength + 4

    public let project: [UInt8]
    public let fileID: [UInt8]
    public let index: UInt32
    public let count: UInt32
    public let nonce: [UInt8]
    public let ciphertext: [UInt8]

    /// How many chunks a file of `size` bytes is cut into.
    public static func chunkCount(size: Int) -> Int { (size + plainSize - 1) / plainSize }

    static func header(project: [UInt8], fileID: [UInt8], index: UInt32, count: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: headerLength)
        w.u8(version)
        w.raw(project)
        w.raw(fileID)
        w.u32(index)
        w.u32(count)
        return w.bytes
    }

    /// The bytes this chunk is bound to: a chunk moved to another project, file, position or
    /// a shortened count does not open.
    public var associatedData: [UInt8] { Self.header(project: project, fileID: fileID, index: index, count: count) }

    public init(project: [UInt8], fileID: [UInt8], index: UInt32, count: UInt32, nonce: [UInt8], ciphertext: [UInt8]) {
        self.project = project
        self.fileID = fileID
        self.index = index
        self.count = count
        self.nonce = nonce
        self.ciphertext = ciphertext
    }

    /// Seals plaintext piece `index` of `count` under the file key.
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, project: ProjectID, fileID: [UInt8], index: UInt32, count: UInt32,
                            nonce: [UInt8] = AEAD.randomNonce()) -> EvidenceChunk {
        precondition(fileID.count == fileIDLength && index < count && !plaintext.isEmpty && plaintext.count <= plainSize)
        let ad = header(project: project.bytes, fileID: fileID, index: index, count: count)
        return EvidenceChunk(project: project.bytes, fileID: fileID, index: index, count: count, nonce: nonce,
                             ciphertext: AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: ad))
    }

    /// The plaintext, or `authenticationFailed` for a wrong key or any changed, swapped or moved byte.
    public func open(key: SymmetricKey) throws(CryptoError) -> [UInt8] {
        do { return try AEAD.open(ciphertext, key: key, nonce: nonce, associatedData: associatedData) }
        catch { throw .authenticationFailed }
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.overhead + ciphertext.count)
        w.raw(associatedData)
        w.raw(nonce)
        w.u32(UInt32(ciphertext.count))
        w.raw(ciphertext)
        return w.bytes
    }

    /// Reads one chunk; refuses an unknown version, count 0, index ≥ count, a length over the
    /// limit (before reading the ciphertext) and trailing bytes.
    public static func decode(_ bytes: [UInt8]) throws(CoreError) -> EvidenceChunk {
        var r = ByteReader(bytes)
        do {
            let v = try r.u8()
            guard v == version else { throw CoreError.unsupportedVersion(v) }
            let project = try r.raw(16), fid = try r.raw(fileIDLength)
            let index = try r.u32(), count = try r.u32()
            guard count > 0 else { throw CoreError.decodeMalformed("evidence chunk: count 0") }
            guard index < count else { throw CoreError.decodeMalformed("evidence chunk: index \(index) not below count \(count)") }
            let nonce = try r.raw(AEAD.nonceLength)
            let n = Int(try r.u32())
            guard n >= AEAD.tagLength + 1, n <= maxCiphertext else {
                throw CoreError.decodeMalformed("evidence chunk: ciphertext length \(n) outside \(AEAD.tagLength + 1)...\(maxCiphertext)")
            }
            let ct = try r.raw(n)
            guard r.isAtEnd else { throw CoreError.decodeMalformed("evidence chunk: \(r.remaining) trailing bytes") }
            return EvidenceChunk(project: project, fileID: fid, index: index, count: count, nonce: nonce, ciphertext: ct)
        } catch let e as CoreError {
            throw e
        } catch {
            throw .decodeTruncated
        }
    }
}
