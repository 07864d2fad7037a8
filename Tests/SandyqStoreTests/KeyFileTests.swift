import Foundation
import Testing
import SandyqTestSupport
import SandyqCrypto
import SandyqStore

@Suite struct KeyFileTests {
    static let headerLength = 5 + 1 + 1 + 8 + 8 + 16 + 24 + 16 + 32

    enum Outcome: Equatable { case opened, wrongPassphrase, corrupt, other(String) }

    static func attempt(_ bytes: [UInt8], _ passphrase: String) -> Outcome {
        switch storeError({ _ = try KeyFile.open(bytes, passphrase: pass(passphrase)) }) {
        case nil: return .opened
        case .wrongPassphrase?: return .wrongPassphrase
        case .corrupt?: return .corrupt
        case let e?: return .other("\(e)")
        }
    }

    @Test func sealThenOpenRoundTrips() throws {
        let id = Identity()
        let sealed = try KeyFile.seal(id, passphrase: pass("correct horse"), parameters: .minimum)
        let opened = try KeyFile.open(sealed, passphrase: pass("correct horse"))
        #expect(opened.signing.publicKey == id.signing.publicKey)
        #expect(opened.signing.seed == id.signing.seed)
        #expect(opened.box.publicKey == id.box.publicKey)
        #expect(opened.box.secretKey == id.box.secretKey)
        #expect(opened.storageKey == id.storageKey)
        // The header records what sealed it.
        let h = try KeyFile.header(of: sealed)
        #expect(h.version == KeyFile.version)
        #expect(h.parameters == .minimum)
        #expect(Array(sealed[0..<5]) == Array("SQKEY".utf8))
        // Fresh salt and nonce each time.
        let again = try KeyFile.seal(id, passphrase: pass("correct horse"), parameters: .minimum)
        #expect(again != sealed)
        #expect(again.count == sealed.count)
        // No secret appears in the clear.
        for secret in [id.signing.seed.unsafeCopy, id.box.secretKey.unsafeCopy, id.storageKey.secret.unsafeCopy] {
            #expect(!contains(sealed, window(secret, 0, 16)))
        }
    }

    @Test func wrongPassphraseIsReportedAsSuch() throws {
        let sealed = try KeyFile.seal(Identity(), passphrase: pass("right"), parameters: .minimum)
        #expect(throws: StoreError.wrongPassphrase) { try KeyFile.open(sealed, passphrase: pass("wrong")) }
        #expect(throws: StoreError.wrongPassphrase) { try KeyFile.open(sealed, passphrase: pass("righ")) }
        #expect(throws: StoreError.wrongPassphrase) { try KeyFile.open(sealed, passphrase: pass("right ")) }
        #expect(Self.attempt(sealed, "right") == .opened)
    }

    /// Every single-bit flip anywhere in the file fails closed with a StoreError; none crashes or opens.
    @Test func everyFlippedByteFailsClosed() throws {
        let sealed = try KeyFile.seal(Identity(), passphrase: pass("pw"), parameters: .minimum)
        var outcomes: [Int: Outcome] = [:]
        for i in sealed.indices {
            var b = sealed
            b[i] ^= 0x01 // never 0xff: that could ask Argon2 for gigabytes
            outcomes[i] = Self.attempt(b, "pw")
        }
        for (i, o) in outcomes.sorted(by: { $0.key < $1.key }) {
            #expect(o == .wrongPassphrase || o == .corrupt, "byte \(i): \(o)")
        }
        // Structural header bytes are reported as corrupt, not as a wrong passphrase.
        for i in 0..<7 { #expect(outcomes[i] == .corrupt, "byte \(i): \(String(describing: outcomes[i]))") }
        // Salt, nonce and ciphertext flips fail authentication.
        for i in 23..<sealed.count { #expect(outcomes[i] == .wrongPassphrase, "byte \(i): \(String(describing: outcomes[i]))") }
    }

    @Test func truncatedFileIsCorrupt() throws {
        let sealed = try KeyFile.seal(Identity(), passphrase: pass("pw"), parameters: .minimum)
        for n in [0, 1, 5, 10, Self.headerLength - 1, Self.headerLength, Self.headerLength + AEAD.tagLength - 1] {
            let caught = storeError { _ = try KeyFile.open(Array(sealed.prefix(n)), passphrase: pass("pw")) }
            guard case .corrupt(let why)? = caught else {
                Issue.record("truncated to \(n) bytes: \(String(describing: caught))"); continue
            }
            #expect(why.contains("truncated"), "truncated to \(n): \(why)")
        }
        // Cut inside the ciphertext: it must still never open.
        for n in [Self.headerLength + AEAD.tagLength, sealed.count - 1] {
            let o = Self.attempt(Array(sealed.prefix(n)), "pw")
            #expect(o == .wrongPassphrase || o == .corrupt, "truncated to \(n): \(o)")
        }
        // Appended garbage does not open either.
        #expect(Self.attempt(sealed + [0], "pw") != .opened)
    }

    /// The header is the AEAD's associated data: lowering the cost in place must break the file.
    @Test func headerBindsTheKDFParameters() throws {
        let stronger = PasswordKDFParameters(opsLimit: 3, memLimit: PasswordKDFParameters.minimum.memLimit * 4)
        let sealed = try KeyFile.seal(Identity(), passphrase: pass("pw"), parameters: stronger)
        #expect(try KeyFile.header(of: sealed).parameters == stronger)
        #expect(Self.attempt(sealed, "pw") == .opened)

        // Lower opslimit (big-endian u64 at bytes 7..<15) from 3 to 1.
        var lowerOps = sealed
        lowerOps[14] = 1
        #expect(try KeyFile.header(of: lowerOps).parameters.opsLimit == 1)
        #expect(throws: StoreError.wrongPassphrase) { try KeyFile.open(lowerOps, passphrase: pass("pw")) }

        // Lower memlimit (bytes 15..<23) back to the minimum.
        var lowerMem = sealed
        let minMem = PasswordKDFParameters.minimum.memLimit
        for (k, s) in stride(from: 56, through: 0, by: -8).enumerated() { lowerMem[15 + k] = UInt8((minMem >> UInt64(s)) & 0xff) }
        #expect(try KeyFile.header(of: lowerMem).parameters.memLimit == minMem)
        #expect(throws: StoreError.wrongPassphrase) { try KeyFile.open(lowerMem, passphrase: pass("pw")) }

        // Out-of-range parameters are corrupt, not a wrong passphrase.
        var zeroOps = sealed
        zeroOps[14] = 0
        #expect(Self.attempt(zeroOps, "pw") == .corrupt)
    }

    @Test func writeAtomicallyReplacesTheFileWithOwnerOnlyMode() throws {
        let dir = try TempDir()
        let path = dir.file(KeyFile.fileName)
        try KeyFile.writeAtomically([1, 2, 3], to: path)
        try KeyFile.writeAtomically([4, 5], to: path)
        #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == [4, 5])
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != KeyFile.fileName }
        #expect(leftovers.isEmpty)
    }
}

func window(_ b: [UInt8], _ start: Int, _ length: Int) -> [UInt8] { Array(b[start..<(start + length)]) }

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
        i += 1
    }
    return false
}
