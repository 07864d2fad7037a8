import Foundation
import SandyqCore
import SandyqCrypto
import SandyqNode
import SandyqStore

/// Each phase runs in its own child process (`sandyq-bench --phase NAME --work DIR --ops N`),
/// so its peak memory is its own. Homes and ids pass between phases through `meta.json`.
struct Meta: Codable {
    var project: String
    var founder: String
    var reader: String
    var relay: String
    var founderHome: String
    var readerHome: String
    var relayHome: String
}

enum Phases {
    static let batchSize = 1000

    static func run(_ name: String, work: String, ops n: Int) throws -> PhaseReport {
        switch name {
        case "setup": return try setup(work: work)
        case "write": return try write(work: work, ops: n)
        case "rebuild": return try rebuild(work: work)
        case "export": return try export(work: work)
        case "import-reader": return try importBundle(work: work, asReader: true)
        case "import-relay": return try importBundle(work: work, asReader: false)
        default: throw NodeError(.usage, "unknown phase \(name)")
        }
    }

    static func meta(_ work: String) throws -> Meta {
        try JSONDecoder().decode(Meta.self, from: Data(contentsOf: URL(fileURLWithPath: work + "/meta.json")))
    }

    static func nodeID(_ s: String) throws -> NodeID {
        guard let id = NodeID(string: s) else { throw NodeError(.corrupt, "bad node id in meta.json") }
        return id
    }

    /// Opens a node, timing the unlock (Argon2id dominates), then resets the peak-memory mark.
    static func unlock(_ home: String, into r: inout PhaseReport) throws -> Node {
        let t = now()
        let node = try Node.open(home: home, passphrase: passphrase())
        r.values["unlock_s"] = now() - t
        r.values["peak_unlock_MiB"] = Memory.peakMiB
        r.values["peak_reset_ok"] = Memory.resetPeak() ? 1 : 0
        r.values["rss_after_unlock_MiB"] = Memory.currentMiB
        return node
    }

    static func finish(_ r: inout PhaseReport) {
        r.values["peak_MiB"] = Memory.peakMiB
        r.values["rss_end_MiB"] = Memory.currentMiB
    }

