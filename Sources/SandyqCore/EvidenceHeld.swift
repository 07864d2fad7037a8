import SandyqCrypto

/// A node's signed word that it holds whole files: what lets a reporter drop its copy and a
/// dossier name the nodes that hold each file. Layout and reasons: Protocol/evidence.md,
/// "Holding statements".
/// `01 ‖ project 16 ‖ holder 32 ‖ u64 created ‖ varint k ‖ k × (fid 16 ‖ u32 count ‖ flags u8) ‖ signature 64`
public struct EvidenceHeld: Sendable, Equatable {
    public static let version: UInt8 = 1
    public static let context = Array("sandyq-evidence-held".utf8)
    public static let maxFiles = 65_536
    /// Flag bit 0: the holder opened every chunk and the file's SHA-256 is its record's.
    public static let verifiedFlag: UInt8 = 1

    public struct File: Sendable, Equatable {
        public let fileID: [UInt8]
        public let count: UInt32
        public let verified: Bool
        public init(fileID: [UInt8], count: UInt32, verified: Bool) {
            self.fileID = fileID
            self.count = count
            self.verified = verified
        }
    }

    public let project: ProjectID
    public let holder: SigningPublicKey
    public let createdMillis: UInt64
    public let files: [File]
    public let signature: Signature

    /// The signed bytes: everything before the signature.
    static func fields(project: ProjectID, holder: SigningPublicKey, created: UInt64, files: [File]) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + files.count * 21)
        w.u8(version)
        w.raw(project.bytes)
        w.raw(holder.bytes)
        w.u64(created)
        w.varint(UInt64(files.count))
        for f in files {
            w.raw(f.fileID)
            w.u32(f.count)
            w.u8(f.verified ? verifiedFlag : 0)
        }
        return w.bytes
    }

    /// Signs a statement; files are sorted by id, and each id appears once.
    public static func sign(project: ProjectID, files: [File], createdMillis: UInt64, by key: SigningKeyPair) -> EvidenceHeld {
        var seen = Set<[UInt8]>()
        let sorted = files.filter { seen.insert($0.fileID).inserted }.sorted { $0.fileID.lexicographicallyPrecedes($1.fileID) }
        precondition(sorted.count <= maxFiles && sorted.allSatisfy { $0.fileID.count == EvidenceChunk.fileIDLength && $0.count > 0 })
        let f = fields(project: project, holder: key.publicKey, created: createdMillis, files: sorted)
        return EvidenceHeld(project: project, holder: key.publicKey, createdMillis: createdMillis, files: sorted,
                            signature: key.sign(context + f))
    }

    public func encoded() -> [UInt8] {
        Self.fields(project: project, holder: holder, created: createdMillis, files: files) + signature.bytes
    }

    /// Reads and verifies one statement. Refuses an unknown version, more than `maxFiles`
    /// entries (before reading them), ids out of order or repeated, count 0, flag bits other
    /// than bit 0, trailing bytes, and a signature that is not the holder's.
    public static func decode(_ bytes: [UInt8]) throws(CoreError) -> EvidenceHeld {
        var r = ByteReader(bytes)
        do {
            let v = try r.u8()
            guard v == version else { throw CoreError.unsupportedVersion(v) }
            let project = try ProjectID(bytes: try r.raw(ProjectID.length))
            let holder = try SigningPublicKey(bytes: try r.raw(SigningPublicKey.length))
            let created = try r.u64()
            let k = try r.varint()
            guard k <= UInt64(maxFiles) else { throw CoreError.decodeMalformed("holding statement: \(k) files, more than \(maxFiles)") }
            var files: [File] = []
            for _ in 0..<k {
                let fid = try r.raw(EvidenceChunk.fileIDLength)
                let count = try r.u32()
                let flags = try r.u8()
                guard count > 0 else { throw CoreError.decodeMalformed("holding statement: count 0") }
                guard flags & ~verifiedFlag == 0 else { throw CoreError.decodeMalformed("holding statement: unknown flags \(flags)") }
                if let last = files.last, !last.fileID.lexicographicallyPrecedes(fid) {
                    throw CoreError.decodeMalformed("holding statement: file ids out of order or repeated")
                }
                files.append(File(fileID: fid, count: count, verified: flags & verifiedFlag != 0))
            }
            let signed = bytes.count - r.remaining
            let sig = try Signature(bytes: try r.raw(Signature.length))
            guard r.isAtEnd else { throw CoreError.decodeMalformed("holding statement: \(r.remaining) trailing bytes") }
            guard holder.isValidSignature(sig, for: context + Array(bytes[..<signed])) else { throw CoreError.badSignature }
            return EvidenceHeld(project: project, holder: holder, createdMillis: created, files: files, signature: sig)
        } catch let e as CoreError {
            throw e
        } catch {
            throw .decodeTruncated
        }
    }
}
