import SandyqCrypto
import SandyqStore

/// What this node keeps in its store under its storage key (the network key, cached session
/// keys, the view snapshot): nonce ‖ XChaCha20-Poly1305(plaintext), with associated data naming
/// what the bytes are, so a row cannot stand in for another. One construction for all of them.
struct StorageSeal {
    let key: SymmetricKey

    init(_ identity: Identity) { key = SymmetricKey.storage(identity.storageKey) }

    func seal(_ plain: [UInt8], associatedData: [UInt8], nonce: [UInt8] = AEAD.randomNonce()) -> [UInt8] {
        nonce + AEAD.seal(plain, key: key, nonce: nonce, associatedData: associatedData)
    }

    func seal(_ plain: SecureBytes, associatedData: [UInt8], nonce: [UInt8] = AEAD.randomNonce()) -> [UInt8] {
        nonce + AEAD.seal(plain, key: key, nonce: nonce, associatedData: associatedData)
    }

    /// Throws `authenticationFailed` for bytes that are short, altered or sealed for another use.
    func open(_ sealed: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count > AEAD.nonceLength else { throw .authenticationFailed }
        do {
            return try AEAD.open(Array(sealed[AEAD.nonceLength...]), key: key, nonce: Array(sealed[0..<AEAD.nonceLength]),
                                 associatedData: associatedData)
        } catch { throw .authenticationFailed }
    }
}

extension SymmetricKey {
    /// The storage key's subkey for one purpose.
    static func storage(_ k: SymmetricKey) -> SymmetricKey {
        (try? SymmetricKey(k.derive(context: "sandyq-store-v1"))) ?? k
    }
}
