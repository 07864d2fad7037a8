import SandyqCore
import SandyqCrypto

/// The key-pinned handshake (Protocol/handshake.md), as pure state machines: bytes in,
/// bytes out, no I/O. Three messages:
///   1 (client): e_c ‖ time u64 ‖ MAC_nk(e_c ‖ time)         — strangers without the network key get no answer
///   2 (server): e_s ‖ AEAD_k2(server key ‖ sig_s(h1 ‖ e_s))
///   3 (client): AEAD_k3(client key ‖ sig_c(h2))
/// Both identities are proven over the transcript, which includes both ephemeral keys.
public enum Handshake {
    public static let version: UInt8 = 1
    public static let message1Length = 1 + 32 + 8 + 32
    public static let message2Length = 32 + 32 + 64 + AEAD.tagLength
    public static let message3Length = 32 + 64 + AEAD.tagLength
    /// How far a message-1 clock may stray, and so how long a replay cache must remember.
    public static let maxSkewMillis: UInt64 = 10 * 60 * 1000

    static func mac(_ nk: SymmetricKey, _ parts: [UInt8]) -> [UInt8] {
        Hash.blake2b(Array("sandyq-hs1".utf8) + parts, length: 32, key: nk.secret)
    }

    static func kdf(_ nk: SymmetricKey, _ dh: SecureBytes, _ transcript: [UInt8], _ label: String) -> SymmetricKey {
        let k = Hash.blake2b(dh.unsafeCopy + transcript + Array(label.utf8), length: 32, key: nk.secret)
        // 32 bytes in, 32 bytes out: cannot fail.
        return (try? SymmetricKey(SecureBytes(k))) ?? SymmetricKey()
    }

    static let zeroNonce = [UInt8](repeating: 0, count: AEAD.nonceLength)

    /// The keys for each direction once both sides are proven.
    public struct Session: Sendable {
        public let peer: SigningPublicKey
        public let send: SymmetricKey
        public let receive: SymmetricKey
    }
}

public struct ClientHandshake {
    let identity: SigningKeyPair
    let networkKey: SymmetricKey
    let ephemeral = BoxKeyPair()
    var h1: [UInt8] = []

    public init(identity: SigningKeyPair, networkKey: SymmetricKey) {
        self.identity = identity
        self.networkKey = networkKey
    }

    public mutating func message1(nowMillis: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.u8(Handshake.version); w.raw(ephemeral.publicKey.bytes); w.u64(nowMillis)
        let m = w.bytes + Handshake.mac(networkKey, w.bytes)
        h1 = Hash.blake2b(m)
        return m
    }

    /// Checks the server's proof; `allowed` decides whether its key may be talked to.
    public mutating func receive2(_ m: [UInt8], allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> (message3: [UInt8], session: Handshake.Session) {
        try receive2(m) { allowed($0) ? nil : "the server's key is not a member of this project, nor the peer pinned for this address" }
    }

    /// The same, where `refusal` returns why a server key is refused (nil: allowed), so the
    /// error can say it, for instance that the key was revoked.
    public mutating func receive2(_ m: [UInt8], refusal: (SigningPublicKey) -> String?) throws(SyncError) -> (message3: [UInt8], session: Handshake.Session) {
        guard m.count == Handshake.message2Length else { throw .truncated }
        guard let es = try? BoxPublicKey(bytes: Array(m[0..<32])), let dh = try? ephemeral.sharedSecret(with: es) else { throw .authenticationFailed }
        let k2 = Handshake.kdf(networkKey, dh, h1, "k2")
        guard let p = try? AEAD.open(Array(m[32...]), key: k2, nonce: Handshake.zeroNonce, associatedData: h1),
              let server = try? SigningPublicKey(bytes: Array(p[0..<32])), let sig = try? Signature(bytes: Array(p[32..<96])) else {
            throw .authenticationFailed
        }
        guard server.isValidSignature(sig, for: Array("sandyq-hs2".utf8) + h1 + es.bytes) else { throw .authenticationFailed }
        if let why = refusal(server) { throw .notAllowed(why) }
        let h2 = Hash.blake2b(h1 + m)
        let k3 = Handshake.kdf(networkKey, dh, h2, "k3")
        let proof = identity.publicKey.bytes + identity.sign(Array("sandyq-hs3".utf8) + h2).bytes
        let m3 = AEAD.seal(proof, key: k3, nonce: Handshake.zeroNonce, associatedData: h2)
        let h3 = Hash.blake2b(h2 + m3)
        return (m3, Handshake.Session(peer: server, send: Handshake.kdf(networkKey, dh, h3, "c2s"),
                                      receive: Handshake.kdf(networkKey, dh, h3, "s2c")))
    }
}

public struct ServerHandshake {
    let identity: SigningKeyPair
    let networkKey: SymmetricKey
    var dh: SecureBytes?
    var h2: [UInt8] = []

