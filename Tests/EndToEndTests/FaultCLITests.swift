import Foundation
import Testing

/// Faults of the machine under the real CLI: a read-only home, and a full disk during a store
/// write (`case add`, `bundle import`). Each must end in a clear error and exit code, with the
/// store as it was, `check` clean, and the same command completing once the fault is gone.
@Suite(.serialized) struct FaultCLITests {
    // MARK: read-only home

    /// Makes `home` read-only while `body` runs, and gives it a runner for the CLI. Root ignores
    /// file modes, so as root the home is bind-mounted read-only (EROFS); where mounting is not
    /// allowed, root runs the CLI as `nobody` over a home it owns with no write bits (EACCES).
    static func withReadOnlyHome(_ home: Home, _ body: (_ how: String, _ run: ([String]) throws -> CLI.Result) throws -> Void) throws {
        let fm = FileManager.default
        let files = try fm.contentsOfDirectory(atPath: home.path)
        if geteuid() != 0 {
            #expect(chmod(home.path, 0o500) == 0)
            defer { _ = chmod(home.path, 0o700) }
            try body("directory mode 0500") { try home.run($0) }
            return
        }
        func sh(_ args: [String], _ exe: String) throws -> CLI.Result { try CLI.run(args, timeout: 20, executable: exe) }
        if try sh(["--bind", home.path, home.path], "/bin/mount").code == 0 {
            defer { _ = try? sh([home.path], "/bin/umount") }
            if try sh(["-o", "remount,ro,bind", home.path], "/bin/mount").code == 0 {
                try body("read-only bind mount") { try home.run($0) }
                return
            }
        }
        // As `nobody`, over a home it owns without write permission.
        func own(_ uid: uid_t, _ mode: mode_t, _ fileMode: mode_t) {
            _ = chown(home.path, uid, gid_t(uid)); _ = chmod(home.path, mode)
            for f in files { _ = chown(home.path + "/" + f, uid, gid_t(uid)); _ = chmod(home.path + "/" + f, fileMode) }
        }
        own(65534, 0o500, 0o400)
        defer { own(0, 0o700, 0o600) }
        try body("setpriv as nobody, home mode 0500") { args in
            try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary] + args + ["--home", home.path],
                        env: ["SANDYQ_PASSPHRASE": home.passphrase], timeout: 60, executable: "/usr/bin/setpriv")
        }
    }

    @Test func readOnlyHomeReadsAndRefusesWrites() throws {
        let home = try Home()
        try home.initialize()
        try #require(home.run(["project", "create", "Read-only"]).code == 0)
        let added = try #require(try home.json(["case", "add", "--title", "Ерлан Бекович", "--person", "Ерлан Бекович"]) as? [String: Any])
        let id = try #require(added["id"] as? String, "\(added)")
        try #require(home.run(["case", "add", "--title", "second case"]).code == 0)
        let list = try home.run(["case", "list", "--json"])
        try #require(list.code == 0)
        let db = home.bytes(home.dbPath), key = home.bytes(home.keyPath)
        let files = try FileManager.default.contentsOfDirectory(atPath: home.path).sorted()

        try Self.withReadOnlyHome(home) { how, run in
            print("FaultCLITests: read-only home by \(how)")
            for args in [["status"], ["case", "list"], ["case", "show", id], ["search", "Ерлан"], ["log"], ["check"]] {
                let r = try run(args)
                #expect(r.code == 0, "read-only home (\(how)): sandyq \(args.joined(separator: " ")): \(r)")
            }
            let again = try run(["case", "list", "--json"])
            #expect(again.stdout == list.stdout, "case list differs on the read-only home: \(again)")
            let found = try run(["search", "Ерлан"])
            #expect(found.stdout.contains(String(id.prefix(8))), "search on the read-only home: \(found)")

            for args in [["case", "add", "--title", "third case"], ["case", "archive", id]] {
                let r = try run(args)
                #expect(r.code == 1, "read-only home (\(how)): sandyq \(args.joined(separator: " ")) should fail with 1: \(r)")
                #expect(r.stderr.contains("read-only"), "no clear reason: \(r)")
                print("FaultCLITests: \(args[0]) \(args[1]) on a read-only home: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
            }
        }

        // Nothing lost or added, and the node writes again once the home is writable.
        #expect(home.bytes(home.dbPath) == db, "the store changed")
        #expect(home.bytes(home.keyPath) == key, "the key file changed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path).sorted() == files)
        #expect(try home.run(["check"]).code == 0)
        #expect(try home.run(["case", "add", "--title", "third case"]).code == 0)
        #expect(try home.run(["case", "list"]).stdout.contains("third case"))
    }

    // MARK: full disk during a store write

    /// Runs `sandyq args` with files capped at `blocks` × 512 bytes (ulimit -f, SIGXFSZ ignored, so
    /// a write past the cap fails with EFBIG as on a full disk). 64 blocks hold SQLite's 32 KiB
    /// shared-memory file, so the store opens and the failure comes from the write itself.
    static func capped(_ home: Home, blocks: Int = 64, _ args: [String]) throws -> CLI.Result {
        let script = "trap '' XFSZ; ulimit -f \(blocks) || exit 99; exec \"$0\" \"$@\""
        let r = try CLI.run(["-c", script, CLI.binary] + args + ["--home", home.path],
                            env: ["SANDYQ_PASSPHRASE": home.passphrase], executable: "/bin/sh")
        try #require(r.code != 99, "the shell cannot set a file size limit here: \(r)")
        return r
    }

    static func expectClearStoreError(_ r: CLI.Result, _ what: String) {
        #expect(r.code != 0 && !r.timedOut, "\(what) succeeded despite the full disk: \(r)")
        // `bundle import` reports each file's failure on its own line of stdout; others on stderr.
        #expect(r.output.contains("store") && r.output.contains("rolled back"), "\(what): no clear message: \(r)")
        print("FaultCLITests: \(what) on a full disk: \(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
    }

    @Test func caseAddOnAFullDiskLeavesTheStoreIntact() throws {
        let home = try Home()
        try home.initialize()
        try #require(home.run(["project", "create", "Full"]).code == 0)
        try #require(home.run(["case", "add", "--title", "first case"]).code == 0)
        let before = try home.run(["case", "list", "--json"]).stdout
        // One op of about 120 KB: its write-ahead log frames cannot fit under the cap.
        let big = String(repeating: "Показания свидетеля. ", count: 3000)
        let add = ["case", "add", "--title", "big case", "--summary", big]

        let r = try Self.capped(home, add)
        Self.expectClearStoreError(r, "case add")
        #expect(try home.run(["case", "list", "--json"]).stdout == before, "the case list changed after a failed add")
        let check = try home.run(["check"])
        #expect(check.code == 0, "check after a failed add: \(check)")

        let rerun = try home.run(add)
        #expect(rerun.code == 0, "case add after the disk was freed: \(rerun)")
        #expect(try home.run(["case", "list"]).stdout.contains("big case"))
        #expect(try home.run(["check"]).code == 0)
    }

    @Test func bundleImportOnAFullDiskLeavesTheStoreIntact() throws {
        let a = try BundleNode("A"), b = try BundleNode("B")
        let p = try #require((try a.json(["project", "create", "Full import"]) as? [String: Any])?["project"] as? String)
        try b.ok(["join", p])
        try a.ok(["member", "add", b.id])
        try a.ok(["case", "import", BundleSeeds.path])
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-fullimport-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/to-b.sqb"
        let sent = try a.export(to: [b], out: out)
        let aOps = try a.opCount()
        let bBefore = try b.opCount()

        let r = try Self.capped(b.home, ["bundle", "import", out])
        Self.expectClearStoreError(r, "bundle import")
        #expect(try b.opCount() == bBefore, "B's store changed after a failed import")
        let check = try b.home.run(["check"])
        #expect(check.code == 0, "check after a failed import: \(check)")

        // The same file again, without the cap: everything lands (the failed run did not mark it imported).
        let new = try b.importClean(out, "after the disk was freed")
        #expect(new == sent, "B took \(new) of the \(sent) ops in the bundle")
        #expect(try b.opCount() == aOps)
        #expect(try b.home.run(["check"]).code == 0)
    }
}
