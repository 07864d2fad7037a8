import Foundation
import SandyqCrypto
import SandyqNode

/// sandyq-bench: the primitives' limits and Sandyq's own figures, measured in one run, with
/// each Sandyq figure given as a fraction of the bound it is limited by.
///
///     sandyq-bench [--ops N | --quick] [--json FILE] [--keep] [--work DIR]
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
        stderrLine("usage: sandyq-bench [--ops N (default 100000) | --quick (N=10000)] [--json FILE] [--keep] [--work DIR]")
        exit(why == nil ? 0 : 2)
    }

    static func main() {
        let o = parse(CommandLine.arguments)
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

    struct Output: Codable {
        var machine: [String: String]
        var limits: [Limits.Result]
        var phases: [String: PhaseReport]
        var rows: [Row]
        var wallSeconds: Double
    }

    struct Row: Codable {
        var figure: String
        var sandyq: Double
        var unit: String
        var bound: Double
        var formula: String
        var fraction: Double
        var peakMiB: Double
    }

    static func orchestrate(_ o: Options) throws {
        let started = now()
        let n = o.ops
        let work = o.work ?? (NSTemporaryDirectory() + "sandyq-bench-\(getpid())")
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { if !o.keep { try? FileManager.default.removeItem(atPath: work) } }
        let exe = selfPath()
        let machine = machine(work: work, n: n)
        stderrLine("sandyq-bench: N=\(n), work dir \(work)")

        // 1. Limits.
        stderrLine("  limits (about 15 s)...")
        var limits: [Limits.Result] = []
        limits.append(Limits.ed25519Sign(messageBytes: 200))
        limits.append(Limits.ed25519Verify(messageBytes: 200))
        limits.append(Limits.sealedBoxOpen())
        limits.append(Limits.aeadSeal(bytes: 1024))
        limits.append(Limits.aeadOpen(bytes: 1024))
        limits.append(Limits.blake2b(bytes: 1024))
        limits.append(try Limits.sqliteInsert(dir: work, rows: 100_000))
        limits.append(Limits.argon2Interactive())

        // 2. Sandyq, one child per phase.
        var phases: [String: PhaseReport] = [:]
        for p in ["setup", "write", "rebuild", "export", "import-reader", "import-relay"] {
            phases[p] = try child(exe, phase: p, work: work, ops: n)
        }
        let w = phases["write"]!, rb = phases["rebuild"]!, ex = phases["export"]!
        let ir = phases["import-reader"]!, il = phases["import-relay"]!

        // 3. The primitives again at the sizes the phases actually used.
        stderrLine("  limits at the measured sizes...")
        let payload = Int(w["mean_payload_B"].rounded())
        let signed = Int(w["mean_signed_B"].rounded())
        let signS = Limits.ed25519Sign(messageBytes: signed)
        let verifyS = Limits.ed25519Verify(messageBytes: signed)
        let sealP = Limits.aeadSeal(bytes: payload)
        let openP = Limits.aeadOpen(bytes: payload)
        let seal64 = Limits.aeadSeal(bytes: 65536)
        limits += [signS, verifyS, sealP, openP, seal64]

        func lim(_ name: String) -> Double { limits.first { $0.name == name }!.value }
        let insert = lim("sqlite_insert"), boxOpen = lim("sealed_box_open")

        // 4. Bounds and fractions.
        var rows: [Row] = []
        let writeBound = 1 / (1 / signS.value + 1 / sealP.value + 1 / insert)
        rows.append(Row(figure: "write: Node.write(batch: 1000)", sandyq: w["ops_per_s"], unit: "ops/s", bound: writeBound,
                        formula: "1 / (1/sign(\(signed) B) + 1/seal(\(payload) B) + 1/insert)",
                        fraction: w["ops_per_s"] / writeBound, peakMiB: w["peak_MiB"]))
        let sealedOps = rb["readable"] + rb["unreadable"]
        func rebuildBoundSeconds(_ ops: Double) -> Double { ops / openP.value + 6 / boxOpen }
        let rbBound = rebuildBoundSeconds(sealedOps)
        rows.append(Row(figure: "rebuild: view() after Node.open", sandyq: rb["ops_per_s"], unit: "ops/s",
                        bound: rb["ops"] / rbBound,
                        formula: "sealed ops × 1/open(\(payload) B) + ≤6 sealed-box opens",
                        fraction: rbBound / rb["view_s"], peakMiB: rb["peak_MiB"]))
        let exBound = ex["file_bytes"] / (seal64.value * 65536)
        rows.append(Row(figure: "export: exportBundle(all) to 2", sandyq: ex["ops_per_s"], unit: "ops/s",
                        bound: ex["ops"] / exBound,
                        formula: "file bytes / seal MB/s at 64 KiB chunks",
                        fraction: exBound / ex["export_s"], peakMiB: ex["peak_MiB"]))
        let importBound = 1 / (1 / verifyS.value + 1 / insert)
        rows.append(Row(figure: "import as reader: importBundle", sandyq: ir["ops_per_s"], unit: "ops/s", bound: importBound,
                        formula: "1 / (1/verify(\(signed) B) + 1/insert)",
                        fraction: ir["ops_per_s"] / importBound, peakMiB: ir["peak_import_MiB"]))
        let irViewBound = rebuildBoundSeconds(ir["view_readable"] + ir["view_unreadable"])
        rows.append(Row(figure: "reader's view() after import", sandyq: ir["view_ops_per_s"], unit: "ops/s",
                        bound: ir["view_ops"] / irViewBound,
                        formula: "as rebuild",
                        fraction: irViewBound / ir["view_s"], peakMiB: ir["peak_view_MiB"]))
        rows.append(Row(figure: "import as relay: importBundle", sandyq: il["ops_per_s"], unit: "ops/s", bound: importBound,
                        formula: "1 / (1/verify(\(signed) B) + 1/insert)",
                        fraction: il["ops_per_s"] / importBound, peakMiB: il["peak_MiB"]))

        let output = Output(machine: machine, limits: limits, phases: phases, rows: rows, wallSeconds: now() - started)
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
        o.rows = o.rows.map { var r = $0; r.sandyq = fix(r.sandyq); r.bound = fix(r.bound); r.fraction = fix(r.fraction); r.peakMiB = fix(r.peakMiB); return r }
        return o
    }

    static func markdown(_ o: Output, n: Int) -> String {
        let m = o.machine
        var s = ""
        s += "## sandyq-bench, N = \(fmt(Double(n))) ops\n\n"
        s += "\(m["date"]!) · \(m["nproc"]!) × \(m["cpu"]!) · Linux \(m["kernel"]!) · libsodium \(m["libsodium"]!) · "
        s += "SQLite \(m["sqlite_runtime"]!) · \(m["swift"]!)\n\n"
        s += "### Limits (one core, median of 3 runs of ~0.5 s, through SandyqCrypto / SandyqStore)\n\n"
        s += "| Primitive | Rate | MB/s | Runs |\n|---|---:|---:|---|\n"
        for l in o.limits {
            let bytes = Int(l.name.split(separator: "_").last!) ?? 0
            let mbps = (l.unit == "ops/s" && bytes > 0 && !l.name.hasPrefix("ed25519")) ? fmt(l.value * Double(bytes) / 1e6, 0) : ""
            let rate = l.unit == "s" ? fmt(l.value, 3) + " s" : fmt(l.value) + " " + l.unit
            let runs = l.runs.map { l.unit == "s" ? fmt($0, 3) : fmt($0) }.joined(separator: " / ")
            s += "| \(l.note) | \(rate) | \(mbps) | \(runs) |\n"
        }
        s += "\n### Sandyq (each phase in its own child process)\n\n"
        s += "| Figure | Sandyq | Bound | Bound formula | Sandyq / bound | Peak RSS MiB |\n|---|---:|---:|---|---:|---:|\n"
        for r in o.rows {
            s += "| \(r.figure) | \(fmt(r.sandyq)) \(r.unit) | \(fmt(r.bound)) \(r.unit) | \(r.formula) | \(fmt(r.fraction * 100, 1)) % | \(fmt(r.peakMiB, 1)) |\n"
        }
        let w = o.phases["write"]!, rb = o.phases["rebuild"]!, ex = o.phases["export"]!
        let ir = o.phases["import-reader"]!, il = o.phases["import-relay"]!
        s += "\n### Details\n\n| Measure | Value |\n|---|---:|\n"
        func row(_ k: String, _ v: String) { s += "| \(k) | \(v) |\n" }
        row("write: ops (cases created / field edits)", "\(fmt(w["ops"])) (\(fmt(w["cases"])) / \(fmt(w["edits"])))")
        row("write: time in Node.write / building mutations", "\(fmt(w["write_s"], 2)) s / \(fmt(w["prep_s"], 2)) s")
        row("write: mean envelope bytes", fmt(w["mean_envelope_B"], 1))
        row("write: mean payload (plaintext body) bytes, all / create / edit",
            "\(fmt(w["mean_payload_B"], 1)) / \(fmt(w["mean_create_payload_B"], 1)) / \(fmt(w["mean_edit_payload_B"], 1))")
        row("write: envelope overhead over payload, per op", "\(fmt(w["mean_envelope_B"] - w["mean_payload_B"], 1)) B (×\(fmt(w["mean_envelope_B"] / w["mean_payload_B"], 2)))")
        row("write: SQLite file after write (db + wal)", "\(fmt(w["db_bytes"] / 1_048_576, 1)) MiB")
        row("unlock (Node.open, Argon2id interactive), rebuild child", "\(fmt(rb["unlock_s"], 3)) s")
        row("rebuild: view() seconds (ops in view)", "\(fmt(rb["view_s"], 2)) s (\(fmt(rb["ops"])))")
        row("rebuild, warm 2nd pass: allEnvelopes() / ProjectView.init", "\(fmt(rb["load_decode_s"], 2)) s / \(fmt(rb["derive_s"], 2)) s")
        row("rebuild: cases, readable / unreadable ops", "\(fmt(rb["cases"])), \(fmt(rb["readable"])) / \(fmt(rb["unreadable"]))")
        row("export: seconds, ops", "\(fmt(ex["export_s"], 2)) s, \(fmt(ex["ops"]))")
        row("export: file bytes, bytes per op", "\(fmt(ex["file_bytes"])), \(fmt(ex["bytes_per_op"], 1))")
        row("export: bundle overhead per op, (file − Σ envelopes) / ops", "\(fmt(ex["bundle_overhead_per_op_B"], 1)) B")
        row("import as reader: seconds (new / refused)", "\(fmt(ir["import_s"], 2)) s (\(fmt(ir["new"])) / \(fmt(ir["refused"])))")
        row("reader view(): seconds, cases, readable / unreadable", "\(fmt(ir["view_s"], 2)) s, \(fmt(ir["view_cases"])), \(fmt(ir["view_readable"])) / \(fmt(ir["view_unreadable"]))")
        row("import as relay: seconds (new / refused)", "\(fmt(il["import_s"], 2)) s (\(fmt(il["new"])) / \(fmt(il["refused"])))")
        row("peak RSS incl. unlock (write / rebuild / export / reader / relay)",
            [w, rb, ex, ir, il].map { fmt(max($0["peak_unlock_MiB"], $0["peak_MiB"]), 1) }.joined(separator: " / ") + " MiB")
        row("total bench wall time", "\(fmt(o.wallSeconds, 1)) s")
        return s
    }
}
