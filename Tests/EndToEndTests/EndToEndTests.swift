import Foundation
import Testing
import SandyqCrypto
import SandyqStore

@Suite(.serialized) struct EndToEndTests {
    @Test func binaryIsFound() {
        #expect(FileManager.default.isExecutableFile(atPath: CLI.binary), "no sandyq binary at \(CLI.binary)")
    }

    // 1
    @Test func initThenStatus() throws {
        let home = try Home()
        let created = try home.initialize()
        #expect(created.stdout.contains("Created node"))
        let attrs = try FileManager.default.attributesOfItem(atPath: home.path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o700, "home should be owner-only")
        let keyAttrs = try FileManager.default.attributesOfItem(atPath: home.keyPath)
        #expect((keyAttrs[.posixPermissions] as? NSNumber)?.intValue == 0o600, "key file should be owner-only")

        let status = try #require(try home.json(["status"]) as? [String: Any])
        let nodeId = try #require(status["nodeId"] as? String)
        #expect(nodeId.hasPrefix("sqn-"))
        #expect(nodeId.count > 40)
        let fingerprint = try #require(status["fingerprint"] as? String)
        #expect(fingerprint.count == 12 && fingerprint.allSatisfy(\.isHexDigit), "fingerprint: \(fingerprint)")
        #expect(created.stdout.contains(fingerprint), "init printed another fingerprint")
        #expect(created.stdout.contains(nodeId), "init printed another node id")
        #expect(status["home"] as? String == home.path)
        #expect(status["ops"] as? Int == 0)
        // The schema this build writes (1 when the brief was written; the store has since gained migrations).
        #expect(status["schema"] as? Int == OpStore.supportedSchema)
        #expect(OpStore.supportedSchema >= 1)
        #expect(status["project"] == nil || status["project"] is NSNull)
        #expect(status["version"] as? String != nil)

        // A second status sees the same node.
        let again = try #require(try home.json(["status"]) as? [String: Any])
        #expect(again["nodeId"] as? String == nodeId)
    }

    // 2
    @Test func secretsNeverReachTheDisk() throws {
        let home = try Home()
        try home.initialize()
        #expect(try home.run(["project", "create", "Secrets"]).code == 0)
        #expect(try home.run(["case", "add", "--title", "Disk check", "--city", "Almaty"]).code == 0)

        let keyFile = try #require(home.bytes(home.keyPath))
        let identity = try KeyFile.open(keyFile, passphrase: SecureBytes(Array(Home.passphrase.utf8)))
        let secrets: [(String, [UInt8])] = [
            ("signing seed", identity.signing.seed.unsafeCopy),
            ("box secret key", identity.box.secretKey.unsafeCopy),
            ("storage key", identity.storageKey.secret.unsafeCopy),
        ]
        var files: [(String, [UInt8])] = [("identity.key", keyFile)]
        for suffix in ["", "-wal", "-shm"] {
            if let b = home.bytes(home.dbPath + suffix) { files.append(("sandyq.db" + suffix, b)) }
        }
        #expect(files.count >= 2, "no sandyq.db")
        // Positive control: the search does find what is meant to be there (the public signing key, in the op log).
        let db = try #require(home.bytes(home.dbPath))
        #expect(contains(db, identity.signing.publicKey.bytes), "public key not found in the db: the byte search is broken")

        for (name, secret) in secrets {
            #expect(secret.count == 32, "\(name) length")
            #expect(Set(secret).count > 4, "\(name) looks degenerate")
            for (file, bytes) in files {
                for start in 0...(secret.count - 16) {
                    let window = Array(secret[start..<(start + 16)])
                    #expect(!contains(bytes, window), "\(name) bytes \(start)..<\(start + 16) found in \(file)")
                }
            }
        }
    }

    // 3
    @Test func wrongPassphraseChangesNothing() throws {
        let home = try Home()
        try home.initialize()
        #expect(try home.run(["project", "create", "P"]).code == 0)
        let keyBefore = try #require(home.bytes(home.keyPath))
        let dbBefore = try #require(home.bytes(home.dbPath))

        let r = try home.run(["status"], passphrase: "not the passphrase")
        #expect(r.code == 77, "\(r)")
        #expect(r.stderr.contains("wrong passphrase"), "\(r)")
        #expect(r.stdout.isEmpty)
        let w = try home.run(["case", "add", "--title", "x"], passphrase: Home.passphrase + " ")
        #expect(w.code == 77, "\(w)")

        #expect(home.bytes(home.keyPath) == keyBefore, "key file changed")
        #expect(home.bytes(home.dbPath) == dbBefore, "db changed")
        #expect(!FileManager.default.fileExists(atPath: home.dbPath + "-wal") || home.bytes(home.dbPath + "-wal")?.isEmpty == true)
        // The right passphrase still opens it.
        #expect(try home.run(["status"]).code == 0)
    }