    /// Three real nodes: the founder, and two coordinators (the "reader" and the "relay" import
    /// targets), so every sealed op is sealed to three readers.
    static func setup(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "setup")
        let homes = ["founder", "reader", "relay"].map { work + "/" + $0 }
        let t = now()
        let founder = try Node.initialize(home: homes[0], passphrase: passphrase(), parameters: .interactive)
        let reader = try Node.initialize(home: homes[1], passphrase: passphrase(), parameters: .interactive)
        let relay = try Node.initialize(home: homes[2], passphrase: passphrase(), parameters: .interactive)
        r.values["initialize_3_nodes_s"] = now() - t
        let pid = try founder.createProject(name: "Бенчмарк: дела 2019–2024")
        _ = try founder.addMember(reader.nodeID, role: .coordinator)
        _ = try founder.addMember(relay.nodeID, role: .coordinator)
        try reader.join(pid)
        try relay.join(pid)
        let m = Meta(project: pid.description, founder: founder.nodeID.description, reader: reader.nodeID.description,
                     relay: relay.nodeID.description, founderHome: homes[0], readerHome: homes[1], relayHome: homes[2])
        try JSONEncoder().encode(m).write(to: URL(fileURLWithPath: work + "/meta.json"))
        r.values["coordinators"] = Double(try founder.view().membership.coordinators.count)
        finish(&r)
        return r
    }

    /// N ops through Node.write(batch:) in batches of 1000: N/10 case creations, the rest
    /// single-field edits of existing cases (distinct cases within a batch, so no self-conflicts).
    static func write(work: String, ops n: Int) throws -> PhaseReport {
        var r = PhaseReport(phase: "write")
        let m = try meta(work)
        let node = try unlock(m.founderHome, into: &r)
        var rng = SplitMix(seed: 0x5A4E_4459)
        let creates = max(1, n / 10)
        var cases: [CaseID] = []
        cases.reserveCapacity(creates)
        var written = 0, created = 0
        var envBytes = 0, payloadBytes = 0, createPayload = 0, editPayload = 0, edits = 0
        var writeTime = 0.0, prepTime = 0.0, mutationCount = 0
        let start = now()
        while written < n {
            let size = min(batchSize, n - written)
            // The first batch creates cases only (there is nothing to edit yet); later batches
            // spread the remaining creations evenly.
            let batchCreates: Int
            if created == 0 {
                batchCreates = min(size, creates)
            } else {
                let batchesLeft = (n - written + batchSize - 1) / batchSize
                batchCreates = min(size, (creates - created + batchesLeft - 1) / batchesLeft)
            }
            let t0 = now()
            var batch: [[Mutation]] = []
            var newIDs: [CaseID] = []
            do {
                let view = try node.view()
                for i in 0..<batchCreates {
                    let id = CaseID.random()
                    let ms = try CaseEditor.create(Workload.document(created + i, &rng), id: id)
                    let p = Payload(clock: 0, mutations: ms).encoded().count
                    createPayload += p; payloadBytes += p
                    batch.append(ms); newIDs.append(id)
                }
                // Distinct existing cases for the edits of this batch.
                let editCount = size - batchCreates
                var chosen = Set<Int>()
                for _ in 0..<editCount {
                    var k = Int(rng.next() % UInt64(cases.count))
                    if cases.count >= editCount { while chosen.contains(k) { k = Int(rng.next() % UInt64(cases.count)) } }
                    chosen.insert(k)
                    let ms = [try Workload.edit(view.cases[cases[k]]!, &rng)]
                    let p = Payload(clock: 0, mutations: ms).encoded().count
                    editPayload += p; payloadBytes += p; edits += 1
                    batch.append(ms)
                }
            }
            mutationCount += batch.reduce(0) { $0 + $1.count }
            let t1 = now()
            let envs = try node.write(batch: batch)
            let t2 = now()
            prepTime += t1 - t0
            writeTime += t2 - t1
            envBytes += envs.reduce(0) { $0 + $1.encoded.count }
            cases += newIDs
            created += batchCreates
            written += size
        }
        r.values["ops"] = Double(written)
        r.values["cases"] = Double(created)
        r.values["edits"] = Double(edits)
        r.values["mutations"] = Double(mutationCount)
        r.values["write_s"] = writeTime
        r.values["prep_s"] = prepTime
        r.values["total_s"] = now() - start
        r.values["ops_per_s"] = Double(written) / writeTime
        r.values["ops_per_s_incl_prep"] = Double(written) / (prepTime + writeTime)
        r.values["mean_envelope_B"] = Double(envBytes) / Double(written)
        r.values["mean_payload_B"] = Double(payloadBytes) / Double(written)
        r.values["mean_create_payload_B"] = Double(createPayload) / Double(created)
        r.values["mean_edit_payload_B"] = edits > 0 ? Double(editPayload) / Double(edits) : .nan
        // The signed part of an envelope: everything but the 64-byte signature.
        r.values["mean_signed_B"] = Double(envBytes) / Double(written) - 64
        r.values["db_bytes"] = Double(fileSize(Node.databasePath(m.founderHome)) + fileSize(Node.databasePath(m.founderHome) + "-wal"))
        finish(&r)
        return r
    }

    /// Node.open (unlock), then view(): the ProjectView over every op held.
    static func rebuild(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "rebuild")
        let m = try meta(work)
        let node = try unlock(m.founderHome, into: &r)
        let t = now()
        let v = try node.view()
        r.values["view_s"] = now() - t
        r.values["ops"] = Double(v.stats.ops)
        r.values["readable"] = Double(v.stats.readable)
        r.values["unreadable"] = Double(v.stats.unreadable)
        r.values["cases"] = Double(v.cases.count)
        r.values["ops_per_s"] = Double(v.stats.ops) / r["view_s"]
        r.values["peak_view_MiB"] = Memory.peakMiB
        // Where the time goes, on a warm second pass: loading + decoding the log, then the derivation.
        let t1 = now()
        let envs = try node.store.allEnvelopes()
        let t2 = now()
        let pid = try node.project()!
        let v2 = ProjectView(project: pid, envelopes: envs, reader: node.identity.box)
        let t3 = now()
        r.values["load_decode_s"] = t2 - t1
        r.values["derive_s"] = t3 - t2
        r.info["digest_match"] = v2.digest == v.digest ? "yes" : "NO"
        finish(&r)
        return r
    }

    static func export(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "export")
        let m = try meta(work)
        let node = try unlock(m.founderHome, into: &r)
        let to = [try nodeID(m.reader), try nodeID(m.relay)]
        let out = work + "/all.sqb"
        let t = now()
        let e = try node.exportBundle(to: to, out: out, all: true)
        r.values["export_s"] = now() - t
        r.values["ops"] = Double(e.ops)
        r.values["files"] = Double(e.files.count)
        let bytes = e.files.reduce(0) { $0 + fileSize($1) }
        r.values["file_bytes"] = Double(bytes)
        r.values["ops_per_s"] = Double(e.ops) / r["export_s"]
        let s = try node.store.db.prepare("SELECT count(*), sum(length(envelope)) FROM ops")
        _ = try s.step()
        let envSum = Double(s.int(1))
        r.values["stored_ops"] = Double(s.int(0))
        r.values["envelope_bytes"] = envSum
        r.values["bytes_per_op"] = Double(bytes) / Double(e.ops)
        r.values["bundle_overhead_per_op_B"] = (Double(bytes) - envSum) / Double(e.ops)
        finish(&r)
        return r
    }

    /// Imports the bundle into a coordinator it is addressed to. As "reader" it then rebuilds
    /// its view; as "relay" only the import is timed (importBundle never decrypts op bodies,
    /// whatever the importer's role, so a relay-role node takes exactly this path).
    static func importBundle(work: String, asReader: Bool) throws -> PhaseReport {
        var r = PhaseReport(phase: asReader ? "import-reader" : "import-relay")
        let m = try meta(work)
        let node = try unlock(asReader ? m.readerHome : m.relayHome, into: &r)
        let t = now()
        let imp = try node.importBundle(work + "/all.sqb")
        r.values["import_s"] = now() - t
        r.values["new"] = Double(imp.report.new)
        r.values["known"] = Double(imp.report.known)
        r.values["refused"] = Double(imp.report.refused.count)
        r.values["intact"] = imp.intact ? 1 : 0
        r.values["ops_per_s"] = Double(imp.report.new + imp.report.known) / r["import_s"]
        r.values["peak_import_MiB"] = Memory.peakMiB
        if asReader {
            Memory.resetPeak()
            let t1 = now()
            let v = try node.view()
            r.values["view_s"] = now() - t1
            r.values["view_ops"] = Double(v.stats.ops)
            r.values["view_readable"] = Double(v.stats.readable)
            r.values["view_unreadable"] = Double(v.stats.unreadable)
            r.values["view_cases"] = Double(v.cases.count)
            r.values["view_ops_per_s"] = Double(v.stats.ops) / r["view_s"]
            r.values["peak_view_MiB"] = Memory.peakMiB
        }
        finish(&r)
        return r
    }
}
