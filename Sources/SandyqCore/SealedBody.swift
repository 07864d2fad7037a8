import SandyqCrypto

/// A parent key a writer seals to one reader set once per batch, from which every session of
/// that batch derives its own key: a reader opens one sealed box per batch, not per case,
/// while grants still hand over one case's session keys only. Layout: Protocol/ops.md.
public final class SealingParent: @unchecked Sendable {
    public static let idLength = 8
    /// Sessions one parent may derive before the writer opens another: a bound on how many
    /// cases one parent id links, at one sealed box per reader per this many sessions.
    public static let maxSessions = 4096
    public let id: [UInt8]
    let key: SymmetricKey
    public let readers: [BoxPublicKey]
    // Mutated only by the single writer that owns the parent.
    var announced = false
    var derived = 0

    public init(readers: [BoxPublicKey]) {
        id = Random.bytes(Self.idLength)
        key = SymmetricKey()
        self.readers = OpWriter.readerSet(readers)
    }

    /// The parent key itself, for this node's own view and key cache.
    public var secretKey: SymmetricKey { key }

    static let derivationLabel = Array("sandyq-derived-session".utf8)

    /// K = BLAKE2b-256(key: P, "sandyq-derived-session" ‖ author ‖ session id).
    public static func sessionKey(parent: SymmetricKey, author: SigningPublicKey, session: [UInt8]) -> SymmetricKey {
        parent.deriveKey(message: derivationLabel + author.bytes + session)
    }
}

/// A content key shared by an author's consecutive ops with the same readers, so a reader
/// opens one sealed box per session rather than per op. Layout: Protocol/ops.md.
public final class SealingSession: @unchecked Sendable {
    public static let idLength = 8
    public let id: [UInt8]
    public let key: SymmetricKey
    public let readers: [BoxPublicKey]
    /// The parent this session's key derives from; nil for a session whose key is sealed to
    /// each reader itself (flag 1, what builds before parents wrote).
    public let parent: SealingParent?
    // Mutated only by the single writer that owns the session.
    private var announced = false

    public init(readers: [BoxPublicKey]) {
        id = Random.bytes(Self.idLength)
        key = SymmetricKey()
        self.readers = OpWriter.readerSet(readers)
        parent = nil
    }

    /// A session whose key derives from `parent` (flags 2 and 3).
    public init(parent: SealingParent, author: SigningPublicKey) {
        id = Random.bytes(Self.idLength)
        key = SealingParent.sessionKey(parent: parent.key, author: author, session: id)
        readers = parent.readers
        self.parent = parent
        parent.derived += 1
    }

    /// The most bytes `seal` makes of a plaintext of `plaintext` bytes for `readers` readers:
    /// what a writer checks against the op body limit before it signs anything.
    public static func bodyLength(plaintext: Int, readers: Int) -> Int {
        1 + idLength + 1 + SealingParent.idLength + 2 + readers * SealedBody.entryLength + AEAD.nonceLength + plaintext + AEAD.tagLength
    }

    /// Seals `plaintext` for an envelope whose header is `header`. The first op of a session
    /// carries its key (sealed to every reader, or named by its parent, whose key the first op
    /// of the parent seals to every reader); later ones name the session only.
    public func seal(_ plaintext: [UInt8], header: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: plaintext.count + 72 + readers.count * 80)
        w.u8(SealedBody.version)
        w.raw(id)
        if announced {
            w.u8(0)
        } else if let parent {
            if parent.announced {
                w.u8(3)
                w.raw(parent.id)
            } else {
                w.u8(2)
                w.raw(parent.id)
                w.u16(UInt16(readers.count))
                for r in readers { w.raw(r.seal(parent.key.secret)) }
                parent.announced = true
            }
        } else {
            w.u8(1)
            w.u16(UInt16(readers.count))
            for r in readers { w.raw(r.seal(key.secret)) }
        }
        announced = true
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
    /// Flag 1: the session key sealed to each reader.
    public let sealedKeys: [[UInt8]]?
    /// Flags 2 and 3: the parent the session key derives from.
    public let parentID: [UInt8]?
    /// Flag 2: the parent key sealed to each reader.
    public let parentKeys: [[UInt8]]?
    public let nonce: [UInt8]
    public let ciphertext: [UInt8]

    public init(decoding body: [UInt8]) throws(CoreError) {
        do {
            var r = ByteReader(body)
            let v = try r.u8()
            guard v == Self.version else { throw CoreError.unsupportedVersion(v) }
            sessionID = try r.raw(SealingSession.idLength)
            func entries() throws -> [[UInt8]] {
                let n = Int(try r.u16())
                guard n >= 1, n <= Self.maxReaders else { throw CoreError.malformed("reader count \(n) out of range") }
                return try (0..<n).map { _ in try r.raw(Self.entryLength) }
            }
            switch try r.u8() {
            case 0: sealedKeys = nil; parentID = nil; parentKeys = nil
            case 1: sealedKeys = try entries(); parentID = nil; parentKeys = nil
            case 2: sealedKeys = nil; parentID = try r.raw(SealingParent.idLength); parentKeys = try entries()
            case 3: sealedKeys = nil; parentID = try r.raw(SealingParent.idLength); parentKeys = nil
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
    public func openSessionKey(with keys: BoxKeyPair) -> SymmetricKey? { openSessionKey(with: [keys]) }

    /// Tries each of a reader's keys (its reader keys, then its node id's box key) on every entry.
    public func openSessionKey(with keys: [BoxKeyPair]) -> SymmetricKey? {
        sealedKeys.flatMap { Self.open($0, with: keys) }
    }

    /// The parent key from a flag-2 body's entries; nil when none opens for this reader.
    public func openParentKey(with keys: BoxKeyPair) -> SymmetricKey? { openParentKey(with: [keys]) }

    public func openParentKey(with keys: [BoxKeyPair]) -> SymmetricKey? {
        parentKeys.flatMap { Self.open($0, with: keys) }
    }

    /// The first entry that opens to 32 bytes under any of the reader's keys (Protocol/ops.md,
    /// "Order", rule 1: entries in order, so two keys of one reader cannot pick different entries).
    static func open(_ entries: [[UInt8]], with keys: [BoxKeyPair]) -> SymmetricKey? {
        for entry in entries {
            for k in keys {
                if let s = try? k.openSecret(entry), let key = try? SymmetricKey(s) { return key }
            }
        }
        return nil
    }

    /// Whether the op carries its session's key: entries (flag 1) or a parent (flags 2, 3).
    public var announcesSession: Bool { sealedKeys != nil || parentID != nil }

    /// The slot of this body's parent, for an op of `author`.
    public func parentSlot(author: SigningPublicKey) -> SessionID? {
        parentID.map { SessionID(author: author, unchecked: $0) }
    }

    /// This op's session key, derived from its parent's key.
    public func derivedKey(parent: SymmetricKey, author: SigningPublicKey) -> SymmetricKey {
        SealingParent.sessionKey(parent: parent, author: author, session: sessionID)
    }

    public func open(with key: SymmetricKey, header: [UInt8]) throws(CoreError) -> [UInt8] {
        do { return try AEAD.open(ciphertext, key: key, nonce: nonce, associatedData: header) }
        catch { throw CoreError.malformed("sealed body does not authenticate under its session key") }
    }
}
