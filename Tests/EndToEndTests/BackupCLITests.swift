import Foundation
import Testing

// Issue 21, "Split backup": a coordinator's keys split 3 of 5 with the real binary, the home
// lost, the node rebuilt from shares 1, 3 and 5 in a fresh home, synced from a peer that holds
// the log, and reading its case again; and the sets of shares that must not rebuild it.

@Suite struct BackupCLITests {
    static let newPassphrase = "a new passphrase for the rebuilt node"

    /// `sandyq backup restore --home H --kdf interactive --json SHARE...` under the new passphrase.
    static func restore(into home: Home, _ shares: [String]) throws -> CLI.Result {
        home.passphrase = newPassphrase
        return try home.run(["backup", "restore", "--kdf", "interactive", "--json"] + shares)
    }

    /// The text zbarimg reads from the SVG drawn as a grey map (4 px a module), or nil when
    /// zbarimg is not installed. The SVG is one path of `M x y h1v1h-1z` unit squares.
    static func scan(svg: String) throws -> String? {
        let zbar = "/usr/bin/zbarimg"
        guard FileManager.default.isExecutableFile(atPath: zbar) else { return nil }
        let afterViewBox = try #require(svg.components(separatedBy: "viewBox=\"0 0 ").dropFirst().first)
        let size = try #require(Int(afterViewBox.prefix { $0.isNumber }))
        var dark = Set<Int>()
        for square in svg.components(separatedBy: "M").dropFirst() {
            let xy = square.prefix { $0 != "h" }.split(separator: " ").compactMap { Int($0) }
            if xy.count == 2 { dark.insert(xy[0] * size + xy[1]) }
        }
        let scale = 4, w = size * scale
        var pgm = Array("P5 \(w) \(w) 255\n".utf8)
        for y in 0..<w { for x in 0..<w { pgm.append(dark.contains((x / scale) * size + y / scale) ? 0 : 255) } }
        let path = FileManager.default.temporaryDirectory.path + "/sandyq-qr-\(UUID().uuidString).pgm"
        try Data(pgm).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLI.run(["-q", "--raw", path], executable: zbar)
        return r.code == 0 ? r.stdout.replacingOccurrences(of: "\r", with: "") : "zbarimg failed: \(r)"
    }

