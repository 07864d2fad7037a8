import Foundation
import SandyqCrypto

/// A node's secret keys, unlocked.
public struct Identity: Sendable {
    public let signing: SigningKeyPair
    public let box: BoxKeyPair
    /// Encrypts anything decrypted that a node chooses to cache on disk.
    public let storageKey: SymmetricKey
    /// Whether the node seals nothing to itself (a reporter in the field). Kept inside the key
    /// file's sealed payload, so only a holder of the passphrase can turn it off.
    public let writeOnly: Bool
    /// Whether the key file this came from recorded the mode (tag 4). False for files written
    /// before the mode moved into the key file; the node then migrates its old setting.
    public let recordsMode: Bool

    public init(signing: SigningKeyPair = .init(), box: BoxKeyPair = .init(), storageKey: SymmetricKey = .init(),
                writeOnly: Bool = false) {
        self.init(signing: signing, box: box, storageKey: storageKey, writeOnly: writeOnly, recordsMode: true)
    }

    init(signing: SigningKeyPair, box: BoxKeyPair, storageKey: SymmetricKey, writeOnly: Bool, recordsMode: Bool) {
        self.signing = signing
        self.box = box
        self.storageKey = storageKey
        self.writeOnly = writeOnly
        self.recordsMode = recordsMode
    }

    /// The same keys with another mode.
    public func with(writeOnly: Bool) -> Identity {
        Identity(signing: signing, box: box, storageKey: storageKey, writeOnly: writeOnly, recordsMode: true)
    }
}

/// The key file: the identity encrypted under a passphrase. Layout (Protocol/keyfile.md):
/// magic "SQKEY" ‖ version u8 ‖ kdf u8 ‖ opslimit u64 ‖ memlimit u64 ‖ salt[16] ‖ nonce[24] ‖
/// duress salt[16] ‖ duress verifier[32] ‖ AEAD(ciphertext).
/// The header is the AEAD's associated data, so lowering the KDF cost in place breaks the file.
/// The duress slot is always there (random when unset), so a file does not show whether a
/// duress passphrase exists.
public enum KeyFile {
    public static let fileName = "identity.key"
    static let magic = Array("SQKEY".utf8)
    public static let version: UInt8 = 1
    static let kdfArgon2id: UInt8 = 1
    static let headerLength = 5 + 1 + 1 + 8 + 8 + 16 + 24 + 16 + 32
    static let duressSaltRange = 63..<79
    static let duressVerifierRange = 79..<111

    enum Tag: UInt8 { case signingSeed = 1, boxSecret = 2, storageKey = 3, mode = 4 }
    static let modeReadWrite: UInt8 = 0, modeWriteOnly: UInt8 = 1

    public static func seal(_ id: Identity, passphrase: SecureBytes, parameters: PasswordKDFParameters,
                            duress: SecureBytes? = nil) throws -> [UInt8] {
        try seal(id, passphrase: passphrase, parameters: parameters, duressSlot: .fresh(duress))
    }

    /// Seals `id` again under the same passphrase, keeping `old`'s Argon2id parameters and its
    /// duress slot (whose passphrase this node never knows after `init`). Salt and nonce are fresh.
    public static func reseal(_ id: Identity, passphrase: SecureBytes, replacing old: [UInt8]) throws -> [UInt8] {
        let h = try header(of: old)
        return try seal(id, passphrase: passphrase, parameters: h.parameters,
                        duressSlot: .kept(salt: Array(old[duressSaltRange]), verifier: Array(old[duressVerifierRange])))
    }

    enum DuressSlot {
        case fresh(SecureBytes?)
        case kept(salt: [UInt8], verifier: [UInt8])
    }

    static func seal(_ id: Identity, passphrase: SecureBytes, parameters: PasswordKDFParameters,
                     duressSlot: DuressSlot) throws -> [UInt8] {
        let salt = Random.bytes(PasswordKDF.saltLength)
        let nonce = AEAD.randomNonce()
        var header = magic
        header.append(version); header.append(kdfArgon2id)
        for s in stride(from: 56, through: 0, by: -8) { header.append(UInt8((parameters.opsLimit >> UInt64(s)) & 0xff)) }
        for s in stride(from: 56, through: 0, by: -8) { header.append(UInt8((parameters.memLimit >> UInt64(s)) & 0xff)) }
        header += salt + nonce
        switch duressSlot {
        case let .kept(duressSalt, verifier):
            header += duressSalt + verifier
        case let .fresh(duress):
            let duressSalt = Random.bytes(PasswordKDF.saltLength)
            header += duressSalt
            if let duress {
                header += try duressVerifier(duress, salt: duressSalt, parameters: parameters)
            } else {
                header += Random.bytes(32)
            }
        }
        let key = try PasswordKDF.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
        var plain: [UInt8] = []
        func put(_ t: Tag, _ s: SecureBytes) { plain.append(t.rawValue); plain.append(UInt8(s.count)); plain += s.unsafeCopy }
        put(.signingSeed, id.signing.seed)
        put(.boxSecret, id.box.secretKey)
        put(.storageKey, id.storageKey.secret)
        // Always written, so the file's size does not tell a write-only node from another.
        plain += [Tag.mode.rawValue, 1, id.writeOnly ? modeWriteOnly : modeReadWrite]
        defer { plain.zeroize() }
        return header + AEAD.seal(plain, key: key, nonce: nonce, associatedData: header)
    }

