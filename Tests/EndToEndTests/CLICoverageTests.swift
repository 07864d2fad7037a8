import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

/// Commands and flags the README and `--help` document that no other test ran: each through
/// the real binary, checked by what it changes or prints, so that breaking the flag fails here.
@Suite(.serialized) struct CLICoverageTests {
    static func node(_ name: String = "Покрытие") throws -> Home {
        let home = try Home()
        try home.initialize()
        let p = try home.run(["project", "create", name])
        try #require(p.code == 0, "\(p)")
        return home
    }

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.path + "/sandyq-cov-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func object(_ r: CLI.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    /// `case show ID --json`'s document.
    static func document(_ home: Home, _ id: String) throws -> [String: Any] {
        let show = try #require(try home.json(["case", "show", id]) as? [String: Any])
        return try #require(show["document"] as? [String: Any], "\(show)")
    }

    // MARK: case input

    /// `case add --file FILE`, `--file -`, `--stdin` and `--tag`; `case event add --source`;
    /// `case edit --set COLLECTION/ELEMENT/FIELD=VALUE` and `--remove`.
    /// `loss-risk`: a new case exists on this device only, said in words and in JSON.
    @Test func lossRiskNamesWhatOnlyThisDeviceHolds() throws {
        let home = try Home()
        try home.initialize()
        try #require(home.run(["project", "create", "Риск"]).code == 0)
        try #require(home.run(["case", "add", "--title", "Жалғыз"]).code == 0)
        let text = try home.run(["loss-risk"])
        #expect(text.code == 0 && text.stdout.contains("exist only on this device"), "\(text)")
        let j = try #require(try home.json(["loss-risk"]) as? [String: Any])
        let authors = try #require(j["authors"] as? [[String: Any]])
        #expect(authors.count == 1 && (authors[0]["soleOps"] as? Int ?? 0) >= 2 && authors[0]["role"] as? String == "coordinator", "\(j)")
        // The member list says how many of each member's ops this node holds.
        let members = try #require(try home.json(["member", "list"]) as? [[String: Any]])
        #expect(members.count == 1 && (members[0]["ops"] as? Int ?? 0) == (authors[0]["known"] as? Int ?? -1), "\(members)")
        // And which reader key each announced: the founder, epoch 1, with its genesis.
        #expect(members[0]["readerKeyEpoch"] as? Int == 1 && members[0]["readerKeyForked"] as? Bool == false, "\(members)")
        #expect(try home.run(["member", "list"]).stdout.contains("reader key 1"))
    }

