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
    public init(decoding bytes: [UInt8]) throws(OpError) {
        do {
            var r = ByteReader(bytes)
            let v = try r.u8()
            guard v == Self.version else { throw OpError.unsupportedVersion(v) }
            guard let k = Kind(rawValue: try r.u8()) else { throw OpError.malformed("unknown op kind") }
            kind = k
            project = try ProjectID(bytes: try r.raw(ProjectID.length))
            author = try SigningPublicKey(bytes: try r.raw(SigningPublicKey.length))
            seq = try r.u64()
            guard seq >= 1 else { throw OpError.malformed("seq must start at 1") }
            // Stores keep seq in a signed 64-bit column; no honest chain gets near 2^62.
            guard seq < 1 << 62 else { throw OpError.malformed("seq out of range") }
            prev = try OpID(bytes: try r.raw(OpID.length))
            if seq == 1 && prev != .zero { throw OpError.malformed("first op must have a zero prev") }
            let n = try r.u32()
            guard n <= Self.maxBodyLength else { throw OpError.malformed("body of \(n) bytes exceeds the 1 MiB limit") }
            body = try r.raw(Int(n))
            signature = try Signature(bytes: try r.raw(Signature.length))
            try r.expectEnd()
        } catch let e as OpError {
            throw e
        } catch DecodeError.truncated {
            throw OpError.truncated
        } catch let DecodeError.malformed(why) {
            throw OpError.malformed(why)
        } catch {
            throw OpError.malformed("\(error)")
        }
        encoded = bytes
        id = OpID(unchecked: Hash.blake2b(bytes, length: OpID.length))
    }

    public func verifySignature() throws(OpError) {
        let signed = Array(encoded[0..<(encoded.count - Signature.length)])
        do { try author.verify(signature, for: signed) } catch { throw OpError.badSignature }
    }
}

/// Why an op was refused. The cases match Protocol/'s closed list of failure classes.
public enum OpError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case malformed(String)
    case unsupportedVersion(UInt8)
    case badSignature
    case wrongProject
    case brokenChain
    case notMember
    case notAllowed(String)
    case revoked

    public var code: String {
        switch self {
        case .truncated: "truncated"
        case .malformed: "malformed"
        case .unsupportedVersion: "unsupported_version"
        case .badSignature: "bad_signature"
        case .wrongProject: "wrong_project"
        case .brokenChain: "broken_chain"
        case .notMember: "not_member"
        case .notAllowed: "not_allowed"
        case .revoked: "revoked"
        }
    }

    public var description: String {
        switch self {
        case .truncated: "op is truncated"
        case let .malformed(why): "op is malformed: \(why)"
        case let .unsupportedVersion(v): "op format version \(v) is not supported by this build; upgrade sandyq"
        case .badSignature: "op signature does not verify"
        case .wrongProject: "op belongs to another project"
        case .brokenChain: "op does not link to its author's previous op"
        case .notMember: "op author is not a member of this project"
        case let .notAllowed(why): "op not allowed: \(why)"
        case .revoked: "op author's key was revoked before this op"
        }
    }
}
