import Foundation
import SandyqCore
import SandyqNode

/// The workload shared with scripts/peers/crdt_peer.py: R records of 10 string fields, then E
/// concurrent single-field edits per side on overlapping records. Keep the two in step.
enum PeerWorkload {
    static let regions = ["Алматинская область", "Мангистауская область", "Карагандинская область", "Западно-Казахстанская область"]
    /// Sandyq's eight plain case fields, then the first person's name and the first charge's article.
    static let fields = ["ref", "title", "status", "statusDate", "city", "region", "summary", "notes", "name", "article"]

    static func date(_ s: Int) -> String { String(format: "%d-%02d-%02d", 2019 + s % 6, 1 + s % 12, 1 + s % 28) }

    static func value(_ field: String, _ s: Int) -> String {
        let w = Workload.self
        switch field {
        case "ref": return String(format: "KZ-%07d", s)
        case "title": return "\(w.firstNames[s % 16]) \(w.lastNames[s % 12]) — \(w.charges[s % 5].text)"
        case "status": return CaseSchema.statuses[s % 11]
        case "statusDate": return date(s)
        case "city": return w.cities[s % 8]
        case "region": return regions[s % 4]
        case "summary": return w.summaries[s % 6]
        case "notes": return w.eventTexts[s % 4] + ", " + date(s)
        case "name": return "\(w.firstNames[(s * 7) % 16]) \(w.lastNames[(s * 5) % 12])"
        case "article": return w.charges[s % 5].article
        default: fatalError("unknown field \(field)")
        }
    }

    static func document(_ i: Int) -> CaseDocument {
        var d = CaseDocument()
        d.ref = value("ref", i); d.title = value("title", i); d.status = value("status", i)
        d.statusDate = value("statusDate", i); d.city = value("city", i); d.region = value("region", i)
        d.summary = value("summary", i); d.notes = value("notes", i)
        d.persons = [CaseDocument.Person(name: value("name", i))]
        var c = CaseDocument.Charge()
        c.article = value("article", i)
        d.charges = [c]
        return d
    }

    /// One side's edits as (record, field, value). A edits records 0..<E, B the records from
    /// R/4 on, so some records are edited on both sides: on even ones the same field (a true
    /// conflict), on odd ones different fields.
    static func edits(side: String, records: Int, count: Int) -> [(record: Int, field: String, value: String)] {
        (0..<count).map { k in
            let r: Int, f: Int, s: Int
            if side == "A" {
                r = k % records; f = r % 10; s = 1_000_000 + k
            } else {
                r = (records / 4 + k) % records; f = (r + r % 2) % 10; s = 2_000_000 + k
            }
            return (r, fields[f], value(fields[f], s))
        }
    }

    static func path(_ field: String, in state: CaseState) -> FieldPath {
        switch field {
        case "name": return FieldPath(collection: "persons", element: state.elements("persons").first ?? "", field: "name")
        case "article": return FieldPath(collection: "charges", element: state.elements("charges").first ?? "", field: "article")
        default: return FieldPath(field: field)
        }
    }

    static func shown(_ field: String, in state: CaseState) -> String? {
        let p = path(field, in: state)
        return p.collection.isEmpty ? state.value(field) : state.value(p.collection, p.element, p.field)
    }
}

/// Side-by-side peers: the same CRDT workload run by Python CRDT libraries and by Sandyq
/// (two real nodes exchanging bundles), and the `age` tool encrypting as many bytes as
/// Sandyq's full export to as many recipients.
enum Peers {
    /// What an external peer script printed: numbers in `values`, text and yes/no in `info`.
    struct Run: Codable {
        var name: String
        var available: Bool
        var note: String = ""
        var values: [String: Double] = [:]
        var info: [String: String] = [:]
        subscript(_ k: String) -> Double { values[k] ?? .nan }
    }

    struct Output: Codable {
        var records: Int
        var edits: Int
        var quick: Bool
        /// Sandyq's run of the CRDT workload (the peer-crdt phase), nil when it failed.
        var sandyq: PhaseReport?
        var sandyqError: String?
        /// Sandyq's full export (the export phase), for the encryption comparison.
        var exportSeconds: Double
        var exportCPUSeconds: Double
        var exportFileBytes: Double
        var exportOps: Double
        var plaintextBytes: Double
        var crdt: [Run]
        var encryption: Run

