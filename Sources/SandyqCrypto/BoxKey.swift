internal import CSodium

/// An X25519 public key: what others seal content keys to.
public struct BoxPublicKey: Hashable, Sendable, Comparable {
    public static let length = Int(crypto_box_PUBLICKEYBYTES)
    public let bytes: [UInt8]
    /// False for a point of small order (or an alias of one): libsodium refuses to seal to it
    /// and no secret opens a box for it, so sealers leave it out (Protocol/ops.md).
    public let opensSealedBoxes: Bool

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else {
            throw CryptoError.invalidLength(what: "box public key", expected: Self.length, got: bytes.count)
        }
        self.bytes = bytes
        opensSealedBoxes = Self.hasLargeOrder(bytes)
    }

    init(checked bytes: [UInt8]) {
        self.bytes = bytes
        opensSealedBoxes = true
    }

    /// A clamped scalar is a multiple of 8, so its product with a small-order point is zero,
    /// which crypto_scalarmult refuses; any other point gives a nonzero product.
    static func hasLargeOrder(_ point: [UInt8]) -> Bool {
        Sodium.ensure()
        let scalar = [UInt8](repeating: 0x5a, count: Int(crypto_scalarmult_SCALARBYTES))
        var out = [UInt8](repeating: 0, count: Int(crypto_scalarmult_BYTES))
        let rc = out.withUnsafeMutableBufferPointer { o in
            scalar.withUnsafeBufferPointer { s in point.withUnsafeBufferPointer { crypto_scalarmult(o.baseAddress!, s.baseAddress!, $0.baseAddress!) } }
        }
        return rc == 0
    }

    public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Anonymous sealed box (`crypto_box_seal`): only the holder of the secret key can open it.
    public func seal(_ message: [UInt8]) -> [UInt8] {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: message.count + SealedBox.overhead)
        var rc: Int32 = 0
        out.withUnsafeMutableBufferPointer { o in
            message.withUnsafeBufferPointer { m in
                bytes.withUnsafeBufferPointer { k in
                    rc = crypto_box_seal(o.baseAddress!, m.baseAddress, UInt64(m.count), k.baseAddress!)
                }
            }
        }
        return Self.sealed(out, rc)
    }

    /// A box of zeros must never be handed on as if it were sealed.
    private static func sealed(_ out: [UInt8], _ rc: Int32) -> [UInt8] {
        precondition(rc == 0, "sealed to a key that opens no box: sealers drop those (opensSealedBoxes)")
        return out
    }

    public func seal(_ secret: SecureBytes) -> [UInt8] {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: secret.count + SealedBox.overhead)
        var rc: Int32 = 0
        out.withUnsafeMutableBufferPointer { o in
            secret.withUnsafePointer { m in
                bytes.withUnsafeBufferPointer { k in
                    rc = crypto_box_seal(o.baseAddress!, m, UInt64(secret.count), k.baseAddress!)
                }
            }
        }
        return Self.sealed(out, rc)
    }
}

public enum SealedBox {
    public static let overhead = Int(crypto_box_sealbytes())
}

/// An X25519 key pair for opening sealed boxes.
public struct BoxKeyPair: Sendable {
    public static let secretLength = Int(crypto_box_SECRETKEYBYTES)
    public let publicKey: BoxPublicKey
    let secret: SecureBytes

    public init() {
        Sodium.ensure()
        var pk = [UInt8](repeating: 0, count: BoxPublicKey.length)
        secret = SecureBytes(count: Self.secretLength) { sk in
            pk.withUnsafeMutableBufferPointer { p in
                _ = crypto_box_keypair(p.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        publicKey = BoxPublicKey(checked: pk)
    }

    /// Rebuilds a key pair from its stored secret key.
    public init(secretKey: SecureBytes) throws {
        guard secretKey.count == Self.secretLength else {
            throw CryptoError.invalidLength(what: "box secret key", expected: Self.secretLength, got: secretKey.count)
        }
        Sodium.ensure()
        var pk = [UInt8](repeating: 0, count: BoxPublicKey.length)
        pk.withUnsafeMutableBufferPointer { p in
            secretKey.withUnsafePointer { _ = crypto_scalarmult_base(p.baseAddress!, $0) }
        }
        secret = secretKey
        publicKey = BoxPublicKey(checked: pk)
    }

    public var secretKey: SecureBytes { secret }

    /// Opens a sealed box addressed to this key pair.
    public func open(_ sealed: [UInt8]) throws -> [UInt8] {
        Sodium.ensure()
        guard sealed.count >= SealedBox.overhead else { throw CryptoError.authenticationFailed }
        var out = [UInt8](repeating: 0, count: sealed.count - SealedBox.overhead)
        let rc = out.withUnsafeMutableBufferPointer { o in
            sealed.withUnsafeBufferPointer { c in
                publicKey.bytes.withUnsafeBufferPointer { pk in
                    secret.withUnsafePointer { sk in
                        crypto_box_seal_open(o.baseAddress ?? UnsafeMutablePointer(mutating: c.baseAddress!), c.baseAddress!, UInt64(c.count), pk.baseAddress!, sk)
                    }
                }
            }
        }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
        return out
    }

    /// Opens a sealed box whose content is a secret (a content key).
    public func openSecret(_ sealed: [UInt8]) throws -> SecureBytes {
        // Opened straight into locked memory: no plain copy of the content key is left behind.
        Sodium.ensure()
        guard sealed.count >= SealedBox.overhead else { throw CryptoError.authenticationFailed }
        var rc: Int32 = -1
        let s = SecureBytes(count: sealed.count - SealedBox.overhead) { out in
            sealed.withUnsafeBufferPointer { c in
                publicKey.bytes.withUnsafeBufferPointer { pk in
                    secret.withUnsafePointer { sk in
                        rc = crypto_box_seal_open(out.baseAddress!.assumingMemoryBound(to: UInt8.self), c.baseAddress!, UInt64(c.count), pk.baseAddress!, sk)
                    }
                }
            }
        }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
        return s
    }

    /// X25519 shared secret with a peer's key (for the session handshake).
    public func sharedSecret(with peer: BoxPublicKey) throws -> SecureBytes {
        Sodium.ensure()
        var rc: Int32 = 0
        let s = SecureBytes(count: Int(crypto_scalarmult_BYTES)) { out in
            peer.bytes.withUnsafeBufferPointer { p in
                secret.withUnsafePointer { sk in
                    rc = crypto_scalarmult(out.baseAddress!.assumingMemoryBound(to: UInt8.self), sk, p.baseAddress!)
                }
            }
        }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
        return s
    }
}
