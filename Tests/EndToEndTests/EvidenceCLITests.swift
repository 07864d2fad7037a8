import Foundation
import Testing

/// `case attach`, `evidence list/verify/export/verify-manifest`, run as the real binary.
@Suite(.serialized) struct EvidenceCLITests {
    @Test func attachListVerifyExportAndCheck() throws {
        let home = try Home()
        try home.initialize()
        #expect(try home.run(["project", "create", "Дәлел"]).code == 0)
        let added = try #require(try home.json(["case", "add", "--title", "Іс", "--ref", "ev-1"]) as? [String: Any])
        let id = try #require(added["id"] as? String)
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-ev-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var photo: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        for i in 0..<((1 << 20) + 3000) { photo.append(UInt8(truncatingIfNeeded: i &* 31 &+ 7)) }
        let photoPath = dir + "/photo.jpg"
        try Data(photo).write(to: URL(fileURLWithPath: photoPath))
        try Data("протокол".utf8).write(to: URL(fileURLWithPath: dir + "/note.txt"))

        let attached = try #require(try home.json(["case", "attach", "ev-1", photoPath, dir + "/note.txt", "--note", "фото"]) as? [[String: Any]])
        #expect(attached.count == 2)
        #expect(attached[0]["type"] as? String == "image/jpeg")
        #expect(attached[0]["chunks"] as? Int == 2)
        #expect(attached.allSatisfy { $0["key"] == nil })

        // Bad input: exit 65, nothing recorded.
        FileManager.default.createFile(atPath: dir + "/empty", contents: Data())
        let empty = try home.run(["case", "attach", "ev-1", dir + "/empty"])
        #expect(empty.code == 65 && empty.stderr.contains("empty"), "\(empty)")
        let mixed = try home.run(["case", "attach", "ev-1", photoPath, dir + "/empty"])
        #expect(mixed.code == 65 && !mixed.stdout.contains("Attached"), "the good file must not be attached alone: \(mixed)")
        let notFile = try home.run(["case", "attach", "ev-1", dir])
        #expect(notFile.code == 65 && notFile.stderr.contains("not a regular file"), "\(notFile)")
        // Only attach writes the collection.
        let set = try home.run(["case", "edit", "ev-1", "--set", "evidence/\(attached[0]["fid"] as! String)/name=x"])
        #expect(set.code == 64, "\(set)")

        let listed = try #require(try home.json(["evidence", "list", "ev-1"]) as? [[String: Any]])
        #expect(listed.count == 2, "\(listed.map { $0["name"] ?? "" })")
        #expect(listed.count == 2 && listed.allSatisfy { $0["complete"] as? Bool == true && $0["key"] == nil })
        #expect(try home.run(["evidence", "list"]).stdout.contains("photo.jpg"))

        let verified = try home.run(["evidence", "verify", photoPath])
        #expect(verified.code == 0 && verified.stdout.contains(id), "\(verified)")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/stranger"))
        let unknown = try home.run(["evidence", "verify", dir + "/stranger"])
        #expect(unknown.code == 1 && unknown.stdout.contains("no record of this file"), "\(unknown)")

        let shown = try home.run(["case", "show", "ev-1"])
        #expect(shown.stdout.contains("photo.jpg (\(photo.count) B, image/jpeg) sha256 \(attached[0]["sha256"] as! String)"), "\(shown)")
        // The key is in no output: case show, its --json, reports.
        for args in [["case", "show", "ev-1"], ["case", "show", "ev-1", "--json"], ["report", "dossier", "ev-1"]] {
            let r = try home.run(args)
            #expect(r.code == 0 && !r.stdout.contains("\"key\""), "\(args): \(r)")
        }

        let out = dir + "/export"
        let exported = try #require(try home.json(["evidence", "export", "ev-1", "--out", out]) as? [String: Any])
        #expect((exported["failures"] as? [Any])?.isEmpty == true)
        #expect(FileManager.default.contents(atPath: out + "/photo.jpg").map { [UInt8]($0) } == photo)
        let ok = try home.run(["evidence", "verify-manifest", out])
        #expect(ok.code == 0 && ok.stdout.contains("manifest verifies: 2 file(s)"), "\(ok)")

        // A changed file is named, and the command fails.
        try Data("подмена".utf8).write(to: URL(fileURLWithPath: out + "/note.txt"))
        let bad = try home.run(["evidence", "verify-manifest", out])
        #expect(bad.code == 65 && bad.stdout.contains("note.txt"), "\(bad)")
        // An export into a directory that is not empty is refused.
        #expect(try home.run(["evidence", "export", "--out", out]).code == 64)
    }

