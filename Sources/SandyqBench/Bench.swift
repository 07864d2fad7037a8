import Foundation
import SandyqCrypto
import SandyqCore
import SandyqNode

/// sandyq-bench: the primitives' limits and Sandyq's own figures, measured in one run, with
/// each Sandyq figure given as a fraction of the bound it is limited by.
///
///     sandyq-bench [--ops N | --quick] [--json FILE] [--keep] [--work DIR] [--no-peers]
///     sandyq-bench --phase NAME --work DIR --ops N     (internal: one phase, JSON on stdout)
@main
struct SandyqBench {
    struct Options {
        var ops = 100_000
        var quick = false
        var phase: String?
        var work: String?
        var json: String?
        var keep = false
        var report: String?
        var peers = true
    }

    static func parse(_ args: [String]) -> Options {
        var o = Options()
        var i = 1
        func value() -> String {
            i += 1
            guard i < args.count else { usage("\(args[i - 1]) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--ops": guard let n = Int(value()), n >= 1000 else { usage("--ops takes a number >= 1000") }; o.ops = n
            case "--quick": o.quick = true
            case "--phase": o.phase = value()
            case "--work": o.work = value()
            case "--json": o.json = value()
            case "--keep": o.keep = true
            case "--no-peers": o.peers = false
            case "--report": o.report = value()
            case "-h", "--help": usage(nil)
            default: usage("unknown argument \(args[i])")
            }
            i += 1
        }
        if o.quick { o.ops = 10_000 }
        return o
    }

    static func usage(_ why: String?) -> Never {
        if let why { stderrLine("sandyq-bench: \(why)") }
        stderrLine("usage: sandyq-bench [--ops N (default 100000) | --quick (N=10000)] [--json FILE] [--keep] [--work DIR] [--no-peers]")
        stderrLine("       sandyq-bench --report FILE.json   (print the markdown of an earlier run)")
        exit(why == nil ? 0 : 2)
    }

    static func main() {
        // The bench unlocks real keys too: no core file, not dumpable (issue 13).
        for p in ProcessHardening.apply() { stderrLine("sandyq-bench: warning: \(p)") }
        let o = parse(CommandLine.arguments)
        if let path = o.report {
            // Re-renders the markdown of an earlier run from its JSON.
            do {
                let out = try JSONDecoder().decode(Output.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                print(markdown(out, n: Int(out.machine["ops"] ?? "") ?? 0))
                exit(0)
            } catch {
                stderrLine("sandyq-bench: cannot read \(path): \(error)")
                exit(1)
            }
        }
        if let phase = o.phase {
            guard let work = o.work else { usage("--phase needs --work") }
            do {
                let r = try Phases.run(phase, work: work, ops: o.ops)
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                FileHandle.standardOutput.write(try enc.encode(r))
                exit(0)
            } catch {
                stderrLine("sandyq-bench: phase \(phase) failed: \(error)")
                exit(1)
            }
        }
        do { try orchestrate(o) } catch {
            stderrLine("sandyq-bench: \(error)")
            exit(1)
        }
    }

    static func selfPath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func child(_ exe: String, phase: String, work: String, ops: Int) throws -> PhaseReport {
        stderrLine("  phase \(phase)...")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--phase", phase, "--work", work, "--ops", String(ops)]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        let t = now()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NodeError(.failure, "phase \(phase) exited with status \(p.terminationStatus)") }
        var r = try JSONDecoder().decode(PhaseReport.self, from: data)
        r.values["child_wall_s"] = now() - t
        return r
    }

    static func machine(work: String, n: Int) -> [String: String] {
        var m: [String: String] = [:]
        m["nproc"] = String(ProcessInfo.processInfo.activeProcessorCount)
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        m["cpu"] = cpu.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "?"
        m["libsodium"] = ProcessInfo.processInfo.environment["SANDYQ_BENCH_LIBSODIUM"]
            ?? shell("pkg-config", ["--modversion", "libsodium"]) ?? "?"
        m["sqlite_runtime"] = Limits.sqliteVersion(dir: work)
        m["sqlite_pkgconfig"] = shell("pkg-config", ["--modversion", "sqlite3"]) ?? "?"
        m["swift"] = shell("swift", ["--version"])?.split(separator: "\n").first.map(String.init) ?? "?"
        m["kernel"] = shell("uname", ["-r"]) ?? "?"
        let f = ISO8601DateFormatter()
        m["date"] = f.string(from: Date())
        m["ops"] = String(n)
        return m
    }

    struct BracketSample: Codable {
        var phase: String
        var when: String
        var limit: String
        var result: Limits.Result
    }

    struct Output: Codable {
        var machine: [String: String]
        var limits: [Limits.Result]
        /// Size-matched limits measured right before and after the phase they bound.
        var brackets: [BracketSample]
        var phases: [String: PhaseReport]
        var rows: [Row]
        var wallSeconds: Double
        /// The side-by-side peers (absent with --no-peers and in runs made before them).
        var peers: Peers.Output?
    }

    struct Row: Codable {
        var figure: String
        var unit: String
        /// Per wall-clock second.
        var sandyq: Double
        /// Per CPU second of the phase's process.
        var sandyqCPU: Double
        var bound: Double
        var boundCPU: Double
        var formula: String
        var peakMiB: Double
        var fraction: Double { sandyq / bound }
        var fractionCPU: Double { sandyqCPU / boundCPU }

        enum CodingKeys: String, CodingKey { case figure, unit, sandyq, sandyqCPU, bound, boundCPU, formula, peakMiB, fraction, fractionCPU }

        init(figure: String, unit: String, sandyq: Double, sandyqCPU: Double, bound: Double, boundCPU: Double, formula: String, peakMiB: Double) {
            self.figure = figure; self.unit = unit; self.sandyq = sandyq; self.sandyqCPU = sandyqCPU
            self.bound = bound; self.boundCPU = boundCPU; self.formula = formula; self.peakMiB = peakMiB
        }

        init(from d: Decoder) throws {
            let c = try d.container(keyedBy: CodingKeys.self)
            self.init(figure: try c.decode(String.self, forKey: .figure), unit: try c.decode(String.self, forKey: .unit),
                      sandyq: try c.decode(Double.self, forKey: .sandyq), sandyqCPU: try c.decode(Double.self, forKey: .sandyqCPU),
                      bound: try c.decode(Double.self, forKey: .bound), boundCPU: try c.decode(Double.self, forKey: .boundCPU),
                      formula: try c.decode(String.self, forKey: .formula), peakMiB: try c.decode(Double.self, forKey: .peakMiB))
        }

        func encode(to e: Encoder) throws {
            var c = e.container(keyedBy: CodingKeys.self)
            func f(_ x: Double) -> Double { x.isFinite ? x : -1 }
            try c.encode(figure, forKey: .figure); try c.encode(unit, forKey: .unit)
            try c.encode(f(sandyq), forKey: .sandyq); try c.encode(f(sandyqCPU), forKey: .sandyqCPU)
            try c.encode(f(bound), forKey: .bound); try c.encode(f(boundCPU), forKey: .boundCPU)
            try c.encode(formula, forKey: .formula); try c.encode(f(peakMiB), forKey: .peakMiB)
            try c.encode(f(fraction), forKey: .fraction); try c.encode(f(fractionCPU), forKey: .fractionCPU)
        }
    }

    static func orchestrate(_ o: Options) throws {
        let started = now()
        let n = o.ops
        let work = o.work ?? (NSTemporaryDirectory() + "sandyq-bench-\(getpid())")
        // The work directory is removed at the end (unless --keep): never adopt one with content.
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: work), !existing.isEmpty {
            throw NodeError(.usage, "work directory \(work) is not empty; give a new or empty one")
        }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { if !o.keep { try? FileManager.default.removeItem(atPath: work) } }
        let exe = selfPath()
        var machine = machine(work: work, n: n)
        machine["loadavg_start"] = loadAverage()
        stderrLine("sandyq-bench: N=\(n), work dir \(work)")

        // 1. Limits.
        stderrLine("  limits (about 15 s)...")
        var limits: [Limits.Result] = []
        limits.append(Limits.ed25519Sign(messageBytes: 200))
        limits.append(Limits.ed25519Verify(messageBytes: 200))
        limits.append(Limits.sealedBoxOpen())
        limits.append(Limits.sealedBoxSeal())
        limits.append(Limits.aeadSeal(bytes: 1024))
        limits.append(Limits.aeadOpen(bytes: 1024))
        limits.append(Limits.blake2b(bytes: 1024))
        limits.append(try Limits.sqliteInsert(dir: work, rows: 100_000))
        limits.append(Limits.argon2Interactive())

        // 2. Sandyq, one child per phase. The primitives each bound depends on are measured
        //    again, at the sizes the phases use, right before and right after that phase, so a
        //    bound and the figure it bounds see the same machine (this one is shared).
        var phases: [String: PhaseReport] = [:]
        var brackets: [BracketSample] = []
        phases["setup"] = try child(exe, phase: "setup", work: work, ops: n)
        phases["write"] = try child(exe, phase: "write", work: work, ops: n)
        let w = phases["write"]!
        let payload = Int(w["mean_payload_B"].rounded())
        let signed = Int(w["mean_signed_B"].rounded())
        func measure(_ names: [String]) throws -> [Limits.Result] {
            try names.map { name -> Limits.Result in
                switch name {
                case "sign": return Limits.ed25519Sign(messageBytes: signed, total: 0.9)
                case "verify": return Limits.ed25519Verify(messageBytes: signed, total: 0.9)
                case "seal": return Limits.aeadSeal(bytes: payload, total: 0.9)
                case "open": return Limits.aeadOpen(bytes: payload, total: 0.9)
                case "seal64k": return Limits.aeadSeal(bytes: 65536, total: 0.9)
                case "open64k": return Limits.aeadOpen(bytes: 65536, total: 0.9)
                case "box-open": return Limits.sealedBoxOpen(total: 0.9)
                case "box-seal": return Limits.sealedBoxSeal(total: 0.9)
                case "insert": return try Limits.sqliteInsert(dir: work, rows: 100_000, repeats: 1)
                default: fatalError("unknown limit \(name)")
                }
            }
        }
        func bracketed(_ phase: String, _ names: [String], before: Bool = true) throws {
            if before {
                stderrLine("  limits before \(phase)...")
                for (k, r) in zip(names, try measure(names)) { brackets.append(BracketSample(phase: phase, when: "before", limit: k, result: r)) }
            }
            if phase != "write" { phases[phase] = try child(exe, phase: phase, work: work, ops: n) }
            stderrLine("  limits after \(phase)...")
            for (k, r) in zip(names, try measure(names)) { brackets.append(BracketSample(phase: phase, when: "after", limit: k, result: r)) }
        }
        try bracketed("write", ["sign", "seal", "insert", "box-seal"], before: false)
        try bracketed("rebuild", ["open", "box-open"])
        phases["command"] = try child(exe, phase: "command", work: work, ops: n)
        try bracketed("export", ["seal64k"])
        if o.peers {
            // The export's plaintext, for the encryption peer, before later phases add ops.
            do { phases["peer-plaintext"] = try child(exe, phase: "peer-plaintext", work: work, ops: n) } catch {
                stderrLine("sandyq-bench: peer-plaintext phase failed: \(error)")
            }
        }
        try bracketed("import-reader", ["verify", "insert", "open64k", "open", "box-open"])
        try bracketed("import-store", ["verify", "insert", "open64k"])
        try bracketed("import-relay", ["verify", "insert", "open64k"])
        phases["import-delta"] = try child(exe, phase: "import-delta", work: work, ops: n)
        phases["tcp"] = try child(exe, phase: "tcp", work: work, ops: n)
        let tc = phases["tcp"]!
        let rb = phases["rebuild"]!, ex = phases["export"]!
        let ir = phases["import-reader"]!, il = phases["import-relay"]!
        let ist = phases["import-store"]!, dl = phases["import-delta"]!
        // Session keys are sealed to the readers in box-key order and a reader tries the entries
        // in turn, so the founder and the reader pay (their rank + 1) sealed-box opens per session.
        if let m = try? Phases.meta(work), let f = NodeID(string: m.founder), let r = NodeID(string: m.reader),
           let t = NodeID(string: m.third) {
            let order = [f.boxKey, r.boxKey, t.boxKey].sorted()
            machine["box_opens_per_session_founder"] = String((order.firstIndex(of: f.boxKey) ?? 0) + 1)
            machine["box_opens_per_session_reader"] = String((order.firstIndex(of: r.boxKey) ?? 0) + 1)
        }

        // 3. Bounds and fractions, once from wall-clock rates and once from CPU-time rates.
        /// The mean of the measurements of `name` around `phase`.
        func lim(_ phase: String, _ name: String, _ cpu: Bool) -> Double {
            let xs = brackets.filter { $0.phase == phase && $0.limit == name }.map { cpu ? $0.result.cpuValue : $0.result.value }
            return xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
        }
        // Sealed-box seals per op: one per reader each time a sealing session starts.
        let boxSealsPerOp = w["session_entries"] / w["ops"]
        func writeBound(_ c: Bool) -> Double {
            1 / (1 / lim("write", "sign", c) + 1 / lim("write", "seal", c) + 1 / lim("write", "insert", c)
                 + boxSealsPerOp / lim("write", "box-seal", c))
        }
        // The issue's bound: SQLite inserts plus AEAD over the bundle's bytes, on one core. One
        // signature per chain run is verified, not one per op, so verify drops out of it.
        let bundleBytesPerOp = ex["bytes_per_op"]
        func importBound(_ p: String, _ c: Bool) -> Double {
            1 / (1 / lim(p, "insert", c) + bundleBytesPerOp / (lim(p, "open64k", c) * 65536))
        }
        func viewBoundSeconds(_ p: String, _ ops: Double, _ sessions: Double, _ c: Bool) -> Double {
            ops / lim(p, "open", c) + sessions / lim(p, "box-open", c)
        }
        func exportBoundSeconds(_ c: Bool) -> Double { ex["file_bytes"] / (lim("export", "seal64k", c) * 65536) }
        let sealedOps = rb["sealed_ops"], readerSealed = ir["view_sealed_ops"]
        let rbSessions = rb["sessions"], irSessions = ir["view_sessions"]
        var rows: [Row] = []
        rows.append(Row(figure: "write: Node.cases.write(batch: 1000)", unit: "ops/s",
                        sandyq: w["ops_per_s"], sandyqCPU: w["ops_per_cpu_s"],
                        bound: writeBound(false), boundCPU: writeBound(true),
                        formula: "1 / (1/sign(\(signed) B) + 1/seal(\(payload) B) + 1/insert + \(fmt(boxSealsPerOp, 2))/box-seal)", peakMiB: w["peak_MiB"]))
        rows.append(Row(figure: "rebuild: view() after Node.open", unit: "ops/s",
                        sandyq: rb["ops_per_s"], sandyqCPU: rb["ops_per_cpu_s"],
                        bound: rb["ops"] / viewBoundSeconds("rebuild", sealedOps, rbSessions, false),
                        boundCPU: rb["ops"] / viewBoundSeconds("rebuild", sealedOps, rbSessions, true),
                        formula: "sealed ops × open(\(payload) B) + \(fmt(rbSessions)) sessions × box-open", peakMiB: rb["peak_view_MiB"]))
        let cm = phases["command"]!
        rows.append(Row(figure: "command after unlock, \(fmt(rb["ops"])) ops: one case read from the view snapshot", unit: "commands/s",
                        sandyq: 1 / cm["command_s"], sandyqCPU: 1 / cm["command_cpu_s"],
                        bound: 1 / cm["snapshot_read_s"], boundCPU: 1 / cm["snapshot_read_cpu_s"],
                        formula: cm["snapshot_bytes"] > 0
                            ? "SQLite read of the snapshot's \(fmt(cm["snapshot_bytes"] / 1_048_576, 1)) MiB of rows (median of 5 each)"
                            : "no snapshot (a log under 20,000 ops): the command rebuilds the view", peakMiB: cm["peak_MiB"]))
        rows.append(Row(figure: "export: exportBundle(all: true) to 3", unit: "ops/s",
                        sandyq: ex["ops_per_s"], sandyqCPU: ex["ops_per_cpu_s"],
                        bound: ex["ops"] / exportBoundSeconds(false), boundCPU: ex["ops"] / exportBoundSeconds(true),
                        formula: "file bytes × seal at 64 KiB chunks", peakMiB: ex["peak_MiB"]))
        rows.append(Row(figure: "import as reader: Node.importBundle", unit: "ops/s",
                        sandyq: ir["ops_per_s"], sandyqCPU: ir["ops_per_cpu_s"],
                        bound: importBound("import-reader", false), boundCPU: importBound("import-reader", true),
                        formula: "1 / (1/insert + \(fmt(bundleBytesPerOp)) B / open(64 KiB chunks))", peakMiB: ir["peak_import_MiB"]))
        rows.append(Row(figure: "reader: view() after import", unit: "ops/s",
                        sandyq: ir["view_ops_per_s"], sandyqCPU: ir["view_ops_per_cpu_s"],
                        bound: ir["view_ops"] / viewBoundSeconds("import-reader", readerSealed, irSessions, false),
                        boundCPU: ir["view_ops"] / viewBoundSeconds("import-reader", readerSealed, irSessions, true),
                        formula: "as rebuild (\(fmt(irSessions)) sessions)", peakMiB: ir["peak_view_MiB"]))
        rows.append(Row(figure: "reader: unlock again and view() (session keys cached)", unit: "ops/s",
                        sandyq: ir["view_ops"] / ir["view_warm_s"], sandyqCPU: ir["view_ops"] / ir["view_warm_cpu_s"],
                        bound: ir["view_ops"] / viewBoundSeconds("import-reader", readerSealed, 0, false),
                        boundCPU: ir["view_ops"] / viewBoundSeconds("import-reader", readerSealed, 0, true),
                        formula: "sealed ops × open(\(payload) B), no box-open", peakMiB: .nan))
        rows.append(Row(figure: "import, store level: BundleReader + OpStore.importBatches", unit: "ops/s",
                        sandyq: ist["ops_per_s"], sandyqCPU: ist["ops_per_cpu_s"],
                        bound: importBound("import-store", false), boundCPU: importBound("import-store", true),
                        formula: "1 / (1/insert + \(fmt(bundleBytesPerOp)) B / open(64 KiB chunks))", peakMiB: ist["peak_MiB"]))
        rows.append(Row(figure: "import as relay (relay role): Node.importBundle", unit: "ops/s",
                        sandyq: il["ops_per_s"], sandyqCPU: il["ops_per_cpu_s"],
                        bound: importBound("import-relay", false), boundCPU: importBound("import-relay", true),
                        formula: "1 / (1/insert + \(fmt(bundleBytesPerOp)) B / open(64 KiB chunks))", peakMiB: il["peak_MiB"]))
        let deltaNew = dl["new"] + dl["known"]
        rows.append(Row(figure: "delta: importBundle of \(fmt(deltaNew)) new ops into a log of \(fmt(dl["log_ops"] - dl["new"]))", unit: "ops/s",
                        sandyq: deltaNew / dl["import_s"], sandyqCPU: deltaNew / dl["import_cpu_s"],
                        bound: importBound("import-store", false), boundCPU: importBound("import-store", true),
                        formula: "as import (bounds from import-store)", peakMiB: dl["peak_import_MiB"]))
        rows.append(Row(figure: "TCP full sync to a fresh member (both directions, loopback; \(fmt(tc["full_bytes"])) bytes on the wire)", unit: "ops/s",
                        sandyq: tc["full_ops_per_s"], sandyqCPU: tc["full_ops_per_cpu_s"],
                        bound: importBound("import-store", false), boundCPU: importBound("import-store", true),
                        formula: "as import (bounds from import-store)", peakMiB: tc["peak_full_MiB"]))
        machine["tcp_delta_1_op"] = "\(fmt(tc["delta_ops"])) new op, \(fmt(tc["delta_bytes"])) bytes on the wire, \(fmt(tc["delta_ms"], 1)) ms"
        let peers = o.peers ? Peers.run(exe: exe, work: work, quick: o.quick, phases: phases) : nil
        machine["loadavg_end"] = loadAverage()

        let output = Output(machine: machine, limits: limits, brackets: brackets, phases: phases, rows: rows,
                            wallSeconds: now() - started, peers: peers)
        print(markdown(output, n: n))
        if let path = o.json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try enc.encode(sanitized(output))
            try data.write(to: URL(fileURLWithPath: path))
            stderrLine("sandyq-bench: wrote \(path)")
        }
        if o.keep { stderrLine("sandyq-bench: kept \(work)") }
    }

