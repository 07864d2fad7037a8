import SandyqCore
import SandyqCrypto

/// The key-pinned handshake (Protocol/handshake.md), as pure state machines: bytes in,
/// bytes out, no I/O. Three messages:
///   1 (client): e_c ‖ masked(time ‖ version) ‖ MAC_nk(version ‖ e_c ‖ time) ‖ padding   — strangers get no answer
///   2 (server): e_s ‖ AEAD_k2(server key ‖ sig_s(h1 ‖ e_s) ‖ zero padding)
///   3 (client): AEAD_k3(client key ‖ sig_c(h2) ‖ zero padding)
/// Both identities are proven over the transcript, which includes both ephemeral keys.
/// Version 1 (no mask, no padding, clear `01` first) is still answered.
public enum Handshake {
    /// What a new client sends.
    public static let version: UInt8 = 2
    /// Version 1's lengths, and version 2's before padding.
    public static let message1Length = 1 + 32 + 8 + 32
    public static let message2Length = 32 + 32 + 64 + AEAD.tagLength
    public static let message3Length = 32 + 64 + AEAD.tagLength
    /// Each version-2 message carries 0 ... 127 padding bytes.
    public static let maxPadding = 127
    /// How far a message-1 clock may stray, and so how long a replay cache must remember.
    public static let maxSkewMillis: UInt64 = 10 * 60 * 1000

    static func mac(_ nk: SymmetricKey, _ parts: [UInt8]) -> [UInt8] {
        Hash.blake2b(Array("sandyq-hs1".utf8) + parts, length: 32, key: nk.secret)
    }

    /// Version 2: XORed over time ‖ version (9 bytes); byte 9 gives the padding length.
    static func mask1(_ nk: SymmetricKey, _ ec: [UInt8]) -> [UInt8] {
        Hash.blake2b(Array("sandyq-hs1m".utf8) + ec, length: 32, key: nk.secret)
    }

    static func kdf(_ nk: SymmetricKey, _ dh: SecureBytes, _ transcript: [UInt8], _ label: String) -> SymmetricKey {
        let k = Hash.blake2b(dh.unsafeCopy + transcript + Array(label.utf8), length: 32, key: nk.secret)
        // 32 bytes in, 32 bytes out: cannot fail.
        return (try? SymmetricKey(SecureBytes(k))) ?? SymmetricKey()
    }

    /// Version 2's padding of message 2 ("p2") or 3 ("p3"): both sides know it once they hold DH.
    static func padding(_ nk: SymmetricKey, _ dh: SecureBytes, _ transcript: [UInt8], _ label: String) -> Int {
        Int(kdf(nk, dh, transcript, label).secret.unsafeCopy[0] & 0x7f)
    }

    static let zeroNonce = [UInt8](repeating: 0, count: AEAD.nonceLength)

    /// What the first 73 bytes of a message 1 say, checked as version 1 and then as version 2.
    enum Message1 {
        case v1
        case v2(length: Int)
        case refused(SyncError)
    }

    static func read1(_ nk: SymmetricKey, _ m: [UInt8]) -> Message1 {
        guard m.count >= message1Length else { return .refused(.truncated) }
        let tag = SecureBytes(Array(m[41..<73]))
        if m[0] == 1, SecureBytes(mac(nk, Array(m[0..<41]))) == tag { return .v1 }
        let ec = Array(m[0..<32]), mask = mask1(nk, ec)
        let clear = (0..<9).map { m[32 + $0] ^ mask[$0] }
        if SecureBytes(mac(nk, [clear[8]] + ec + clear[0..<8])) == tag {
            return clear[8] == 2 ? .v2(length: message1Length + Int(mask[9] & 0x7f)) : .refused(.unsupportedVersion)
        }
        // Version 1's layout MACed right with another version byte: the key is right, the version not.
        if SecureBytes(mac(nk, Array(m[0..<41]))) == tag { return .refused(.unsupportedVersion) }
        // Version 2 hides its version byte, so a message that verifies no way is a wrong key (or noise).
        return .refused(.badNetworkKey)
    }

    /// How long the message 1 starting with these 73 bytes is: version 2's padding is known
    /// only once its MAC verifies. 73 for version 1 and for a message to be refused.
    public static func message1Length(prefix m: [UInt8], networkKey: SymmetricKey) -> Int {
        if case let .v2(n) = read1(networkKey, m) { return n }
        return message1Length
    }