        /// JSON has no NaN: non-finite numbers become -1.
        func sanitized() -> Output {
            func fix(_ x: Double) -> Double { x.isFinite ? x : -1 }
            var o = self
            if let q = sandyq { o.sandyq!.values = q.values.mapValues(fix) }
            o.exportSeconds = fix(exportSeconds); o.exportCPUSeconds = fix(exportCPUSeconds)
            o.exportFileBytes = fix(exportFileBytes); o.exportOps = fix(exportOps); o.plaintextBytes = fix(plaintextBytes)
            o.crdt = crdt.map { var r = $0; r.values = r.values.mapValues(fix); return r }
            o.encryption.values = encryption.values.mapValues(fix)
            return o
        }
    }

    static let fullRecords = 10_000
    static let quickRecords = 2_000
    static let recipients = 3

    // MARK: phases (children of sandyq-bench)

    /// The CRDT workload on two real coordinators of one project: A creates the records,
    /// B receives them in a full bundle, both edit concurrently, then each exports a delta
    /// bundle (what the other acknowledged it holds) and imports the other's.
    static func crdtPhase(work: String, records: Int) throws -> PhaseReport {
        var r = PhaseReport(phase: "peer-crdt")
        let count = records / 2
        let dir = work + "/peer-crdt"
        let t0 = now()
        let a = try NodeHost.initialize(home: dir + "/a", passphrase: passphrase(), parameters: .interactive)
        let b = try NodeHost.initialize(home: dir + "/b", passphrase: passphrase(), parameters: .interactive)
        let pid = try a.admin.createProject(name: "CRDT peer workload")
        _ = try a.members.add(b.nodeID, role: .coordinator)
        try b.admin.join(pid)
        r.values["setup_s"] = now() - t0
        Memory.releaseFreed()
        r.values["peak_reset_ok"] = Memory.resetPeak() ? 1 : 0
        r.values["records"] = Double(records)
        r.values["edits_per_side"] = Double(count)

        // Create: R cases of 10 fields on A, in batches of 1000 (one op per case).
        var idsA: [CaseID] = []
        idsA.reserveCapacity(records)
        let sw0 = Stopwatch()
        var i = 0
        while i < records {
            let n = min(Phases.batchSize, records - i)
            var batch: [[Mutation]] = []
            for k in i..<(i + n) {
                let id = CaseID.random()
                idsA.append(id)
                batch.append(try CaseEditor.create(PeerWorkload.document(k), id: id))
            }
            try a.cases.write(batch: batch)
            i += n
        }
        r.values["create_s"] = sw0.wall
        r.values["create_cpu_s"] = sw0.cpu

        // Replicate: a full bundle from A, imported by B, until B's view is readable.
        let sw1 = Stopwatch()
        let full = try a.exchange.exportBundle(to: [b.nodeID], out: dir + "/full.sqb", all: true)
        r.values["replicate_export_s"] = sw1.wall
        let fullImport = try b.exchange.importBundle(full.files[0])
        r.values["replicate_import_s"] = sw1.wall - r["replicate_export_s"]
        let viewB = try b.view()
        r.values["replicate_s"] = sw1.wall
        r.values["replicate_cpu_s"] = sw1.cpu
        r.values["full_bytes"] = Double(full.files.reduce(0) { $0 + fileSize($1) })
        r.values["full_ops"] = Double(full.ops)
        r.values["replicate_new"] = Double(fullImport.report.new)
        r.values["replicate_refused"] = Double(fullImport.report.refused.count)

        // B's acknowledgement reaches A the way it would in use: in B's next bundle to A. The
        // import drops A's view; it is rebuilt here so both sides start editing from a readable one.
        let swAck = Stopwatch()
        let ack = try b.exchange.exportBundle(to: [a.nodeID], out: dir + "/ack.sqb")
        _ = try a.exchange.importBundle(ack.files[0])
        _ = try a.view()
        r.values["ack_s"] = swAck.wall
        r.values["ack_cpu_s"] = swAck.cpu
        r.values["ack_bytes"] = Double(ack.files.reduce(0) { $0 + fileSize($1) })

        // B finds the cases by their ref, as a user would (ids are random per case).
        var idsB = [CaseID?](repeating: nil, count: records)
        for (id, c) in viewB.cases {
            if let ref = c.value("ref"), ref.hasPrefix("KZ-"), let k = Int(ref.dropFirst(3)), k < records { idsB[k] = id }
        }
        guard idsB.allSatisfy({ $0 != nil }) else { throw NodeError(.failure, "B does not show every case after replication") }
        let casesB = idsB.map { $0! }

        let ea = PeerWorkload.edits(side: "A", records: records, count: count)
        let eb = PeerWorkload.edits(side: "B", records: records, count: count)
        var envelopeBytes = 0
        func edit(_ node: NodeHost, _ ids: [CaseID], _ es: [(record: Int, field: String, value: String)]) throws -> Stopwatch {
            envelopeBytes = 0
            let sw = Stopwatch()
            var k = 0
            while k < es.count {
                let n = min(Phases.batchSize, es.count - k)
                // The view is let go before the write, as the desk does: a view held across a
                // write is copied, every case of it, by the write's first op.
                let batch = try { () throws -> [[Mutation]] in
                    let v = try node.view()
                    return try es[k..<(k + n)].map { e -> [Mutation] in
                        let st = v.cases[ids[e.record]]!
                        return [try CaseEditor.set(PeerWorkload.path(e.field, in: st), to: e.value, in: st)]
                    }
                }()
                envelopeBytes += try node.cases.write(batch: batch).reduce(0) { $0 + $1.encoded.count }
                k += n
            }
            return sw
        }
        let swA = try edit(a, idsA, ea)
        r.values["edits_a_s"] = swA.wall
        r.values["edits_a_cpu_s"] = swA.cpu
        r.values["edits_a_envelope_bytes"] = Double(envelopeBytes)
        let swB = try edit(b, casesB, eb)
        r.values["edits_b_s"] = swB.wall
        r.values["edits_b_cpu_s"] = swB.cpu
        r.values["edits_b_envelope_bytes"] = Double(envelopeBytes)

        // Delta exchange: each side bundles what the other acknowledged it lacks, the other
        // imports it; done when both views are readable again.
        let swX = Stopwatch()
        let dab = try a.exchange.exportBundle(to: [b.nodeID], out: dir + "/a2b.sqb")
        let dba = try b.exchange.exportBundle(to: [a.nodeID], out: dir + "/b2a.sqb")
        r.values["delta_export_s"] = swX.wall
        let t1 = now()
        let ib = try b.exchange.importBundle(dab.files[0])
        let ia = try a.exchange.importBundle(dba.files[0])
        r.values["delta_import_s"] = now() - t1
        let t2 = now()
        let va = try a.view(), vb = try b.view()
        r.values["delta_view_s"] = now() - t2
        r.values["delta_exchange_s"] = swX.wall
        r.values["delta_exchange_cpu_s"] = swX.cpu
        r.values["delta_a_to_b_bytes"] = Double(dab.files.reduce(0) { $0 + fileSize($1) })
        r.values["delta_b_to_a_bytes"] = Double(dba.files.reduce(0) { $0 + fileSize($1) })
        r.values["delta_a_to_b_ops"] = Double(dab.ops)
        r.values["delta_b_to_a_ops"] = Double(dba.ops)
        r.values["delta_new"] = Double(ib.report.new + ia.report.new)
        r.values["delta_refused"] = Double(ib.report.refused.count + ia.report.refused.count)

        let t3 = now()
        let (da, db) = (va.digest, vb.digest)
        r.values["compare_s"] = now() - t3
        r.values["converged"] = da == db ? 1 : 0
        r.info["digest_a"] = String(da.prefix(16))
        r.info["digest_b"] = String(db.prefix(16))
        // Where only A wrote a field, B shows A's value; where both wrote one, both writes are
        // kept as a conflict (Sandyq does not drop either), on both sides.
        let writtenB = Set(eb.map { "\($0.record)/\($0.field)" })
        let onlyA = ea.filter { !writtenB.contains("\($0.record)/\($0.field)") }
        r.values["one_sided_edits_visible"] = onlyA.allSatisfy { PeerWorkload.shown($0.field, in: vb.cases[casesB[$0.record]]!) == $0.value } ? 1 : 0
        let both = ea.filter { writtenB.contains("\($0.record)/\($0.field)") }
        r.values["same_field_conflicts"] = Double(both.count)
        r.values["conflicts_kept"] = Double(both.filter { e in
            [va.cases[idsA[e.record]]!, vb.cases[casesB[e.record]]!].allSatisfy { st in
                (st.register(PeerWorkload.path(e.field, in: st))?.survivors.count ?? 0) == 2
            }
        }.count)
        r.values["records_edited_on_both_sides"] = Double(Set(ea.map(\.record)).intersection(eb.map(\.record)).count)
        r.values["records_after"] = Double(vb.cases.count)
        Phases.finish(&r)
        return r
    }

