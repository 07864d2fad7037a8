import Foundation
import Testing
import SandyqStore
import SandyqCore

// The crash drill of scripts/crash.sh, short. Every `sandyq` it kills runs with
// SANDYQ_PHASE_FILE set (Sources/sandyq/PhaseFile.swift), so the drill aims each SIGKILL at a
// seeded delay after a phase the process reached (most at the write) and classifies where it
// landed by the last phase the process wrote, not by timing. Kinds: case writes, a case
// import, bundle export and import, a sync client, a full pull into an empty node, the server.
// After each kill: `check` is clean; every op held after an exit 0 is still stored; the node's
// own chain has no gap; every case, tag and event an acknowledged command reported is in the
// export; an import landed all its cases or none; what a killed export left under the bundle's
// name imports cleanly into a fresh node. The step then reruns to exit 0, converges, and leaves
// no `.partial-*` file and no gap. SANDYQ_CRASH_SEED replays a seed; every failure names it.

/// Kill delays reproducible from one printed seed.
typealias CrashRandom = SplitMix64

/// Where a SIGKILL landed: the last phase the killed process wrote before it died.
enum KillLanding: String, CaseIterable {
    case beforeUnlock = "before unlock", unlocked = "unlocked, not writing", inWrite = "inside the write"
    case afterCompletion = "after completion"

    /// `running`: the process had not exited when the kill was sent.
    init(lastPhase: String?, running: Bool) {
        guard running else { self = .afterCompletion; return }
        switch lastPhase {
        case nil: self = .beforeUnlock
        case "unlocked": self = .unlocked
        case "write": self = .inWrite
        default: self = .afterCompletion  // "done": committed; only output and exit were left
        }
    }
}

/// CLOCK_MONOTONIC, the clock the phase file is written in.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// One `sandyq args --home HOME` with its own phase file, stdout and stderr.
final class PhasedRun: @unchecked Sendable {
    let process = Process()
    let dir: String
    let started: Double
    private var handles: [FileHandle] = []