    public init(identity: SigningKeyPair, networkKey: SymmetricKey) {
        self.identity = identity
        self.networkKey = networkKey
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
        guard m.count == Handshake.message1Length else { throw .truncated }
        guard m[0] == Handshake.version else { throw .unsupportedVersion }
        let body = Array(m[0..<41]), tag = Array(m[41..<73])
        guard SecureBytes(Handshake.mac(networkKey, body)) == SecureBytes(tag) else { throw .badNetworkKey }
        let t = m[33..<41].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard (t > nowMillis ? t - nowMillis : nowMillis - t) <= Handshake.maxSkewMillis else { throw .stale }
        guard verdict(Array(m[1..<33]), t) == .fresh else { throw .replayed }
        // Drawn only now: a message that fails the checks above costs no scalar multiplication.
        let ephemeral = BoxKeyPair()
        guard let ec = try? BoxPublicKey(bytes: Array(m[1..<33])), let shared = try? ephemeral.sharedSecret(with: ec) else {
            throw .authenticationFailed
        }
        dh = shared
        let h1 = Hash.blake2b(m)
        let k2 = Handshake.kdf(networkKey, shared, h1, "k2")
        let proof = identity.publicKey.bytes + identity.sign(Array("sandyq-hs2".utf8) + h1 + ephemeral.publicKey.bytes).bytes
        let m2 = ephemeral.publicKey.bytes + AEAD.seal(proof, key: k2, nonce: Handshake.zeroNonce, associatedData: h1)
        h2 = Hash.blake2b(h1 + m2)
        return m2
    }

    public func receive3(_ m: [UInt8], allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> Handshake.Session {
        guard let dh else { throw .authenticationFailed }
        guard m.count == Handshake.message3Length else { throw .truncated }
        let k3 = Handshake.kdf(networkKey, dh, h2, "k3")
        guard let p = try? AEAD.open(m, key: k3, nonce: Handshake.zeroNonce, associatedData: h2),
              let client = try? SigningPublicKey(bytes: Array(p[0..<32])), let sig = try? Signature(bytes: Array(p[32..<96])),
              client.isValidSignature(sig, for: Array("sandyq-hs3".utf8) + h2) else { throw .authenticationFailed }
        guard allowed(client) else { throw .notAllowed("the client's key is not a member of this project") }
        let h3 = Hash.blake2b(h2 + m)
        return Handshake.Session(peer: client, send: Handshake.kdf(networkKey, dh, h3, "s2c"),
                                 receive: Handshake.kdf(networkKey, dh, h3, "c2s"))
    }
}

/// Length-prefixed encrypted frames: u32 ciphertext length ‖ XChaCha20-Poly1305 with a
/// per-direction counter nonce, so a frame cannot be replayed, dropped or reordered unnoticed.
public struct FrameCipher: Sendable {
    public static let maxFrame = 4 << 20
    let key: SymmetricKey
    var counter: UInt64 = 0

    public init(key: SymmetricKey) { self.key = key }

    mutating func nonce() -> [UInt8] {
        var n = [UInt8](repeating: 0, count: 16)
        for s in stride(from: 56, through: 0, by: -8) { n.append(UInt8((counter >> UInt64(s)) & 0xff)) }
        counter += 1
        return n
    }

    public mutating func seal(_ plain: [UInt8]) -> [UInt8] {
        let c = AEAD.seal(plain, key: key, nonce: nonce())
        var w = ByteWriter(capacity: c.count + 4)
        w.u32(UInt32(c.count)); w.raw(c)
        return w.bytes
    }

    public mutating func open(_ ciphertext: [UInt8]) throws(SyncError) -> [UInt8] {
        do { return try AEAD.open(ciphertext, key: key, nonce: nonce()) } catch { throw .authenticationFailed }
    }
}