    // 4
    @Test func usageErrorsExitWith64() throws {
        let home = try Home()
        try home.initialize()
        let unknownCommand = try home.run(["frobnicate"])
        #expect(unknownCommand.code == 64, "\(unknownCommand)")
        let unknownFlag = try home.run(["status", "--no-such-flag"])
        #expect(unknownFlag.code == 64, "\(unknownFlag)")
        #expect(unknownFlag.stderr.contains("--no-such-flag"))
        let unknownKDF = try CLI.run(["init", "--kdf", "whatever", "--home", home.path + "-other"], env: ["SANDYQ_PASSPHRASE": "x"])
        #expect(unknownKDF.code == 64, "\(unknownKDF)")
        #expect(!FileManager.default.fileExists(atPath: home.path + "-other"))
    }

    @Test func notFoundExitsWith66() throws {
        let home = try Home()
        try home.initialize()
        #expect(try home.run(["project", "create", "P"]).code == 0)
        #expect(try home.run(["case", "add", "--title", "exists"]).code == 0)
        let r = try home.run(["case", "show", "nosuch"])
        #expect(r.code == 66, "\(r)")
        #expect(r.stderr.contains("nosuch"))

        let empty = try Home()
        let none = try empty.run(["status"])
        #expect(none.code == 66, "\(none)")
        #expect(none.stderr.contains("no node"), "\(none)")
        #expect(!FileManager.default.fileExists(atPath: empty.path), "status created a home")
    }

    @Test func corruptKeyFileExitsWith65() throws {
        let home = try Home()
        try home.initialize()
        let original = try #require(home.bytes(home.keyPath))

        // Truncated.
        try Data(original.prefix(10)).write(to: URL(fileURLWithPath: home.keyPath))
        let t = try home.run(["status"])
        #expect(t.code == 65, "\(t)")
        #expect(t.stderr.contains("key file") && t.stderr.contains("truncated"), "\(t)")

        // A flipped magic byte.
        var flipped = original
        flipped[0] ^= 0x20
        try Data(flipped).write(to: URL(fileURLWithPath: home.keyPath))
        let m = try home.run(["status"])
        #expect(m.code == 65, "\(m)")
        #expect(m.stderr.contains("not a sandyq key file"), "\(m)")

        // An unsupported version byte.
        var version = original
        version[5] = 0x7f
        try Data(version).write(to: URL(fileURLWithPath: home.keyPath))
        let v = try home.run(["status"])
        #expect(v.code == 65, "\(v)")
        #expect(v.stderr.contains("version"), "\(v)")

        // Restored, it opens again.
        try Data(original).write(to: URL(fileURLWithPath: home.keyPath))
        #expect(try home.run(["status"]).code == 0)
    }

