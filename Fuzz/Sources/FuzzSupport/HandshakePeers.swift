import SandyqCore
import SandyqCrypto
import SandyqSync

/// The handshake of Protocol/handshake.md written out from the spec, with ephemeral keys the
/// harness chooses, so it can put well-formed (or deliberately bent) messages in front of
/// the real ClientHandshake and ServerHandshake.
public enum HS {
    public static let zeroNonce = [UInt8](repeating: 0, count: AEAD.nonceLength)

    public static func mac(_ nk: SymmetricKey, _ body: [UInt8]) -> [UInt8] {
        Hash.blake2b(Array("sandyq-hs1".utf8) + body, length: 32, key: nk.secret)
    }

    public static func kdf(_ nk: SymmetricKey, _ dh: SecureBytes, _ transcript: [UInt8], _ label: String) -> SymmetricKey {
        let k = Hash.blake2b(dh.unsafeCopy + transcript + Array(label.utf8), length: 32, key: nk.secret)
        guard let key = try? SymmetricKey(SecureBytes(k)) else { fatalError("32-byte key refused") }
        return key
    }

    /// version ‖ E_c ‖ time ‖ MAC: a first message in version 1's layout with a valid MAC over whatever the fields are.
    public static func message1(version: UInt8 = 1, ephemeral: [UInt8], time: UInt64, nk: SymmetricKey) -> [UInt8] {
        var w = ByteWriter()
        w.u8(version); w.raw(ephemeral); w.u64(time)
        return w.bytes + mac(nk, w.bytes)
    }
}

/// A client whose ephemeral secret the harness knows.
public struct ScriptedClient {
    public let identity: SigningKeyPair
    public let ephemeral: BoxKeyPair
    public let nk: SymmetricKey
    public private(set) var m1: [UInt8] = []
    public private(set) var h1: [UInt8] = []
    public private(set) var h2: [UInt8] = []
    public private(set) var dh: SecureBytes?

    public init(identity: SigningKeyPair, ephemeral: BoxKeyPair, nk: SymmetricKey) {
        self.identity = identity; self.ephemeral = ephemeral; self.nk = nk
    }

    public mutating func message1(time: UInt64) -> [UInt8] {
        m1 = HS.message1(ephemeral: ephemeral.publicKey.bytes, time: time, nk: nk)
        h1 = Hash.blake2b(m1)
        return m1
    }

    /// Opens message 2; the server's identity key when it authenticates.
    public mutating func receive2(_ m2: [UInt8]) -> SigningPublicKey? {
        guard m2.count == Handshake.message2Length, let es = try? BoxPublicKey(bytes: Array(m2[0..<32])),
              let shared = try? ephemeral.sharedSecret(with: es) else { return nil }
        let k2 = HS.kdf(nk, shared, h1, "k2")
        guard let p = try? AEAD.open(Array(m2[32...]), key: k2, nonce: HS.zeroNonce, associatedData: h1),
              let s = try? SigningPublicKey(bytes: Array(p[0..<32])), let sig = try? Signature(bytes: Array(p[32..<96])),
              s.isValidSignature(sig, for: Array("sandyq-hs2".utf8) + h1 + es.bytes) else { return nil }
        dh = shared
        h2 = Hash.blake2b(h1 + m2)
        return s
    }

    /// Message 3 around `proof` (normally C ‖ Sign(c, "sandyq-hs3" ‖ h2)).
    public func message3(proof: [UInt8]) -> [UInt8] {
        guard let dh else { return [] }
        return AEAD.seal(proof, key: HS.kdf(nk, dh, h2, "k3"), nonce: HS.zeroNonce, associatedData: h2)
    }

    public var honestProof: [UInt8] { identity.publicKey.bytes + identity.sign(Array("sandyq-hs3".utf8) + h2).bytes }

    /// (send c2s, receive s2c) after `m3` was sent.
    public func sessionKeys(m3: [UInt8]) -> (send: SymmetricKey, receive: SymmetricKey)? {
        guard let dh else { return nil }
        let h3 = Hash.blake2b(h2 + m3)
        return (HS.kdf(nk, dh, h3, "c2s"), HS.kdf(nk, dh, h3, "s2c"))
    }
}

/// A server whose ephemeral secret the harness knows.
public struct ScriptedServer {
    public let identity: SigningKeyPair
    public let nk: SymmetricKey

    public init(identity: SigningKeyPair, nk: SymmetricKey) { self.identity = identity; self.nk = nk }

    /// Message 2 for `m1`, from ephemeral `e` (nil when DH with `m1`'s key is refused), with
    /// `proof(h1, E_s)` as the sealed plaintext; also returns h2 and the shared secret.
    public func message2(m1: [UInt8], ephemeral e: BoxKeyPair, publicBytes: [UInt8]? = nil,
                         proof: ([UInt8], [UInt8]) -> [UInt8]) -> (m2: [UInt8], h2: [UInt8], dh: SecureBytes)? {
        guard m1.count == Handshake.message1Length, let ec = try? BoxPublicKey(bytes: Array(m1[1..<33])),
              let shared = try? e.sharedSecret(with: ec) else { return nil }
        let h1 = Hash.blake2b(m1)
        let es = publicBytes ?? e.publicKey.bytes
        let k2 = HS.kdf(nk, shared, h1, "k2")
        let m2 = es + AEAD.seal(proof(h1, es), key: k2, nonce: HS.zeroNonce, associatedData: h1)
        return (m2, Hash.blake2b(h1 + m2), shared)
    }

    public func honestProof(h1: [UInt8], es: [UInt8]) -> [UInt8] {
        identity.publicKey.bytes + identity.sign(Array("sandyq-hs2".utf8) + h1 + es).bytes
    }
}
