import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore

// Issue 13, "the seizure surface": what a seizer who holds the device's disk (and, for some
// attacks, the chance to hand it back) can do to a node, run against the real binary.

/// A coordinator C and a write-only reporter R admitted to C's project; R holds the
/// membership ops it needs to write.
struct ReporterPair {
    let work: DrillDir
    let c: DrillNode
    let r: DrillNode
    let project: String

    init() throws {
        work = try DrillDir()
        c = try DrillNode("C")
        r = try DrillNode("R", writeOnly: true)
        project = try #require(try c.object(["project", "create", "Учения"])["project"] as? String)
        try r.ok(["join", project])
        try c.ok(["member", "add", r.id, "--role", "reporter"])
        try carry(c, to: r, "C-to-R.sqb")
    }

    /// Exports what `to` lacks from `from` into a bundle and imports it there.
    func carry(_ from: DrillNode, to: DrillNode, _ file: String) throws {
        let path = work.file(file)
        try from.ok(["bundle", "export", "--to", to.id, "--out", path])
        let rows = try to.rows(["bundle", "import", path])
        #expect(rows.count == 1 && rows[0]["error"] == nil, "\(to.name) importing \(file): \(rows)")
    }
}

@Suite("The seizure surface (issue 13): write-only mode, argv, panic, the session list")
struct SeizureSurfaceTests {
    @Test("deleting the store's write-only setting does not turn a reporter into a reader of its next cases")
    func writeOnlySurvivesSettingDeletion() throws {
        let p = try ReporterPair()
        let r = p.r
        #expect(try r.status()["mode"] as? String == "write-only", "status --json shows the mode")
        #expect(try r.ok(["status"]).stdout.contains("write-only"), "status shows the mode")

        // The seizer edits the store while the device is out of its owner's hands: the row
        // that used to hold the mode goes, and every other setting row with it.
        let store = try OpStore(path: r.home.dbPath)
        try store.deleteSetting("writeonly")
        let project = try store.setting("project")
        try store.db.execute("DELETE FROM settings")
        if let project { try store.setSetting("project", project) }

        // Back with its owner, the reporter records a new case (from stdin, as on the field).
        let doc = #"{"title": "Записано после изъятия", "persons": [{"name": "Айгерим Тестова"}]}"#
        let added = try r.run(["case", "add", "--file", "-", "--json"] + [], stdin: .bytes(Array(doc.utf8)))
        #expect(added.code == 0, "\(added)")
        #expect(try r.status()["mode"] as? String == "write-only", "the mode lives in the key file")
        #expect(try r.cases() == 0, "the reporter must not read back the case recorded after the attack")

        // Checked with the library too: no op in R's store opens with R's own box key.
        let id = try r.identity()
        let envs = try OpStore(path: r.home.dbPath).allEnvelopes()
        let pid = try #require(ProjectID(string: p.project))
        let v = ProjectView(project: pid, envelopes: envs, reader: id.box, knownSessionKeys: [:])
        #expect(v.cases.isEmpty, "R's box key opens \(v.cases.count) case(s)")

        // The coordinator still reads it.
        try p.carry(r, to: p.c, "R-to-C.sqb")
        let titles = try p.c.rows(["case", "list"]).compactMap { $0["title"] as? String }
        #expect(titles == ["Записано после изъятия"], "\(titles)")
    }
}

extension DrillNode {
    func run(_ args: [String], stdin: CLI.Input) throws -> CLI.Result { try home.run(args, stdin: stdin) }
}