    /// JSON has no NaN: replace non-finite numbers with -1.
    static func sanitized(_ o: Output) -> Output {
        var o = o
        func fix(_ x: Double) -> Double { x.isFinite ? x : -1 }
        for k in o.phases.keys { o.phases[k]!.values = o.phases[k]!.values.mapValues(fix) }
        o.peers = o.peers?.sanitized()
        return o
    }

    /// A fraction as a percentage, with enough digits that a tiny one does not print as 0.0.
    static func pct(_ f: Double) -> String { fmt(f * 100, f * 100 < 0.1 ? 3 : 1) }

    static func markdown(_ o: Output, n: Int) -> String {
        let m = o.machine
        var s = ""
        s += "## sandyq-bench, N = \(fmt(Double(n))) ops\n\n"
        s += "\(m["date"]!) · \(m["nproc"]!) × \(m["cpu"]!) · Linux \(m["kernel"]!) · libsodium \(m["libsodium"]!) · "
        s += "SQLite \(m["sqlite_runtime"]!) · \(m["swift"]!) · load average \(m["loadavg_start"]!) at start, \(m["loadavg_end"]!) at end\n\n"
        let load = Double(m["loadavg_start"]!.split(separator: " ").first ?? "") ?? 0
        let cores = Double(m["nproc"]!) ?? 1
        // How much of a core each timed region got: below ~0.9, other processes took turns on it.
        let shares = o.phases.values.flatMap { p in
            p.values.keys.filter { $0.hasSuffix("_cpu_s") && !$0.contains("_per_") }.compactMap { k -> Double? in
                let wall = p.values[String(k.dropLast(6)) + "_s"] ?? .nan
                let cpu = p.values[k]!
                return wall > 0.05 && cpu > 0 ? cpu / wall : nil
            }
        }
        let share = shares.min() ?? 1
        if share < 0.9 {
            s += "> **The machine was busy** (load average \(m["loadavg_start"]!) on \(m["nproc"]!) cores; the timed regions got "
            s += "as little as \(fmt(share * 100)) % of a core). Wall-clock rates are inflated by other processes, and the limits "
            s += "and the phases were not slowed alike. The CPU-time basis (rates per CPU-second of the measuring process) is "
            s += "the comparable one.\n\n"
        } else if load > cores / 2 {
            s += "> Other processes were running (load average \(m["loadavg_start"]!) on \(m["nproc"]!) cores), but every timed "
            s += "region got at least \(fmt(share * 100)) % of a core. Rates still vary by up to ±30 % from run to run when the "
            s += "other core is busy (this VM has 2 vCPUs and no hardware counters).\n\n"
        }
        s += "### Limits (one core, median of 3 runs of ~0.5 s, through SandyqCrypto / SandyqStore)\n\n"
        s += "| Primitive | Rate (wall) | MB/s | Runs (wall) | Rate per CPU-second |\n|---|---:|---:|---|---:|\n"
        for l in o.limits {
            let bytes = Int(l.name.split(separator: "_").last!) ?? 0
            let mbps = (l.unit == "ops/s" && bytes > 0 && !l.name.hasPrefix("ed25519")) ? fmt(l.value * Double(bytes) / 1e6, 0) : ""
            let rate = l.unit == "s" ? fmt(l.value, 3) + " s" : fmt(l.value) + " " + l.unit
            let runs = l.runs.map { l.unit == "s" ? fmt($0, 3) : fmt($0) }.joined(separator: " / ")
            let cpuRate = l.unit == "s" ? fmt(l.cpuValue, 3) + " s CPU" : fmt(l.cpuValue) + " " + l.unit
            s += "| \(l.note) | \(rate) | \(mbps) | \(runs) | \(cpuRate) |\n"
        }
        if let d = m["tcp_delta_1_op"] { s += "\nTCP delta sync of 1 new op into a replica of the whole log (loopback): \(d).\n" }
        s += "\n### Sandyq (each phase in its own child process)\n\n"
        s += "| Figure | Sandyq | Bound | Bound formula (per op, one core) | Sandyq / bound | CPU-time basis: Sandyq / bound | Peak RSS MiB |\n"
        s += "|---|---:|---:|---|---:|---:|---:|\n"
        for r in o.rows {
            s += "| \(r.figure) | \(fmt(r.sandyq)) \(r.unit) | \(fmt(r.bound)) \(r.unit) | \(r.formula) | **\(pct(r.fraction)) %** "
            s += "| \(fmt(r.sandyqCPU)) / \(fmt(r.boundCPU)) = \(pct(r.fractionCPU)) % | \(fmt(r.peakMiB, 1)) |\n"
        }
        s += "\nBounds use the limits below, measured at the sizes the phases used, right before and right after "
        s += "each phase (the write phase: right after), averaged.\n\n"
        s += "| Phase | Limit | Before (wall / per CPU-s) | After (wall / per CPU-s) |\n|---|---|---:|---:|\n"
        var seen: [String] = []
        for b in o.brackets where !seen.contains(b.phase + b.limit) {
            seen.append(b.phase + b.limit)
            func cell(_ when: String) -> String {
                guard let r = o.brackets.first(where: { $0.phase == b.phase && $0.limit == b.limit && $0.when == when })?.result else { return "" }
                return "\(fmt(r.value)) / \(fmt(r.cpuValue))"
            }
            s += "| \(b.phase) | \(b.result.note) | \(cell("before")) | \(cell("after")) |\n"
        }
        let w = o.phases["write"]!, rb = o.phases["rebuild"]!, ex = o.phases["export"]!
        let ir = o.phases["import-reader"]!, il = o.phases["import-relay"]!
        let ist = o.phases["import-store"]!, dl = o.phases["import-delta"]!
        s += "\n### Details\n\n| Measure | Value |\n|---|---:|\n"
        func row(_ k: String, _ v: String) { s += "| \(k) | \(v) |\n" }
        row("write: ops (cases created / field edits)", "\(fmt(w["ops"])) (\(fmt(w["cases"])) / \(fmt(w["edits"])))")
        row("write: time in Node.write / building mutations", "\(fmt(w["write_s"], 2)) s / \(fmt(w["prep_s"], 2)) s")
        row("write: mean envelope bytes", fmt(w["mean_envelope_B"], 1))
        row("write: mean payload (plaintext body) bytes, all / create / edit",
            "\(fmt(w["mean_payload_B"], 1)) / \(fmt(w["mean_create_payload_B"], 1)) / \(fmt(w["mean_edit_payload_B"], 1))")
        row("write: envelope overhead over payload, per op", "\(fmt(w["mean_envelope_B"] - w["mean_payload_B"], 1)) B (×\(fmt(w["mean_envelope_B"] / w["mean_payload_B"], 2)))")
        row("write: sealing sessions started (sealed-box entries, per op)", "\(fmt(w["sessions"])) (\(fmt(w["session_entries"])), \(fmt(w["session_entries"] / w["ops"], 2)))")
        row("write: SQLite file after write (db + wal)", "\(fmt(w["db_bytes"] / 1_048_576, 1)) MiB")
        row("unlock (Node.open, Argon2id interactive), rebuild child", "\(fmt(rb["unlock_s"], 3)) s")
        row("rebuild: view() seconds (ops in view)", "\(fmt(rb["view_s"], 2)) s (\(fmt(rb["ops"])))")
        row("rebuild, warm 2nd pass: allEnvelopes() / ProjectView.init", "\(fmt(rb["load_decode_s"], 2)) s / \(fmt(rb["derive_s"], 2)) s")
        row("rebuild: sealed ops, sessions to open (sealed-box entries held)", "\(fmt(rb["sealed_ops"])), \(fmt(rb["sessions"])) (\(fmt(rb["session_entries"])))")
        row("sealed-box opens per session by trial decryption (founder / reader; the bound counts 1)",
            "\(m["box_opens_per_session_founder"] ?? "?") / \(m["box_opens_per_session_reader"] ?? "?")")
        row("rebuild: cases, readable / unreadable ops", "\(fmt(rb["cases"])), \(fmt(rb["readable"])) / \(fmt(rb["unreadable"]))")
        row("export: seconds, ops", "\(fmt(ex["export_s"], 2)) s, \(fmt(ex["ops"]))")
        row("export: file bytes, bytes per op", "\(fmt(ex["file_bytes"])), \(fmt(ex["bytes_per_op"], 1))")
        row("export: bundle overhead per op, (file − Σ envelopes) / ops", "\(fmt(ex["bundle_overhead_per_op_B"], 1)) B")
        row("import as reader: seconds (new / refused)", "\(fmt(ir["import_s"], 2)) s (\(fmt(ir["new"])) / \(fmt(ir["refused"])))")
        row("reader view(): seconds, cases, readable / unreadable", "\(fmt(ir["view_s"], 2)) s, \(fmt(ir["view_cases"])), \(fmt(ir["view_readable"])) / \(fmt(ir["view_unreadable"]))")
        row("reader: sealed-box opens, view() after import / after unlock again",
            "\(fmt(ir["view_box_opens"])) / \(fmt(ir["view_warm_box_opens"]))")
        row("reader: view() on a fresh node, cache emptied / filled, best of 3 (box opens); cached ÷ cold, wall and CPU",
            "\(fmt(ir["view_cold_best_s"], 2)) s (\(fmt(ir["view_cold_best_box_opens"]))) / \(fmt(ir["view_cached_best_s"], 2)) s (\(fmt(ir["view_cached_best_box_opens"]))); "
            + "\(fmt(ir["view_cached_best_s"] / ir["view_cold_best_s"], 2)), \(fmt(ir["view_cached_best_cpu_s"] / ir["view_cold_best_cpu_s"], 2))")
        row("import, store level: seconds (new / refused)", "\(fmt(ist["import_s"], 2)) s (\(fmt(ist["new"])) / \(fmt(ist["refused"])))")
        row("import as relay: seconds (new / refused)", "\(fmt(il["import_s"], 2)) s (\(fmt(il["new"])) / \(fmt(il["refused"])))")
        row("delta: export seconds, ops, file bytes", "\(fmt(dl["export_s"], 3)) s, \(fmt(dl["ops"])), \(fmt(dl["file_bytes"]))")
        row("delta: import seconds (new / refused) into a log of N ops", "\(fmt(dl["import_s"], 3)) s (\(fmt(dl["new"])) / \(fmt(dl["refused"])))")
        row("peak RSS incl. unlock (write / rebuild / export / reader / store import / relay)",
            [(w, w["peak_MiB"]), (rb, rb["peak_view_MiB"]), (ex, ex["peak_MiB"]),
             (ir, max(ir["peak_import_MiB"], ir["peak_view_MiB"])), (ist, ist["peak_MiB"]), (il, il["peak_MiB"])]
                .map { fmt(max($0.1, $0.0["peak_unlock_MiB"]), 1) }.joined(separator: " / ") + " MiB")
        row("CPU s / wall s of the timed region (write, rebuild view, export, reader import, reader view, store import, relay import, delta import)",
            [(w, "write"), (rb, "view"), (ex, "export"), (ir, "import"), (ir, "view"), (ist, "import"), (il, "import"), (dl, "import")]
                .map { "\(fmt($0.0[$0.1 + "_cpu_s"], 2))/\(fmt($0.0[$0.1 + "_s"], 2))" }.joined(separator: ", "))
        row("total bench wall time", "\(fmt(o.wallSeconds, 1)) s")
        if let p = o.peers { s += Peers.markdown(p) }
        return s
    }
}
