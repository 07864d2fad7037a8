import Foundation
import Testing

/// The error exits of the README's table, through the real binary: for each, the code, one
/// plain line on stderr that says what went wrong, and a store with the same ops and digest.
@Suite(.serialized) struct CLIErrorExitTests {
    struct State: Equatable, CustomStringConvertible {
        var ops: Int
        var digest: String
        var description: String { "\(ops) ops, digest \(digest.prefix(16))" }
    }

    static func state(_ home: Home) throws -> State {
        let s = try #require(try home.json(["status"]) as? [String: Any])
        return State(ops: s["ops"] as? Int ?? -1, digest: s["digest"] as? String ?? "none")
    }

    static func state(_ node: TCPNode) throws -> State { State(ops: try tcpStoredOps(node), digest: try node.digest()) }

    static func node() throws -> Home {
        let home = try Home()
        try home.initialize()
        try #require(try home.run(["project", "create", "Ошибки"]).code == 0)
        try #require(try home.run(["case", "add", "--title", "Есть", "--person", "Айдос Садыков", "--ref", "err-1"]).code == 0)
        return home
    }

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.path + "/sandyq-err-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// One line, prefixed as every CLI error is (start-up hardening warnings aside).
    static func oneLine(_ r: CLI.Result, _ needle: String) -> Bool {
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("sandyq: warning: ") }
        return lines.count == 1 && lines[0].hasPrefix("sandyq: ") && r.stderr.contains(needle)
    }

    /// `sync` exits 10 when the peer's ops are refused (here, over the per-member limit); what
    /// was not refused lands, and a sync with nothing refused exits 0.
    @Test func syncWithRefusedOpsExits10() throws {
        let n = try TCPNode.make(["A", "R"])
        let (a, r) = (n[0], n[1])
        let project = try a.json(["project", "create", "Предел"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try r.ok(["join", project, "--network-key", key])
        try a.ok(["member", "add", r.nodeId, "--role", "reporter"])
        do {
            let aServer = try TCPServer(a)
            defer { aServer.stop() }
            try r.syncOK(aServer.address, peer: a.nodeId, "(first contact)")
        }
        let cases = try tcpBulkCases(110, tag: "limit")
        defer { try? FileManager.default.removeItem(atPath: cases) }
        try r.ok(["case", "import", cases])
        try a.ok(["member", "limits", "--per-member-mib", "1"])
        let server = try TCPServer(r)
        defer { server.stop() }

        let before = try tcpStoredOps(a)
        let s = try a.run(["sync", server.address, "--json"])
        #expect(s.code == 10, "\(s)")
        #expect(Self.oneLine(s, "refused") && s.stderr.contains("limit of 1 MiB"), "\(s.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any], "\(s)")
        let received = o["received"] as? Int ?? -1, refused = o["refused"] as? Int ?? -1
        #expect(received > 0 && refused > 0 && received + refused <= 110, "\(o)")
        #expect(try tcpStoredOps(a) == before + received, "the ops not refused must land")

        let again = try a.run(["sync", server.address, "--json"])
        #expect(again.code == 10, "\(again)")
        #expect(try tcpStoredOps(a) == before + received, "a second refusal changed the store")

        try a.ok(["member", "limits", "--per-member-mib", "16"])
        let clean = try a.syncOK(server.address, peer: nil, "(limit raised)")
        #expect(clean["refused"] as? Int == 0 && (clean["received"] as? Int ?? 0) >= refused, "\(clean)")
    }

    /// `member revoke` of a node that is not a member: 66, nothing written.
    @Test func revokeOfAnUnknownMemberExits66() throws {
        let home = try Self.node()
        let stranger = try Home()
        try stranger.initialize()
        let strangerID = try #require((try stranger.json(["status"]) as? [String: Any])?["nodeId"] as? String)
        let before = try Self.state(home)
        for (who, needle) in [(strangerID, "is not a member of this project"), ("0123456789ab", "no member matches")] {
            let r = try home.run(["member", "revoke", who])
            #expect(r.code == 66, "\(who): \(r)")
            #expect(Self.oneLine(r, needle), "\(r.stderr)")
        }
        #expect(try Self.state(home) == before)
    }

    /// `case import` of a missing file (66) and of malformed ones (65): nothing recorded, not
    /// even the good cases of a file whose later part is bad.
    @Test func caseImportOfAMissingOrMalformedFile() throws {
        let home = try Self.node()
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = try Self.state(home)

        let missing = try home.run(["case", "import", dir + "/nothing-here.json"])
        #expect(missing.code == 66 && Self.oneLine(missing, "cannot read"), "\(missing)")
        let asDir = try home.run(["case", "import", dir])
        #expect(asDir.code == 66 && Self.oneLine(asDir, "cannot read"), "\(asDir)")

        let bad: [(String, String, String)] = [
            ("truncated", #"{"format": "sandyq-cases/1", "cases": [{"title": "Хорошее"}, {"title": "Обрыв"#, "not valid JSON"),
            ("wrong type", #"{"format": "sandyq-cases/1", "cases": [{"title": "Хорошее"}, {"title": 7}]}"#, "wrong type"),
            ("no cases", #"{"format": "sandyq-cases/1"}"#, "lacks 'cases'"),
            ("other format", #"{"format": "sandyq-cases/9", "cases": [{"title": "Хорошее"}]}"#, "sandyq-cases/1"),
        ]
        for (what, text, needle) in bad {
            let f = dir + "/\(what).json"
            try Data(text.utf8).write(to: URL(fileURLWithPath: f))
            let r = try home.run(["case", "import", f])
            // A file that does not parse as cases is a data error, as the README's table has it.
            #expect(r.code == 65, "\(what): \(r)")
            #expect(Self.oneLine(r, needle), "\(what): \(r.stderr)")
        }
        #expect(try Self.state(home) == before)
    }

    /// A bad `--peer`: not a node id (64, before any connection), or another node's id (1: the
    /// server's key is not the one pinned). Neither side's store changes.
    @Test func syncWithABadPeer() throws {
        let p = try TCPPair.make("bad peer")
        let other = try TCPNode("C")
        let server = try TCPServer(p.a)
        defer { server.stop() }
        try p.a.ok(["case", "add", "--title", "Для B"])
        let a0 = try Self.state(p.a), b0 = try Self.state(p.b)

        let garbled = try p.b.run(["sync", server.address, "--peer", "sqn-notanid"])
        #expect(garbled.code == 64 && Self.oneLine(garbled, "is not a node id"), "\(garbled)")
        let wrong = try p.b.run(["sync", server.address, "--peer", other.nodeId])
        #expect(wrong.code == 1, "\(wrong)")
        #expect(Self.oneLine(wrong, "not the pinned"), "\(wrong.stderr)")
        #expect(try Self.state(p.a) == a0 && (try Self.state(p.b)) == b0)
        #expect(server.connectionLines.allSatisfy { !$0.contains("]: sent ") }, "a session ran: \(server.log)")

        let right = try p.b.syncOK(server.address, peer: p.a.nodeId, "(the right pin)")
        #expect((right["received"] as? Int ?? 0) > 0, "\(right)")
    }

    /// `panic` without `--yes` and without a terminal (setsid: no controlling terminal) asks no
    /// one and destroys nothing: 64, the key file byte for byte, the node still opens.
    @Test func panicWithoutYesDestroysNothing() throws {
        let home = try Self.node()
        let key = try #require(home.bytes(home.keyPath))
        let before = try Self.state(home)
        let r = try CLI.run(["--wait", CLI.binary, "panic", "--home", home.path], timeout: 30, executable: "/usr/bin/setsid")
        #expect(r.code == 64, "\(r)")
        #expect(Self.oneLine(r, "nothing was destroyed"), "\(r.stderr)")
        #expect(home.bytes(home.keyPath) == key)
        #expect(try Self.state(home) == before)

        let yes = try CLI.run(["--wait", CLI.binary, "panic", "--yes", "--home", home.path], timeout: 30, executable: "/usr/bin/setsid")
        #expect(yes.code == 0, "\(yes)")
        #expect(!FileManager.default.fileExists(atPath: home.keyPath), "the control: --yes destroys")
    }

    /// `--out` of `report`, `export` and `bundle export`: a missing folder, a path under a file
    /// and an existing folder fail (exit 1, one line, the folder left as it was, no temporary
    /// file left behind); an existing regular file is replaced whole, owner-only.
    @Test func outFailures() throws {
        let home = try Self.node()
        let me = try #require((try home.json(["status"]) as? [String: Any])?["nodeId"] as? String)
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = dir + "/plain", folder = dir + "/folder"
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: plain))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let before = try Self.state(home)

        let commands: [(String, (String) -> [String])] = [
            ("report dossier", { ["report", "dossier", "err-1", "--out", $0] }),
            ("report monitoring", { ["report", "monitoring", "--format", "md", "--out", $0] }),
            ("export", { ["export", "--format", "json", "--out", $0] }),
            ("bundle export", { ["bundle", "export", "--to", me, "--out", $0] }),
        ]
        for (name, args) in commands {
            for target in [dir + "/missing/x.out", plain + "/x.out", folder] {
                let r = try home.run(args(target))
                #expect(r.code == 1, "\(name) --out \(target): \(r)")
                #expect(Self.oneLine(r, "cannot") && r.stderr.contains(target), "\(name) --out \(target): \(r.stderr)")
            }
            var isDir: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) && isDir.boolValue)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "\(name) wrote into the folder")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(left == ["folder", "plain"], "\(name) left something behind: \(left)")

            let old = dir + "/old-\(name.replacingOccurrences(of: " ", with: "-"))"
            try Data("old contents".utf8).write(to: URL(fileURLWithPath: old))
            chmod(old, 0o644)
            let r = try home.run(args(old))
            #expect(r.code == 0, "\(name) over an existing file: \(r)")
            let now = try #require(home.bytes(old))
            #expect(now.count > 100 && now != Array("old contents".utf8), "\(name) did not replace the file")
            let mode = ((try FileManager.default.attributesOfItem(atPath: old))[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o600, "\(name): mode \(String(mode ?? -1, radix: 8))")
            try FileManager.default.removeItem(atPath: old)
        }
        #expect(try Self.state(home) == before)
    }

    /// `case edit` with a `--remove` that names no element: 66, and the `--set` given with it
    /// is not written either.
    @Test func caseEditWithABadRemoveChangesNothing() throws {
        let home = try Self.node()
        let ev = try home.run(["case", "event", "add", "err-1", "--type", "arrest", "--json"])
        #expect(ev.code == 0, "\(ev)")
        let before = try Self.state(home)
        let missing = try home.run(["case", "edit", "err-1", "--set", "city=Астана", "--remove", "events/ffffffff"])
        #expect(missing.code == 66 && Self.oneLine(missing, "no events element 'ffffffff'"), "\(missing)")
        let malformed = try home.run(["case", "edit", "err-1", "--set", "city=Астана", "--remove", "events"])
        #expect(malformed.code == 64 && Self.oneLine(malformed, "COLLECTION/ELEMENT"), "\(malformed)")
        #expect(try Self.state(home) == before, "a failed edit wrote part of itself")
        let show = try #require(try home.json(["case", "show", "err-1"]) as? [String: Any])
        #expect((show["document"] as? [String: Any])?["city"] == nil, "\(show)")
    }
}
