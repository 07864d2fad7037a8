internal import CSodium

/// Argon2id parameters, stored beside whatever they protect so they can be raised later.
public struct PasswordKDFParameters: Sendable, Equatable {
    public var opsLimit: UInt64
    public var memLimit: UInt64

    public init(opsLimit: UInt64, memLimit: UInt64) {
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// libsodium's "moderate" level: about 0.5-1 s and 256 MiB here.
    public static let moderate = PasswordKDFParameters(
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MODERATE), memLimit: UInt64(crypto_pwhash_MEMLIMIT_MODERATE))
    /// libsodium's "interactive" level: about 0.1 s and 64 MiB.
    public static let interactive = PasswordKDFParameters(
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), memLimit: UInt64(crypto_pwhash_MEMLIMIT_INTERACTIVE))
    /// libsodium's "sensitive" level: several seconds and 1 GiB.
    public static let sensitive = PasswordKDFParameters(
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_SENSITIVE), memLimit: UInt64(crypto_pwhash_MEMLIMIT_SENSITIVE))
    /// The floor libsodium accepts; tests only.
    public static let minimum = PasswordKDFParameters(
        opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MIN), memLimit: UInt64(crypto_pwhash_MEMLIMIT_MIN))
}

public enum PasswordKDF {
    public static let saltLength = Int(crypto_pwhash_SALTBYTES)

    /// Argon2id13: a key from a passphrase and a salt.
    public static func deriveKey(passphrase: SecureBytes, salt: [UInt8], parameters: PasswordKDFParameters) throws -> SymmetricKey {
        let length = SymmetricKey.length
        guard salt.count == saltLength else {
            throw CryptoError.invalidLength(what: "salt", expected: saltLength, got: salt.count)
        }
        guard parameters.opsLimit >= UInt64(crypto_pwhash_OPSLIMIT_MIN),
              parameters.memLimit >= UInt64(crypto_pwhash_MEMLIMIT_MIN),
              parameters.memLimit <= 4 << 30, parameters.opsLimit <= 64 else {
            throw CryptoError.invalidParameters("Argon2id limits out of range")
        }
        Sodium.ensure()
        var rc: Int32 = 0
        let key = SecureBytes(count: length) { out in
            passphrase.withUnsafePointer { pw in
                salt.withUnsafeBufferPointer { s in
                    rc = crypto_pwhash(out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(length),
                                       UnsafeRawPointer(pw).assumingMemoryBound(to: CChar.self),
                                       UInt64(passphrase.count), s.baseAddress!,
                                       parameters.opsLimit, Int(parameters.memLimit), crypto_pwhash_ALG_ARGON2ID13)
                }
            }
        }
        guard rc == 0 else { throw CryptoError.outOfMemory }
        return try SymmetricKey(key)
    }
}
