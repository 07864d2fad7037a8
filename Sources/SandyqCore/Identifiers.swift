import SandyqCrypto

/// A project: 16 random bytes chosen by its founder, carried in every op header.
public struct ProjectID: Hashable, Sendable, CustomStringConvertible {
    public static let length = 16
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else { throw CoreError.decodeMalformed("project id must be 16 bytes") }
        self.bytes = bytes
    }

    public static func random() -> ProjectID { ProjectID(unchecked: Random.bytes(length)) }
    init(unchecked: [UInt8]) { bytes = unchecked }

    public func hash(into h: inout Hasher) { h.combineWords(bytes) }
    public static func == (a: Self, b: Self) -> Bool { a.bytes == b.bytes }

    /// Printed as `sqp-` + base32; parsed back by `init(string:)`.
    public var description: String { "sqp-" + Base32.encode(bytes) }

    public init?(string: String) {
        guard string.hasPrefix("sqp-"), let b = Base32.decode(String(string.dropFirst(4))), b.count == Self.length,
              Base32.encode(b) == string.dropFirst(4).lowercased() else { return nil }
        bytes = b
    }
}

/// The BLAKE2b-256 hash of an op's whole envelope.
public struct OpID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let length = 32
    public static let zero = OpID(unchecked: [UInt8](repeating: 0, count: length))
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else { throw CoreError.decodeMalformed("op id must be 32 bytes") }
        self.bytes = bytes
    }

    init(unchecked: [UInt8]) { bytes = unchecked }

    public func hash(into h: inout Hasher) { h.combineWords(bytes) }
    public static func == (a: Self, b: Self) -> Bool { a.bytes == b.bytes }

    public static func < (a: OpID, b: OpID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
    public var description: String { Hex.encode(bytes) }
    public var short: String { String(description.prefix(12)) }
}

/// A case: 16 random bytes, never in the clear outside sealed bodies.
public struct CaseID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let length = 16
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else { throw CoreError.decodeMalformed("case id must be 16 bytes") }
        self.bytes = bytes
    }

    public func hash(into h: inout Hasher) { h.combineWords(bytes) }
    public static func == (a: Self, b: Self) -> Bool { a.bytes == b.bytes }

    public static func random() -> CaseID { CaseID(unchecked: Random.bytes(length)) }
    init(unchecked: [UInt8]) { bytes = unchecked }

    public static func < (a: CaseID, b: CaseID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
    public var description: String { Hex.encode(bytes) }
    /// Enough to name a case in a command; commands accept any unique prefix.
    public var short: String { String(description.prefix(8)) }
}

/// A sealing session, named across the project: its author's signing key and the 8 random
/// bytes the author chose. Stored (key cache, snapshot, grants) as author key ‖ those bytes.
public struct SessionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let length = SigningPublicKey.length + SealingSession.idLength
    public let author: SigningPublicKey
    /// The id the author's sealed bodies carry, unique only within that author's ops.
    public let local: [UInt8]

    public init(bytes: [UInt8]) throws(CoreError) {
        guard bytes.count == Self.length, let a = try? SigningPublicKey(bytes: Array(bytes[0..<SigningPublicKey.length])) else {
            throw .decodeMalformed("session id must be \(Self.length) bytes")
        }
        self.init(author: a, unchecked: Array(bytes[SigningPublicKey.length...]))
    }

    public init(author: SigningPublicKey, local: [UInt8]) throws(CoreError) {
        guard local.count == SealingSession.idLength else { throw .decodeMalformed("a session's own id must be 8 bytes") }
        self.init(author: author, unchecked: local)
    }

    /// The session `author` seals with.
    public init(author: SigningPublicKey, session: SealingSession) { self.init(author: author, unchecked: session.id) }

    /// The session of a body `author` sealed (decoding checked its length).
    public init(author: SigningPublicKey, body: SealedBody) { self.init(author: author, unchecked: body.sessionID) }

    init(author: SigningPublicKey, unchecked local: [UInt8]) {
        self.author = author
        self.local = local
    }

    public var bytes: [UInt8] { author.bytes + local }

    public func hash(into h: inout Hasher) { h.combineWords(author.bytes); h.combineWords(local) }
    public static func == (a: Self, b: Self) -> Bool { a.local == b.local && a.author == b.author }

    /// The order of `bytes`: the author is fixed-length, so comparing parts compares the whole.
    public static func < (a: Self, b: Self) -> Bool {
        a.author != b.author ? a.author < b.author : a.local.lexicographicallyPrecedes(b.local)
    }
    public var description: String { Hex.encode(bytes) }
}

/// What a member may do. Enforced on every op by every node.
public enum Role: String, Sendable, CaseIterable, Codable, Comparable {
    case coordinator, reporter, lawyer, relay

    /// The byte that stands for the role in membership bodies and invitations.
    public var code: UInt8 {
        switch self { case .coordinator: 1; case .reporter: 2; case .lawyer: 3; case .relay: 4 }
    }

    public init?(code: UInt8) {
        switch code { case 1: self = .coordinator; case 2: self = .reporter; case 3: self = .lawyer; case 4: self = .relay; default: return nil }
    }

    public var canWrite: Bool { self == .coordinator || self == .reporter }
    public var managesMembership: Bool { self == .coordinator }

    public static func < (a: Role, b: Role) -> Bool { a.code < b.code }
}

/// A node's public identity: its signing key and its box key in one printable string,
/// `sqn-` + base32(signing key ‖ box key ‖ first 4 bytes of BLAKE2b of both), so a mistyped id is caught.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let signingKey: SigningPublicKey
    public let boxKey: BoxPublicKey

    public init(signingKey: SigningPublicKey, boxKey: BoxPublicKey) {
        self.signingKey = signingKey
        self.boxKey = boxKey
    }

    public var description: String {
        let body = signingKey.bytes + boxKey.bytes
        return "sqn-" + Base32.encode(body + Hash.blake2b(body, length: 16).prefix(4))
    }

    /// A short fingerprint for people to compare and for logs.
    public var fingerprint: String { NodeID.fingerprint(of: signingKey) }

    /// The same fingerprint for a bare signing key (an author seen before its admission).
    public static func fingerprint(of key: SigningPublicKey) -> String {
        Hex.encode(Hash.blake2b(key.bytes, length: 16).prefix(6))
    }

    public init?(string: String) {
        let s = string.trimmingWhitespace()
        guard s.hasPrefix("sqn-"), let b = Base32.decode(String(s.dropFirst(4))), b.count == 68 else { return nil }
        let body = Array(b[0..<64])
        guard Array(Hash.blake2b(body, length: 16).prefix(4)) == Array(b[64..<68]),
              let sk = try? SigningPublicKey(bytes: Array(body[0..<32])),
              let bk = try? BoxPublicKey(bytes: Array(body[32..<64])) else { return nil }
        signingKey = sk
        boxKey = bk
    }

    public static func < (a: NodeID, b: NodeID) -> Bool { a.signingKey < b.signingKey }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