    public struct Header: Sendable {
        public let version: UInt8
        public let parameters: PasswordKDFParameters
    }

    public static func header(of bytes: [UInt8]) throws(StoreError) -> Header {
        guard bytes.count >= headerLength + AEAD.tagLength else { throw .corrupt("key file is truncated") }
        guard Array(bytes[0..<5]) == magic else { throw .corrupt("not a sandyq key file") }
        guard bytes[5] == version else { throw .corrupt("key file version \(bytes[5]) is not supported by this build") }
        guard bytes[6] == kdfArgon2id else { throw .corrupt("key file names an unknown key derivation") }
        let ops = bytes[7..<15].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let mem = bytes[15..<23].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Header(version: bytes[5], parameters: PasswordKDFParameters(opsLimit: ops, memLimit: mem))
    }

    /// What the duress passphrase derives to: a hash of an Argon2id key, compared on a failed unlock.
    static func duressVerifier(_ p: SecureBytes, salt: [UInt8], parameters: PasswordKDFParameters) throws -> [UInt8] {
        let k = try PasswordKDF.deriveKey(passphrase: p, salt: salt, parameters: parameters)
        return Hash.blake2b(Array("sandyq-duress".utf8), length: 32, key: k.secret)
    }

    /// Opens the key file. A passphrase that matches the duress slot throws `.duress`.
    public static func open(_ bytes: [UInt8], passphrase: SecureBytes) throws(StoreError) -> Identity {
        let h = try header(of: bytes)
        let salt = Array(bytes[23..<39]), nonce = Array(bytes[39..<63])
        let key: SymmetricKey
        do { key = try PasswordKDF.deriveKey(passphrase: passphrase, salt: salt, parameters: h.parameters) }
        catch { throw .corrupt("key file has unusable key-derivation parameters") }
        var plain: [UInt8]
        do { plain = try AEAD.open(Array(bytes[headerLength...]), key: key, nonce: nonce, associatedData: Array(bytes[0..<headerLength])) }
        catch {
            if let v = try? duressVerifier(passphrase, salt: Array(bytes[duressSaltRange]), parameters: h.parameters),
               SecureBytes(v) == SecureBytes(Array(bytes[duressVerifierRange])) {
                throw .duress
            }
            throw .wrongPassphrase
        }
        defer { plain.zeroize() }
        var fields: [UInt8: SecureBytes] = [:]
        var i = 0
        while i + 2 <= plain.count {
            let t = plain[i], n = Int(plain[i + 1])
            guard i + 2 + n <= plain.count else { throw .corrupt("key file payload is malformed") }
            fields[t] = SecureBytes(plain[(i + 2)..<(i + 2 + n)])
            i += 2 + n
        }
        guard let seed = fields[Tag.signingSeed.rawValue], seed.count == SigningKeyPair.seedLength,
              let boxSecret = fields[Tag.boxSecret.rawValue], let sk = fields[Tag.storageKey.rawValue],
              let box = try? BoxKeyPair(secretKey: boxSecret), let storage = try? SymmetricKey(sk) else {
            throw .corrupt("key file payload lacks a key")
        }
        var writeOnly = false
        if let mode = fields[Tag.mode.rawValue] {
            guard mode.count == 1 else { throw .corrupt("key file payload has a malformed mode") }
            switch mode.unsafeCopy[0] {
            case modeReadWrite: writeOnly = false
            case modeWriteOnly: writeOnly = true
            default: throw .corrupt("key file payload names an unknown mode")
            }
        }
        return Identity(signing: SigningKeyPair(seed: seed), box: box, storageKey: storage, writeOnly: writeOnly,
                        recordsMode: fields[Tag.mode.rawValue] != nil)
    }

    /// Writes to a temporary name, flushes, then renames: a crash leaves the old file or the new one.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(StoreError) {
        try AtomicFile.write(bytes, to: path, mode: 0o600)
    }
}

/// Crash-safe replacement of a whole file (PrivateFile does the work).
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(StoreError) {
        try PrivateFile.write(bytes, to: path, mode: mode)
    }
}
