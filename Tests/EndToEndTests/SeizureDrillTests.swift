import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync
import SandyqNode

// The seizure drill of issue 6, end to end: four nodes, each command a separate `sandyq`
// process (CLI.swift's runner), real files in temp homes, a real TCP server on 127.0.0.1.
// The flow follows scripts/demo.sh; every step asserts what each node can and cannot see.
// Steps that need a forger's hands (an op signed with a lawyer's key outside its node) are
// done in-process with the key file and the library, as a thief with the passphrase would.

struct DrillFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// One node of the drill: its home (with its own passphrase) and its ids from `init --json`.
final class DrillNode: @unchecked Sendable {
    let name: String
    let home: Home
    private(set) var id = ""
    private(set) var fingerprint = ""

    init(_ name: String, writeOnly: Bool = false) throws {
        self.name = name
        home = try Home()
        home.passphrase = "drill passphrase of \(name) — never reuse"
        var args = ["init", "--kdf", "interactive", "--json"]
        if writeOnly { args.append("--write-only") }
        let r = try home.run(args)
        guard r.code == 0, let o = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any],
              let id = o["nodeId"] as? String, let fp = o["fingerprint"] as? String, id.hasPrefix("sqn-") else {
            throw DrillFailure("\(name): init failed: \(r)")
        }
        self.id = id
        fingerprint = fp
    }

    var passphrase: String { home.passphrase }
    var nodeID: NodeID { NodeID(string: id)! }

    func run(_ args: [String]) throws -> CLI.Result { try home.run(args) }

    /// A command that must exit 0.
    @discardableResult
    func ok(_ args: [String]) throws -> CLI.Result {
        let r = try run(args)
        guard r.code == 0 else { throw DrillFailure("\(name): sandyq \(args.joined(separator: " ")): \(r)") }
        return r
    }

    /// A command that must exit 0 and print JSON.
    func json(_ args: [String]) throws -> Any {
        let r = try ok(args + ["--json"])
        guard let j = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) else {
            throw DrillFailure("\(name): sandyq \(args.joined(separator: " ")) --json printed no JSON: \(r)")
        }
        return j
    }

    func object(_ args: [String]) throws -> [String: Any] {
        guard let o = try json(args) as? [String: Any] else { throw DrillFailure("\(name): \(args) printed no object") }
        return o
    }

    func rows(_ args: [String]) throws -> [[String: Any]] {
        guard let a = try json(args) as? [[String: Any]] else { throw DrillFailure("\(name): \(args) printed no array") }
        return a
    }

    func status() throws -> [String: Any] { try object(["status"]) }
    func cases() throws -> Int { try status()["cases"] as? Int ?? -1 }
    func ops() throws -> Int { try status()["ops"] as? Int ?? -1 }

    /// The ids `case list --archived --json` shows.
    func caseIDs() throws -> Set<String> { Set(try rows(["case", "list", "--archived"]).compactMap { $0["id"] as? String }) }

    /// `quarantine --json`: the quarantined ops and the forks.
    func quarantine() throws -> (ops: [[String: Any]], forks: [[String: Any]]) {
        let o = try object(["quarantine"])
        return (o["quarantined"] as? [[String: Any]] ?? [], o["forks"] as? [[String: Any]] ?? [])
    }

    /// The node's keys, unlocked in-process from its key file with its passphrase.
    func identity() throws -> Identity {
        let bytes = try #require(home.bytes(home.keyPath), "\(name): no key file")
        return try KeyFile.open(bytes, passphrase: SecureBytes(Array(passphrase.utf8)))
    }

    /// Every key the node opens entries with: its reader key (in its store, under the storage
    /// key its key file holds), then its node id's box key.
    func openingKeys() throws -> [BoxKeyPair] {
        try Node.open(home: home.path, passphrase: SecureBytes(Array(passphrase.utf8))).openingKeys()
    }

    /// Every op in the node's store (ciphertext; read without the node's keys).
    func storedEnvelopes() throws -> [Envelope] { try OpStore(path: home.dbPath).allEnvelopes() }

    /// Every regular file under the home, with its bytes.
    func files() -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        guard let e = FileManager.default.enumerator(atPath: home.path) else { return out }
        while let rel = e.nextObject() as? String {
            let p = home.path + "/" + rel
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue, let b = home.bytes(p) { out.append((rel, b)) }
        }
        return out
    }
}

