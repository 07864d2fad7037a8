import SandyqCrypto

/// A content key shared by an author's consecutive ops with the same readers, so a reader
/// opens one sealed box per session rather than per op. Layout: Protocol/ops.md.
public final class SealingSession: @unchecked Sendable {
    public static let idLength = 8
    public let id: [UInt8]
    public let key: SymmetricKey
    public let readers: [BoxPublicKey]
    // Mutated only by the single writer that owns the session.
    private var announced = false

    public init(readers: [BoxPublicKey]) {
        id = Random.bytes(Self.idLength)
        key = SymmetricKey()
        self.readers = Array(Set(readers)).sorted()
    }

    /// The most bytes `seal` makes of a plaintext of `plaintext` bytes for `readers` readers:
    /// what a writer checks against the op body limit before it signs anything.
    public static func bodyLength(plaintext: Int, readers: Int) -> Int {
        1 + idLength + 1 + 2 + readers * SealedBody.entryLength + AEAD.nonceLength + plaintext + AEAD.tagLength
    }

    /// Seals `plaintext` for an envelope whose header is `header`. The first op of a session
    /// carries the content key sealed to every reader; later ones name the session only.
    public func seal(_ plaintext: [UInt8], header: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: plaintext.count + 64 + readers.count * 80)
        w.u8(SealedBody.version)
        w.raw(id)
        if !announced {
            w.u8(1)
            w.u16(UInt16(readers.count))
            for r in readers { w.raw(r.seal(key.secret)) }
            announced = true
        } else {
            w.u8(0)
        }
        let nonce = AEAD.randomNonce()
        w.raw(nonce)
        w.raw(AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: header))
        return w.bytes
    }
}

public struct SealedBody: Sendable {
    public static let version: UInt8 = 1
    public static let entryLength = SymmetricKey.length + SealedBox.overhead
    public static let maxReaders = 1024

    public let sessionID: [UInt8]
    public let sealedKeys: [[UInt8]]?
    public let nonce: [UInt8]
    public let ciphertext: [UInt8]

    public init(decoding body: [UInt8]) throws(CoreError) {
        do {
            var r = ByteReader(body)
            let v = try r.u8()
            guard v == Self.version else { throw CoreError.unsupportedVersion(v) }
            sessionID = try r.raw(SealingSession.idLength)
            switch try r.u8() {
            case 0: sealedKeys = nil
            case 1:
                let n = Int(try r.u16())
                guard n >= 1, n <= Self.maxReaders else { throw CoreError.malformed("reader count \(n) out of range") }
                sealedKeys = try (0..<n).map { _ in try r.raw(Self.entryLength) }
            default: throw CoreError.malformed("unknown key-entry flag")
            }
            nonce = try r.raw(AEAD.nonceLength)
            ciphertext = try r.raw(r.remaining)
            guard ciphertext.count >= AEAD.tagLength else { throw CoreError.truncated }
        } catch CoreError.decodeTruncated, CoreError.decodeMalformed {
            throw .truncated
        } catch let e as CoreError {
            throw e
        } catch {
            throw .truncated
        }
    }

    /// Tries this reader's key on every entry; nil when the op was not sealed to it.
    public func openSessionKey(with keys: BoxKeyPair) -> SymmetricKey? {
        guard let sealedKeys else { return nil }
        for entry in sealedKeys {
            if let k = try? keys.openSecret(entry), let key = try? SymmetricKey(k) { return key }
        }
        return nil
    }

    public func open(with key: SymmetricKey, header: [UInt8]) throws(CoreError) -> [UInt8] {
        do { return try AEAD.open(ciphertext, key: key, nonce: nonce, associatedData: header) }
        catch { throw CoreError.malformed("sealed body does not authenticate under its session key") }
    }
}