    /// The plaintext of the full export: every envelope the founder holds, concatenated, for
    /// the encryption peer to encrypt. Runs right after the export phase, so it holds the same ops.
    static func plaintextPhase(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "peer-plaintext")
        let m = try Phases.meta(work)
        let node = try NodeHost.open(home: m.founderHome, passphrase: passphrase())
        let envs = try node.allEnvelopes()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(envs.reduce(0) { $0 + $1.encoded.count })
        for e in envs { bytes += e.encoded }
        try Data(bytes).write(to: URL(fileURLWithPath: plaintextPath(work)))
        r.values["ops"] = Double(envs.count)
        r.values["bytes"] = Double(bytes.count)
        return r
    }

    static func plaintextPath(_ work: String) -> String { work + "/peer-plaintext.bin" }

    // MARK: external peers

    /// Where the peer scripts and their Python are: bench.sh sets both; run by hand, the
    /// scripts are looked for under the current directory and Python is `python3`.
    static var scriptsDir: String? {
        let env = ProcessInfo.processInfo.environment
        for d in [env["SANDYQ_PEERS_DIR"], FileManager.default.currentDirectoryPath + "/scripts/peers"].compactMap({ $0 })
        where FileManager.default.fileExists(atPath: d + "/crdt_peer.py") { return d }
        return nil
    }

    static var python: String { ProcessInfo.processInfo.environment["SANDYQ_PEERS_PYTHON"] ?? "python3" }

    /// A scalar of the scripts' JSON.
    enum Scalar: Decodable {
        case bool(Bool), number(Double), text(String), null
        init(from d: Decoder) throws {
            let c = try d.singleValueContainer()
            if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let x = try? c.decode(Double.self) { self = .number(x) } else { self = .text(try c.decode(String.self)) }
        }
    }

    /// Runs one peer script (its stderr goes to ours), killed after `timeout` seconds.
    static func script(_ name: String, _ args: [String], timeout: Double = 900) -> Run {
        guard let dir = scriptsDir else { return Run(name: name, available: false, note: "scripts/peers not found") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python] + [dir + "/" + args[0]] + args.dropFirst()
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        do { try p.run() } catch { return Run(name: name, available: false, note: "cannot start \(python): \(error)") }
        let guardTimer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: guardTimer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guardTimer.cancel()
        guard p.terminationStatus == 0,
              let obj = try? JSONDecoder().decode([String: Scalar].self, from: data) else {
            return Run(name: name, available: false, note: "\(args[0]) exited with status \(p.terminationStatus) and no result")
        }
        var run = Run(name: name, available: true)
        for (k, v) in obj {
            switch v {
            case let .bool(b): run.values[k] = b ? 1 : 0; run.info[k] = b ? "yes" : "no"
            case let .number(x): run.values[k] = x
            case let .text(s): run.info[k] = s
            case .null: break
            }
        }
        run.available = run.values["available"] == 1 && run.values["failed"] != 1
        run.note = run.info["error"] ?? ""
        return run
    }

    /// The peers' part of the run: Sandyq's CRDT phase, then the Python CRDT libraries, then
    /// the encryption tool. A peer that cannot run is reported, not fatal.
    static func run(exe: String, work: String, quick: Bool, phases: [String: PhaseReport]) -> Output {
        let records = quick ? quickRecords : fullRecords
        var sandyq: PhaseReport?, sandyqError: String?
        do { sandyq = try SandyqBench.child(exe, phase: "peer-crdt", work: work, ops: records) } catch {
            sandyqError = "\(error)"
            stderrLine("sandyq-bench: peer-crdt phase failed: \(error)")
        }
        var crdt: [Run] = []
        for lib in ["loro", "pycrdt", "automerge"] {
            stderrLine("  peer \(lib)...")
            var r = script(lib, ["crdt_peer.py", "--lib", lib, "--records", String(records), "--edits", String(records / 2)])
            if r.available == false && r.note.isEmpty { r.note = "not available" }
            crdt.append(r)
        }
        let ex = phases["export"], pt = phases["peer-plaintext"]
        var enc: Run
        if pt != nil, fileSize(plaintextPath(work)) > 0 {
            stderrLine("  peer age...")
            enc = script("age", ["age_peer.py", "--input", plaintextPath(work), "--recipients", String(recipients), "--repeats", "3"])
        } else {
            enc = Run(name: "age", available: false, note: "no plaintext file (the peer-plaintext phase did not run)")
        }
        try? FileManager.default.removeItem(atPath: plaintextPath(work))
        return Output(records: records, edits: records / 2, quick: quick, sandyq: sandyq, sandyqError: sandyqError,
                      exportSeconds: ex?["export_s"] ?? .nan, exportCPUSeconds: ex?["export_cpu_s"] ?? .nan,
                      exportFileBytes: ex?["file_bytes"] ?? .nan, exportOps: ex?["ops"] ?? .nan,
                      plaintextBytes: pt?["bytes"] ?? .nan, crdt: crdt, encryption: enc)
    }

    // MARK: report

    static func seconds(_ wall: Double, _ cpu: Double) -> String {
        guard wall.isFinite else { return "n/a" }
        let d = wall < 0.1 ? 3 : 2
        return cpu.isFinite ? "\(fmt(wall, d)) s (\(fmt(cpu, d)) CPU)" : "\(fmt(wall, d)) s"
    }

    static func ratio(_ a: Double, _ b: Double) -> String {
        guard a.isFinite, b.isFinite, b > 0 else { return "n/a" }
        let x = a / b
        return x >= 10 ? "\(fmt(x))×" : "\(fmt(x, x < 0.1 ? 3 : 2))×"
    }

    static func markdown(_ o: Output) -> String {
        var s = "\n### Side-by-side peers\n\n"
        let scale = "\(fmt(Double(o.records))) records × 10 fields, then \(fmt(Double(o.edits))) concurrent edits per side"
        s += "**CRDT merge**: \(scale)"
        s += o.quick ? " (**--quick: scaled down** from 10,000 × 10 and 5,000 per side).\n" : ".\n"
        s += "Each ratio is Sandyq / peer: above 1× Sandyq takes longer or sends more. The peers keep one in-memory "
        s += "document per replica; Sandyq signs and encrypts every op, stores it in SQLite and exchanges encrypted bundle files. "
        s += "Times are wall seconds, with the process's CPU seconds in parentheses; ratios are of wall time (CPU time in parentheses).\n\n"
        let sq = o.sandyq
        let peers = o.crdt
        s += "| Measure | Sandyq |"
        for p in peers {
            let name = p.available ? "\(p.name) \(p.info["version"] ?? "")" : p.name
            s += " \(name) | Sandyq / \(p.name) |"
        }
        s += "\n|---|---:|" + String(repeating: "---:|---:|", count: peers.count) + "\n"
        func timeRow(_ label: String, _ k: String) {
            s += "| \(label) | \(sq.map { seconds($0[k + "_s"], $0[k + "_cpu_s"]) } ?? "failed") |"
            for p in peers {
                guard p.available, let q = sq else { s += " \(p.available ? "" : "—") | |"; continue }
                let cpuR = ratio(q[k + "_cpu_s"], p[k + "_cpu_s"])
                s += " \(seconds(p[k + "_s"], p[k + "_cpu_s"])) | **\(ratio(q[k + "_s"], p[k + "_s"]))** (\(cpuR)) |"
            }
            s += "\n"
        }
        func numRow(_ label: String, _ k: String, _ digits: Int = 0) {
            s += "| \(label) | \(sq.map { fmt($0[k], digits) } ?? "failed") |"
            for p in peers {
                guard p.available, let q = sq else { s += " \(p.available ? "" : "—") | |"; continue }
                s += " \(fmt(p[k], digits)) | **\(ratio(q[k], p[k]))** |"
            }
            s += "\n"
        }
        timeRow("create \(fmt(Double(o.records))) × 10 on A", "create")
        timeRow("replicate to B (full export + import, until B reads it)", "replicate")
        numRow("full state bytes", "full_bytes")
        timeRow("\(fmt(Double(o.edits))) edits on A", "edits_a")
        timeRow("\(fmt(Double(o.edits))) concurrent edits on B", "edits_b")
        timeRow("delta exchange both ways (export + import, until both read it)", "delta_exchange")
        numRow("delta bytes A → B", "delta_a_to_b_bytes")
        numRow("delta bytes B → A", "delta_b_to_a_bytes")
        numRow("peak RSS MiB", "peak_MiB", 1)
        s += "| converged (equal state on both sides) | \(sq.map { $0["converged"] == 1 ? "yes" : "**NO**" } ?? "failed") |"
        for p in peers { s += p.available ? " \(p["converged"] == 1 ? "yes" : "**NO**") | |" : " — | |" }
        s += "\n\n"
        for p in peers where !p.available {
            s += "- \(p.name): not run (\(p.note.isEmpty ? "not installed" : p.note)).\n"
        }
        if let e = o.sandyqError { s += "- Sandyq's run of the workload failed: \(e).\n" }
        if let q = sq {
            s += "- Sandyq: the peak RSS is the phase's own after the two unlocks (both nodes in one process); "
            s += "delta bundles carried \(fmt(q["delta_a_to_b_ops"])) and \(fmt(q["delta_b_to_a_ops"])) ops "
            s += "in bundle files, encrypted and padded to a chunk-count class (the envelopes alone: \(fmt(q["edits_a_envelope_bytes"])) and "
            s += "\(fmt(q["edits_b_envelope_bytes"])) bytes); the exchange split: export \(fmt(q["delta_export_s"], 2)) s, "
            s += "import \(fmt(q["delta_import_s"], 2)) s, view rebuild \(fmt(q["delta_view_s"], 2)) s. "
            s += "B's acknowledgement back to A (a bundle of no ops, \(fmt(q["ack_bytes"])) bytes, and A's view rebuilt after it) took "
            s += "\(fmt(q["ack_s"], 2)) s, outside the timed rows. "
            s += "Of \(fmt(q["same_field_conflicts"])) fields written on both sides, \(fmt(q["conflicts_kept"])) show both writes as a conflict on both nodes "
            s += "(the peers keep one winner); one-sided edits visible on B: \(q["one_sided_edits_visible"] == 1 ? "yes" : "NO"); "
            s += "view digests \(q.info["digest_a"] ?? "?") / \(q.info["digest_b"] ?? "?").\n"
        }
        if let am = peers.first(where: { $0.name == "automerge" && $0.available }) {
            s += "- automerge: its Python bindings have no export of changes since a version, so its delta figures are "
            s += "its sync protocol (\(fmt(am["sync_rounds"])) rounds of heads, Bloom filters and the missing changes).\n"
        }

        let e = o.encryption
        s += "\n**Bundle encryption**: the plaintext of the full export (every envelope the founder holds, "
        s += "\(fmt(o.plaintextBytes)) bytes, \(fmt(o.exportOps)) ops) encrypted to \(recipients) recipients.\n\n"
        s += "| Measure | Sandyq exportBundle(all: true) | \(e.available ? (e.info["tool"] ?? e.name) : e.name) | Sandyq / peer |\n|---|---:|---:|---:|\n"
        if e.available {
            s += "| encrypt to \(recipients) recipients (\(e.available ? "peer: median of \(fmt(e["repeats"]))" : "")) | "
            s += "\(seconds(o.exportSeconds, o.exportCPUSeconds)) | \(seconds(e["encrypt_s"], e["encrypt_cpu_s"])) | "
            s += "**\(ratio(o.exportSeconds, e["encrypt_s"]))** (\(ratio(o.exportCPUSeconds, e["encrypt_cpu_s"]))) |\n"
            s += "| MB/s of plaintext | \(fmt(o.plaintextBytes / o.exportSeconds / 1e6, 1)) | \(fmt(e["input_bytes"] / e["encrypt_s"] / 1e6, 1)) | |\n"
            s += "| output bytes | \(fmt(o.exportFileBytes)) | \(fmt(e["output_bytes"])) | \(ratio(o.exportFileBytes, e["output_bytes"])) |\n"
            s += "| decrypt (peer only; Sandyq's import also verifies and stores) | | \(seconds(e["decrypt_s"], e["decrypt_cpu_s"])) | |\n\n"
            s += "Sandyq's export also reads the ops from SQLite and frames them; the peer reads a file of the same bytes. "
            s += "Runs of the peer: \(e.info["encrypt_runs"] ?? "?") s.\n"
        } else {
            s += "| encrypt to \(recipients) recipients | \(seconds(o.exportSeconds, o.exportCPUSeconds)) | not run | |\n\n"
            s += "- \(e.name): not run (\(e.note.isEmpty ? "not installed" : e.note)).\n"
        }
        return s
    }
}