    /// The keys for each direction once both sides are proven; version 2 also masks frame lengths.
    public struct Session: Sendable {
        public let peer: SigningPublicKey
        public let send: SymmetricKey
        public let receive: SymmetricKey
        public var sendLength: SymmetricKey? = nil
        public var receiveLength: SymmetricKey? = nil
    }

    static func u64(_ b: some Collection<UInt8>) -> UInt64 { b.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
}

public struct ClientHandshake {
    let identity: SigningKeyPair
    let networkKey: SymmetricKey
    let ephemeral: BoxKeyPair
    public let version: UInt8
    var h1: [UInt8] = []

    /// `version` 1 only for tests and old servers; new clients send 2.
    public init(identity: SigningKeyPair, networkKey: SymmetricKey, version: UInt8 = Handshake.version) {
        self.init(identity: identity, networkKey: networkKey, version: version, ephemeral: BoxKeyPair())
    }

    init(identity: SigningKeyPair, networkKey: SymmetricKey, version: UInt8, ephemeral: BoxKeyPair) {
        self.identity = identity
        self.networkKey = networkKey
        self.version = version
        self.ephemeral = ephemeral
    }

    public mutating func message1(nowMillis: UInt64) -> [UInt8] {
        message1(nowMillis: nowMillis, padding: Random.bytes(Handshake.maxPadding + 1))
    }

    /// `padding`: random bytes, of which version 2 uses as many as its mask says.
    mutating func message1(nowMillis: UInt64, padding: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u64(nowMillis)
        let time = w.bytes, ec = ephemeral.publicKey.bytes
        let m: [UInt8]
        if version == 1 {
            m = [1] + ec + time + Handshake.mac(networkKey, [1] + ec + time)
        } else {
            let mask = Handshake.mask1(networkKey, ec)
            let masked = zip(time + [version], mask).map { $0 ^ $1 }
            m = ec + masked + Handshake.mac(networkKey, [version] + ec + time) + padding.prefix(Int(mask[9] & 0x7f))
        }
        h1 = Hash.blake2b(m)
        return m
    }

    /// The length of message 2, from its first 32 bytes (e_s): version 2's padding follows from DH.
    public func message2Length(prefix m: [UInt8]) -> Int {
        guard version != 1, m.count >= 32, let es = try? BoxPublicKey(bytes: Array(m[0..<32])),
              let dh = try? ephemeral.sharedSecret(with: es) else { return Handshake.message2Length }
        return Handshake.message2Length + Handshake.padding(networkKey, dh, h1, "p2")
    }

    /// Checks the server's proof; `allowed` decides whether its key may be talked to.
    public mutating func receive2(_ m: [UInt8], allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> (message3: [UInt8], session: Handshake.Session) {
        try receive2(m) { allowed($0) ? nil : "the server's key is not a member of this project, nor the peer pinned for this address" }
    }

    /// The same, where `refusal` returns why a server key is refused (nil: allowed), so the
    /// error can say it, for instance that the key was revoked.
    public mutating func receive2(_ m: [UInt8], refusal: (SigningPublicKey) -> String?) throws(SyncError) -> (message3: [UInt8], session: Handshake.Session) {
        guard m.count >= Handshake.message2Length, m.count == message2Length(prefix: m) else { throw .truncated }
        guard let es = try? BoxPublicKey(bytes: Array(m[0..<32])), let dh = try? ephemeral.sharedSecret(with: es) else { throw .authenticationFailed }
        let k2 = Handshake.kdf(networkKey, dh, h1, "k2")
        guard let p = try? AEAD.open(Array(m[32...]), key: k2, nonce: Handshake.zeroNonce, associatedData: h1),
              p.dropFirst(96).allSatisfy({ $0 == 0 }),
              let server = try? SigningPublicKey(bytes: Array(p[0..<32])), let sig = try? Signature(bytes: Array(p[32..<96])) else {
            throw .authenticationFailed
        }
        guard server.isValidSignature(sig, for: Array("sandyq-hs2".utf8) + h1 + es.bytes) else { throw .authenticationFailed }
        if let why = refusal(server) { throw .notAllowed(why) }
        let h2 = Hash.blake2b(h1 + m)
        let k3 = Handshake.kdf(networkKey, dh, h2, "k3")
        var proof = identity.publicKey.bytes + identity.sign(Array("sandyq-hs3".utf8) + h2).bytes
        if version != 1 { proof += [UInt8](repeating: 0, count: Handshake.padding(networkKey, dh, h2, "p3")) }
        let m3 = AEAD.seal(proof, key: k3, nonce: Handshake.zeroNonce, associatedData: h2)
        let h3 = Hash.blake2b(h2 + m3)
        var session = Handshake.Session(peer: server, send: Handshake.kdf(networkKey, dh, h3, "c2s"),
                                        receive: Handshake.kdf(networkKey, dh, h3, "s2c"))
        if version != 1 {
            session.sendLength = Handshake.kdf(networkKey, dh, h3, "c2s-len")
            session.receiveLength = Handshake.kdf(networkKey, dh, h3, "s2c-len")
        }
        return (m3, session)
    }
}

public struct ServerHandshake {
    let identity: SigningKeyPair
    let networkKey: SymmetricKey
    var dh: SecureBytes?
    var h2: [UInt8] = []
    /// The version of the message 1 answered (0 before).
    public private(set) var version: UInt8 = 0
    /// How long message 3 must be: known once message 2 is written.
    public private(set) var message3Length = Handshake.message3Length
    /// Tests only: the ephemeral key to answer with, so a vector's message 2 can be reproduced.
    let fixedEphemeral: BoxKeyPair?

