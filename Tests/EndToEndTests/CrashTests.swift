import Foundation
import Testing
import SandyqStore
import SandyqCore

// The crash drill of scripts/crash.sh, short: the real `sandyq` is SIGKILLed at seeded random
// moments during case writes, a case import, bundle export and import, a TCP sync client and
// the server. After each kill: `check` is clean, every op held after a command that exited 0 is
// still stored, every case, tag and event an acknowledged command reported is in the export, an
// import landed all its cases or none, and the interrupted step reruns to exit 0 and converges.
// SANDYQ_CRASH_SEED replays a seed; every failure message names the seed.

/// Kill delays reproducible from one printed seed.
typealias CrashRandom = SplitMix64

final class CrashDrill: @unchecked Sendable {
    enum Kind: String, CaseIterable {
        case caseAdd = "case add", caseEdit = "case edit", eventAdd = "case event add", caseImport = "case import"
        case bundleExport = "bundle export", bundleImport = "bundle import", syncClient = "sync (client killed)"
        case syncServer = "sync (serve killed)"
    }

    let seed: UInt64
    var rng: CrashRandom
    let a: TCPNode, b: TCPNode, c: TCPNode
    var server: TCPServer
    let cSnapshot: String
    let scratch: String
    /// Op ids each node held after a command that exited 0: they must never go.
    var ops: [String: Set<String>] = [:]
    /// "case ID", "tag ID T", "event ID E" that an acknowledged command reported, per node.
    var facts: [String: Set<String>] = [:]
    var cases: [String] = []
    var usual: [Kind: Double] = [:]
    var unlock = 0.3
    var midWork = 0, afterCompletion = 0, landed = 0
    var round = 0
    var exportDigest: String?
    var exportFacts: Set<String> = []

