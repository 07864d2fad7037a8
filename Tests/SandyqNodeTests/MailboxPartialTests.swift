import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqNode

@Suite struct MailboxPartialTests {
    /// A killed export's leftover is cleared from the mailbox once it is old; a fresh one,
    /// which may be an export still running, and the real bundles stay.
    @Test func usbSyncRemovesAbandonedPartialFilesOnly() throws {
        let dir = try TempDir()
        let (a, _) = try NodeFixture.founder(dir, "a", project: "Почта")
        let box = dir.sub("stick")
        try FileManager.default.createDirectory(atPath: box, withIntermediateDirectories: true)
        let stale = box + "/0011223344556677.sqb.partial-aabbccdd", fresh = box + "/8899aabbccddeeff.sqb.partial-00112233"
        let other = box + "/notes.txt"
        for f in [stale, fresh, other] { #expect(FileManager.default.createFile(atPath: f, contents: Data([1, 2, 3]))) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stale)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: other)
        _ = try a.syncMailbox(box)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(FileManager.default.fileExists(atPath: other))
    }
}