@Suite("Panic stops the home's running processes and says what remains")
struct PanicProcessTests {
    @Test("panic stops a running serve, destroys the key file, and reports what stays on disk as the file holds it")
    func panicStopsServe() throws {
        let work = try DrillDir()
        let c = try DrillNode("C")
        let r = try DrillNode("R")
        try c.ok(["project", "create", "Паника"])
        try c.ok(["peers", "add", r.id, "10.9.8.7:7447"])
        let server = try DrillServer(c, dir: work.path)
        defer { server.stop() }
        #expect(server.process.isRunning)

        let started = Date()
        let p = try CLI.run(["panic", "--yes", "--json", "--home", c.home.path])
        let took = Date().timeIntervalSince(started)
        #expect(p.code == 0, "\(p)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: Any], "\(p)")
        #expect(o["keysDestroyed"] as? Bool == true)
        #expect(o["keyFileBytes"] as? Int == 232)
        let procs = o["processes"] as? [[String: Any]] ?? []
        #expect(procs.count == 1 && procs.first?["command"] as? String == "serve", "\(procs)")
        #expect(procs.first?["pid"] as? Int == Int(server.process.processIdentifier), "\(procs)")
        #expect(procs.first?["stoppedBy"] as? String == "SIGTERM", "\(procs)")

        // The serve process is gone by the time panic returns (allow the parent's reaping).
        let deadline = Date().addingTimeInterval(2)
        while server.process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!server.process.isRunning, "serve survived panic")
        #expect(!FileManager.default.fileExists(atPath: c.home.keyPath), "the key file is gone")
        print("panic with one serve running: \(String(format: "%.2f", took)) s")

        // What panic says remains is what the file really holds.
        let s = try #require(o["store"] as? [String: Any], "\(o)")
        let db = try Database(path: c.home.dbPath)
        func count(_ sql: String) throws -> Int {
            let st = try db.prepare(sql)
            try st.bind([])
            _ = try st.step()
            return Int(st.int(0))
        }
        #expect(s["ops"] as? Int == (try count("SELECT count(*) FROM ops")))
        #expect((s["ops"] as? Int ?? 0) >= 2, "genesis and the sealed project name")
        #expect(s["membershipOps"] as? Int == (try count("SELECT count(*) FROM ops WHERE kind != 1")))
        #expect(s["cachedSessionKeys"] as? Int == (try count("SELECT count(*) FROM session_keys")))
        let peers = s["peers"] as? [[String: Any]] ?? []
        #expect(peers.compactMap { $0["address"] as? String } == ["10.9.8.7:7447"], "\(peers)")
        #expect(s["project"] as? String != nil)

        // Again: nothing to destroy, nothing running.
        let again = try CLI.run(["panic", "--yes", "--home", c.home.path])
        #expect(again.code == 66, "\(again)")
    }

    @Test("the text of panic names the destroyed file, the stopped process and the peer addresses left behind")
    func panicText() throws {
        let work = try DrillDir()
        let c = try DrillNode("C")
        let r = try DrillNode("R")
        try c.ok(["project", "create", "Паника"])
        try c.ok(["peers", "add", r.id, "10.9.8.7:7447"])
        let server = try DrillServer(c, dir: work.path)
        defer { server.stop() }
        let p = try CLI.run(["panic", "--yes", "--home", c.home.path])
        #expect(p.code == 0, "\(p)")
        let deadline = Date().addingTimeInterval(2)
        while server.process.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!server.process.isRunning, "serve survived panic")
        for needle in ["identity.key (232 bytes", "Stopped serve (pid \(server.process.processIdentifier)) with SIGTERM",
                       "10.9.8.7:7447", "ops by 1 authors", "sandyq.db"] {
            #expect(p.stdout.contains(needle), "panic's text lacks \(needle): \(p.stdout)")
        }
    }

    @Test("serve exits on its own when its key file disappears, even if panic could not find it")
    func serveExitsWithoutKeys() throws {
        let work = try DrillDir()
        let c = try DrillNode("C")
        try c.ok(["project", "create", "Без ключей"])
        let server = try DrillServer(c, dir: work.path)
        defer { server.stop() }
        try? FileManager.default.removeItem(atPath: c.home.path + "/running")
        try FileManager.default.removeItem(atPath: c.home.keyPath)
        let started = Date()
        while server.process.isRunning && Date().timeIntervalSince(started) < 10 { usleep(10_000) }
        #expect(!server.process.isRunning, "serve still runs without its key file")
        print("serve stopped \(String(format: "%.2f", Date().timeIntervalSince(started))) s after its key file went")
        #expect(server.process.terminationStatus != 0)
        #expect(server.logText.contains("key file"), "\(server.logText)")
    }
}