/// `sandyq serve --listen 127.0.0.1:0 --port-file F` for one node; stopped by `stop()` or on deinit.
final class DrillServer: @unchecked Sendable {
    let node: DrillNode
    let process = Process()
    let port: UInt16
    let logPath: String
    private var log: FileHandle?

    var address: String { "127.0.0.1:\(port)" }
    var logText: String { String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self) }

    init(_ node: DrillNode, dir: String) throws {
        self.node = node
        let portFile = dir + "/\(node.name)-\(UUID().uuidString).port"
        logPath = dir + "/\(node.name)-serve.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        var env = CLI.baseEnvironment()
        env["SANDYQ_PASSPHRASE"] = node.passphrase
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--home", node.home.path, "--listen", "127.0.0.1:0", "--port-file", portFile]
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        self.log = log
        process.standardError = log
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var found: UInt16?
        while found == nil && Date() < deadline && process.isRunning {
            if let s = try? String(contentsOfFile: portFile, encoding: .utf8),
               let p = UInt16(s.trimmingCharacters(in: .whitespacesAndNewlines)), p != 0 { found = p } else { usleep(20_000) }
        }
        guard let found else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            throw DrillFailure("\(node.name): serve wrote no port file within 30 s; log: \(String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self))")
        }
        port = found
    }

    /// SIGTERM, a bounded wait, SIGKILL if need be.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? log?.close()
        log = nil
    }

    deinit { stop() }
}

/// The drill's scratch directory (bundles, invitations, replies), removed afterwards.
final class DrillDir {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/sandyq-drill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

enum DrillSeeds {
    /// seeds/cases.json, from this file's path (Tests/EndToEndTests/SeizureDrillTests.swift).
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("seeds/cases.json").path

    /// The first `n` seed cases as a sandyq-cases/1 file at `out`; returns their titles and
    /// every person's name and alias.
    static func writeFirst(_ n: Int, to out: String) throws -> (titles: [String], names: [String]) {
        let data = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
        var root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let all = try #require(root["cases"] as? [[String: Any]])
        try #require(all.count >= n, "seeds/cases.json has \(all.count) cases")
        let first = Array(all.prefix(n))
        root["cases"] = first
        try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: out))
        var names: [String] = []
        for c in first {
            for p in c["persons"] as? [[String: Any]] ?? [] {
                if let name = p["name"] as? String { names.append(name) }
                names += p["aliases"] as? [String] ?? []
            }
        }
        return (first.compactMap { $0["title"] as? String }, names)
    }
}