    init(_ args: [String], home: String) throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.path + "/sandyq-phase-\(UUID().uuidString)"
        self.dir = dir
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in ["stdout", "stderr"] { _ = fm.createFile(atPath: dir + "/" + f, contents: nil) }
        var env = CLI.baseEnvironment()
        for (k, v) in TCPNode.environment { env[k] = v }
        env["SANDYQ_PHASE_FILE"] = dir + "/phases"
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = args + ["--home", home]
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        handles = try ["stdout", "stderr"].map { try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/" + $0)) }
        process.standardOutput = handles[0]
        process.standardError = handles[1]
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        started = monotonicSeconds()
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        for h in handles { try? h.close() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    var stdout: String { String(decoding: FileManager.default.contents(atPath: dir + "/stdout") ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: dir + "/stderr") ?? Data(), as: UTF8.self) }

    /// The phases written so far, in order, with their CLOCK_MONOTONIC times.
    var phases: [(name: String, at: Double)] {
        let text = String(decoding: FileManager.default.contents(atPath: dir + "/phases") ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 2, let t = Double(f[1]) else { return nil }
            return (String(f[0]), t)
        }
    }

    func time(of phase: String) -> Double? { phases.first { $0.name == phase }?.at }

    /// Waits (bounded) until `phase` is written; nil if the process ended without it.
    func wait(for phase: String, seconds: Double = 60) -> Double? {
        let deadline = monotonicSeconds() + seconds
        repeat {
            if let t = time(of: phase) { return t }
            if !process.isRunning { return time(of: phase) }
            usleep(300)
        } while monotonicSeconds() < deadline
        return nil
    }

    /// Sleeps until CLOCK_MONOTONIC reaches `t`, or the process ends first.
    func sleep(until t: Double) {
        while process.isRunning {
            let left = t - monotonicSeconds()
            if left <= 0 { return }
            usleep(useconds_t(min(left, 0.002) * 1e6))
        }
    }

    /// Waits up to `seconds` for the exit; true if it exited.
    func waitExit(_ seconds: Double) -> Bool {
        let deadline = monotonicSeconds() + seconds
        while process.isRunning && monotonicSeconds() < deadline { usleep(2_000) }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    /// Exited by itself with 0: what the command printed is acknowledged.
    var acknowledged: Bool { process.terminationReason == .exit && process.terminationStatus == 0 }
}

final class CrashDrill: @unchecked Sendable {
    enum Kind: String, CaseIterable {
        case caseAdd = "case add", caseEdit = "case edit", eventAdd = "case event add", caseImport = "case import"
        case bundleExport = "bundle export", bundleImport = "bundle import", syncClient = "sync (client killed)"
        case syncPull = "sync (full pull, client killed)", syncServer = "sync (serve killed)"
    }

    /// What a kill is aimed after: the start, the unlock, or the start of the write.
    enum Aim { case start, unlocked, write }

    /// A step's phases in its unkilled runs: spawn to `unlocked`, `unlocked` to `write`, `write` to
    /// `done` (averaged with the last run), and the shortest `write` to `done` seen.
    struct Timing { var unlock: Double, prepare: Double, write: Double, fastestWrite: Double }

    let seed: UInt64
    var rng: CrashRandom
    let a: TCPNode, b: TCPNode, c: TCPNode, d: TCPNode
    var server: TCPServer
    let scratch: String
    /// Empty C and D, as they were right after joining: restored before each import and pull.
    var snapshots: [String: String] = [:]
    var fingerprints: [String: String] = [:]
    /// Op ids each node held after a command that exited 0: they must never go.
    var ops: [String: Set<String>] = [:]
    /// "case ID", "tag ID T", "event ID E" that an acknowledged command reported, per node.
    var facts: [String: Set<String>] = [:]
    var cases: [String] = []
    var timing: [Kind: Timing] = [:]
    var landings: [KillLanding: Int] = [:]
    var landed = 0, leftoversImported = 0, partialsLeftByKills = 0
    var round = 0
    /// One line per kill: kind, aim, landing (printed when a check on the counts fails).
    var log: [String] = []
    var aim = Aim.write, fraction = 0.0
    var lastLanding: KillLanding?
    var exportDigest = "", exportOps: Set<String> = [], exportFacts: Set<String> = []
    var bundlePath: String { scratch + "/a-to-c.sqb" }

    init(seed: UInt64) throws {
        self.seed = seed
        rng = CrashRandom(seed: seed)
        let n = try TCPNode.make(["A", "B", "C", "D"])
        (a, b, c, d) = (n[0], n[1], n[2], n[3])
        let project = try a.json(["project", "create", "Crash"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for x in [b, c, d] {
            try x.ok(["join", project, "--network-key", key])
            try a.ok(["member", "add", x.nodeId, "--role", "coordinator"])
        }
        scratch = FileManager.default.temporaryDirectory.path + "/sandyq-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        for x in [c, d] {
            snapshots[x.name] = scratch + "/\(x.name)-snapshot"
            try FileManager.default.copyItem(atPath: x.path, toPath: snapshots[x.name]!)
        }
        server = try TCPServer(a)
        let seedCases = try a.json(["case", "import", try casesFile("seed", 60)])["imported"] as? [String] ?? []
        cases = seedCases
        facts["A"] = Set(seedCases.map { "case \($0)" })
        try b.syncOK(server.address, peer: a.nodeId, "(first contact)")
        facts["B"] = facts["A"]
        for x in [a, b] { try ack(x) }
        for x in [a, b, c, d] { fingerprints[x.name] = try x.status()["fingerprint"] as? String ?? "?" }
        // One unkilled run of each kind: the times the first kills are aimed by.
        for kind in Kind.allCases { try step(kind, kill: false) }
    }

    deinit {
        server.killHard()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func fail(_ s: String) -> TCPFailure { TCPFailure("seed \(seed), \(round == 0 ? "setup" : "kill \(round)"): \(s)") }

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

    func restore(_ n: TCPNode) throws {
        try FileManager.default.removeItem(atPath: n.path)
        try FileManager.default.copyItem(atPath: snapshots[n.name]!, toPath: n.path)
        ops[n.name] = []; facts[n.name] = []
    }

    /// `status --json` of `n`; fails on a gap in the node's own chain, or, with `noGaps`, on any gap.
    func status(_ n: TCPNode, noGaps: Bool = false) throws -> [String: Any] {
        let s = try n.status()
        let gaps = (s["gaps"] as? [[String: Any]] ?? []).map { ($0["author"] as? String ?? "?", $0["missing"] as? String ?? "?") }
        if let own = gaps.first(where: { $0.0 == fingerprints[n.name] }) {
            throw fail("\(n.name): its own chain has a gap: seqs \(own.1) missing")
        }
        if noGaps, let g = gaps.first { throw fail("\(n.name): after the rerun, author \(g.0)'s chain lacks seqs \(g.1)") }
        return s
    }

    func digest(_ n: TCPNode) throws -> String { try status(n, noGaps: true)["digest"] as? String ?? "none" }

    /// The invariants on one node after a kill; returns how many cases with `refPrefix` it holds.
    @discardableResult
    func verify(_ n: TCPNode, refPrefix: String? = nil) throws -> Int {
        let r = try n.run(["check"])
        guard r.code == 0 else { throw fail("\(n.name): check exited \(r.code): \(r.output)") }
        let lost = ops[n.name, default: []].subtracting(try stored(n))
        guard lost.isEmpty else { throw fail("\(n.name): \(lost.count) acknowledged op(s) gone, e.g. \(lost.first!)") }
        // C and D never write an op of their own; their whole log is checked for gaps after each rerun.
        if n !== c && n !== d { _ = try status(n) }
        let want = facts[n.name, default: []]
        guard !want.isEmpty || refPrefix != nil else { return 0 }
        let csv = try n.ok(["export", "--format", "csv"]).stdout
        var have: Set<String> = [], withPrefix: Set<String> = []
        // case_id,ref,collection,element,field,value,...: the first five never hold a comma here.
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

    func json(_ s: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(s.utf8)) }

    /// Learns a kind's phase times from a run that exited 0.
    func learn(_ kind: Kind, _ p: PhasedRun) {
        guard let u = p.time(of: "unlocked"), let w = p.time(of: "write"), let e = p.time(of: "done") else { return }
        let t = Timing(unlock: u - p.started, prepare: w - u, write: e - w, fastestWrite: e - w)
        // Half the last figure, half the new one: the machine's load changes during a run.
        timing[kind] = timing[kind].map { Timing(unlock: ($0.unlock + t.unlock) / 2, prepare: ($0.prepare + t.prepare) / 2,
                                                  write: ($0.write + t.write) / 2, fastestWrite: min($0.fastestWrite, t.write)) } ?? t
    }

    /// Waits for the phase this round aims at, then a seeded fraction of that phase's span, then
    /// runs `kill`. Returns where it landed, from the phases `p` wrote before the kill.
    func aimedKill(_ kind: Kind, _ p: PhasedRun, _ kill: () -> Void) -> KillLanding {
        let t = timing[kind] ?? Timing(unlock: 0.3, prepare: 0.05, write: 0.05, fastestWrite: 0.05)
        switch aim {
        case .start: p.sleep(until: p.started + fraction * t.unlock)
        case .unlocked: if let u = p.wait(for: "unlocked") { p.sleep(until: u + fraction * 1.1 * (t.prepare + t.write)) }
        // Within 60 % of the fastest write seen: the same write ran 2-3 times shorter from one
        // run to the next on a loaded machine, and an aim past its end lands after completion.
        case .write: if let w = p.wait(for: "write") { p.sleep(until: w + fraction * 0.6 * t.fastestWrite) }
        }
        let running = p.process.isRunning
        kill()
        let landing = KillLanding(lastPhase: p.phases.last?.name, running: running)
        landings[landing, default: 0] += 1
        lastLanding = landing
        log.append("\(round) \(kind.rawValue): aimed at \(aim) + \(Int(fraction * 100)) %, landed \(landing.rawValue)")
        return landing
    }

    /// Runs `args` on `n`: SIGKILLed as this round aims when `kill`, else to its end (which must
    /// be exit 0). Returns the finished process.
    func launch(_ kind: Kind, _ n: TCPNode, _ args: [String], kill: Bool) throws -> PhasedRun {
        let p = try PhasedRun(args, home: n.path)
        if kill { _ = aimedKill(kind, p) { if p.process.isRunning { Glibc.kill(p.process.processIdentifier, SIGKILL) } } }
        guard p.waitExit(120) else { throw fail("\(n.name): sandyq \(args.joined(separator: " ")) hung") }
        if p.acknowledged { learn(kind, p) } else if !kill {
            throw fail("\(kind.rawValue), not killed, exited \(p.process.terminationStatus): \(p.stderr)")
        }
        return p
    }

    func step(_ kind: Kind, kill: Bool) throws {
        switch kind {
        case .caseAdd:
            try write(kind, a, ["case", "add", "--title", "Added \(round)", "--json"], kill: kill) { o in
                let id = o["id"] as? String ?? "?"
                self.cases.append(id)
                return ["case \(id)"]
            }
        case .caseEdit:
            let id = rng.pick(cases), tag = "t\(round)"
            try write(kind, a, ["case", "edit", id, "--notes", "note \(round)", "--add-tag", tag, "--add-person", "P \(round)", "--json"],
                      kill: kill) { _ in ["tag \(id) \(tag)"] }
        case .eventAdd:
            let id = rng.pick(cases)
            try write(kind, a, ["case", "event", "add", id, "--type", "hearing", "--date", "2024-05-02", "--json"], kill: kill) { o in
                ["event \(id) \(o["event"] as? String ?? "?")"]
            }
        case .caseImport:
            let name = "imp\(round)"
            try write(kind, a, ["case", "import", try casesFile(name, 100), "--json"], kill: kill, refs: (name + "-", 100)) { o in
                (o["imported"] as? [String] ?? []).map { "case \($0)" }
            }
        case .bundleExport: try export(kill: kill)
        case .bundleImport: try importBundle(kill: kill)
        case .syncClient:
            try bWrites()
            try sync(kind, b, kill: kill)
        case .syncPull:
            try restore(d)
            try sync(kind, d, kill: kill)
        case .syncServer:
            let client = round % 2 == 0 ? b : d
            if client === b { try bWrites() } else { try restore(d) }
            if kill { try serverKilled(client) } else { try sync(kind, client, kill: false) }
        }
    }

    /// B records a case of its own, acknowledged, for its next sync to push.
    func bWrites() throws {
        let o = try b.json(["case", "add", "--title", "From B \(round)"])
        facts["B", default: []].insert("case \(o["id"] as? String ?? "?")")
        try ack(b)
    }

    func write(_ kind: Kind, _ n: TCPNode, _ args: [String], kill: Bool, refs: (String, Int)? = nil,
               facts of: ([String: Any]) -> [String]) throws {
        let before = try stored(n)
        let p = try launch(kind, n, args, kill: kill)
        if kill {
            let held = try verify(n, refPrefix: refs?.0)
            if let total = refs?.1, held != 0 && held != total { throw fail("a killed case import landed \(held) of its \(total) cases") }
            if try !p.acknowledged && stored(n) != before { landed += 1 }
        }
        if p.acknowledged { facts[n.name, default: []].formUnion(of(json(p.stdout) as? [String: Any] ?? [:])); try ack(n) }
        guard kill else { return }
        let r = try launch(kind, n, args, kill: false)
        facts[n.name, default: []].formUnion(of(json(r.stdout) as? [String: Any] ?? [:]))
        try ack(n)
    }

    func partialFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.contains(".partial-") }
    }

    /// The previous bundle stays under the name, so every killed export leaves a file there to check.
    func export(kill: Bool) throws {
        let args = ["bundle", "export", "--to", c.nodeId, "--all", "--out", bundlePath, "--json"]
        let p = try launch(.bundleExport, a, args, kill: kill)
        if kill {
            try verify(a)
            let partials = try partialFiles()
            if p.acknowledged, let f = partials.first { throw fail("an export that exited 0 left \(f)") }
            // The killed export's own temp file: counted, then cleared so the rerun's can be told apart.
            partialsLeftByKills += partials.count
            for f in partials { try FileManager.default.removeItem(atPath: scratch + "/" + f) }
            try importsIntoFreshNode(bundlePath)
            _ = try launch(.bundleExport, a, args, kill: false)
        }
        if let f = try partialFiles().first { throw fail("a completed export left \(f)") }
        exportDigest = try digest(a)
        exportOps = try stored(a)
        exportFacts = facts["A", default: []]
    }

    /// What lies under the bundle's name (the old bundle or the new one) imports whole into an empty C.
    func importsIntoFreshNode(_ path: String) throws {
        let probe = scratch + "/probe"
        try? FileManager.default.removeItem(atPath: probe)
        try FileManager.default.copyItem(atPath: snapshots["C"]!, toPath: probe)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        let r = try CLI.run(["bundle", "import", path, "--json", "--home", probe], env: TCPNode.environment)
        let o = (json(r.stdout) as? [[String: Any]])?.first ?? [:]
        guard r.code == 0, o["truncated"] as? Bool == false, o["damagedChunks"] as? Int == 0, (o["new"] as? Int ?? 0) > 0 else {
            throw fail("what a killed export left under the bundle's name does not import cleanly into a fresh node: \(r)")
        }
        leftoversImported += 1
    }

    func importBundle(kill: Bool) throws {
        try restore(c)
        let args = ["bundle", "import", bundlePath, "--json"]
        let p = try launch(.bundleImport, c, args, kill: kill)
        if kill {
            try verify(c)
            if try !p.acknowledged && !stored(c).isEmpty { landed += 1 }
        }
        if p.acknowledged { facts["C"] = exportFacts; try ack(c) }
        if kill {
            _ = try launch(.bundleImport, c, args, kill: false)
            facts["C"] = exportFacts
            try ack(c)
        }
        let dc = try digest(c)
        guard dc == exportDigest else { throw fail("after the import C shows \(dc), A showed \(exportDigest) when it exported") }
        let missing = exportOps.subtracting(try stored(c))
        guard missing.isEmpty else { throw fail("after the import C lacks \(missing.count) of the ops A exported") }
    }

    var syncArgs: [String] { ["sync", server.address, "--peer", a.nodeId, "--json"] }

    func sync(_ kind: Kind, _ client: TCPNode, kill: Bool) throws {
        let before = try stored(client)
        let p = try launch(kind, client, syncArgs, kill: kill)
        if kill {
            try verify(client)
            if try !p.acknowledged && stored(client) != before { landed += 1 }
        }
        if p.acknowledged { try synced(client, p) }
        if kill { try synced(client, try launch(kind, client, syncArgs, kill: false)) }
        try converged(client, kind)
    }

    /// A's `serve` SIGKILLed while `client` syncs, aimed by the client's phases.
    func serverKilled(_ client: TCPNode) throws {
        let before = try stored(a).count + stored(client).count
        let p = try PhasedRun(syncArgs, home: client.path)
        _ = aimedKill(.syncServer, p) { server.killHard() }
        guard p.waitExit(60) else { throw fail("the sync client hung after its server was killed") }
        try verify(a)
        try verify(client)
        if p.acknowledged { try synced(client, p) } else if try stored(a).count + stored(client).count != before { landed += 1 }
        server = try TCPServer(a)
        try synced(client, try launch(.syncServer, client, syncArgs, kill: false))
        try converged(client, .syncServer)
    }

    /// After `sync` exited 0: its report shows no gap; each side's ledgers are the union of both.
    func synced(_ client: TCPNode, _ p: PhasedRun) throws {
        guard let o = json(p.stdout) as? [String: Any], let g = o["gaps"] as? [Any] else { throw fail("\(client.name): sync printed no report: \(p.stdout)") }
        guard g.isEmpty else { throw fail("\(client.name): a sync that exited 0 reports gaps: \(g)") }
        let both = facts["A", default: []].union(facts[client.name, default: []])
        facts["A"] = both; facts[client.name] = both
        try ack(a); try ack(client)
        guard ops["A"] == ops[client.name] else {
            throw fail("after a sync that exited 0, A holds \(ops["A"]?.count ?? 0) ops and \(client.name) \(ops[client.name]?.count ?? 0)")
        }
    }

    func converged(_ client: TCPNode, _ kind: Kind) throws {
        let (da, dc) = (try digest(a), try digest(client))
        guard da == dc else { throw fail("\(kind.rawValue): A shows \(da), \(client.name) shows \(dc)") }
    }

    /// `rounds` rounds of one kill each, and one more kill for a round whose write-aimed kill came late.
    func run(rounds: Int) throws {
        var order: [Kind] = []
        while order.count < rounds {
            var cycle = Kind.allCases
            for i in stride(from: cycle.count - 1, to: 0, by: -1) { cycle.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            order += cycle
        }
        for kind in order.prefix(rounds) {
            round += 1
            // Most kills aim at the write; some at the unlock and the start, so those are covered too.
            let r = rng.uniform(0, 1)
            aim = r < 0.05 ? .start : r < 0.15 ? .unlocked : .write
            fraction = rng.uniform(0, 1)
            try step(kind, kill: true)
            // A kill aimed at the write that came after it ended (a write of a few ms, or one that
            // ran faster than ever before) is counted, and the step is killed once more.
            if aim == .write && lastLanding == .afterCompletion {
                round += 1
                fraction = rng.uniform(0, 1)
                try step(kind, kill: true)
            }
        }
    }

    var summary: String {
        "seed \(seed), \(round) kills: " + KillLanding.allCases.map { "\(landings[$0, default: 0]) \($0.rawValue)" }.joined(separator: ", ")
            + "; \(landed) left ops without an exit 0; \(leftoversImported) killed exports' files imported; "
            + "\(partialsLeftByKills) .partial file(s) left by kills"
    }
}

@Suite struct CrashTests {
    @Test func killedCommandsLoseNothingAcknowledgedAndRerunsConverge() throws {
        let seed = ProcessInfo.processInfo.environment["SANDYQ_CRASH_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let drill = try CrashDrill(seed: seed)
        try drill.run(rounds: 11)
        let kills = drill.round
        for n in [drill.a, drill.b, drill.c, drill.d] {
            try drill.verify(n)
            _ = try drill.digest(n)  // no gap in any chain
        }
        print("crash drill: \(drill.summary)")
        // Kills that all came during start-up or the unlock would test nothing of the write.
        #expect(drill.landings[.inWrite, default: 0] * 2 >= kills,
                "seed \(seed): too few kills inside the write: \(drill.summary)\n\(drill.log.joined(separator: "\n"))")
        #expect(drill.server.stop(), "seed \(seed): serve did not stop cleanly: \(drill.server.log)")
    }
}
