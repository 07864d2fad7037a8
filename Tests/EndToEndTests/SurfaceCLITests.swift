import Foundation
import Testing

/// The seizure surface (issue 13), run against the real binary: what a report or a terminal
/// does with hostile case text, what a crash or a loose umask leaves on disk, and what an
/// `--out` over an existing file does when the write fails.
@Suite(.serialized) struct SurfaceCLITests {
    static let attackerMeta = "<meta http-equiv=refresh content=\"0;url=http://attacker.invalid/\">"

    static func node() throws -> Home {
        let home = try Home()
        try home.initialize()
        let p = try home.run(["project", "create", "Surface"])
        try #require(p.code == 0, "\(p)")
        return home
    }

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.path + "/sandyq-surface-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    // MARK: HTML

    /// U+0600 (a prepended concatenation mark) and `<` form one Character, which is not
    /// equal to "<": an escaper that walks Characters lets the tag through, and the browser
    /// follows the refresh to the attacker's address.
    @Test func htmlReportDoesNotLetAPrependedMarkHideATag() throws {
        let home = try Self.node()
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let payload = "\u{600}" + Self.attackerMeta
        let add = try home.run(["case", "add", "--person", "Айдос Садыков", "--title", "\u{600}<b>t</b>", "--summary", payload,
                                "--notes", "x\u{600}<script>alert(1)</script>", "--ref", "surf-1"])
        try #require(add.code == 0, "\(add)")
        let r = try home.run(["report", "dossier", "surf-1", "--out", dir + "/d.html"])
        try #require(r.code == 0, "\(r)")
        let html = try String(contentsOfFile: dir + "/d.html", encoding: .utf8)
        #expect(!html.lowercased().contains("<meta http-equiv=refresh"), "the attacker's meta tag is live in the report")
        #expect(!html.contains("<script") && !html.contains("<b>"))
        // Every `<` in the page is one of the report's own tags.
        let ownTag = Set("/!abcdefhilmprstuH".unicodeScalars)
        let after = html.unicodeScalars.split(separator: "<").dropFirst().map { $0.first }
        #expect(after.allSatisfy { $0.map(ownTag.contains) ?? false }, "a `<` opens something the report did not write")
        #expect(html.contains("\u{600}&lt;meta http-equiv=refresh"), "the summary is shown, escaped")
        #expect(html.components(separatedBy: "<meta ").count - 1 == 4, "only the page's own four meta tags")

        // Markdown and CSV exports: the same mark must not hide a pipe, a `<` or a formula's `=`.
        let md = try home.run(["report", "dossier", "surf-1", "--format", "md"])
        try #require(md.code == 0, "\(md)")
        #expect(!md.stdout.contains("\u{600}<meta"), "markdown passes raw HTML: \(md.stdout.prefix(400))")
        let add2 = try home.run(["case", "add", "--person", "Болат Жанов", "--title", "=\u{301}HYPERLINK(\"http://attacker.invalid\")", "--ref", "surf-2"])
        try #require(add2.code == 0)
        let csv = try home.run(["export", "--format", "csv"])
        try #require(csv.code == 0, "\(csv)")
        let cells = csv.stdout.unicodeScalars.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" })
        #expect(!cells.contains { ($0.first == "\"" ? $0.dropFirst().first : $0.first) == "=" }, "a CSV cell starts with '=': \(csv.stdout)")
    }

    // MARK: terminal

    static let escapes = ["\u{1b}]0;pwned\u{7}", "\u{1b}[2J", "\u{202E}", "\u{9b}31m", "\u{7f}", "\r"]

