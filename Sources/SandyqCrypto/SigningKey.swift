internal import CSodium

/// An Ed25519 public key: an author's identity on the log.
public struct SigningPublicKey: Hashable, Sendable, Comparable {
    public static let length = Int(crypto_sign_PUBLICKEYBYTES)
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else {
            throw CryptoError.invalidLength(what: "signing public key", expected: Self.length, got: bytes.count)
        }
        self.bytes = bytes
    }

    init(checked bytes: [UInt8]) { self.bytes = bytes }

    public func hash(into h: inout Hasher) { h.combineWords(bytes) }
    public static func == (a: Self, b: Self) -> Bool { a.bytes == b.bytes }

    public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Verifies a detached Ed25519 signature; throws `authenticationFailed` on any mismatch.
    public func verify(_ signature: Signature, for message: [UInt8]) throws {
        Sodium.ensure()
        let ok = signature.bytes.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                bytes.withUnsafeBufferPointer { k in
                    crypto_sign_verify_detached(s.baseAddress!, m.baseAddress, UInt64(m.count), k.baseAddress!) == 0
                }
            }
        }
        guard ok else { throw CryptoError.authenticationFailed }
    }

    public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
        (try? verify(signature, for: message)) != nil
    }

    /// The X25519 key that corresponds to this Ed25519 key (used where one identity key must do both).
    public func boxPublicKey() throws -> BoxPublicKey {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: BoxPublicKey.length)
        let rc = out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { crypto_sign_ed25519_pk_to_curve25519(o.baseAddress!, $0.baseAddress!) }
        }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
        return BoxPublicKey(checked: out)
    }
}

public struct Signature: Hashable, Sendable {
    public static let length = Int(crypto_sign_BYTES)
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else {
            throw CryptoError.invalidLength(what: "signature", expected: Self.length, got: bytes.count)
        }
        self.bytes = bytes
    }

    init(checked bytes: [UInt8]) { self.bytes = bytes }
}

/// An Ed25519 key pair. The secret half lives in `SecureBytes`.
public struct SigningKeyPair: Sendable {
    public static let seedLength = Int(crypto_sign_SEEDBYTES)
    public static let secretLength = Int(crypto_sign_SECRETKEYBYTES)
    public let publicKey: SigningPublicKey
    let secret: SecureBytes

    public init() {
        self.init(seed: SecureBytes(randomCount: Self.seedLength))
    }

    /// Deterministic from a 32-byte seed (RFC 8032's private key).
    public init(seed: SecureBytes) {
        precondition(seed.count == Self.seedLength, "Ed25519 seed must be 32 bytes")
        Sodium.ensure()
        var pk = [UInt8](repeating: 0, count: SigningPublicKey.length)
        secret = SecureBytes(count: Self.secretLength) { sk in
            seed.withUnsafePointer { s in
                pk.withUnsafeMutableBufferPointer { p in
                    _ = crypto_sign_seed_keypair(p.baseAddress!, sk.baseAddress!.assumingMemoryBound(to: UInt8.self), s)
                }
            }
        }
        publicKey = SigningPublicKey(checked: pk)
    }

    /// The seed, for storing in an encrypted key file.
    public var seed: SecureBytes {
        SecureBytes(count: Self.seedLength) { out in
            secret.withUnsafeBytes { sk in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: sk[0..<Self.seedLength]))
            }
        }
    }

    public func sign(_ message: [UInt8]) -> Signature {
        Sodium.ensure()
        var sig = [UInt8](repeating: 0, count: Signature.length)
        sig.withUnsafeMutableBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                secret.withUnsafePointer { k in
                    _ = crypto_sign_detached(s.baseAddress!, nil, m.baseAddress, UInt64(m.count), k)
                }
            }
        }
        return Signature(checked: sig)
    }
}