    init(seed: UInt64) throws {
        self.seed = seed
        rng = CrashRandom(seed: seed)
        let n = try TCPNode.make(["A", "B", "C"])
        (a, b, c) = (n[0], n[1], n[2])
        let project = try a.json(["project", "create", "Crash"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for x in [b, c] {
            try x.ok(["join", project, "--network-key", key])
            try a.ok(["member", "add", x.nodeId, "--role", "coordinator"])
        }
        scratch = FileManager.default.temporaryDirectory.path + "/sandyq-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        cSnapshot = scratch + "/c-snapshot"
        try FileManager.default.copyItem(atPath: c.path, toPath: cSnapshot)
        server = try TCPServer(a)
        let t = Date()
        try a.ok(["project", "key"])
        unlock = Date().timeIntervalSince(t)
        let seedCases = try a.json(["case", "import", try casesFile("seed", 60)])["imported"] as? [String] ?? []
        cases = seedCases
        facts["A"] = Set(seedCases.map { "case \($0)" })
        try b.syncOK(server.address, peer: a.nodeId, "(first contact)")
        facts["B"] = facts["A"]
        for x in [a, b] { try ack(x) }
    }

    deinit {
        server.killHard()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func fail(_ s: String) -> TCPFailure { TCPFailure("seed \(seed), kill \(round): \(s)") }

    func casesFile(_ name: String, _ count: Int) throws -> String {
        let docs: [[String: String]] = (0..<count).map {
            ["title": "\(name) \($0)", "ref": "\(name)-\($0)", "city": "Shymkent", "status": "detained",
             "summary": String(repeating: "x", count: 200)]
        }
        let path = scratch + "/\(name).json"
        try JSONSerialization.data(withJSONObject: ["format": "sandyq-cases/1", "cases": docs]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Op ids in the store, read directly (only after `check` or an exit 0: never mid-recovery).
    func stored(_ n: TCPNode) throws -> Set<String> { Set(try OpStore(path: n.home.dbPath).allEnvelopes().map(\.id.description)) }

    func ack(_ n: TCPNode) throws { ops[n.name, default: []].formUnion(try stored(n)) }

    /// The invariants on one node after a kill; returns how many cases with `refPrefix` it holds.
    @discardableResult
    func verify(_ n: TCPNode, refPrefix: String? = nil) throws -> Int {
        let r = try n.run(["check"])
        guard r.code == 0 else { throw fail("\(n.name): check exited \(r.code): \(r.output)") }
        let lost = ops[n.name, default: []].subtracting(try stored(n))
        guard lost.isEmpty else { throw fail("\(n.name): \(lost.count) acknowledged op(s) gone, e.g. \(lost.first!)") }
        let want = facts[n.name, default: []]
        guard !want.isEmpty || refPrefix != nil else { return 0 }
        let csv = try n.ok(["export", "--format", "csv"]).stdout
        var have: Set<String> = [], withPrefix: Set<String> = []
        for line in csv.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 5 else { continue }
            have.insert("case \(f[0])")
            if f[2] == "tags" { have.insert("tag \(f[0]) \(f[3])") }
            if f[2] == "events" { have.insert("event \(f[0]) \(f[3])") }
            if let p = refPrefix, f[1].hasPrefix(p) { withPrefix.insert(f[0]) }
        }
        let missing = want.subtracting(have)
        guard missing.isEmpty else { throw fail("\(n.name): \(missing.count) acknowledged record(s) missing, e.g. \(missing.first!)") }
        return withPrefix.count
    }

    /// Runs `args` on `n`, SIGKILLed after `delay` s; (killed mid-work, exit code, stdout).
    func attempt(_ n: TCPNode, _ args: [String], delay: Double) throws -> (Bool, Int32, String) {
        let p = try TCPProcess(args + ["--home", n.path], label: "\(n.name) \(args.first ?? "")")
        let deadline = Date().addingTimeInterval(delay)
        while p.process.isRunning && Date() < deadline { usleep(2_000) }
        let mid = p.process.isRunning
        if mid { p.killHard() } else { p.waitExit(60) }
        return (mid, p.exitCode, p.stdout)
    }

    func json(_ s: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] ?? [:] }

    /// The rerun of an interrupted step: must exit 0; teaches `usual` how long the step takes.
    func rerun(_ kind: Kind, _ n: TCPNode, _ args: [String]) throws -> String {
        let t = Date()
        let r = try n.run(args)
        guard r.code == 0 else { throw fail("\(kind.rawValue): rerun exited \(r.code): \(r.output)") }
        usual[kind] = Date().timeIntervalSince(t)
        return r.stdout
    }

    func step(_ kind: Kind) throws {
        switch kind {
        case .caseAdd:
            try write(kind, a, ["case", "add", "--title", "Added \(round)", "--json"]) { o in
                let id = o["id"] as? String ?? "?"
                self.cases.append(id)
                return ["case \(id)"]
            }
        case .caseEdit:
            let id = rng.pick(cases), tag = "t\(round)"
            try write(kind, a, ["case", "edit", id, "--notes", "note \(round)", "--add-tag", tag, "--json"]) { _ in ["tag \(id) \(tag)"] }
        case .eventAdd:
            let id = rng.pick(cases)
            try write(kind, a, ["case", "event", "add", id, "--type", "hearing", "--date", "2024-05-02", "--json"]) { o in
                ["event \(id) \(o["event"] as? String ?? "?")"]
            }
        case .caseImport:
            let name = "imp\(round)"
            try write(kind, a, ["case", "import", try casesFile(name, 100), "--json"], refs: (name + "-", 100)) { o in
                (o["imported"] as? [String] ?? []).map { "case \($0)" }
            }
        case .bundleExport, .bundleImport:
            try bundle(kind)
        case .syncClient:
            let o = try b.json(["case", "add", "--title", "From B \(round)"])
            facts["B", default: []].insert("case \(o["id"] as? String ?? "?")")
            try ack(b)
            try sync(kind)
        case .syncServer:
            try sync(kind)
        }
    }

    /// This kill's delay, seconds after the command starts.
    var delay = 0.0

    func write(_ kind: Kind, _ n: TCPNode, _ args: [String], refs: (String, Int)? = nil, facts of: ([String: Any]) -> [String]) throws {
        let before = try stored(n)
        let (mid, code, out) = try attempt(n, args, delay: delay)
        count(mid)
        let held = try verify(n, refPrefix: refs?.0)
        if let total = refs?.1, held != 0 && held != total { throw fail("a killed case import landed \(held) of its \(total) cases") }
        if code == 0 { facts[n.name, default: []].formUnion(of(json(out))); try ack(n) }
        else if try stored(n) != before { landed += 1 }
        let o = json(try rerun(kind, n, args))
        facts[n.name, default: []].formUnion(of(o))
        try ack(n)
    }

    func count(_ mid: Bool) { if mid { midWork += 1 } else { afterCompletion += 1 } }

    func bundle(_ kind: Kind) throws {
        let out = scratch + "/a-to-c.sqb"
        let export = ["bundle", "export", "--to", c.nodeId, "--all", "--out", out]
        if kind == .bundleExport || exportDigest == nil {
            try? FileManager.default.removeItem(atPath: out)
            if kind == .bundleExport {
                let (mid, code, _) = try attempt(a, export, delay: delay)
                count(mid)
                try verify(a)
                if code != 0 && FileManager.default.fileExists(atPath: out) { landed += 1 }
            }
            _ = try rerun(.bundleExport, a, export)
            exportDigest = try a.digest()
            exportFacts = facts["A", default: []]
            for f in try FileManager.default.contentsOfDirectory(atPath: scratch) where f.contains(".partial-") {
                try FileManager.default.removeItem(atPath: scratch + "/" + f)
            }
            if kind == .bundleExport { return }
        }
        // C starts from its empty snapshot: the import carries A's whole log.
        try FileManager.default.removeItem(atPath: c.path)
        try FileManager.default.copyItem(atPath: cSnapshot, toPath: c.path)
        ops["C"] = []; facts["C"] = []
        let (mid, code, _) = try attempt(c, ["bundle", "import", out], delay: delay)
        count(mid)
        try verify(c)
        if code == 0 { facts["C"] = exportFacts; try ack(c) } else if try !stored(c).isEmpty { landed += 1 }
        _ = try rerun(.bundleImport, c, ["bundle", "import", out])
        facts["C"] = exportFacts
        try ack(c)
        let dc = try c.digest()
        guard dc == exportDigest else { throw fail("after the rerun import C shows \(dc), A showed \(exportDigest ?? "-") when it exported") }
    }

    func sync(_ kind: Kind) throws {
        let args = ["sync", server.address, "--peer", a.nodeId, "--json"]
        let before = try stored(a).count + stored(b).count
        let mid: Bool, code: Int32
        if kind == .syncServer {
            let p = try TCPProcess(args + ["--home", b.path], label: "B sync")
            let deadline = Date().addingTimeInterval(delay)
            while p.process.isRunning && Date() < deadline { usleep(2_000) }
            mid = p.process.isRunning
            server.killHard()
            guard p.waitExit(60) else { p.killHard(); throw fail("the sync client hung after its server was killed") }
            code = p.exitCode
            try verify(a)
        } else {
            (mid, code, _) = try attempt(b, args, delay: delay)
        }
        count(mid)
        try verify(b)
        if code == 0 { try synced() } else if try stored(a).count + stored(b).count != before { landed += 1 }
        if kind == .syncServer { server = try TCPServer(a) }
        _ = try rerun(kind, b, ["sync", server.address, "--peer", a.nodeId, "--json"])
        try synced()
        let (da, db) = (try a.digest(), try b.digest())
        guard da == db else { throw fail("\(kind.rawValue): after the rerun A shows \(da), B shows \(db)") }
    }

    func synced() throws {
        let both = facts["A", default: []].union(facts["B", default: []])
        facts["A"] = both; facts["B"] = both
        try ack(a); try ack(b)
        guard ops["A"] == ops["B"] else { throw fail("after a sync that exited 0, A holds \(ops["A"]?.count ?? 0) ops and B \(ops["B"]?.count ?? 0)") }
    }

    func run(kills: Int) throws {
        var order: [Kind] = []
        while order.count < kills {
            var cycle = Kind.allCases
            for i in stride(from: cycle.count - 1, to: 0, by: -1) { cycle.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            order += cycle
        }
        for kind in order.prefix(kills) {
            round += 1
            // Until a kind has run once, guess 1.5 x the unlock; aim most kills past the unlock.
            let u = usual[kind] ?? 1.5 * unlock
            delay = rng.uniform(0, 1) < 0.2 ? rng.uniform(0, unlock) : rng.uniform(0.5 * unlock, 1.05 * max(u, unlock))
            try step(kind)
        }
    }
}

@Suite struct CrashTests {
    @Test func killedCommandsLoseNothingAcknowledgedAndRerunsConverge() throws {
        let seed = ProcessInfo.processInfo.environment["SANDYQ_CRASH_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let drill = try CrashDrill(seed: seed)
        let kills = 10
        try drill.run(kills: kills)
        for n in [drill.a, drill.b, drill.c] { try drill.verify(n) }
        print("crash drill: seed \(seed), \(kills) kills: \(drill.midWork) mid-work, \(drill.afterCompletion) after completion, \(drill.landed) left ops without an exit 0")
        #expect(drill.midWork + drill.afterCompletion == kills)
        // Delays are relative to each step's measured time: some kills must land inside the work.
        #expect(drill.midWork > 0, "seed \(seed): every kill came after the command had finished")
        #expect(drill.server.stop(), "seed \(seed): serve did not stop cleanly: \(drill.server.log)")
    }
}
