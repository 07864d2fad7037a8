import Foundation
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import Testing
import SandyqTestSupport

/// Protocol/store.md's sealing under the storage key, read two ways: the vectors of
/// Protocol/vectors/store/ (scripts/vectors/gen_store_vectors.py, written from the spec), and
/// a real node's store opened by the same formulas.
@Suite struct StoreVectorTests {
    static let folder = Vectors.root.appendingPathComponent("store", isDirectory: true)
    static let names: [String] = {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".txt") }.sorted()
    }()

    /// store.md, "Keys": `derive(context:)` is BLAKE2b keyed with the parent key over the context.
    static func storeKey(_ storage: SymmetricKey) throws -> SymmetricKey {
        try SymmetricKey(SecureBytes(Hash.blake2b(Array("sandyq-store-v1".utf8), length: 32, key: storage.secret)))
    }

    static func openNetkey(_ value: [UInt8], storage: SymmetricKey) throws -> [UInt8] {
        try AEAD.open(Array(value[24...]), key: try storeKey(storage), nonce: Array(value[0..<24]), associatedData: Array("netkey".utf8))
    }

    /// The session key and the slot (author key ‖ session id) of one `session_keys` row; nil when
    /// the tag recomputed from the sealed slot is not the row's.
    static func openSessionRow(tag: [UInt8], sealed: [UInt8], storage: SymmetricKey) throws -> (key: [UInt8], slot: [UInt8])? {
        let k = try storeKey(storage)
        let plain = try AEAD.open(Array(sealed[24...]), key: k, nonce: Array(sealed[0..<24]),
                                  associatedData: Array("session-v2:".utf8) + tag)
        let slot = Array(plain[32...])
        let tagKey = SecureBytes(Hash.blake2b(Array("sandyq-session-tag-v1".utf8), length: 32, key: k.secret))
        guard Hash.blake2b(slot, length: 32, key: tagKey) == tag else { return nil }
        return (Array(plain[0..<32]), slot)
    }

    /// The `reader-key` row: epoch u32 ‖ X25519 secret key.
    static func openReaderKey(_ value: [UInt8], storage: SymmetricKey) throws -> (epoch: [UInt8], secret: [UInt8]) {
        let plain = try AEAD.open(Array(value[24...]), key: try storeKey(storage), nonce: Array(value[0..<24]),
                                  associatedData: Array("sandyq-reader-key".utf8))
        return (Array(plain[0..<4]), Array(plain[4...]))
    }

    /// The `backup-pieces` row: backup id[8] ‖ threshold u8 ‖ count u8 ‖ reader epoch u32 ‖ made u64.
    static func openBackupPieces(_ value: [UInt8], storage: SymmetricKey) throws -> [UInt8] {
        try AEAD.open(Array(value[24...]), key: try storeKey(storage), nonce: Array(value[0..<24]),
                      associatedData: Array("sandyq-backup-pieces".utf8))
    }

    static func grantKey(_ storage: SymmetricKey) -> SecureBytes {
        SecureBytes(Hash.blake2b(Array("sandyq-grant-tags".utf8), length: 32, key: storage.secret))
    }

    static func recipientTag(_ recipient: [UInt8], storage: SymmetricKey) -> [UInt8] {
        Hash.blake2b(Array("recipient".utf8) + recipient, length: 16, key: grantKey(storage))
    }

    @Test func catalog() {
        #expect(Self.names == ["store_backup_pieces_as_reader_key.txt", "store_backup_pieces_ok.txt", "store_grant_tags_ok.txt", "store_netkey_ok.txt", "store_netkey_storage_key_itself.txt",
                               "store_parent_row_ok.txt", "store_reader_key_as_netkey.txt", "store_reader_key_ok.txt",
                               "store_session_row_moved.txt", "store_session_row_ok.txt"])
    }

    @Test(arguments: names)
    func vector(_ name: String) throws {
        let f = try Vectors.header(String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8), name)
        func bytes(_ k: String) throws -> [UInt8] {
            guard let text = f[k], let b = Hex.decode(text) else { throw VectorFormatError(description: "\(name): \(k) missing or not hex") }
            return b
        }
        let storage = try SymmetricKey(SecureBytes(try bytes("storage_key")))
        let ok = f["expect"] == "ok"
        #expect(ok || f["expect"] == "authentication_failed", "\(name): expect")
        switch f["area"] {
        case "netkey":
            if ok {
                #expect(try Self.openNetkey(try bytes("value"), storage: storage) == (try bytes("network_key")))
            } else {
                #expect(throws: CryptoError.authenticationFailed) { try Self.openNetkey(try bytes("value"), storage: storage) }
            }
        case "session_row":
            if ok {
                let row = try #require(try Self.openSessionRow(tag: try bytes("tag"), sealed: try bytes("sealed"), storage: storage))
                #expect(row.key == (try bytes("session_key")))
                #expect(row.slot == (try bytes("author")) + (try bytes("session_id")))
            } else {
                #expect(throws: CryptoError.authenticationFailed) {
                    _ = try Self.openSessionRow(tag: try bytes("tag"), sealed: try bytes("sealed"), storage: storage)
                }
            }
        case "grant_tags":
            let rtag = Self.recipientTag(try bytes("recipient"), storage: storage)
            #expect(rtag == (try bytes("recipient_tag")))
            #expect(Hash.blake2b(Array("session".utf8) + rtag + (try bytes("session")), length: 16, key: Self.grantKey(storage))
                    == (try bytes("session_tag")))
        case "reader_key":
            if ok {
                let row = try Self.openReaderKey(try bytes("value"), storage: storage)
                let epoch = try bytes("epoch"), secret = try bytes("secret_key")
                #expect(row.epoch == epoch && row.secret == secret)
                #expect(try BoxKeyPair(secretKey: SecureBytes(row.secret)).publicKey.bytes == (try bytes("public_key")))
            } else {
                #expect(throws: CryptoError.authenticationFailed) { _ = try Self.openReaderKey(try bytes("value"), storage: storage) }
            }
        case "backup_pieces":
            let value = try bytes("value")
            #expect(value.count == 62)
            if ok {
                let plain = try Self.openBackupPieces(value, storage: storage)
                let fields = try ["backup_id", "threshold", "count", "epoch", "made"].map { try bytes($0) }
                #expect(plain == fields.flatMap { $0 })
            } else {
                #expect(throws: CryptoError.authenticationFailed) { _ = try Self.openBackupPieces(value, storage: storage) }
            }
        default:
            Issue.record("\(name): unknown area \(f["area"] ?? "none")")
        }
    }

    /// The same formulas open what a real node wrote: its network key, its cached session keys
    /// (every row, each matching a key its view holds), and its grant records for a lawyer.
    @Test func aRealStoreOpensAsSpecified() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: c)
        let id = try c.addCase(RoleKit.doc("Дело хранилища", person: "Свидетель"))
        try c.share(id.description, with: l.nodeID)
        let storage = c.identity.storageKey

        let netkey = try #require(try c.store.setting("netkey"))
        #expect(netkey.count == 72)
        #expect(try Self.openNetkey(netkey, storage: storage) == (try #require(try c.networkKey())).secret.unsafeCopy)
        // The reader key the founder announced with its genesis opens from its row, as epoch 1.
        let reader = try Self.openReaderKey(try #require(try c.store.setting("reader-key")), storage: storage)
        #expect(reader.epoch == [0, 0, 0, 1])
        let announced = try #require(try c.view().membership.readerKeys[c.nodeID.signingKey])
        let readerKeys = try BoxKeyPair(secretKey: SecureBytes(reader.secret))
        #expect(announced.epoch == 1 && announced.key == readerKeys.publicKey)
        // The record of its last backup pieces: their id, 2 of 3, epoch 1, and when.
        let set = try c.splitBackupSet(threshold: 2, count: 3)
        try c.recordPieces(set)
        let pieces = try Self.openBackupPieces(try #require(try c.store.setting("backup-pieces")), storage: storage)
        #expect(pieces.count == 22 && Array(pieces[0..<14]) == set.pieces[0].backupID + [2, 3, 0, 0, 0, 1])
        let made = pieces[14...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(made > 1_700_000_000_000 && made <= UInt64(Date().timeIntervalSince1970 * 1000))

        // A fresh process rebuilds the view and caches the session keys it opened.
        let again = try NodeFixture.open(dir, "c")
        let view = try again.view()
        let rows = try again.store.sealedSessionKeys()
        #expect(!rows.isEmpty)
        var parents = 0
        for row in rows {
            let opened = try #require(try Self.openSessionRow(tag: row.tag, sealed: row.sealed, storage: storage))
            if row.sealed.count == 113 {
                // A parent's row: its slot ends in the byte 01.
                #expect(opened.slot.last == 1)
                #expect(view.parentKeys[try SessionID(bytes: Array(opened.slot.dropLast()))]?.secret.unsafeCopy == opened.key)
                parents += 1
            } else {
                #expect(row.sealed.count == 112)
                #expect(view.sessionKeys[try SessionID(bytes: opened.slot)]?.secret.unsafeCopy == opened.key)
            }
        }
        #expect(parents == view.parentKeys.count && parents > 0)
        #expect(try again.store.grantedSessions(to: Self.recipientTag(l.nodeID.signingKey.bytes, storage: storage)).count > 0,
                "no grant records under the lawyer's tag")
    }
}