    @Test func attachOnAFullFilesystemLeavesTheStoreIntact() throws {
        let home = try Home()
        try home.initialize()
        try #require(home.run(["project", "create", "Full"]).code == 0)
        try #require(home.run(["case", "add", "--title", "Іс", "--ref", "ev-1"]).code == 0)
        let dir = try FullDiskCLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 3 MiB of chunks where 1 MiB is free: the disk fills between chunks.
        let file = dir + "/big.bin"
        var bytes = [UInt8](repeating: 0, count: 3 << 20)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let attach = ["case", "attach", "ev-1", file]

        let run = try FullDisk.run(put: [(home.path, "home")], freeKiB: 1024, scratch: dir) { mnt in attach + ["--home", mnt + "/home"] }
        let r = run.result
        print("EvidenceCLITests: attach on a full disk: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
        #expect(r.code == 1, "attach on a full disk: \(r)")
        #expect(r.stderr.contains("store") && r.stderr.contains("rolled back"), "no clear message: \(r)")

        let left = run.after + "/home"
        let env = ["SANDYQ_PASSPHRASE": Home.passphrase]
        #expect(try CLI.run(["check", "--home", left], env: env).code == 0)
        #expect(try CLI.run(["evidence", "list", "--home", left], env: env).stdout.contains("No attached files."))
        let rerun = try CLI.run(attach + ["--home", left], env: env)
        #expect(rerun.code == 0, "attach once there is room: \(rerun)")
        #expect(try CLI.run(["evidence", "list", "--home", left], env: env).stdout.contains("3/3 chunks complete"))
    }

    /// A bundle carrying 4 MiB of chunks, imported where 1.5 MiB is free: the ops and the
    /// batches of chunks that fit land, the store stays sound, and the same bundle finishes
    /// the file once there is room.
    @Test func importOnAFullFilesystemKeepsWhatLandedAndResumes() throws {
        let n = try TCPNode.make(["A", "B"])
        let (a, b) = (n[0], n[1])
        let project = try a.json(["project", "create", "Full import"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try b.ok(["join", project, "--network-key", key])
        try a.ok(["member", "add", b.nodeId, "--role", "coordinator"])
        try a.ok(["case", "add", "--title", "Іс", "--ref", "ev-1"])
        let dir = try FullDiskCLITests.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var bytes = [UInt8](repeating: 0, count: 4 << 20)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 11) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/film.bin"))
        try a.ok(["case", "attach", "ev-1", dir + "/film.bin"])
        let bundle = dir + "/to-b.sqb"
        let x = try a.json(["bundle", "export", "--to", b.nodeId, "--out", bundle])
        #expect(x["evidenceChunks"] as? Int == 4, "\(x)")

        let run = try FullDisk.run(put: [(b.home.path, "home"), (bundle, "to-b.sqb")], freeKiB: 1536, scratch: dir) { mnt in
            ["bundle", "import", mnt + "/to-b.sqb", "--home", mnt + "/home"]
        }
        let r = run.result
        print("EvidenceCLITests: import on a full disk: \(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
        #expect(r.code == 1 && (r.stdout + r.stderr).contains("is the disk full") && (r.stdout + r.stderr).contains("rolled back"),
                "an import that could not store its chunks must say why: \(r)")
        let left = run.after + "/home"
        let env = ["SANDYQ_PASSPHRASE": Home.passphrase]
        #expect(try CLI.run(["check", "--home", left], env: env).code == 0)
        let list = try CLI.run(["evidence", "list", "--home", left], env: env).stdout
        #expect(list.contains("film.bin") && list.contains("incomplete"), "the record landed, the file shows as incomplete: \(list)")
        let again = try CLI.run(["bundle", "import", run.after + "/to-b.sqb", "--home", left, "--json"], env: env)
        #expect(again.code == 0, "the same bundle, once there is room: \(again)")
        #expect(try CLI.run(["evidence", "list", "--home", left], env: env).stdout.contains("4/4 chunks complete"))
    }

    /// A file with nothing to remove is still copied, and the message says nothing was removed:
    /// it must not read as if the file had been changed or cleaned.
    @Test(arguments: ["media", "evidence"]) func stripWithNothingToRemoveSaysSo(_ group: String) throws {
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-strip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] { [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body }
        // SOI, JFIF, a quantisation table, a scan, EOI: no segment that names a place, device or person.
        let plain: [UInt8] = [0xFF, 0xD8] + segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
            + segment(0xDB, [0] + [UInt8](repeating: 1, count: 64)) + segment(0xDA, [1, 1, 0, 0, 63, 0]) + [0x12, 0x34, 0xFF, 0xD9]
        try Data(plain).write(to: URL(fileURLWithPath: dir + "/plain.jpg"))
        let r = try CLI.run([group, "strip", dir + "/plain.jpg", dir + "/copy.jpg"])
        #expect(r.code == 0, "\(r)")
        #expect(r.stdout.contains("Nothing was removed"), "\(r)")
        #expect(!r.stdout.lowercased().contains("changed") && !r.stdout.contains("without:"), "\(r)")
        #expect(FileManager.default.contents(atPath: dir + "/copy.jpg").map { [UInt8]($0) } == plain)

        // With a comment to remove, it names what went.
        let commented = Array(plain[0..<2]) + segment(0xFE, Array("shot by Anna".utf8)) + Array(plain[2...])
        try Data(commented).write(to: URL(fileURLWithPath: dir + "/commented.jpg"))
        let c = try CLI.run([group, "strip", dir + "/commented.jpg", dir + "/clean.jpg"])
        #expect(c.code == 0 && c.stdout.contains("without:") && !c.stdout.contains("Nothing was removed"), "\(c)")
    }
}