    /// A case written by a hostile member: its title, person, city and summary carry terminal
    /// escapes. Nothing the CLI prints from it may reach the terminal raw.
    @Test func terminalOutputNeutralisesControlsAndBidi() throws {
        let home = try Self.node()
        let title = "T\u{1b}]0;pwned\u{7}itle\u{1b}[2J\u{202E}gnp.exe"
        let add = try home.run(["case", "add", "--person", "Ай\u{1b}[31mдос\u{9b}31m", "--title", title, "--city", "Ал\u{202E}маты",
                                "--summary", "line one\nline two\u{1b}[2J\u{2066}x\u{2069}\u{7f}", "--ref", "surf\u{1b}[2J-3"])
        try #require(add.code == 0, "\(add)")
        let id = try #require(add.stdout.split(separator: "(").last.map { String($0.dropLast(2)) })
        func clean(_ r: CLI.Result, _ what: String, newlinesAllowed: Bool = true) {
            for e in Self.escapes {
                #expect(!r.stdout.contains(e) && !r.stderr.contains(e), "\(what) printed \(e.unicodeScalars.map { String($0.value, radix: 16) }) raw: \(r)")
            }
        }
        let show = try home.run(["case", "show", id])
        #expect(show.code == 0 && show.stdout.contains("\\u{1B}]0;pwned"), "\(show)")
        clean(show, "case show")
        #expect(show.stdout.contains("line one\n"), "a summary keeps its own line breaks in case show")
        let list = try home.run(["case", "list"])
        #expect(list.code == 0 && list.stdout.contains("\\u{202E}"), "\(list)")
        clean(list, "case list")
        clean(try home.run(["search", "Айдос"]), "search")
        clean(try home.run(["log"]), "log")
        clean(try home.run(["status"]), "status")
        // JSON keeps the data exact for a program but writes the C1 and bidi controls as \u escapes.
        let js = try home.run(["case", "show", id, "--json"])
        #expect(js.code == 0)
        clean(js, "case show --json")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(js.stdout.utf8)) as? [String: Any])
        #expect((parsed["document"] as? [String: Any])?["title"] as? String == title, "JSON must still carry the exact title")
        // Errors echo input.
        let bad = try home.run(["case", "show", "nope\u{1b}[2J\u{202E}"])
        #expect(bad.code != 0)
        clean(bad, "an error naming the input")
        let badFlag = try home.run(["search", "x", "--status", "\u{1b}]0;pwned\u{7}"])
        #expect(badFlag.code == 64, "\(badFlag)")
        clean(badFlag, "the parser's usage error")
    }

    // MARK: core files

    /// A crash of a process holding unlocked keys must leave no core: not dumpable, RLIMIT_CORE 0.
    @Test func processIsNotDumpableAndHasNoCoreLimit() throws {
        // From within: prctl(PR_GET_DUMPABLE) and getrlimit(RLIMIT_CORE) of a real sandyq process.
        let r = try CLI.run(["process-check"])
        try #require(r.code == 0, "\(r)")
        let s = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(s["dumpable"] as? Int == 0, "\(s)")
        #expect(s["coreLimitSoft"] as? Int == 0 && s["coreLimitHard"] as? Int == 0, "\(s)")
        #expect(s["umask"] as? Int == 0o077, "\(s)")

        // From outside: a running `serve` (keys unlocked), as the kernel shows it.
        let home = try Self.node()
        let server = try TCPProcess(["serve", "--home", home.path, "--listen", "127.0.0.1:0"], label: "serve")
        defer { server.killHard() }
        var core: Substring?
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, server.process.isRunning {
            // Wait until it listens: by then it has unlocked the keys.
            if server.stderr.contains("listening") || server.stdout.contains("listening"),
               let limits = try? String(contentsOfFile: "/proc/\(server.pid)/limits", encoding: .utf8) {
                core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
                break
            }
            usleep(20_000)
        }
        let line = try #require(core, "serve never listened: \(server.stderr)")
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        #expect(fields.count >= 6 && fields[4] == "0" && fields[5] == "0", "\(line)")
    }

    // MARK: permissions

    /// `sh -c 'umask 000; exec sandyq ARGS'`.
    static func underUmask000(_ home: Home, _ args: [String]) throws -> CLI.Result {
        try CLI.run(["-c", "umask 000; exec \"$0\" \"$@\"", CLI.binary] + args + ["--home", home.path],
                    env: ["SANDYQ_PASSPHRASE": home.passphrase], executable: "/bin/sh")
    }

    /// Under umask 000, with the home folder made beforehand 0777, every file and folder the
    /// node writes is still owner-only: the home, its key file and database (and the WAL
    /// beside it), an invitation, a report, an export and a bundle.
    @Test func everythingWrittenIsOwnerOnlyWhateverTheUmask() throws {
        let home = try Home()
        try FileManager.default.createDirectory(atPath: home.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        chmod(home.path, 0o777)
        let out = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: out) }
        chmod(out, 0o777)
        let peer = try Home()
        try peer.initialize()
        let other = try #require((try peer.json(["status"]) as? [String: Any])?["nodeId"] as? String)
        for args in [["init", "--kdf", "interactive"], ["project", "create", "Umask"],
                     ["case", "add", "--person", "Айдос Садыков", "--ref", "u-1"],
                     ["member", "add", other, "--role", "coordinator"],
                     ["invite", "--role", "reporter", "--out", out + "/invite.txt"],
                     ["report", "dossier", "u-1", "--out", out + "/d.html"],
                     ["export", "--format", "json", "--out", out + "/all.json"],
                     ["bundle", "export", "--to", "coordinators", "--all", "--out", out + "/b.sqb"]] {
            let r = try Self.underUmask000(home, args)
            try #require(r.code == 0, "\(args): \(r)")
        }
        #expect(Self.mode(home.path) == 0o700, "home folder is \(String(Self.mode(home.path), radix: 8))")
        let inside = try FileManager.default.contentsOfDirectory(atPath: home.path)
        #expect(inside.contains("identity.key") && inside.contains("sandyq.db"))
        for f in inside {
            #expect(Self.mode(home.path + "/" + f) & 0o077 == 0, "\(f) is \(String(Self.mode(home.path + "/" + f), radix: 8))")
        }
        for f in try FileManager.default.contentsOfDirectory(atPath: out) {
            #expect(Self.mode(out + "/" + f) == 0o600, "\(f) is \(String(Self.mode(out + "/" + f), radix: 8))")
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)).isSuperset(of: ["invite.txt", "d.html", "all.json", "b.sqb"]))

        // A home whose folder someone loosened later is tightened again when the node opens.
        chmod(home.path, 0o755)
        chmod(home.dbPath, 0o644)
        let st = try Self.underUmask000(home, ["status"])
        #expect(st.code == 0, "\(st)")
        #expect(Self.mode(home.path) == 0o700 && Self.mode(home.dbPath) == 0o600,
                "after open: home \(String(Self.mode(home.path), radix: 8)), db \(String(Self.mode(home.dbPath), radix: 8))")
    }

    // MARK: --out over an existing file

    /// The write of a new report fails part-way (a file-size limit above everything the
    /// store holds, below the report, which escaping makes several times larger): the old
    /// file must still be there, whole, and no temporary file is left. Then the same command
    /// without the limit replaces it.
    @Test func outOverAnExistingFileNeverLosesBoth() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // HTML writes `<` as `&lt;`; JSON writes U+0001 as `\u0001`.
        for (cmd, file, filler) in [(["report", "dossier", "o-1"], "d.html", "<"), (["export", "--format", "json"], "all.json", "\u{1}")] {
            let home = try Self.node()
            let doc: [String: Any] = ["ref": "o-1", "summary": String(repeating: filler, count: 200_000), "persons": [["name": "Айдос Садыков"]]]
            let add = try home.run(["case", "add", "--file", "-"], stdin: .bytes(Array(try JSONSerialization.data(withJSONObject: doc))))
            try #require(add.code == 0, "\(add)")
            let path = dir + "/" + file
            let old = Array("the previous file, still wanted\n".utf8)
            try Data(old).write(to: URL(fileURLWithPath: path))
            // The store may checkpoint its WAL into the database: allow for both together.
            let store = try FileManager.default.contentsOfDirectory(atPath: home.path).map { Self.size(home.path + "/" + $0) }.reduce(0, +)
            let limitKiB = store / 1024 + 64
            let limited = try CLI.run(["-c", "ulimit -f \(limitKiB); exec \"$0\" \"$@\"", CLI.binary] + cmd + ["--out", path, "--home", home.path],
                                      env: ["SANDYQ_PASSPHRASE": home.passphrase], executable: "/bin/sh")
            #expect(limited.code != 0, "\(cmd) under a \(limitKiB) KiB file limit succeeded: \(limited)")
            #expect(limited.stderr.contains("cannot write"), "no clear error: \(limited)")
            #expect(home.bytes(path) == old, "\(cmd): the old file was lost or changed")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(left.filter { $0.hasPrefix(file) } == [file], "a temporary file was left: \(left)")

            let ok = try home.run(cmd + ["--out", path])
            #expect(ok.code == 0, "\(ok)")
            let now = home.bytes(path) ?? []
            #expect(now != old && now.count > limitKiB * 1024, "\(cmd): the file was not replaced (\(now.count) bytes)")
            #expect(Self.mode(path) == 0o600)
        }
        let home = try Self.node()
        #expect(try home.run(["case", "add", "--person", "Айдос Садыков", "--ref", "o-1"]).code == 0)
        // A folder where a file was asked for is refused and left alone.
        let asDir = dir + "/folder.html"
        try FileManager.default.createDirectory(atPath: asDir, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: asDir + "/inside"))
        let r = try home.run(["report", "dossier", "o-1", "--out", asDir])
        #expect(r.code != 0 && home.bytes(asDir + "/inside") == Array("keep".utf8), "\(r)")
    }
}
