import Foundation
import Testing
@testable import SandyqCrypto

/// Secrets live in locked pages (no swap, no core dump), and releasing one secret never
/// unlocks a page another live secret still sits on.
@Suite struct SecretMemoryTests {
    /// VmLck of this process, in kB, as the kernel reports it.
    static func lockedKiB() -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmLck:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    @Test func secretsAreLockedAndAPageStaysLockedWhileASecretIsOnIt() throws {
        var secrets = (0..<256).map { _ in SecureBytes(randomCount: 32) }
        #expect(secrets.allSatisfy { $0.isLocked }, "mlock refused (RLIMIT_MEMLOCK?)")
        let vm = try #require(Self.lockedKiB())
        // AddressSanitizer turns mlock into a no-op that succeeds ("ignores mlock"), so the
        // kernel's count is checked only in a normal build.
        if dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") == nil {
            #expect(vm > 0, "the kernel shows no locked memory")
        }
        let kept = secrets[0]
        let keptHeld = kept.withUnsafeBytes { MemoryLock.holds($0.baseAddress!) }
        #expect(keptHeld)
        // Releasing every other secret, many of them on the same page, keeps that page locked.
        secrets.removeAll()
        #expect(kept.withUnsafeBytes { MemoryLock.holds($0.baseAddress!) }, "a neighbour's release unlocked a live secret's page")
        #expect(kept.count == 32)
    }

    @Test func derivedAndOpenedSecretsAreLockedToo() throws {
        let k = SymmetricKey()
        #expect(k.secret.isLocked && k.derive(context: "test").isLocked)
        let pair = BoxKeyPair()
        let sealed = pair.publicKey.seal(k.secret)
        let opened = try pair.openSecret(sealed)
        #expect(opened.isLocked && opened == k.secret)
        #expect(throws: (any Error).self) { try pair.openSecret(Array(sealed.dropLast())) }
        // The secret-sealing AEAD equals the plain one.
        let nonce = AEAD.randomNonce()
        #expect(AEAD.seal(k.secret, key: k, nonce: nonce) == AEAD.seal(k.secret.unsafeCopy, key: k, nonce: nonce))
    }
}