    public init(identity: SigningKeyPair, networkKey: SymmetricKey) {
        self.init(identity: identity, networkKey: networkKey, ephemeral: nil)
    }

    init(identity: SigningKeyPair, networkKey: SymmetricKey, ephemeral: BoxKeyPair?) {
        self.identity = identity
        self.networkKey = networkKey
        fixedEphemeral = ephemeral
    }

    /// Answers a valid first message; anything else gets no answer at all.
    /// `fresh` records the client's ephemeral key and returns false if it was seen before.
    public mutating func receive1(_ m: [UInt8], nowMillis: UInt64, fresh: ([UInt8]) -> Bool) throws(SyncError) -> [UInt8] {
        try receive1(m, nowMillis: nowMillis) { key, _ in fresh(key) ? .fresh : .replayed }
    }

    /// The same, with the replay cache filing each key under the message's clock.
    public mutating func receive1(_ m: [UInt8], nowMillis: UInt64, replay: ReplayCache) throws(SyncError) -> [UInt8] {
        try receive1(m, nowMillis: nowMillis) { key, time in replay.check(key, time: time, now: nowMillis) }
    }

    mutating func receive1(_ m: [UInt8], nowMillis: UInt64, verdict: ([UInt8], UInt64) -> ReplayCache.Verdict) throws(SyncError) -> [UInt8] {
        let ec: [UInt8], t: UInt64, v: UInt8
        switch Handshake.read1(networkKey, m) {
        case let .refused(e): throw e
        case .v1:
            guard m.count == Handshake.message1Length else { throw .truncated }
            (ec, t, v) = (Array(m[1..<33]), Handshake.u64(m[33..<41]), 1)
        case let .v2(length):
            guard m.count == length else { throw .truncated }
            let mask = Handshake.mask1(networkKey, Array(m[0..<32]))
            (ec, t, v) = (Array(m[0..<32]), Handshake.u64((0..<8).map { m[32 + $0] ^ mask[$0] }), 2)
        }
        guard (t > nowMillis ? t - nowMillis : nowMillis - t) <= Handshake.maxSkewMillis else { throw .stale }
        guard verdict(ec, t) == .fresh else { throw .replayed }
        // Drawn only now: a message that fails the checks above costs no scalar multiplication.
        let ephemeral = fixedEphemeral ?? BoxKeyPair()
        guard let pub = try? BoxPublicKey(bytes: ec), let shared = try? ephemeral.sharedSecret(with: pub) else {
            throw .authenticationFailed
        }
        dh = shared
        version = v
        let h1 = Hash.blake2b(m)
        let k2 = Handshake.kdf(networkKey, shared, h1, "k2")
        var proof = identity.publicKey.bytes + identity.sign(Array("sandyq-hs2".utf8) + h1 + ephemeral.publicKey.bytes).bytes
        if v != 1 { proof += [UInt8](repeating: 0, count: Handshake.padding(networkKey, shared, h1, "p2")) }
        let m2 = ephemeral.publicKey.bytes + AEAD.seal(proof, key: k2, nonce: Handshake.zeroNonce, associatedData: h1)
        h2 = Hash.blake2b(h1 + m2)
        if v != 1 { message3Length = Handshake.message3Length + Handshake.padding(networkKey, shared, h2, "p3") }
        return m2
    }

