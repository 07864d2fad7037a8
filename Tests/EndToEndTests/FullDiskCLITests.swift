import Foundation
import Testing

/// A real full disk (ENOSPC, not the EFBIG of `ulimit -f`): a small tmpfs, filled and then
/// freed by a set amount, in a private mount namespace so the mount dies with the command.
/// Root uses `unshare -m`; anyone else a user namespace (`unshare -Urm`).
enum FullDisk {
    struct Run {
        var result: CLI.Result
        /// A copy of what the tmpfs held after the command (the filler left out), on the normal disk.
        var after: String
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Copies each `put` source onto the tmpfs under its name, fills the tmpfs, frees `freeKiB`,
    /// then runs `sandyq args(mount point)`. Cancels the test, with the reason, where no tmpfs
    /// can be mounted at all.
    static func run(put: [(source: String, name: String)], freeKiB: Int, scratch: String,
                    _ args: (String) -> [String]) throws -> Run {
        let fm = FileManager.default
        let mnt = scratch + "/mnt", after = scratch + "/after", out = scratch + "/out"
        for d in [mnt, after, out] { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) }
        var script = "mount -t tmpfs -o size=8m sandyq-full \(quote(mnt)) || exit 97\n"
        for p in put { script += "cp -a \(quote(p.source)) \(quote(mnt + "/" + p.name)) || exit 98\n" }
        script += """
            cat /dev/zero > \(quote(mnt + "/.filler")) 2>/dev/null
            truncate -s -\(freeKiB)k \(quote(mnt + "/.filler")) || exit 98
            \((([CLI.binary] + args(mnt)).map(quote)).joined(separator: " ")) > \(quote(out + "/stdout")) 2> \(quote(out + "/stderr"))
            echo $? > \(quote(out + "/code"))
            rm -f \(quote(mnt + "/.filler"))
            cp -a \(quote(mnt + "/.")) \(quote(after)) || exit 98
            """
        let ns = geteuid() == 0 ? "-m" : "-Urm"
        let r = try CLI.run([ns, "/bin/sh", "-c", script], env: ["SANDYQ_PASSPHRASE": Home.passphrase], timeout: 120,
                            executable: "/usr/bin/unshare")
        if r.code == 97 || (r.code != 0 && r.stderr.contains("unshare")) {
            let why = "no tmpfs can be mounted here (unshare \(ns)): \(r.output.trimmingCharacters(in: .whitespacesAndNewlines))"
            print("FullDiskCLITests skipped: \(why)")
            try Test.cancel(Comment(rawValue: why))
        }
        try #require(r.code == 0 && !r.timedOut, "the full-disk script failed: \(r)")
        let text = { (f: String) in String(decoding: fm.contents(atPath: out + "/" + f) ?? Data(), as: UTF8.self) }
        let code = try #require(Int32(text("code").trimmingCharacters(in: .whitespacesAndNewlines)), "no exit code: \(r)")
        return Run(result: CLI.Result(code: code, stdout: text("stdout"), stderr: text("stderr"), timedOut: false), after: after)
    }
}

