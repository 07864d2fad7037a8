import SandyqCrypto

/// The signed, immutable wrapper of one operation. Byte layout: Protocol/ops.md.
public struct Envelope: Hashable, Sendable {
    public static let version: UInt8 = 1
    public static let headerLength = 1 + 1 + ProjectID.length + SigningPublicKey.length + 8 + OpID.length
    public static let maxBodyLength = 1 << 20

    public enum Kind: UInt8, Sendable {
        /// A body sealed to its readers (case data, project info).
        case sealed = 1
        /// A membership body every member (relays included) must read to enforce who may write.
        case membership = 2
    }

    public let kind: Kind
    public let project: ProjectID
    public let author: SigningPublicKey
    public let seq: UInt64
    public let prev: OpID
    public let body: [UInt8]
    public let signature: Signature
    /// The exact bytes received or produced; the id and signature are over these.
    public let encoded: [UInt8]
    public let id: OpID

    /// The header bytes: the AEAD's associated data, so a body cannot move to another envelope.
    public var header: [UInt8] { Array(encoded[0..<Self.headerLength]) }

    public static func header(kind: Kind, project: ProjectID, author: SigningPublicKey, seq: UInt64, prev: OpID) -> [UInt8] {
        var w = ByteWriter(capacity: headerLength)
        w.u8(version); w.u8(kind.rawValue)
        w.raw(project.bytes); w.raw(author.bytes); w.u64(seq); w.raw(prev.bytes)
        return w.bytes
    }

    /// Builds and signs an envelope. `body` for sealed ops must already be sealed with `header(...)` as AD.
    public static func sign(kind: Kind, project: ProjectID, seq: UInt64, prev: OpID, body: [UInt8], with key: SigningKeyPair) -> Envelope {
        precondition(seq >= 1 && body.count <= maxBodyLength)
        var w = ByteWriter(capacity: headerLength + 4 + body.count + Signature.length)
        w.raw(header(kind: kind, project: project, author: key.publicKey, seq: seq, prev: prev))
        w.u32(UInt32(body.count)); w.raw(body)
        let sig = key.sign(w.bytes)
        w.raw(sig.bytes)
        // Our own fresh bytes always decode; a failure here is a programming error.
        guard let env = try? Envelope(decoding: w.bytes) else { preconditionFailure("self-made envelope failed to decode") }
        return env
    }

    /// Parses the layout only; `verifySignature()` checks authorship.
    public init(decoding bytes: [UInt8]) throws(CoreError) {
        do {
            var r = ByteReader(bytes)
            let v = try r.u8()
            guard v == Self.version else { throw CoreError.unsupportedVersion(v) }
            guard let k = Kind(rawValue: try r.u8()) else { throw CoreError.malformed("unknown op kind") }
            kind = k
            project = try ProjectID(bytes: try r.raw(ProjectID.length))
            author = try SigningPublicKey(bytes: try r.raw(SigningPublicKey.length))
            seq = try r.u64()
            guard seq >= 1 else { throw CoreError.malformed("seq must start at 1") }
            // Stores keep seq in a signed 64-bit column; no honest chain gets near 2^62.
            guard seq < 1 << 62 else { throw CoreError.malformed("seq out of range") }
            prev = try OpID(bytes: try r.raw(OpID.length))
            if seq == 1 && prev != .zero { throw CoreError.malformed("first op must have a zero prev") }
            let n = try r.u32()
            guard n <= Self.maxBodyLength else { throw CoreError.malformed("body of \(n) bytes exceeds the 1 MiB limit") }
            body = try r.raw(Int(n))
            signature = try Signature(bytes: try r.raw(Signature.length))
            try r.expectEnd()
        } catch CoreError.decodeTruncated {
            throw .truncated
        } catch let CoreError.decodeMalformed(why) {
            throw .malformed(why)
        } catch let e as CoreError {
            throw e
        } catch {
            throw CoreError.malformed("\(error)")
        }
        encoded = bytes
        id = OpID(unchecked: Hash.blake2b(bytes, length: OpID.length))
    }

    public func verifySignature() throws(CoreError) {
        let signed = Array(encoded[0..<(encoded.count - Signature.length)])
        do { try author.verify(signature, for: signed) } catch { throw CoreError.badSignature }
    }
}