@Suite("No case text or network key on the command line")
struct ArgvContentTests {
    @Test("a write-only node takes case text from stdin or a file, and warns when it comes as flags")
    func writeOnlyCaseTextStaysOutOfArgv() throws {
        let p = try ReporterPair()
        let secret = "Секретное дело \(UUID().uuidString.prefix(8))"
        let json = #"{"title": "\#(secret)", "summary": "из stdin"}"#
        let viaStdin = try p.r.run(["case", "add", "--stdin"], stdin: .bytes(Array(json.utf8)))
        #expect(viaStdin.code == 0, "\(viaStdin)")
        #expect(!viaStdin.stderr.contains("shell history"), "no warning when the text came on stdin: \(viaStdin)")
        let file = p.work.file("case.json")
        try Data(#"{"title": "Из файла"}"#.utf8).write(to: URL(fileURLWithPath: file))
        let viaFile = try p.r.run(["case", "add", "--file", file])
        #expect(viaFile.code == 0 && !viaFile.stderr.contains("shell history"), "\(viaFile)")

        let viaFlags = try p.r.run(["case", "add", "--title", "Во флагах", "--person", "Имя"])
        #expect(viaFlags.code == 0, "content flags still work: \(viaFlags)")
        #expect(viaFlags.stderr.contains("this text is now in your shell history and process list"), "\(viaFlags)")
        #expect(viaFlags.stderr.contains("--title") && viaFlags.stderr.contains("--person"), "\(viaFlags)")

        // A node that reads its own cases is not nagged.
        let c = try p.c.run(["case", "add", "--title", "Координатор"])
        #expect(c.code == 0 && !c.stderr.contains("shell history"), "\(c)")

        // The coordinator reads all three as recorded.
        try p.carry(p.r, to: p.c, "R-to-C.sqb")
        let titles = Set(try p.c.rows(["case", "list"]).compactMap { $0["title"] as? String })
        #expect(titles == [secret, "Из файла", "Во флагах", "Координатор"], "\(titles)")
    }

    @Test("case edit and event add read their content from stdin")
    func editAndEventFromStdin() throws {
        let c = try DrillNode("C")
        try c.ok(["project", "create", "Поля"])
        let id = try #require(try c.object(["case", "add", "--stdin"].map { $0 }, stdin: #"{"title": "Дело"}"#)["id"] as? String)
        let edit = try c.run(["case", "edit", id, "--stdin"], stdin: .bytes(Array(#"{"city": "Тараз", "notes": "из stdin"}"#.utf8)))
        #expect(edit.code == 0, "\(edit)")
        let ev = try c.run(["case", "event", "add", id, "--stdin"],
                           stdin: .bytes(Array(#"{"type": "arrest", "date": "2026-01-02", "place": "Тараз", "description": "задержан"}"#.utf8)))
        #expect(ev.code == 0, "\(ev)")
        let shown = try c.object(["case", "show", id])
        let doc = try #require(shown["document"] as? [String: Any])
        #expect(doc["city"] as? String == "Тараз" && doc["notes"] as? String == "из stdin", "\(doc)")
        let events = doc["events"] as? [[String: Any]] ?? []
        #expect(events.count == 1 && events.first?["description"] as? String == "задержан", "\(events)")
        let noType = try c.run(["case", "event", "add", id, "--stdin"], stdin: .bytes(Array(#"{"place": "x"}"#.utf8)))
        #expect(noType.code == 64, "an event without a type is a usage error: \(noType)")
    }

    @Test("join takes the network key from a file or stdin, never needing it on the command line")
    func networkKeyFromFile() throws {
        let work = try DrillDir()
        let c = try DrillNode("C")
        let project = try #require(try c.object(["project", "create", "Ключ"])["project"] as? String)
        let key = try c.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let keyFile = work.file("network.key")
        try Data((key + "\n").utf8).write(to: URL(fileURLWithPath: keyFile))

        let b = try DrillNode("B")
        let j = try b.run(["join", project, "--network-key-file", keyFile])
        #expect(j.code == 0 && !j.stderr.contains("shell history"), "\(j)")
        #expect(try b.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == key)

        let d = try DrillNode("D")
        let js = try d.run(["join", project, "--network-key-file", "-"], stdin: .bytes(Array(key.utf8)))
        #expect(js.code == 0, "\(js)")
        #expect(try d.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == key)

        let e = try DrillNode("E")
        let bad = try e.run(["join", project, "--network-key-file", "-"], stdin: .bytes(Array("not a key".utf8)))
        #expect(bad.code == 64, "\(bad)")
        let flag = try e.run(["join", project, "--network-key", key])
        #expect(flag.code == 0 && flag.stderr.contains("shell history"), "the flag still works, with a warning: \(flag)")
    }
}

@Suite("Prompts at a terminal (run under script(1) for a pseudo-terminal)")
struct PromptTests {
    static let script = "/usr/bin/script"

    /// `sandyq args --home HOME` on a pseudo-terminal fed `typed`.
    static func atTerminal(_ n: DrillNode, _ args: [String], typed: String) throws -> CLI.Result {
        let cmd = ([CLI.binary] + args + ["--home", n.home.path]).map { "'" + $0 + "'" }.joined(separator: " ")
        return try CLI.run(["-qec", cmd, "/dev/null"], env: ["SANDYQ_PASSPHRASE": n.passphrase],
                           stdin: .bytes(Array(typed.utf8)), timeout: 60, executable: script)
    }

    /// As `atTerminal`, but typed one second in: a secret prompt flushes what was typed ahead.
    static func typedLater(_ n: DrillNode, _ args: [String], typed: String) throws -> CLI.Result {
        let cmd = ([CLI.binary] + args + ["--home", n.home.path]).map { "'" + $0 + "'" }.joined(separator: " ")
        return try CLI.run(["-c", "(sleep 1; printf '%s\\n' \"$TYPED\"; sleep 1) | \(script) -qec \"$CMD\" /dev/null"],
                           env: ["SANDYQ_PASSPHRASE": n.passphrase, "TYPED": typed, "CMD": cmd], timeout: 60, executable: "/bin/sh")
    }

    @Test("case add asks for the case at a terminal, and join asks for the network key",
          .enabled(if: FileManager.default.isExecutableFile(atPath: script)))
    func promptsKeepTextOffTheCommandLine() throws {
        let p = try ReporterPair()
        let r = try Self.atTerminal(p.r, ["case", "add"], typed: "Набрано в терминале\nИмя Набранное\n\n\nАлматы\n\n\n")
        #expect(r.code == 0, "\(r)")
        #expect(r.stdout.contains("Title") && !r.stdout.contains("shell history"), "\(r)")
        try p.carry(p.r, to: p.c, "R-to-C.sqb")
        let rows = try p.c.rows(["case", "list"])
        #expect(rows.first?["title"] as? String == "Набрано в терминале" && rows.first?["city"] as? String == "Алматы", "\(rows)")

        let key = try p.c.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let b = try DrillNode("B")
        let j = try Self.typedLater(b, ["join", p.project], typed: key)
        #expect(j.code == 0, "\(j)")
        #expect(!j.stdout.contains(key), "the key is not echoed: \(j)")
        #expect(try b.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == key)
    }
}

extension DrillNode {
    func object(_ args: [String], stdin: String) throws -> [String: Any] {
        let r = try run(args + ["--json"], stdin: .bytes(Array(stdin.utf8)))
        guard r.code == 0, let o = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw DrillFailure("\(name): sandyq \(args.joined(separator: " ")): \(r)")
        }
        return o
    }
}