@Suite("The seizure drill (issue 6), end to end as separate processes")
struct SeizureDrillTests {
    @Test("C, R (write-only), L and Y: invitations, five seed cases, seizure, revocation, a lawyer's forged op, panic")
    func seizureDrill() throws {
        let started = Date()
        let work = try DrillDir()
        var servers: [DrillServer] = []
        defer { for s in servers { s.stop() } }

        // MARK: 1. Four nodes form a project with invitations passed as files
        let c = try DrillNode("C")
        let r = try DrillNode("R", writeOnly: true)
        let l = try DrillNode("L")
        let y = try DrillNode("Y")
        let project = try #require(try c.object(["project", "create", "Дела политзаключённых — учения"])["project"] as? String)
        let pid = try #require(ProjectID(string: project))

        let joiners: [(DrillNode, String)] = [(r, "reporter"), (l, "lawyer"), (y, "relay")]
        var sas: [String: String] = [:]
        var reply: [String: String] = [:]
        for (n, role) in joiners {
            let invitation = work.file("\(n.name).invitation")
            let inv = try c.object(["invite", "--role", role, "--out", invitation])
            let written = String(decoding: try #require(FileManager.default.contents(atPath: invitation)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(written.hasPrefix("sqi-") && written == inv["invitation"] as? String, "\(n.name): the invitation file")
            reply[n.name] = work.file("\(n.name).reply")
            let j = try n.object(["join", "--invite", invitation, "--out", reply[n.name]!])
            #expect(j["project"] as? String == project, "\(n.name) joined another project: \(j)")
            #expect(j["role"] as? String == role)
            let digits = try #require(j["sas"] as? String, "\(n.name): join --json printed no sas")
            #expect(digits.filter(\.isNumber).count == 6, "\(n.name): sas \(digits)")
            sas[n.name] = digits
            let replyText = String(decoding: try #require(FileManager.default.contents(atPath: reply[n.name]!)), as: UTF8.self)
            #expect(replyText.hasPrefix("sqr-"), "\(n.name): the reply file")
        }
        func members() throws -> [String: String] {
            var m: [String: String] = [:]
            for row in try c.rows(["member", "list"]) { if let id = row["nodeId"] as? String { m[id] = row["role"] as? String } }
            return m
        }
        #expect(try members() == [c.id: "coordinator"])

        // A swapped reply: L's reply presented with R's digits. C's screen shows L's digits, not R's.
        #expect(sas["L"] != sas["R"], "two joiners drew the same digits (one in a million): rerun")
        let swapped = try c.run(["member", "add", "--request", reply["L"]!, "--sas", sas["R"]!])
        #expect(swapped.code != 0, "a swapped reply was admitted: \(swapped)")
        #expect(swapped.code == 10, "\(swapped)")
        #expect(swapped.stderr.contains(sas["L"]!), "C should show the digits of the reply it holds: \(swapped)")
        #expect(try members() == [c.id: "coordinator"], "nothing may be added by a swapped reply")

        for (n, role) in joiners {
            let added = try c.object(["member", "add", "--request", reply[n.name]!, "--sas", sas[n.name]!])
            #expect(added["role"] as? String == role && added["member"] as? String == n.fingerprint, "\(added)")
        }
        let replayed = try c.run(["member", "add", "--request", reply["R"]!, "--sas", sas["R"]!])
        #expect(replayed.code != 0, "an invitation must admit once: \(replayed)")
        #expect(try members() == [c.id: "coordinator", r.id: "reporter", l.id: "lawyer", y.id: "relay"])

        /// Exports what `to` lack from `from` into one bundle file, and imports it on each; no refusals.
        @discardableResult
        func carry(_ from: DrillNode, _ to: [DrillNode], _ file: String) throws -> Int {
            let path = work.file(file)
            let e = try from.object(["bundle", "export", "--to"] + to.map(\.id) + ["--out", path])
            #expect(e["files"] as? [String] == [path])
            for n in to {
                let rows = try n.rows(["bundle", "import", path])
                #expect(rows.count == 1 && rows[0]["error"] == nil, "\(n.name) importing \(file): \(rows)")
                #expect((rows.first?["refused"] as? [Any])?.isEmpty == true, "\(n.name) importing \(file): \(rows)")
            }
            return e["ops"] as? Int ?? -1
        }

        // MARK: 2. R records five seed cases and carries them to C; C shares two with L; syncs
        try carry(c, [r], "C-to-R.sqb")                     // the membership ops R needs to write
        #expect(try r.status()["role"] as? String == "reporter")
        let five = work.file("five.json")
        let seeds = try DrillSeeds.writeFirst(5, to: five)
        #expect(seeds.titles.count == 5 && seeds.names.count >= 5)
        let imported = try #require(try r.object(["case", "import", five])["imported"] as? [String])
        #expect(imported.count == 5 && Set(imported).count == 5)
        #expect(try r.cases() == 0, "write-only: R reads none of what it just recorded")

        #expect(try carry(r, [c], "R-to-C.sqb") == 5, "R's bundle carries its five ops")
        let cRows = try c.rows(["case", "list", "--archived"])
        #expect(Set(cRows.compactMap { $0["id"] as? String }) == Set(imported))
        #expect(Set(cRows.compactMap { $0["title"] as? String }) == Set(seeds.titles), "C reads the five cases as recorded")

        let shared = Set(imported.prefix(2))
        for id in imported.prefix(2) {
            let s = try c.object(["case", "share", id, "--with", l.id])
            #expect(s["caseId"] as? String == id)
        }
        let cServer = try DrillServer(c, dir: work.path)
        servers.append(cServer)
        let lSync = try l.object(["sync", cServer.address])
        #expect(lSync["refused"] as? Int == 0 && (lSync["received"] as? Int ?? 0) > 0, "\(lSync)")
        #expect(try l.caseIDs() == shared)

        // Y syncs with everyone: C and L over TCP, R by bundles both ways.
        let ySync = try y.object(["sync", cServer.address])
        #expect(ySync["refused"] as? Int == 0, "\(ySync)")
        let lServer = try DrillServer(l, dir: work.path)
        servers.append(lServer)
        let yl = try y.object(["sync", lServer.address])
        #expect(yl["refused"] as? Int == 0, "\(yl)")
        lServer.stop()
        try carry(r, [y], "R-to-Y.sqb")
        try carry(y, [r], "Y-to-R.sqb")
        let cOps = try c.ops()
        #expect(try y.ops() == cOps, "the relay holds every op")
        #expect(Set(try y.storedEnvelopes().map(\.id)) == Set(try c.storedEnvelopes().map(\.id)))

        // MARK: 3. R is seized and unlocked with its passphrase. What does each node reveal?
        let rStatus = try r.status()
        #expect(rStatus["cases"] as? Int == 0, "R shows cases: \(rStatus)")
        #expect((rStatus["ops"] as? Int ?? 0) > 0, "R holds the ops (sealed to others): \(rStatus)")
        #expect(try r.rows(["case", "list", "--archived"]).isEmpty)
        // No file in R's home holds a person's name from the five cases (UTF-8).
        let rFiles = r.files()
        #expect(rFiles.contains { $0.0 == "identity.key" } && rFiles.contains { $0.0 == "sandyq.db" }, "\(rFiles.map(\.0))")
        let fiveBytes = try #require(FileManager.default.contents(atPath: five)).map { $0 }
        #expect(contains(fiveBytes, Array(seeds.names[0].utf8)), "the search itself works: the seed file holds the name")
        for name in seeds.names {
            for (file, bytes) in rFiles {
                #expect(!contains(bytes, Array(name.utf8)), "R's \(file) holds \"\(name)\" in plaintext")
            }
        }
        // Y's store, unlocked with Y's own keys, reads nothing; C's keys read the same ops.
        #expect(try y.cases() == 0)
        let yEnvs = try y.storedEnvelopes()
        let yView = ProjectView(project: pid, envelopes: yEnvs, reader: try y.identity().box)
        #expect(yView.cases.count == 0 && yView.stats.readable == 0, "the relay reads \(yView.cases.count) cases")
        #expect(yEnvs.count == cOps)
        #expect(Set(ProjectView(project: pid, envelopes: yEnvs, readers: try c.openingKeys()).cases.keys.map(\.description)) == Set(imported),
                "control: the relay's ops do carry the five cases")
        // L reads exactly the two shared cases; C reads all five.
        #expect(try l.caseIDs() == shared)
        #expect(try l.cases() == 2)
        #expect(try c.cases() == 5)

        // MARK: 4. C revokes R; an op made with R's key afterwards is quarantined on C and L
        let rSeqs = try c.rows(["log"]).filter { $0["author"] as? String == r.fingerprint }.compactMap { $0["seq"] as? Int }
        let lastSeq = try #require(rSeqs.max())
        #expect(lastSeq == 5 && rSeqs.count == 5, "R signed five ops: \(rSeqs)")
        try c.ok(["member", "revoke", r.id, "--from", String(lastSeq)])
        #expect(try c.rows(["member", "list"]).first { $0["nodeId"] as? String == r.id }?["revokedAfter"] as? Int == lastSeq)
        try l.ok(["sync", cServer.address])              // the revocation reaches L
        try y.ok(["sync", cServer.address])

        // The seizer, with R's passphrase, records a fake case; R's node has not heard of the revocation.
        try r.ok(["case", "add", "--title", "Подброшено изъявшими", "--person", "Фальшивый Свидетель", "--city", "Астана"])
        let planted = try #require(try r.rows(["log"]).first { $0["author"] as? String == r.fingerprint && $0["seq"] as? Int == lastSeq + 1 },
                                   "R's log lacks its op after the point")
        let plantedOp = try #require(planted["id"] as? String)
        let seized = work.file("seized.sqb")
        try r.ok(["bundle", "export", "--to", c.id, l.id, "--out", seized])
        let lCasesBefore = try l.caseIDs(), cCasesBefore = try c.caseIDs()
        for (n, before) in [(c, cCasesBefore), (l, lCasesBefore)] {
            let rows = try n.rows(["bundle", "import", seized])
            #expect((rows.first?["refused"] as? [Any])?.isEmpty == true, "\(n.name): a revoked key's op is kept, not refused: \(rows)")
            let q = try n.quarantine()
            #expect(q.ops.count == 1, "\(n.name): quarantine \(q.ops)")
            #expect(q.ops.first?["op"] as? String == plantedOp, "\(n.name): quarantine \(q.ops)")
            #expect(q.ops.first?["author"] as? String == r.fingerprint && q.ops.first?["seq"] as? Int == lastSeq + 1)
            #expect(q.forks.isEmpty)
            #expect(try n.caseIDs() == before, "\(n.name): the planted case must not show")
            #expect(try n.rows(["case", "list", "--archived"]).allSatisfy { $0["title"] as? String != "Подброшено изъявшими" })
            #expect(Set(try n.storedEnvelopes().map(\.id.description)).contains(plantedOp), "\(n.name): the op is kept")
        }
        #expect(try c.cases() == 5 && l.cases() == 2)

        // An op L signs is refused. L's own node refuses to write at all...
        let lOps = try l.ops()
        let lWrite = try l.run(["case", "add", "--title", "Адвокат пишет", "--person", "Кто-то"])
        #expect(lWrite.code != 0, "a lawyer's node wrote: \(lWrite)")
        #expect(try l.ops() == lOps)
        let lIdentity = try l.identity()
        #expect(try OpStore(path: l.home.dbPath).chainHead(of: lIdentity.signing.publicKey) == nil, "L has signed nothing")
        // ...and an op signed with L's key outside its node, carried to C in a bundle, is refused by C.
        let lNode = NodeID(signingKey: lIdentity.signing.publicKey, boxKey: lIdentity.box.publicKey)
        #expect(lNode.description == l.id)
        var forgedDoc = CaseDocument()
        forgedDoc.title = "Подделано ключом адвоката"
        forgedDoc.persons = [CaseDocument.Person(name: "Подставной Свидетель")]
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let forged = OpWriter(keys: lIdentity.signing, project: pid, seq: 0, prev: .zero, clock: HybridClock())
            .sealed(try CaseEditor.create(forgedDoc), readers: [c.nodeID.boxKey], wallMillis: now)
        let forgedPath = work.file("forged-by-L.sqb")
        let writer = try BundleWriter(path: forgedPath, recipients: [c.nodeID.boxKey],
                                      header: BundleFormat.Header(project: pid, sender: lNode, senderVector: VersionVector(),
                                                                  bundleID: .random(), part: 1, createdMillis: now),
                                      signer: lIdentity.signing)
        try writer.append(forged)
        try writer.finish()
        let cOpsBefore = try c.ops()
        let refusedRun = try c.run(["bundle", "import", forgedPath, "--json"])
        #expect(refusedRun.code == 10, "C must refuse the lawyer's op (exit 10): \(refusedRun)")
        let entry = ((try? JSONSerialization.jsonObject(with: Data(refusedRun.stdout.utf8))) as? [[String: Any]])?.first
        let refusals = entry?["refused"] as? [[String: Any]] ?? []
        #expect(refusals.count == 1, "\(refusedRun)")
        #expect(refusals.first?["op"] as? String == forged.id.description)
        let reason = refusals.first?["reason"] as? String ?? ""
        #expect(reason.contains("lawyer") && reason.contains("not allowed"), "reason: \(reason)")
        #expect(entry?["new"] as? Int == 0)
        #expect(try c.ops() == cOpsBefore, "nothing of the forged op is stored")
        #expect(try c.caseIDs() == cCasesBefore)
        cServer.stop()

        // MARK: 5. Panic on L: the keys are destroyed in under a second
        let t0 = Date()
        let panic = try l.run(["panic", "--yes"])
        let seconds = Date().timeIntervalSince(t0)
        #expect(panic.code == 0, "\(panic)")
        #expect(seconds < 1.0, "panic took \(seconds) s (the whole process)")
        #expect(!FileManager.default.fileExists(atPath: l.home.keyPath), "the key file is gone")
        let after = try l.run(["status"])
        #expect(after.code == 66, "L's home still opens with its passphrase: \(after)")
        #expect(try l.run(["case", "list"]).code != 0)

        // C's store is intact through all of it.
        try c.ok(["check"])
        print("SeizureDrillTests: drill done in \(String(format: "%.1f", Date().timeIntervalSince(started))) s; panic process \(String(format: "%.3f", seconds)) s")
    }
}