    @Test func threeOfFiveRebuildACoordinatorThatSyncsAndReadsItsCases() throws {
        let nodes = try TCPNode.make(["A", "B", "Other"])
        let (a, b, other) = (nodes[0], nodes[1], nodes[2])
        let project = try a.json(["project", "create", "Backup drill"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try b.ok(["join", project, "--network-key", key])
        try a.ok(["member", "add", b.nodeId, "--role", "coordinator"])
        let caseID = try a.json(["case", "add", "--title", "Detained at the border", "--city", "Almaty"])["id"] as? String ?? ""
        do {
            let server = try TCPServer(a)
            defer { server.stop() }
            try b.syncOK(server.address, peer: a.nodeId, "(B takes the log from A)")
        }

        let out = FileManager.default.temporaryDirectory.path + "/sandyq-shares-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let none = try a.run(["backup", "status", "--json"])
        let noneJSON = (try? JSONSerialization.jsonObject(with: Data(none.stdout.utf8))) as? [String: Any]
        #expect(none.code == 3 && noneJSON?["recorded"] as? Bool == false, "no pieces made yet: \(none)")
        let split = try a.json(["backup", "split", "--shares", "5", "--threshold", "3", "--out", out])
        let status = try a.json(["backup", "status"])
        #expect(status["current"] as? Bool == true && status["backupId"] as? String == split["backupId"] as? String
                    && status["threshold"] as? Int == 3 && status["shares"] as? Int == 5 && status["piecesReaderEpoch"] as? Int == 1,
                "\(status)")
        let files = (split["files"] as? [[String: Any]] ?? []).sorted { ($0["number"] as? Int ?? 0) < ($1["number"] as? Int ?? 0) }
        try #require(files.count == 5 && split["threshold"] as? Int == 3, "\(split)")
        let file = { (i: Int) in files[i - 1]["file"] as? String ?? "" }
        let text = { (i: Int) in files[i - 1]["text"] as? String ?? "" }
        for f in files {
            let mode = try FileManager.default.attributesOfItem(atPath: f["file"] as? String ?? "")[.posixPermissions] as? Int
            #expect(mode == 0o600, "a share file is readable by others: \(String(describing: mode))")
        }
        // The QR code of share 2 reads back as its text form, where a scanner is installed.
        let svg = try String(contentsOfFile: files[1]["qr"] as? String ?? "", encoding: .utf8)
        if let scanned = try Self.scan(svg: svg) {
            let paper = try String(contentsOfFile: text(2), encoding: .utf8)
            #expect(scanned.hasPrefix(paper.trimmingCharacters(in: .newlines)), "the QR code reads \(scanned)")
        }
        // Splitting again into the same folder replaces no share.
        let again = try a.run(["backup", "split", "--shares", "5", "--threshold", "3", "--out", out])
        #expect(again.code == 64 && again.stderr.contains("already exists"), "\(again)")
        #expect(try a.json(["backup", "status"])["backupId"] as? String == split["backupId"] as? String, "a set never written became the node's")

        // The device is gone: A's home with it.
        try FileManager.default.removeItem(atPath: a.path)

        // Shares 1 (file), 3 (its paper text) and 5 (file) rebuild A in a fresh home.
        let fresh = try Home()
        let r = try Self.restore(into: fresh, [file(1), text(3), file(5)])
        try #require(r.code == 0, "restore failed: \(r)")
        let restored = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(restored["nodeId"] as? String == a.nodeId && restored["project"] as? String == project, "\(restored)")
        #expect(try fresh.run(["status"], passphrase: Home.passphrase).code == 77, "the old passphrase opens the rebuilt node")

        // Before a sync it holds none of its own ops: writing would fork its chain, so it refuses.
        let early = try fresh.run(["case", "add", "--title", "Too early"])
        #expect(early.code == 10 && early.stderr.contains("rebuilt from a backup and has not synced yet"), "\(early)")

        // B holds the log: the rebuilt A syncs from it and reads the case sealed to A before the loss.
        let server = try TCPServer(b)
        defer { server.stop() }
        let sync = try fresh.run(["sync", server.address, "--peer", b.nodeId, "--json"])
        try #require(sync.code == 0, "the rebuilt node did not sync: \(sync)")
        let shown = try fresh.json(["case", "show", caseID]) as? [String: Any] ?? [:]
        #expect((shown["document"] as? [String: Any])?["title"] as? String == "Detained at the border", "\(shown)")
        #expect((try fresh.json(["status"]) as? [String: Any])?["role"] as? String == "coordinator")
        let rebuiltFrom = try fresh.json(["backup", "status"]) as? [String: Any] ?? [:]
        #expect(rebuiltFrom["current"] as? Bool == true && rebuiltFrom["piecesReaderEpoch"] as? Int == 1 && rebuiltFrom["backupId"] == nil,
                "the pieces it was rebuilt from are its pieces: \(rebuiltFrom)")

        // It carries on its own chain: a case it adds now reaches B, refused by nobody.
        let later = try fresh.json(["case", "add", "--title", "Recorded after the restore"]) as? [String: Any] ?? [:]
        let back = try fresh.run(["sync", server.address, "--json"])
        #expect(back.code == 0, "\(back)")
        let summary = (try? JSONSerialization.jsonObject(with: Data(back.stdout.utf8))) as? [String: Any] ?? [:]
        // The pieces held its reader key (version 2 of the secret): it announces no new one.
        #expect(summary["sent"] as? Int == 1 && summary["refused"] as? Int == 0, "\(summary)")
        let freshFingerprint = (try fresh.json(["status"]) as? [String: Any])?["fingerprint"] as? String ?? "?"
        let bLog = (try? JSONSerialization.jsonObject(with: Data(try b.ok(["log", "--json"]).stdout.utf8))) as? [[String: Any]] ?? []
        let keys = bLog.compactMap { $0["summary"] as? String }.filter { $0.hasPrefix("reader key of \(freshFingerprint)") }
        #expect(keys == ["reader key of \(freshFingerprint), epoch 1"], "\(keys)")
        let onB = try b.json(["case", "show", later["id"] as? String ?? ""])
        #expect((onB["document"] as? [String: Any])?["title"] as? String == "Recorded after the restore", "\(onB)")

        // What must not rebuild a node, each with its reason and exit code, writing nothing.
        let fp = split["node"] as? String ?? ""
        let failures: [(String, [String], Int32, String)] = try {
            var damaged = try #require(FileManager.default.contents(atPath: file(3)))
            damaged[60] ^= 0x01
            let damagedPath = out + "/damaged-3.sqshare"
            try damaged.write(to: URL(fileURLWithPath: damagedPath))
            let otherOut = out + "/other"
            try FileManager.default.createDirectory(atPath: otherOut, withIntermediateDirectories: true)
            _ = try other.json(["project", "create", "Another project"])
            let os = try other.json(["backup", "split", "--shares", "5", "--threshold", "3", "--out", otherOut])
            let otherFile = ((os["files"] as? [[String: Any]]) ?? []).first { $0["number"] as? Int == 2 }?["file"] as? String ?? ""
            let otherFP = os["node"] as? String ?? ""
            return [
                ("two shares", [file(1), file(5)], 64, "need 3 shares of this backup, got 2"),
                ("a damaged share", [file(1), damagedPath, file(5)], 65, "\(damagedPath): the share is damaged (its checksum does not match)"),
                ("a share of another node", [file(1), otherFile, file(5)], 64,
                 "share 2 (\(otherFile)) is of node \(otherFP), the others of node \(fp)"),
            ]
        }()
        for (what, shares, code, message) in failures {
            let home = try Home()
            let f = try Self.restore(into: home, shares)
            #expect(f.code == code, "\(what): \(f)")
            #expect(f.stderr.contains(message), "\(what): \(f.stderr)")
            #expect(!FileManager.default.fileExists(atPath: home.path), "\(what): a home was created")
        }
    }
}