    @Test func caseInputFlagsReachTheCase() throws {
        let home = try Self.node()
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let file = dir + "/case.json"
        try Data(#"{"title": "Из файла", "persons": [{"name": "Айдос Садыков"}], "tags": ["из-файла"]}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let fromFile = try Self.object(try home.run(["case", "add", "--file", file, "--tag", "срочно", "--tag", "второй", "--json"]))
        let id = try #require(fromFile["id"] as? String)
        var doc = try Self.document(home, id)
        #expect(doc["title"] as? String == "Из файла")
        #expect((doc["persons"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["Айдос Садыков"])
        #expect(Set(doc["tags"] as? [String] ?? []) == ["из-файла", "срочно", "второй"], "the file's tag and both --tag flags: \(doc)")

        for source in [["--file", "-"], ["--stdin"]] {
            let title = "Со входа \(source[0])"
            let r = try home.run(["case", "add"] + source + ["--json"], stdin: .bytes(Array(#"{"title": "\#(title)", "city": "Тараз"}"#.utf8)))
            let added = try #require(try Self.object(r)["id"] as? String, "\(source): \(r)")
            let d = try Self.document(home, added)
            #expect(d["title"] as? String == title && d["city"] as? String == "Тараз", "\(source): \(d)")
        }
        let both = try home.run(["case", "add", "--stdin", "--file", file])
        #expect(both.code == 64 && both.stderr.contains("not both"), "\(both)")

        // A timeline event with two sources.
        let ev = try Self.object(try home.run(["case", "event", "add", id, "--type", "hearing", "--date", "2024-05-02",
                                               "--source", "https://court.example/7", "--source", "протокол №7", "--json"]))
        let eventID = try #require(ev["event"] as? String)
        doc = try Self.document(home, id)
        let events = try #require(doc["events"] as? [[String: Any]], "\(doc)")
        #expect(events.count == 1 && events.first?["id"] as? String == eventID)
        #expect(events.first?["sources"] as? [String] == ["https://court.example/7", "протокол №7"], "\(events)")
        #expect(events.first?["type"] as? String == "hearing" && events.first?["date"] as? String == "2024-05-02")

        // An element's field set by path, a case field, and the event retracted, in one command.
        let person = try #require((doc["persons"] as? [[String: Any]])?.first?["id"] as? String)
        let edit = try home.run(["case", "edit", id, "--set", "persons/\(person)/birthYear=1963", "--set", "city=Алматы",
                                 "--remove", "events/\(eventID.prefix(6))", "--json"])
        #expect(edit.code == 0, "\(edit)")
        doc = try Self.document(home, id)
        let p = (doc["persons"] as? [[String: Any]])?.first
        #expect((p?["birthYear"] as? NSNumber)?.intValue == 1963 && p?["name"] as? String == "Айдос Садыков", "\(doc)")
        #expect(doc["city"] as? String == "Алматы")
        #expect((doc["events"] as? [Any] ?? []).isEmpty, "the event was not retracted: \(doc)")
        #expect(try home.run(["check"]).code == 0)
    }

    /// `case duplicates --threshold T` lists exactly the pairs scoring at least T.
    @Test func duplicatesThresholdFiltersByScore() throws {
        let home = try Self.node()
        for (name, ref) in [("Мұхтар Жәкішев", "d1"), ("Mukhtar Dzhakishev", "d2"), ("Mukhtar Jakish", "d3"),
                            ("Muhtar Zhakishev Bolatuly", "d4"), ("Айдос Садыков", "d5")] {
            #expect(try home.run(["case", "add", "--person", name, "--ref", ref]).code == 0)
        }
        func pairs(_ threshold: String?) throws -> [String: Double] {
            let args = ["case", "duplicates"] + (threshold.map { ["--threshold", $0] } ?? [])
            let rows = try #require(try home.json(args) as? [[String: Any]])
            var out: [String: Double] = [:]
            for r in rows {
                let a = (r["first"] as? [String: Any])?["ref"] as? String ?? "?"
                let b = (r["second"] as? [String: Any])?["ref"] as? String ?? "?"
                out[[a, b].sorted().joined(separator: "~")] = (r["score"] as? NSNumber)?.doubleValue ?? -1
            }
            return out
        }
        let all = try pairs("0")
        #expect(all.count >= 6, "every pair of the four spellings: \(all)")
        let scores = Set(all.values)
        #expect(scores.contains { $0 < 0.95 } && scores.contains { $0 >= 0.95 }, "the names give no spread of scores: \(all)")
        for t in [0.9, 0.95] {
            let got = try pairs(String(t))
            #expect(got == all.filter { $0.value >= t }, "--threshold \(t): \(got)")
        }
        #expect(try pairs("0.95").count < (try pairs("0.9")).count, "--threshold changed nothing")
        let bad = try home.run(["case", "duplicates", "--threshold", "1.5"])
        #expect(bad.code == 64 && bad.stderr.contains("--threshold"), "\(bad)")
    }

    // MARK: bundles

    /// `bundle export --to coordinators --max-size N`: every other current coordinator can read
    /// it and no one else, each part is at most N bytes, and the parts in any order give the
    /// sender's store.
    @Test func bundlePartsToCoordinators() throws {
        let n = try TCPNode.make(["A", "B", "C", "R"])
        let (a, b, c, r) = (n[0], n[1], n[2], n[3])
        let project = try a.json(["project", "create", "Части"])["project"] as? String ?? ""
        for (node, role) in [(b, "coordinator"), (c, "coordinator"), (r, "reporter")] {
            try node.ok(["join", project])
            try a.ok(["member", "add", node.nodeId, "--role", role])
        }
        let cases = try tcpBulkCases(40, tag: "part")
        defer { try? FileManager.default.removeItem(atPath: cases) }
        try a.ok(["case", "import", cases])
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        func held(_ node: TCPNode) throws -> (ops: Int, digest: String) {
            let s = try node.status()
            return (s["ops"] as? Int ?? -1, s["digest"] as? String ?? "none")
        }
        let sender = try held(a)
        // The floor: each part may hold two chunks of records (Protocol/bundles.md, "Split parts").
        let maxSize = 262_144
        let out = dir + "/x.sqb"
        let e = try a.json(["bundle", "export", "--to", "coordinators", "--out", out, "--max-size", String(maxSize)])
        let files = e["files"] as? [String] ?? []
        #expect(files.count >= 3, "480 KB of ops in parts of at most 256 KiB: \(e)")
        #expect(files == [out] + (1..<files.count).map { "\(out).\($0 + 1)" }, "\(files)")
        let sizes = files.map(Self.size)
        print("bundle export --max-size \(maxSize): \(e["ops"] ?? "?") ops in parts of \(sizes) bytes")
        #expect(sizes.allSatisfy { $0 > 0 && $0 <= maxSize }, "a part over --max-size: \(sizes)")
        #expect(sizes.reduce(0, +) == e["bytes"] as? Int, "\(sizes) vs \(e)")
        #expect(e["ops"] as? Int == sender.ops, "\(e)")

        // B takes the parts last first, one command each; C all at once in order.
        for f in files.reversed() {
            let i = try b.run(["bundle", "import", f])
            #expect(i.code == 0, "B, \(f): \(i)")
        }
        let ci = try c.run(["bundle", "import"] + files)
        #expect(ci.code == 0, "\(ci)")
        #expect(try held(b) == sender, "B, parts last first")
        #expect(try held(c) == sender, "C, parts in order")

        // A reporter is not among the coordinators.
        let rOps = try tcpStoredOps(r)
        let ri = try r.run(["bundle", "import", files[0]])
        #expect(ri.code == 68, "a reporter opened a bundle to the coordinators: \(ri)")
        #expect(try tcpStoredOps(r) == rOps)
    }

    /// `peers add NODE HOST:PORT` remembers the address and pins the key; a second add moves it.
    @Test func peersAddPinsAnAddress() throws {
        let n = try TCPNode.make(["A", "F"])
        let (a, f) = (n[0], n[1])
        try a.ok(["project", "create", "Адреса"])
        func row() throws -> [String: Any]? {
            let r = try a.ok(["peers", "--json"])
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
            return rows.first { $0["nodeId"] as? String == f.nodeId }
        }
        #expect(try row() == nil)
        let added = try a.ok(["peers", "add", f.nodeId, "192.0.2.7:7447"])
        #expect(added.stdout.contains("192.0.2.7:7447"))
        var p = try #require(try row(), "peers lists no row for the added node")
        #expect(p["address"] as? String == "192.0.2.7:7447" && p["pinned"] as? Bool == true, "\(p)")
        try a.ok(["peers", "add", f.nodeId, "192.0.2.8:7447"])
        p = try #require(try row())
        #expect(p["address"] as? String == "192.0.2.8:7447", "\(p)")
        let human = try a.ok(["peers"]).stdout
        #expect(human.contains("192.0.2.8:7447 (pinned)"), "\(human)")
    }

    // MARK: check, KDF, duress

    /// `check --json`: `{"ok": "true", "problems": ""}` on a sound store; on a store with a
    /// damaged op, exit 65, `"ok": "false"` and the problem named.
    @Test func checkJSONShapeAndAFailure() throws {
        let home = try Self.node()
        #expect(try home.run(["case", "add", "--title", "Проверка", "--person", "Болат Жанов"]).code == 0)
        let good = try home.run(["check", "--json"])
        #expect(good.code == 0, "\(good)")
        let o = try Self.object(good)
        #expect(Set(o.keys) == ["ok", "problems"], "\(o)")
        #expect(o["ok"] as? String == "true" && o["problems"] as? String == "", "\(o)")

        // One bit of the newest op's signature flipped, in place, by SQLite.
        do {
            let db = try Database(path: home.dbPath)
            let st = try db.prepare("SELECT rowid, envelope FROM ops ORDER BY rowid DESC LIMIT 1")
            try st.bind([])
            try #require(try st.step())
            let rowid = st.int(0)
            var env = st.blob(1)
            env[env.count - 1] ^= 0x01
            try db.prepare("UPDATE ops SET envelope = ? WHERE rowid = ?").run([.blob(env), .int(rowid)])
        }
        let bad = try home.run(["check", "--json"])
        #expect(bad.code == 65, "\(bad)")
        let b = try Self.object(bad)
        #expect(b["ok"] as? String == "false", "\(b)")
        #expect((b["problems"] as? String ?? "").contains("1 stored ops fail to decode or verify"), "\(b)")
        #expect(bad.stderr.contains("1 problem(s) found"), "\(bad.stderr)")
    }

    /// Key file offsets 7 and 15: opslimit and memlimit, big-endian (Protocol/keyfile.md).
    static func kdfParameters(_ home: Home) throws -> (ops: UInt64, mem: UInt64) {
        let k = try #require(home.bytes(home.keyPath))
        try #require(k.count >= 23 && Array(k[0..<5]) == Array("SQKEY".utf8))
        func u64(_ at: Int) -> UInt64 { k[at..<(at + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
        return (u64(7), u64(15))
    }

    /// `init` without `--kdf` seals the keys at libsodium's moderate cost, as `init --help` says
    /// (256 MiB); `--kdf interactive` is the control that the header says what was asked.
    @Test func defaultKDFIsModerate() throws {
        let home = try Home()
        let r = try home.run(["init"])
        try #require(r.code == 0, "\(r)")
        let p = try Self.kdfParameters(home)
        #expect(p.mem == 256 << 20 && p.ops == 3, "init without --kdf: opslimit \(p.ops), memlimit \(p.mem)")
        #expect(try home.run(["status"]).code == 0)
        let help = try CLI.run(["init", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("moderate (256 MiB)") && help.contains("default: moderate"), "\(help)")

        let fast = try Home()
        try fast.initialize()
        let q = try Self.kdfParameters(fast)
        #expect(q.mem == 64 << 20 && q.ops == 2, "--kdf interactive: opslimit \(q.ops), memlimit \(q.mem)")
    }

    /// `init --duress-passphrase-file F`: the duress passphrase at unlock destroys the keys and
    /// the log and opens a fresh, empty node without a word about it; the real passphrase then
    /// opens nothing.
    @Test func duressPassphraseOnTheCLI() throws {
        let home = try Home()
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let duress = "под давлением"
        try Data((duress + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/duress"))
        let i = try home.run(["init", "--kdf", "interactive", "--duress-passphrase-file", dir + "/duress", "--json"])
        try #require(i.code == 0, "\(i)")
        let realID = try #require(try Self.object(i)["nodeId"] as? String)
        #expect(try home.run(["project", "create", "Тайный"]).code == 0)
        #expect(try home.run(["case", "add", "--title", "Секрет", "--person", "Айдос Садыков"]).code == 0)
        let before = try #require(try home.json(["status"]) as? [String: Any])
        #expect((before["ops"] as? Int ?? 0) >= 3)
        let oldKey = try #require(home.bytes(home.keyPath))

        let forced = try home.run(["status", "--json"], passphrase: duress)
        #expect(forced.code == 0, "the duress passphrase must open something: \(forced)")
        let s = try Self.object(forced)
        #expect(s["nodeId"] as? String != realID, "the same node opened under duress")
        #expect(s["ops"] as? Int == 0 && s["project"] == nil && s["cases"] as? Int == 0, "\(s)")
        #expect(!forced.output.lowercased().contains("duress"), "the unlock gives itself away: \(forced.output)")
        #expect(home.bytes(home.keyPath) != oldKey)
        let real = try home.run(["status"])
        #expect(real.code == 77, "the real passphrase still opens something: \(real)")
        #expect(try home.run(["status", "--json"], passphrase: duress).code == 0, "the fresh node stays")

        // SANDYQ_DURESS_PASSPHRASE with the flag; a duress passphrase equal to the passphrase is refused.
        let other = try Home()
        let same = try other.run(["init", "--kdf", "interactive", "--duress-passphrase"],
                                 env: ["SANDYQ_DURESS_PASSPHRASE": Home.passphrase])
        #expect(same.code == 64 && same.stderr.contains("must differ"), "\(same)")
        #expect(!FileManager.default.fileExists(atPath: other.keyPath))
        let viaEnv = try other.run(["init", "--kdf", "interactive", "--duress-passphrase"], env: ["SANDYQ_DURESS_PASSPHRASE": duress])
        #expect(viaEnv.code == 0, "\(viaEnv)")
        let id2 = try #require(try other.json(["status"]) as? [String: Any])["nodeId"] as? String
        let forced2 = try Self.object(try other.run(["status", "--json"], passphrase: duress))
        #expect(forced2["nodeId"] as? String != id2, "SANDYQ_DURESS_PASSPHRASE was not set as the duress passphrase")
    }

    // MARK: serve --max-peers

    /// `serve --max-peers 1 --max-waiting 0`: while one member holds the slot, the next member's
    /// sync is refused (not queued), and succeeds once the slot is free.
    @Test func serveMaxPeersRefusesTheNextMember() throws {
        let (a, b, c, server, key) = try Self.oneSlotServer("Слоты", extra: ["--max-waiting", "0"])
        defer { server.stop() }

        // B's key, by hand: a complete handshake, then silence. The server's first frame (its
        // version vector) shows the session holds the one slot.
        let conn = try Self.holdSlot(b, server: server, networkKey: key)
        defer { conn.close() }

        let cOps = try c.opCount()
        try a.ok(["case", "add", "--title", "Пока слот занят"])
        let (refused, _) = try c.sync(server.address)
        #expect(refused.code == 1 && refused.stderr.hasPrefix("sandyq: sync with \(server.address) failed"), "a second member synced past --max-peers 1: \(refused)")
        print("sync refused by --max-peers 1: \(refused.stderr)")
        #expect(refused.stderr.contains("it is full") && refused.stderr.contains("try again later"),
                "C's error does not say the server may be full: \(refused.stderr)")
        #expect(server.waitForLine(containing: "refused, 1 peers already connected") != nil, "server log: \(server.log.suffix(1500))")
        #expect(try c.opCount() == cOps, "C received ops through a refused session")

        conn.close()
        #expect(server.waitForLine(containing: "connection ended") != nil, "the held session did not end: \(server.log.suffix(1500))")
        let after = try c.syncOK(server.address, peer: nil, "(the slot is free again)")
        #expect((after["received"] as? Int ?? 0) >= 1, "\(after)")
    }

    /// A founds a project, admits B and C as coordinators and serves with `--max-peers 1`;
    /// both have synced once. Returns the network key too. Stop the server in a defer.
    static func oneSlotServer(_ title: String, extra: [String] = []) throws -> (TCPNode, TCPNode, TCPNode, TCPServer, String) {
        let n = try TCPNode.make(["A", "B", "C"])
        let (a, b, c) = (n[0], n[1], n[2])
        let project = try a.json(["project", "create", title])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for node in [b, c] {
            try node.ok(["join", project, "--network-key", key])
            try a.ok(["member", "add", node.nodeId, "--role", "coordinator"])
        }
        let server = try TCPServer(a, maxPeers: 1, extra: extra)
        do {
            try b.syncOK(server.address, peer: a.nodeId, "(first contact)")
            try c.syncOK(server.address, peer: a.nodeId, "(first contact)")
        } catch { server.stop(); throw error }
        return (a, b, c, server, key)
    }

    /// Opens a session as `node` by hand: a complete handshake, then silence. The server's
    /// first frame (its version vector) shows the session holds a slot.
    static func holdSlot(_ node: TCPNode, server: TCPServer, networkKey key: String) throws -> Connection {
        let keys = try KeyFile.open(try #require(node.home.bytes(node.home.keyPath)), passphrase: SecureBytes(Array(Home.passphrase.utf8)))
        let nk = try SymmetricKey(SecureBytes(try #require(Hex.decode(key))))
        let conn = try Connection.connect(to: server.address)
        var hs = ClientHandshake(identity: keys.signing, networkKey: nk)
        try conn.writeAll(hs.message1(nowMillis: UInt64(Date().timeIntervalSince1970 * 1000)))
        let m2 = try hs.readMessage2(from: conn, deadline: Date(timeIntervalSinceNow: 10))
        let (m3, _) = try hs.receive2(m2, allowed: { _ in true })
        try conn.writeAll(m3)
        _ = try conn.readExactly(4, deadline: Date(timeIntervalSinceNow: 10))
        return conn
    }

    /// `serve --max-peers 1` (members may wait, the default): while one member holds the only
    /// slot, the next member's sync waits for it instead of failing, and completes with the
    /// op written meanwhile once the slot frees; no thread is started for the waiting one.
    @Test func serveMaxPeersQueuesTheNextMember() throws {
        let (a, b, c, server, key) = try Self.oneSlotServer("Очередь")
        defer { server.stop() }
        let conn = try Self.holdSlot(b, server: server, networkKey: key)
        defer { conn.close() }

        try a.ok(["case", "add", "--title", "Пока слот занят"])
        let cOps = try c.opCount()
        let waiting = try TCPProcess(["sync", server.address, "--home", c.path, "--json"], label: "C sync (waits)")
        // C's handshake completes and its session waits: nothing imported while B holds the slot.
        Thread.sleep(forTimeInterval: 2)
        #expect(waiting.process.isRunning, "C's sync ended while the only slot was held: \(waiting.stderr)")
        #expect(try c.opCount() == cOps, "C imported while B held the only slot")

        conn.close()
        let deadline = Date().addingTimeInterval(30)
        while waiting.process.isRunning && Date() < deadline { usleep(50_000) }
        #expect(!waiting.process.isRunning, "C's sync did not finish after the slot freed")
        waiting.process.waitUntilExit()
        #expect(waiting.exitCode == 0, "C's waiting sync failed: \(waiting.stderr)")
        #expect(try c.opCount() > cOps, "C's waiting sync received nothing")
        #expect(!server.log.contains("refused, 1 peers already connected"), "the server refused instead of queueing: \(server.log.suffix(1500))")
    }
}
