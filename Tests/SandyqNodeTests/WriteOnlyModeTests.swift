import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import SandyqStore

/// Write-only lives in the key file: the store cannot turn it off, and old homes migrate.
@Suite struct WriteOnlyModeTests {
    static let pw = SecureBytes(Array(NodeFixture.passphrase.utf8))

    /// Rewrites `home`'s key file as a build before tag 4 wrote it (tags 1-3, 229 bytes).
    static func makeLegacy(_ home: String) throws {
        let path = Node.keyPath(home)
        let current = try #require(FileManager.default.contents(atPath: path).map { [UInt8]($0) })
        let id = try KeyFile.open(current, passphrase: pw)
        let header = Array(current[0..<111])
        let key = try PasswordKDF.deriveKey(passphrase: pw, salt: Array(header[23..<39]), parameters: .minimum)
        let plain: [UInt8] = [1, 32] + id.signing.seed.unsafeCopy + [2, 32] + id.box.secretKey.unsafeCopy + [3, 32] + id.storageKey.secret.unsafeCopy
        try KeyFile.writeAtomically(header + AEAD.seal(plain, key: key, nonce: Array(header[39..<63]), associatedData: header), to: path)
    }

    @Test("an old home's write-only setting moves into the key file on unlock, and the store no longer matters")
    func legacySettingMigrates() throws {
        let dir = try TempDir()
        let home = dir.sub("r")
        _ = try Node.initialize(home: home, passphrase: Self.pw, parameters: .minimum)
        try Self.makeLegacy(home)
        try OpStore(path: Node.databasePath(home)).setSetting("writeonly", [1])
        #expect(FileManager.default.contents(atPath: Node.keyPath(home))?.count == 229)

        let n = try Node.open(home: home, passphrase: Self.pw)
        #expect(n.isWriteOnly, "the old setting is honoured")
        let file = try #require(FileManager.default.contents(atPath: Node.keyPath(home)).map { [UInt8]($0) })
        #expect(file.count == 232)
        let id = try KeyFile.open(file, passphrase: Self.pw)
        #expect(id.writeOnly && id.recordsMode, "the key file now records the mode")
        #expect(try n.store.setting("writeonly") == nil, "the old row is removed")

        // Planting the old row with another value changes nothing now.
        try OpStore(path: Node.databasePath(home)).setSetting("writeonly", [0])
        #expect(try Node.open(home: home, passphrase: Self.pw).isWriteOnly)
    }

    @Test("an old home without the setting migrates to read-write")
    func legacyReadWriteMigrates() throws {
        let dir = try TempDir()
        let home = dir.sub("c")
        _ = try Node.initialize(home: home, passphrase: Self.pw, parameters: .minimum)
        try Self.makeLegacy(home)
        let n = try Node.open(home: home, passphrase: Self.pw)
        #expect(!n.isWriteOnly)
        let id = try KeyFile.open(try #require(FileManager.default.contents(atPath: Node.keyPath(home)).map { [UInt8]($0) }), passphrase: Self.pw)
        #expect(id.recordsMode && !id.writeOnly)
        // A planted row cannot turn a migrated node write-only either: the key file decides.
        try n.store.setSetting("writeonly", [1])
        #expect(!(try Node.open(home: home, passphrase: Self.pw).isWriteOnly))
    }

    @Test("changing the mode needs the passphrase")
    func setWriteOnlyNeedsThePassphrase() throws {
        let dir = try TempDir()
        let home = dir.sub("r")
        let n = try Node.initialize(home: home, passphrase: Self.pw, parameters: .minimum, writeOnly: true)
        #expect(throws: NodeError.self) { try n.setWriteOnly(false, passphrase: SecureBytes(Array("wrong".utf8))) }
        #expect(try Node.open(home: home, passphrase: Self.pw).isWriteOnly)
        try n.setWriteOnly(false, passphrase: Self.pw)
        #expect(!n.isWriteOnly)
        #expect(!(try Node.open(home: home, passphrase: Self.pw).isWriteOnly))
    }
}