@Suite(.serialized) struct FullDiskCLITests {
    static func scratch() throws -> String {
        let d = FileManager.default.temporaryDirectory.path + "/sandyq-fulldisk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// A (with the seed cases) and B, a member: A's bundle for B is about 260 KB.
    static func pair() throws -> (a: BundleNode, b: BundleNode) {
        let a = try BundleNode("A"), b = try BundleNode("B")
        let p = try #require((try a.json(["project", "create", "Full disk"]) as? [String: Any])?["project"] as? String)
        try b.ok(["join", p])
        try a.ok(["member", "add", b.id])
        try a.ok(["case", "import", BundleSeeds.path])
        return (a, b)
    }

    @Test func bundleExportOntoAFullFilesystemKeepsTheOlderBundle() throws {
        let (a, b) = try Self.pair()
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The older bundle, made before the last case: the failed export must leave it as it was.
        let old = dir + "/old.sqb"
        _ = try a.export(to: [b], out: old)
        let oldBytes = try #require(FileManager.default.contents(atPath: old))
        try a.ok(["case", "add", "--title", "written after the older bundle"])

        let run = try FullDisk.run(put: [(old, "out.sqb")], freeKiB: 64, scratch: dir) { mnt in
            ["bundle", "export", "--to", b.id, "--all", "--out", mnt + "/out.sqb", "--home", a.home.path]
        }
        let r = run.result
        print("FullDiskCLITests: bundle export on a full disk: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
        #expect(r.code == 1, "bundle export on a full disk: \(r)")
        #expect(r.stderr.contains("No space left on device") && r.stderr.contains("out.sqb"), "no clear message: \(r)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: run.after) == ["out.sqb"], "left on the full disk besides the older bundle")
        #expect(FileManager.default.contents(atPath: run.after + "/out.sqb") == oldBytes, "the older bundle changed")
        // It still imports whole.
        let new = try b.importClean(run.after + "/out.sqb", "the older bundle after a failed export")
        #expect(new == (try a.opCount()) - 1, "B took \(new) ops from the older bundle")
        #expect(try a.home.run(["check"]).code == 0)
    }

    @Test func caseAddOnAFullFilesystemLeavesTheStoreIntact() throws {
        let home = try Home()
        try home.initialize()
        try #require(home.run(["project", "create", "Full"]).code == 0)
        try #require(home.run(["case", "add", "--title", "first case"]).code == 0)
        let before = try home.run(["case", "list", "--json"]).stdout
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One op of about 120 KB, where 64 KiB are free.
        let big = String(repeating: "Показания свидетеля. ", count: 3000)
        let add = ["case", "add", "--title", "big case", "--summary", big]

        let run = try FullDisk.run(put: [(home.path, "home")], freeKiB: 64, scratch: dir) { mnt in add + ["--home", mnt + "/home"] }
        let r = run.result
        print("FullDiskCLITests: case add on a full disk: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
        #expect(r.code == 1, "case add on a full disk: \(r)")
        #expect(r.stderr.contains("store") && r.stderr.contains("rolled back"), "no clear message: \(r)")

        // The home as the full disk left it, on a disk with room again.
        let left = run.after + "/home"
        let env = ["SANDYQ_PASSPHRASE": Home.passphrase]
        let check = try CLI.run(["check", "--home", left], env: env)
        #expect(check.code == 0, "check after a failed add: \(check)")
        #expect(try CLI.run(["case", "list", "--json", "--home", left], env: env).stdout == before, "the case list changed after a failed add")
        let rerun = try CLI.run(add + ["--home", left], env: env)
        #expect(rerun.code == 0, "case add once there is room: \(rerun)")
        #expect(try CLI.run(["case", "list", "--home", left], env: env).stdout.contains("big case"))
    }

    @Test func bundleImportOnAFullFilesystemLeavesTheStoreIntact() throws {
        let (a, b) = try Self.pair()
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bundle = dir + "/to-b.sqb"
        let sent = try a.export(to: [b], out: bundle)
        let bBefore = try b.opCount()

        let run = try FullDisk.run(put: [(b.home.path, "home")], freeKiB: 64, scratch: dir) { mnt in
            ["bundle", "import", bundle, "--home", mnt + "/home"]
        }
        let r = run.result
        print("FullDiskCLITests: bundle import on a full disk: \(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
        #expect(r.code != 0, "bundle import on a full disk: \(r)")
        // `bundle import` reports each file's failure on its own line of stdout.
        #expect(r.output.contains("store") && r.output.contains("rolled back"), "no clear message: \(r)")

        let left = run.after + "/home"
        let env = ["SANDYQ_PASSPHRASE": Home.passphrase]
        let check = try CLI.run(["check", "--home", left], env: env)
        #expect(check.code == 0, "check after a failed import: \(check)")
        let status = try CLI.run(["status", "--json", "--home", left], env: env)
        let ops = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["ops"] as? Int
        #expect(ops == bBefore, "B's store changed after a failed import: \(status)")
        // The same file again, with room: everything lands (the failed run did not mark it imported).
        let again = try CLI.run(["bundle", "import", bundle, "--json", "--home", left], env: env)
        let entry = ((try? JSONSerialization.jsonObject(with: Data(again.stdout.utf8))) as? [[String: Any]])?.first
        #expect(again.code == 0 && entry?["new"] as? Int == sent, "the import once there is room: \(again)")
    }
}