    @Test func versionFlag() throws {
        let r = try CLI.run(["--version"])
        #expect(r.code == 0, "\(r)")
        let v = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = v.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil }, "version: '\(v)'")
    }

    static let subcommands = [
        "init", "status", "check", "project", "project create", "join", "member", "member add", "member list",
        "case", "case add", "case edit", "case show", "case list", "case event add", "case conflicts",
        "case resolve", "case archive", "case import", "log", "backup", "backup split", "backup restore",
    ]

    @Test(arguments: subcommands)
    func helpWorksForEverySubcommand(_ sub: String) throws {
        let words = sub.split(separator: " ").map(String.init)
        let r = try CLI.run(words + ["--help"])
        #expect(r.code == 0, "\(sub) --help: \(r)")
        #expect(r.stdout.contains("USAGE:"), "\(sub) --help: \(r)")
        #expect(r.stdout.contains("sandyq \(sub)"), "\(sub) --help does not name itself: \(r.stdout)")
    }

    @Test func topLevelHelpListsEveryCommand() throws {
        let r = try CLI.run(["--help"])
        #expect(r.code == 0)
        for c in ["init", "status", "check", "project", "join", "member", "case", "log"] {
            #expect(r.stdout.contains(c), "top-level help lacks \(c)")
        }
        #expect(r.stdout.contains("77"), "help should document the exit codes")
    }

    // 5
    @Test func passphraseFile() throws {
        let home = try Home()
        let scratch = home.path + "-pw"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        func file(_ name: String, _ content: String) throws -> String {
            let p = scratch + "/" + name
            try Data(content.utf8).write(to: URL(fileURLWithPath: p))
            return p
        }
        let pw = "s3cret phrase"
        let initFile = try file("init", pw + "\n")
        let created = try CLI.run(["init", "--kdf", "interactive", "--passphrase-file", initFile, "--home", home.path])
        #expect(created.code == 0, "\(created)")

        // The newline was stripped: the bare passphrase opens it, the one with a newline does not.
        #expect(try home.run(["status"], passphrase: pw).code == 0)
        #expect(try home.run(["status"], passphrase: pw + "\n").code == 77)

        // Only the first line counts; CRLF is stripped too; and the file wins over the environment.
        for (name, content) in [("first", pw + "\nsecond line\n"), ("crlf", pw + "\r\n"), ("bare", pw)] {
            let r = try home.run(["status", "--passphrase-file", try file(name, content)], passphrase: "env is ignored")
            #expect(r.code == 0, "\(name): \(r)")
        }
        let wrong = try home.run(["status", "--passphrase-file", try file("wrong", "nope\n")])
        #expect(wrong.code == 77, "\(wrong)")
        let empty = try home.run(["status", "--passphrase-file", try file("empty", "\n")])
        #expect(empty.code == 64, "\(empty)")
        let missing = try home.run(["status", "--passphrase-file", scratch + "/does-not-exist"])
        #expect(missing.code == 64, "\(missing)")
        #expect(missing.stderr.contains("cannot read passphrase file"), "\(missing)")
    }

    @Test func noPassphraseSourceWithoutTerminalIsAUsageError() throws {
        let home = try Home()
        try home.initialize()
        // In a new session (setsid) a process has no controlling terminal, wherever the suite runs.
        func detached(_ args: [String], _ env: [String: String?]) throws -> CLI.Result {
            try CLI.run(["--wait", CLI.binary] + args, env: env, timeout: 30, executable: "/usr/bin/setsid")
        }
        let tty = try CLI.run(["--wait", "/bin/sh", "-c", "exec 3<>/dev/tty"], timeout: 10, executable: "/usr/bin/setsid")
        try #require(tty.code != 0, "a child in a new session still opened /dev/tty: \(tty)")

        let r = try detached(["status", "--home", home.path], ["SANDYQ_PASSPHRASE": nil])
        #expect(!r.timedOut, "sandyq waited for a passphrase")
        #expect(r.code == 64, "\(r)")
        #expect(r.stderr.contains("--passphrase-file"), "\(r)")
        let i = try detached(["init", "--kdf", "interactive", "--home", home.path + "-new"], ["SANDYQ_PASSPHRASE": nil])
        defer { try? FileManager.default.removeItem(atPath: home.path + "-new") }
        #expect(i.code == 64, "\(i)")
        #expect(!FileManager.default.fileExists(atPath: home.path + "-new/identity.key"))
        let emptyEnv = try detached(["status", "--home", home.path], ["SANDYQ_PASSPHRASE": ""])
        #expect(emptyEnv.code == 64, "\(emptyEnv)")
    }

    // 6
    @Test func initTwiceRefusesAndKeepsTheKey() throws {
        let home = try Home()
        try home.initialize()
        let key = try #require(home.bytes(home.keyPath))
        let db = try #require(home.bytes(home.dbPath))
        let status = try #require(try home.json(["status"]) as? [String: Any])
        for pass in [Home.passphrase, "another passphrase"] {
            let r = try home.run(["init", "--kdf", "interactive"], passphrase: pass)
            #expect(r.code == 64, "\(r)")
            #expect(r.stderr.contains("already exists"), "\(r)")
        }
        #expect(home.bytes(home.keyPath) == key, "key file changed")
        #expect(home.bytes(home.dbPath) == db, "db changed")
        let after = try #require(try home.json(["status"]) as? [String: Any])
        #expect(after["nodeId"] as? String == status["nodeId"] as? String)
    }

    // 7
    @Test func caseLifecycle() throws {
        let home = try Home()
        try home.initialize()
        let project = try #require(try home.json(["project", "create", "Lifecycle"]) as? [String: String])
        #expect(project["project"]?.hasPrefix("sqp-") == true)

        let person = "Мұхтар Жәкішев"
        let added = try #require(try home.json([
            "case", "add", "--title", "Test case", "--status", "detained", "--city", "Almaty",
            "--person", person, "--charge", "criminal:405",
        ]) as? [String: Any])
        let id = try #require(added["id"] as? String)
        #expect((added["warnings"] as? [Any])?.isEmpty == true, "warnings missing or unexpected: \(added)")
        #expect(id.count == 32 && id.allSatisfy(\.isHexDigit), "id: \(id)")

        let list = try #require(try home.json(["case", "list"]) as? [[String: Any]])
        #expect(list.count == 1)
        let row = try #require(list.first)
        #expect(row["id"] as? String == id)
        #expect(row["title"] as? String == "Test case")
        #expect(row["status"] as? String == "detained")
        #expect(row["city"] as? String == "Almaty")
        #expect(row["persons"] as? [String] == [person])
        #expect(row["charges"] as? [String] == ["criminal/405"])
        #expect(row["archived"] as? Bool == false)

        // Filters.
        #expect((try home.json(["case", "list", "--status", "released"]) as? [Any])?.count == 0)
        #expect((try home.json(["case", "list", "--charge", "405"]) as? [Any])?.count == 1)

        let shown = try #require(try home.json(["case", "show", String(id.prefix(8))]) as? [String: Any])
        #expect(shown["caseId"] as? String == id)
        let doc = try #require(shown["document"] as? [String: Any])
        let persons = try #require(doc["persons"] as? [[String: Any]])
        #expect(persons.map { $0["name"] as? String } == [person])
        let charges = try #require(doc["charges"] as? [[String: Any]])
        #expect(charges.first?["code"] as? String == "criminal")
        #expect(charges.first?["article"] as? String == "405")
        #expect(doc["city"] as? String == "Almaty")

        let edit = try home.run(["case", "edit", id, "--city", "Astana"])
        #expect(edit.code == 0, "\(edit)")
        let edited = try #require(try home.json(["case", "show", id]) as? [String: Any])
        #expect((edited["document"] as? [String: Any])?["city"] as? String == "Astana")
        #expect((edited["document"] as? [String: Any])?["title"] as? String == "Test case")

        let archive = try home.run(["case", "archive", id])
        #expect(archive.code == 0, "\(archive)")
        #expect((try home.json(["case", "list"]) as? [Any])?.count == 0, "archived case still listed")
        let archived = try #require(try home.json(["case", "list", "--archived"]) as? [[String: Any]])
        #expect(archived.map { $0["id"] as? String } == [id])
        #expect(archived.first?["archived"] as? Bool == true)

        let log = try #require(try home.json(["log"]) as? [[String: Any]])
        // genesis, reader key, project name, add, edit, archive
        #expect(log.count == 6, "\(log)")
        let fingerprint = try #require((try home.json(["status"]) as? [String: Any])?["fingerprint"] as? String)
        #expect(log.allSatisfy { $0["author"] as? String == fingerprint })
        #expect(Set(log.compactMap { $0["seq"] as? Int }) == Set(1...6))
        #expect(log.contains { ($0["summary"] as? String) == "reader key of \(fingerprint), epoch 1" }, "\(log)")
        for entry in log where entry["kind"] as? String == "sealed" {
            let time = try #require(entry["time"] as? String, "sealed op without a time: \(entry)")
            #expect(ISO8601DateFormatter().date(from: time) != nil, "time: \(time)")
        }
        #expect(log.filter { $0["kind"] as? String == "sealed" }.count == 4)
        #expect(log.contains { ($0["summary"] as? String)?.contains("project name: Lifecycle") == true })

        let check = try home.run(["check"])
        #expect(check.code == 0, "\(check)")
        #expect(check.stdout.hasPrefix("ok"), "\(check)")

        let status = try #require(try home.json(["status"]) as? [String: Any])
        #expect(status["ops"] as? Int == 6)
        #expect(status["cases"] as? Int == 1)
        #expect(status["projectName"] as? String == "Lifecycle")
        #expect(status["role"] as? String == "coordinator")
    }

    @Test func bogusStatusIsAUsageErrorListingTheValidOnes() throws {
        let home = try Home()
        try home.initialize()
        #expect(try home.run(["project", "create", "P"]).code == 0)
        let r = try home.run(["case", "add", "--title", "x", "--status", "bogus"])
        #expect(r.code == 64, "\(r)")
        #expect(r.stderr.contains("bogus"))
        for s in ["under_investigation", "detained", "house_arrest", "sentenced", "released"] {
            #expect(r.stderr.contains(s), "message does not list \(s): \(r.stderr)")
        }
        #expect((try home.json(["case", "list", "--archived"]) as? [Any])?.count == 0, "a refused case was recorded")
        let badCharge = try home.run(["case", "add", "--title", "x", "--charge", "405"])
        #expect(badCharge.code == 64, "\(badCharge)")
    }
}