    public func receive3(_ m: [UInt8], allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> Handshake.Session {
        guard let dh else { throw .authenticationFailed }
        guard m.count == message3Length else { throw .truncated }
        let k3 = Handshake.kdf(networkKey, dh, h2, "k3")
        guard let p = try? AEAD.open(m, key: k3, nonce: Handshake.zeroNonce, associatedData: h2), p[96...].allSatisfy({ $0 == 0 }),
              let client = try? SigningPublicKey(bytes: Array(p[0..<32])), let sig = try? Signature(bytes: Array(p[32..<96])),
              client.isValidSignature(sig, for: Array("sandyq-hs3".utf8) + h2) else { throw .authenticationFailed }
        guard allowed(client) else { throw .notAllowed("the client's key is not a member of this project") }
        let h3 = Hash.blake2b(h2 + m)
        var session = Handshake.Session(peer: client, send: Handshake.kdf(networkKey, dh, h3, "s2c"),
                                        receive: Handshake.kdf(networkKey, dh, h3, "c2s"))
        if version != 1 {
            session.sendLength = Handshake.kdf(networkKey, dh, h3, "s2c-len")
            session.receiveLength = Handshake.kdf(networkKey, dh, h3, "c2s-len")
        }
        return session
    }
}

/// Length-prefixed encrypted frames: u32 ciphertext length ‖ XChaCha20-Poly1305 with a
/// per-direction counter nonce, so a frame cannot be replayed, dropped or reordered unnoticed.
/// After a version-2 handshake the length is XORed with a keystream per frame, so no clear
/// `00 00 ..` prefix marks the stream.
public struct FrameCipher: Sendable {
    public static let maxFrame = 4 << 20
    let key: SymmetricKey
    let lengthKey: SymmetricKey?
    var counter: UInt64 = 0

    public init(key: SymmetricKey, lengthKey: SymmetricKey? = nil) {
        self.key = key
        self.lengthKey = lengthKey
    }

    /// The sending or receiving half of a session.
    public init(sending s: Handshake.Session) { self.init(key: s.send, lengthKey: s.sendLength) }
    public init(receiving s: Handshake.Session) { self.init(key: s.receive, lengthKey: s.receiveLength) }

    static func counterBytes(_ c: UInt64) -> [UInt8] {
        stride(from: 56, through: 0, by: -8).map { UInt8((c >> UInt64($0)) & 0xff) }
    }

    mutating func nonce() -> [UInt8] {
        let n = [UInt8](repeating: 0, count: 16) + Self.counterBytes(counter)
        counter += 1
        return n
    }

    /// The 4 bytes XORed over frame `counter`'s length (zero without a length key).
    public func lengthMask() -> [UInt8] {
        guard let lengthKey else { return [0, 0, 0, 0] }
        return Array(Hash.blake2b(Array("sandyq-len".utf8) + Self.counterBytes(counter), length: 32, key: lengthKey.secret).prefix(4))
    }

    /// The length a frame's 4-byte prefix gives, for the next frame to open.
    public func length(_ prefix: [UInt8]) -> Int {
        zip(prefix, lengthMask()).reduce(0) { $0 << 8 | Int($1.0 ^ $1.1) }
    }

    public mutating func seal(_ plain: [UInt8]) -> [UInt8] {
        let mask = lengthMask()
        let c = AEAD.seal(plain, key: key, nonce: nonce())
        var w = ByteWriter(capacity: c.count + 4)
        w.u32(UInt32(c.count))
        return zip(w.bytes, mask).map { $0 ^ $1 } + c
    }

    public mutating func open(_ ciphertext: [UInt8]) throws(SyncError) -> [UInt8] {
        do { return try AEAD.open(ciphertext, key: key, nonce: nonce()) } catch { throw .authenticationFailed }
    }
}
