internal import CSodium

/// A 256-bit symmetric key for XChaCha20-Poly1305.
public struct SymmetricKey: Sendable, Equatable {
    public static let length = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    public let secret: SecureBytes

    public init() { secret = SecureBytes(randomCount: Self.length) }

    public init(_ secret: SecureBytes) throws {
        guard secret.count == Self.length else {
            throw CryptoError.invalidLength(what: "symmetric key", expected: Self.length, got: secret.count)
        }
        self.secret = secret
    }

    /// A 32-byte subkey as a key of its own: `derive` at the key length, so no length check can fail.
    public func deriveKey(context: String) -> SymmetricKey {
        SymmetricKey(exactly: derive(context: context))
    }

    private init(exactly secret: SecureBytes) { self.secret = secret }

    /// A subkey for one purpose, so one master key never encrypts two kinds of data.
    /// Written straight into locked memory: no plain copy of the subkey is left behind.
    public func derive(context: String, length: Int = SymmetricKey.length) -> SecureBytes {
        derive(message: Array(context.utf8), length: length)
    }

    /// BLAKE2b keyed with this key over `message`: a subkey bound to binary input (a derived
    /// session names its author and id, Protocol/ops.md).
    public func deriveKey(message: [UInt8]) -> SymmetricKey {
        SymmetricKey(exactly: derive(message: message))
    }

    public func derive(message ctx: [UInt8], length: Int = SymmetricKey.length) -> SecureBytes {
        Sodium.ensure()
        precondition(length >= Int(crypto_generichash_BYTES_MIN) && length <= Int(crypto_generichash_BYTES_MAX))
        return SecureBytes(count: length) { out in
            ctx.withUnsafeBufferPointer { c in
                secret.withUnsafePointer { k in
                    _ = crypto_generichash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), length, c.baseAddress, UInt64(c.count),
                                           k, secret.count)
                }
            }
        }
    }
}

/// XChaCha20-Poly1305 (IETF) with a 24-byte random nonce.
public enum AEAD {
    /// Seals a secret (a content key) without first copying it into a plain array.
    public static func seal(_ secret: SecureBytes, key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) -> [UInt8] {
        secret.withUnsafePointer { m in encrypt(m, count: secret.count, key: key, nonce: nonce, associatedData: associatedData) }
    }

    public static let nonceLength = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    public static func randomNonce() -> [UInt8] { Random.bytes(nonceLength) }

    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) -> [UInt8] {
        plaintext.withUnsafeBufferPointer { m in encrypt(m.baseAddress, count: m.count, key: key, nonce: nonce, associatedData: associatedData) }
    }

    private static func encrypt(_ m: UnsafePointer<UInt8>?, count: Int, key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8]) -> [UInt8] {
        precondition(nonce.count == nonceLength, "nonce must be \(nonceLength) bytes")
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: count + tagLength)
        var outLen: UInt64 = 0
        out.withUnsafeMutableBufferPointer { o in
            associatedData.withUnsafeBufferPointer { ad in
                nonce.withUnsafeBufferPointer { n in
                    key.secret.withUnsafePointer { k in
                        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                            o.baseAddress!, &outLen, m, UInt64(count),
                            ad.baseAddress, UInt64(ad.count), nil, n.baseAddress!, k)
                    }
                }
            }
        }
        return out
    }

    public static func open(_ ciphertext: [UInt8], key: SymmetricKey, nonce: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard nonce.count == nonceLength, ciphertext.count >= tagLength else { throw CryptoError.authenticationFailed }
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: ciphertext.count - tagLength)
        var outLen: UInt64 = 0
        let rc = out.withUnsafeMutableBufferPointer { o in
            ciphertext.withUnsafeBufferPointer { c in
                associatedData.withUnsafeBufferPointer { ad in
                    nonce.withUnsafeBufferPointer { n in
                        key.secret.withUnsafePointer { k in
                            crypto_aead_xchacha20poly1305_ietf_decrypt(
                                o.baseAddress ?? UnsafeMutablePointer(mutating: c.baseAddress!), &outLen, nil,
                                c.baseAddress!, UInt64(c.count),
                                ad.baseAddress, UInt64(ad.count), n.baseAddress!, k)
                        }
                    }
                }
            }
        }
        guard rc == 0 else { throw CryptoError.authenticationFailed }
        return out
    }
}
