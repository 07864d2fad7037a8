import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// A8: writes that fail part-way, made per path (a real full filesystem is in FullDiskCLITests):
//  - the destination directory is removed (or swapped for a fresh one) mid-export;
//  - the temp file name is taken by a directory;
//  - the destination directory is read-only (mode 0500, or for root the immutable flag).
// Each time the writer must throw SyncError.io, leave no temp file behind, and leave an
// older bundle already at the destination byte-identical.

@Suite struct BundleWriteFailureTests {
    static func isIO(_ e: SyncError?) -> Bool { if case .io = e { return true }; return false }

    /// An older, valid bundle at `path`; returns its bytes.
    static func oldBundle(at path: String) throws -> [UInt8] {
        let f = BundleOpFixture.hundred
        try writeTestBundle(path, Array(f.envelopes.prefix(10)), header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
        return bundleFileBytes(path)
    }

    /// Where the writer's temporary file used to be: a predictable name an attacker could plant.
    static var tmpSuffix: String { ".partial-\(getpid())" }

    /// A link planted where the writer used to put its temporary file must not be followed.
    @Test func plantedSymlinkIsNotFollowed() throws {
        let dir = try TempDir()
        let dest = dir.file("out.sqb")
        let victim = dir.file("identity.key")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: dest + Self.tmpSuffix, withDestinationPath: victim)
        let f = BundleOpFixture.hundred
        let w = try BundleWriter(path: dest, recipients: [f.box.publicKey], header: f.header(), signer: f.signing)
        for e in f.envelopes.prefix(10) { try w.append(e) }
        try w.finish()
        #expect(String(decoding: bundleFileBytes(victim), as: UTF8.self) == "precious", "the export wrote through a planted symlink")
        #expect(bundleReadAll(dest, keys: f.box).envelopes.count == 10)
    }

    @Test func directoryRemovedMidExport() throws {
        let parent = try TempDir()
        let dir = parent.file("stick")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let dest = dir + "/out.sqb"
        let f = BundleOpFixture.large
        let w = try BundleWriter(path: dest, recipients: [f.box.publicKey], header: f.header(), signer: f.signing)
        for e in f.envelopes.prefix(1500) { try w.append(e) }
        #expect(w.bytesWritten > 4 * BundleFormat.chunkSize, "chunks should have gone out before the stick went")
        try FileManager.default.removeItem(atPath: dir)
        for e in f.envelopes.dropFirst(1500) { try w.append(e) }
        var caught: SyncError?
        do { try w.finish() } catch { caught = error }
        #expect(Self.isIO(caught), "expected SyncError.io, got \(String(describing: caught))")
        #expect(!FileManager.default.fileExists(atPath: dir), "the writer recreated the removed directory")
        #expect(!FileManager.default.fileExists(atPath: dest))
    }

    @Test func directoryReplacedMidExportKeepsOlderBundle() throws {
        let parent = try TempDir()
        let dir = parent.file("stick")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let dest = dir + "/out.sqb"
        let old = try Self.oldBundle(at: dest)
        let f = BundleOpFixture.large
        let w = try BundleWriter(path: dest, recipients: [f.box.publicKey], header: f.header(), signer: f.signing)
        for e in f.envelopes.prefix(200) { try w.append(e) }
        // The stick is pulled and another one with the older bundle goes in at the same path.
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        bundleWriteBytes(dest, old)
        for e in f.envelopes.dropFirst(200) { try w.append(e) }
        var caught: SyncError?
        do { try w.finish() } catch { caught = error }
        #expect(Self.isIO(caught), "expected SyncError.io, got \(String(describing: caught))")
        #expect(bundleSame(bundleFileBytes(dest), old), "the older bundle changed after a failed write")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.sqb"])
    }

    @Test func missingDirectory() throws {
        let dir = try TempDir()
        let f = BundleOpFixture.one
        var caught: SyncError?
        do { _ = try BundleWriter(path: dir.file("no/such/dir/out.sqb"), recipients: [f.box.publicKey], header: f.header(), signer: f.signing) } catch { caught = error }
        #expect(Self.isIO(caught), "expected SyncError.io, got \(String(describing: caught))")
    }

    /// Makes `dir` unwritable or writable again. Root ignores directory modes but not the
    /// immutable flag, so as root (as in CI) it is `chattr +i`; where the filesystem has no such
    /// flag the test is cancelled with the reason.
    static func setReadOnly(_ dir: String, _ readOnly: Bool) throws {
        if geteuid() != 0 {
            #expect(chmod(dir, readOnly ? 0o500 : 0o700) == 0)
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        p.arguments = [readOnly ? "+i" : "-i", dir]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let why = "chattr \(readOnly ? "+i" : "-i") failed (exit \(p.terminationStatus)) on \(dir): no immutable flag on this filesystem"
            print("BundleWriteFailureTests.readOnlyDestination skipped: \(why)")
            try Test.cancel(Comment(rawValue: why))
        }
    }

    @Test func readOnlyDestination() throws {
        let dir = try TempDir()
        let dest = dir.file("out.sqb")
        let old = try Self.oldBundle(at: dest)
        let f = BundleOpFixture.hundred
        // Read-only before the export starts: init fails.
        try Self.setReadOnly(dir.path, true)
        defer { try? Self.setReadOnly(dir.path, false) }
        var caught: SyncError?
        do { _ = try BundleWriter(path: dest, recipients: [f.box.publicKey], header: f.header(), signer: f.signing) } catch { caught = error }
        #expect(Self.isIO(caught), "expected SyncError.io, got \(String(describing: caught))")
        #expect(bundleSame(bundleFileBytes(dest), old))
        // Made read-only mid-export: finish cannot rename into place.
        try Self.setReadOnly(dir.path, false)
        let w = try BundleWriter(path: dest, recipients: [f.box.publicKey], header: f.header(), signer: f.signing)
        for e in f.envelopes { try w.append(e) }
        try Self.setReadOnly(dir.path, true)
        caught = nil
        do { try w.finish() } catch { caught = error }
        #expect(Self.isIO(caught), "expected SyncError.io, got \(String(describing: caught))")
        #expect(bundleSame(bundleFileBytes(dest), old))
    }

    /// A writer dropped without finish (an export that threw) leaves nothing behind.
    @Test func abandonedWriterLeavesNoTempFile() throws {
        let dir = try TempDir()
        let dest = dir.file("out.sqb")
        let old = try Self.oldBundle(at: dest)
        do {
            let f = BundleOpFixture.hundred
            let w = try BundleWriter(path: dest, recipients: [f.box.publicKey], header: f.header(), signer: f.signing)
            for e in f.envelopes { try w.append(e) }
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            #expect(names.contains { $0.hasPrefix("out.sqb.partial-") }, "the writer should stream into a temporary file: \(names)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.sqb"])
        #expect(bundleSame(bundleFileBytes(dest), old))
    }
}
