import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
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

/// A mailbox folder kept in sync by Syncthing holds what Syncthing writes there too: its
/// temporary files, its `.stfolder` marker, and conflict copies named after a bundle. Planted here
/// as Syncthing leaves them (a real pair of Syncthing instances runs in scripts/syncthing-e2e.sh).
@Suite struct MailboxFolderSyncTests {
    @Test func conflictCopiesAndTemporariesAreHandled() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try r.join(try #require(try c.project()))
        _ = try c.addMember(r.nodeID, role: .coordinator)
        let box = dir.sub("box")
        let fm = FileManager.default
        try fm.createDirectory(atPath: box + "/.stfolder", withIntermediateDirectories: true)
        let written = try #require(try c.syncMailbox(box).written.first)
        let stem = String(written.dropLast(4))
        // Syncthing's copy of our bundle after a concurrent change, and its temporary of another.
        let ourCopy = "\(stem).sync-conflict-20261204-091500-ABCDEFG.sqb"
        let temp = ".syncthing.\(stem)x.sqb.tmp"
        try fm.copyItem(atPath: box + "/" + written, toPath: box + "/" + ourCopy)
        #expect(fm.createFile(atPath: box + "/" + temp, contents: Data([1, 2])))
        // The coordinator's next sync neither reads its own copy nor fails on Syncthing's files.
        let again = try c.syncMailbox(box)
        #expect(again.failed.isEmpty && again.imported.isEmpty && again.skipped.isEmpty && again.notes.isEmpty, "\(again)")
        // The other coordinator reads the bundle once (its copy is seen as the same bundle).
        let got = try r.syncMailbox(box)
        #expect(got.failed.isEmpty && got.imported.count == 1 && got.skipped == [ourCopy], "\(got)")
        #expect(try r.versionVector() == (try c.versionVector()))
        // Once the answer comes back, the original and its conflict copy go together.
        let done = try c.syncMailbox(box)
        #expect(done.deleted.contains(written) && done.deleted.contains(ourCopy), "\(done.deleted)")
        #expect(!fm.fileExists(atPath: box + "/" + ourCopy) && fm.fileExists(atPath: box + "/" + temp) && fm.fileExists(atPath: box + "/.stfolder"))
    }

    @Test func onlySyncthingsConflictNamesCount() {
        #expect(Node.conflictOriginal("0011223344556677.sync-conflict-20261204-091500-ABCDEFG.sqb") == "0011223344556677.sqb")
        for name in ["0011.sqb", ".sync-conflict-20261204-091500-ABCDEFG.sqb", "a.sync-conflict-2026124-091500-ABCDEFG.sqb",
                     "a.sync-conflict-20261204-0915-ABCDEFG.sqb", "a.sync-conflict-20261204-091500-.sqb", "a.sync-conflict-20261204-091500-X.sqb.tmp"] {
            #expect(Node.conflictOriginal(name) == nil, "\(name)")
        }
    }
}
