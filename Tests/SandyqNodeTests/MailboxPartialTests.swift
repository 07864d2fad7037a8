import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqNode
import Synchronization

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

@Suite struct MailboxProgressTests {
    /// The desk draws a bar per bundle from these calls: each bundle starts, then finishes, read or written.
    @Test func mailboxSyncReportsEachBundleStartingAndFinishing() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        try r.join(try #require(try c.project()))
        _ = try c.addMember(r.nodeID, role: .reporter)
        let stick = dir.sub("stick")
        try FileManager.default.createDirectory(atPath: stick, withIntermediateDirectories: true)
        let steps = Mutex<[Node.MailboxStep]>([])
        let wrote = try c.syncMailbox(stick) { s in steps.withLock { $0.append(s) } }.written
        let seen = steps.withLock { $0 }
        #expect(seen.map(\.file) == wrote.flatMap { [$0, $0] } && seen.allSatisfy(\.writing))
        #expect(seen.map(\.finished) == wrote.flatMap { _ in [false, true] })
        steps.withLock { $0 = [] }
        let read = try r.syncMailbox(stick) { s in steps.withLock { $0.append(s) } }
        let reads = steps.withLock { $0 }.filter { !$0.writing }
        #expect(reads.count == 2 * read.imported.count && !reads.isEmpty)
    }
}
