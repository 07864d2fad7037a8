import Foundation
import SandyqCore
import SandyqCrypto
import SandyqNode
import SandyqStore

/// Each phase runs in its own child process (`sandyq-bench --phase NAME --work DIR --ops N`),
/// so its peak memory is its own. Homes and ids pass between phases through `meta.json`.
struct Meta: Codable {
    var project: String
    /// The founder (writes), the reader (a coordinator that imports and reads), a third
    /// coordinator (imports at the store level only) and a relay-role member.
    var founder: String
    var reader: String
    var third: String
    var relay: String
    var founderHome: String
    var readerHome: String
    var thirdHome: String
    var relayHome: String
}

enum Phases {
    static let batchSize = 1000

    static func run(_ name: String, work: String, ops n: Int) throws -> PhaseReport {
        switch name {
        case "setup": return try setup(work: work)
        case "write": return try write(work: work, ops: n)
        case "rebuild": return try rebuild(work: work)
        case "command": return try command(work: work)
        case "export": return try export(work: work)
        case "import-reader": return try importBundle(work: work, asReader: true)
        case "import-relay": return try importBundle(work: work, asReader: false)
        case "import-store": return try importStore(work: work)
        case "import-delta": return try importDelta(work: work)
        case "tcp": return try tcp(work: work)
        case "peer-crdt": return try Peers.crdtPhase(work: work, records: n)
        case "peer-plaintext": return try Peers.plaintextPhase(work: work)
        case "delivery-home": return try DeliveryFixture.run(work: work, ops: n)
        case "serve-load": return try ServeLoad.run(work: work, ops: n)
        case "evidence":
            let mib = ProcessInfo.processInfo.environment["SANDYQ_BENCH_EVIDENCE_MIB"].flatMap { Int($0) } ?? 256
            return try evidence(work: work, mebibytes: mib)
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
    static func unlock(_ home: String, into r: inout PhaseReport) throws -> NodeHost {
        let t = now()
        let node = try NodeHost.open(home: home, passphrase: passphrase())
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

    /// Sealing sessions announced in `envs` (ops that carry the content key sealed to each
    /// reader) and the sealed-box entries they carry.
    static func sessions(_ envs: [Envelope]) -> (sealed: Int, sessions: Int, entries: Int) {
        var sealed = 0, sessions = 0, entries = 0
        for e in envs where e.kind == .sealed {
            sealed += 1
            if let b = try? SealedBody(decoding: e.body), let k = b.sealedKeys ?? b.parentKeys {
                sessions += 1
                entries += k.count
            }
        }
        return (sealed, sessions, entries)
    }

    /// Four real nodes: the founder and two more coordinators (so every sealed op is sealed to
    /// three readers), and a relay-role member, which reads nothing and only carries bundles.
    static func setup(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "setup")
        let homes = ["founder", "reader", "third", "relay"].map { work + "/" + $0 }
        let t = now()
        let nodes = try homes.map { try NodeHost.initialize(home: $0, passphrase: passphrase(), parameters: .interactive) }
        r.values["initialize_4_nodes_s"] = now() - t
        let founder = nodes[0]
        let pid = try founder.admin.createProject(name: "Бенчмарк: дела 2019–2024")
        _ = try founder.members.add(nodes[1].nodeID, role: .coordinator)
        _ = try founder.members.add(nodes[2].nodeID, role: .coordinator)
        _ = try founder.members.add(nodes[3].nodeID, role: .relay)
        for n in nodes.dropFirst() { try n.admin.join(pid) }
        let m = Meta(project: pid.description, founder: founder.nodeID.description, reader: nodes[1].nodeID.description,
                     third: nodes[2].nodeID.description, relay: nodes[3].nodeID.description,
                     founderHome: homes[0], readerHome: homes[1], thirdHome: homes[2], relayHome: homes[3])
        try JSONEncoder().encode(m).write(to: URL(fileURLWithPath: work + "/meta.json"))
        r.values["coordinators"] = Double(try founder.view().membership.coordinators.count)
        finish(&r)
        return r
    }

    /// N ops through Node.cases.write(batch:) in batches of 1000: N/10 case creations, the rest
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
        var writeTime = 0.0, writeCPU = 0.0, prepTime = 0.0, mutationCount = 0
        var sessionCount = 0, entryCount = 0
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
            let sw = Stopwatch()
            let envs = try node.cases.write(batch: batch)
            writeTime += sw.wall
            writeCPU += sw.cpu
            prepTime += t1 - t0
            envBytes += envs.reduce(0) { $0 + $1.encoded.count }
            let ss = sessions(envs)
            sessionCount += ss.sessions
            entryCount += ss.entries
            cases += newIDs
            created += batchCreates
            written += size
        }
        r.values["ops"] = Double(written)
        r.values["cases"] = Double(created)
        r.values["sessions"] = Double(sessionCount)
        r.values["session_entries"] = Double(entryCount)
        r.values["edits"] = Double(edits)
        r.values["mutations"] = Double(mutationCount)
        r.values["write_s"] = writeTime
        r.values["write_cpu_s"] = writeCPU
        r.values["ops_per_cpu_s"] = Double(written) / writeCPU
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
        let sw = Stopwatch()
        let v = try node.view()
        r.values["view_s"] = sw.wall
        r.values["view_cpu_s"] = sw.cpu
        r.values["ops_per_cpu_s"] = Double(v.stats.ops) / sw.cpu
        r.values["ops"] = Double(v.stats.ops)
        r.values["readable"] = Double(v.stats.readable)
        r.values["unreadable"] = Double(v.stats.unreadable)
        r.values["cases"] = Double(v.cases.count)
        r.values["ops_per_s"] = Double(v.stats.ops) / r["view_s"]
        r.values["peak_view_MiB"] = Memory.peakMiB
        // Where the time goes, on a warm second pass: loading + decoding the log, then the derivation.
        let t1 = now()
        let envs = try node.allEnvelopes()
        let t2 = now()
        let v2 = try node.deriveView(from: envs)
        let t3 = now()
        let ss = sessions(envs)
        r.values["sealed_ops"] = Double(ss.sealed)
        r.values["sessions"] = Double(ss.sessions)
        r.values["session_entries"] = Double(ss.entries)
        r.values["load_decode_s"] = t2 - t1
        r.values["derive_s"] = t3 - t2
        r.info["digest_match"] = v2.digest == v.digest ? "yes" : "NO"
        finish(&r)
        return r
    }

    /// What a command adds after unlock: in a fresh node each time, timed from after
    /// `NodeHost.open` returns to the node's release, one case read (as `case show` does) from
    /// the view snapshot the rebuild phase left. Against it, in the same process, the plain
    /// read of that snapshot's rows from SQLite, the least a command starting from it must do.
    /// Medians of 5.
    static func command(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "command")
        let m = try meta(work)
        let ref = try NodeHost.open(home: m.founderHome, passphrase: passphrase()).view().cases.keys.min()!.description
        var wall: [Double] = [], cpu: [Double] = [], refWall: [Double] = [], refCPU: [Double] = []
        var snapshotBytes = 0
        for _ in 0..<5 {
            let sw: Stopwatch
            do {
                let host = try NodeHost.open(home: m.founderHome, passphrase: passphrase())
                sw = Stopwatch()
                Sink.value &+= UInt64(try host.cases.state(ref).ops.count)
            }
            wall.append(sw.wall); cpu.append(sw.cpu)
            let rw = Stopwatch()
            do {
                let store = try OpStore(path: m.founderHome + "/sandyq.db")
                // The rows Node+WarmView writes; the bench reads them as any SQLite client would.
                snapshotBytes = try store.settings(prefix: "viewsnapshot:").reduce(0) { $0 + $1.value.count }
            }
            refWall.append(rw.wall); refCPU.append(rw.cpu)
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        r.values["command_s"] = median(wall)
        r.values["command_cpu_s"] = median(cpu)
        r.values["snapshot_read_s"] = median(refWall)
        r.values["snapshot_read_cpu_s"] = median(refCPU)
        r.values["snapshot_bytes"] = Double(snapshotBytes)
        finish(&r)
        return r
    }

    static func export(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "export")
        let m = try meta(work)
        let node = try unlock(m.founderHome, into: &r)
        // The two other coordinators, and the relay so it can carry (and here import) the bundle.
        let to = [try nodeID(m.reader), try nodeID(m.third), try nodeID(m.relay)]
        let out = work + "/all.sqb"
        let sw = Stopwatch()
        let e = try node.exchange.exportBundle(to: to, out: out, all: true)
        r.values["export_s"] = sw.wall
        r.values["export_cpu_s"] = sw.cpu
        r.values["ops_per_cpu_s"] = Double(e.ops) / sw.cpu
        r.values["ops"] = Double(e.ops)
        r.values["files"] = Double(e.files.count)
        let bytes = e.files.reduce(0) { $0 + fileSize($1) }
        r.values["file_bytes"] = Double(bytes)
        r.values["ops_per_s"] = Double(e.ops) / r["export_s"]
        let totals = try node.storedEnvelopeTotals()
        let envSum = Double(totals.bytes)
        r.values["stored_ops"] = Double(totals.ops)
        r.values["envelope_bytes"] = envSum
        r.values["bytes_per_op"] = Double(bytes) / Double(e.ops)
        r.values["bundle_overhead_per_op_B"] = (Double(bytes) - envSum) / Double(e.ops)
        finish(&r)
        return r
    }

    /// `Node.importBundle` of the whole bundle. As "reader" (a coordinator) it then rebuilds
    /// the view on a freshly opened node (importBundle may leave a view cached); as "relay" (a
    /// relay-role member, which can read no op body) only the import is timed.
    static func importBundle(work: String, asReader: Bool) throws -> PhaseReport {
        var r = PhaseReport(phase: asReader ? "import-reader" : "import-relay")
        let m = try meta(work)
        let home = asReader ? m.readerHome : m.relayHome
        do {
            let node = try unlock(home, into: &r)
            let sw = Stopwatch()
            let imp = try node.exchange.importBundle(work + "/all.sqb")
            r.values["import_s"] = sw.wall
            r.values["import_cpu_s"] = sw.cpu
            r.values["ops_per_cpu_s"] = Double(imp.report.new + imp.report.known) / sw.cpu
            r.values["new"] = Double(imp.report.new)
            r.values["known"] = Double(imp.report.known)
            r.values["refused"] = Double(imp.report.refused.count)
            r.values["intact"] = imp.intact ? 1 : 0
            r.values["ops_per_s"] = Double(imp.report.new + imp.report.known) / r["import_s"]
            r.values["peak_import_MiB"] = Memory.peakMiB
        }
        var digest = ""
        if asReader {
            // A fresh node, so the view is built from the store; the importing node (and any
            // view it cached) is gone and its memory handed back first.
            let fresh = try NodeHost.open(home: home, passphrase: passphrase())
            Memory.releaseFreed()
            Memory.resetPeak()
            let sw1 = Stopwatch()
            let v = try fresh.view()
            r.values["view_s"] = sw1.wall
            r.values["view_cpu_s"] = sw1.cpu
            r.values["view_ops_per_cpu_s"] = Double(v.stats.ops) / sw1.cpu
            r.values["view_ops"] = Double(v.stats.ops)
            r.values["view_readable"] = Double(v.stats.readable)
            r.values["view_unreadable"] = Double(v.stats.unreadable)
            r.values["view_cases"] = Double(v.cases.count)
            r.values["view_ops_per_s"] = Double(v.stats.ops) / r["view_s"]
            r.values["peak_view_MiB"] = Memory.peakMiB
            let ss = sessions(try fresh.allEnvelopes())
            r.values["view_sealed_ops"] = Double(ss.sealed)
            r.values["view_sessions"] = Double(ss.sessions)
            r.values["view_session_entries"] = Double(ss.entries)
            // Sealed-box opens each view made: 0 means its keys came from the cache.
            r.values["view_box_opens"] = Double(v.boxOpens)
            digest = v.digest
        }
        if asReader {
            // Unlock and view again: the session keys that view opened are cached now. The first
            // node and view are gone and their memory handed back first, as for the first view:
            // timed beside them, this view measured the allocator, not the cache.
            Memory.releaseFreed()
            let warm = try NodeHost.open(home: home, passphrase: passphrase())
            let sw2 = Stopwatch()
            let v2 = try warm.view()
            r.values["view_warm_s"] = sw2.wall
            r.values["view_warm_cpu_s"] = sw2.cpu
            r.info["view_warm_digest_match"] = v2.digest == digest ? "yes" : "NO"
            r.values["view_warm_box_opens"] = Double(v2.boxOpens)
        }
        if asReader { try cacheEffect(home: home, into: &r) }
        finish(&r)
        return r
    }

    /// The session-key cache's effect in this run, under equal conditions: views on freshly
    /// unlocked nodes, each after the last one's memory is handed back, alternately with the
    /// cache emptied (cold) and filled by that cold view (cached); best of 3 each.
    static func cacheEffect(home: String, into r: inout PhaseReport) throws {
        var best: [Bool: (wall: Double, cpu: Double, opens: Int)] = [:]
        for _ in 0..<3 {
            for cached in [false, true] {
                if !cached { try NodeHost.dropCachedSessionKeys(home: home) }
                Memory.releaseFreed()
                let node = try NodeHost.open(home: home, passphrase: passphrase())
                let sw = Stopwatch()
                let v = try node.view()
                let (wall, cpu) = (sw.wall, sw.cpu)
                if wall < best[cached]?.wall ?? .infinity { best[cached] = (wall, cpu, v.boxOpens) }
            }
        }
        for (cached, name) in [(false, "cold"), (true, "cached")] {
            r.values["view_\(name)_best_s"] = best[cached]!.wall
            r.values["view_\(name)_best_cpu_s"] = best[cached]!.cpu
            r.values["view_\(name)_best_box_opens"] = Double(best[cached]!.opens)
        }
    }

    /// The store-level import alone, as importBundle did before it also refreshed the view:
    /// BundleReader + OpStore.importBatches (decrypt chunks, verify, chain checks, insert).
    static func importStore(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "import-store")
        let m = try meta(work)
        let node = try unlock(m.thirdHome, into: &r)
        guard try node.project() != nil else { throw NodeError(.usage, "third node has no project") }
        let sw = Stopwatch()
        let rep = try node.importAtStoreLevel(bundle: work + "/all.sqb")
        r.values["import_s"] = sw.wall
        r.values["import_cpu_s"] = sw.cpu
        r.values["new"] = Double(rep.new)
        r.values["refused"] = Double(rep.refused.count)
        r.values["ops_per_s"] = Double(rep.new + rep.known) / sw.wall
        r.values["ops_per_cpu_s"] = Double(rep.new + rep.known) / sw.cpu
        finish(&r)
        return r
    }

    /// A small change in a large log: the founder makes 10 more edits and bundles only what
    /// the reader lacks (the reader's holdings acknowledged, as its next bundle would); the
    /// reader, already holding every op, imports that bundle.
    static func importDelta(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "import-delta")
        let m = try meta(work)
        let reader = try unlock(m.readerHome, into: &r)
        let out = work + "/delta.sqb"
        do {
            let founder = try NodeHost.open(home: m.founderHome, passphrase: passphrase())
            try founder.acknowledge(try reader.exchange.versionVector(), by: reader.nodeID)
            var rng = SplitMix(seed: 0xDE17A)
            let v = try founder.view()
            let ids = Array(v.cases.keys.sorted().prefix(10))
            let batch = try ids.map { [try Workload.edit(v.cases[$0]!, &rng)] }
            _ = try founder.cases.write(batch: batch)
            let sw0 = Stopwatch()
            let e = try founder.exchange.exportBundle(to: [reader.nodeID], out: out)
            r.values["export_s"] = sw0.wall
            r.values["export_cpu_s"] = sw0.cpu
            r.values["ops"] = Double(e.ops)
            r.values["file_bytes"] = Double(e.files.reduce(0) { $0 + fileSize($1) })
        }
        Memory.releaseFreed()
        Memory.resetPeak()
        let sw = Stopwatch()
        let imp = try reader.exchange.importBundle(out)
        r.values["import_s"] = sw.wall
        r.values["import_cpu_s"] = sw.cpu
        r.values["new"] = Double(imp.report.new)
        r.values["known"] = Double(imp.report.known)
        r.values["refused"] = Double(imp.report.refused.count)
        r.values["peak_import_MiB"] = Memory.peakMiB
        r.values["log_ops"] = Double(try reader.opCount())
        finish(&r)
        return r
    }

    /// TCP on loopback: the founder serves; a fresh member syncs the whole log, then the
    /// founder writes one op and the member syncs again (the delta: bytes and milliseconds).
    static func tcp(work: String) throws -> PhaseReport {
        var r = PhaseReport(phase: "tcp")
        let m = try meta(work)
        let founder = try unlock(m.founderHome, into: &r)
        guard let pid = try founder.project(), let nk = try founder.admin.networkKey() else { throw NodeError(.usage, "founder has no project") }
        let home = work + "/tcp-member"
        let member = try NodeHost.initialize(home: home, passphrase: passphrase(), parameters: .interactive)
        try member.admin.join(pid, networkKey: nk)
        _ = try founder.members.add(member.nodeID, role: .coordinator)
        final class Flag: @unchecked Sendable {
            let lock = NSLock(); var stop = false; var port: UInt16 = 0
        }
        let flag = Flag()
        let ready = DispatchSemaphore(value: 0)
        let server = Thread {
            try? founder.exchange.serve(listen: "127.0.0.1:0", shouldStop: { flag.lock.lock(); defer { flag.lock.unlock() }; return flag.stop },
                               onListening: { p in flag.lock.lock(); flag.port = p; flag.lock.unlock(); ready.signal() }, log: { _ in })
        }
        server.start()
        ready.wait()
        let address = "127.0.0.1:\(flag.port)"
        Memory.resetPeak()
        let sw = Stopwatch()
        let full = try member.exchange.sync(with: address, expecting: founder.nodeID)
        r.values["full_s"] = sw.wall
        r.values["full_cpu_s"] = sw.cpu
        r.values["full_ops"] = Double(full.report.new)
        r.values["full_ops_per_s"] = Double(full.report.new) / sw.wall
        r.values["full_ops_per_cpu_s"] = Double(full.report.new) / sw.cpu
        r.values["full_bytes"] = Double(full.bytesReceived + full.bytesSent)
        r.values["peak_full_MiB"] = Memory.peakMiB
        // One new op on the founder's side, written through its own unlocked node.
        let writer = try NodeHost.open(home: m.founderHome, passphrase: passphrase())
        var rng = SplitMix(seed: 0x7C9)
        let v = try writer.view()
        guard let id = v.cases.keys.sorted().first else { throw NodeError(.usage, "no case to edit") }
        _ = try writer.cases.write(batch: [[try Workload.edit(v.cases[id]!, &rng)]])
        let sw2 = Stopwatch()
        let delta = try member.exchange.sync(with: address, expecting: founder.nodeID)
        r.values["delta_ms"] = sw2.wall * 1000
        r.values["delta_ops"] = Double(delta.report.new)
        r.values["delta_bytes"] = Double(delta.bytesReceived + delta.bytesSent)
        flag.lock.lock(); flag.stop = true; flag.lock.unlock()
        while !server.isFinished { usleep(10_000) }
        finish(&r)
        return r
    }

    /// MiB/s of the three things an attach cannot avoid, each alone over the same file.
    static func evidenceBounds(file: String, scratch: String, mebibytes n: Int) throws -> [String: Double] {
        let key = SymmetricKey()
        let nonce = AEAD.randomNonce()
        let h = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        defer { try? h.close() }
        var pieces: [[UInt8]] = []
        for _ in 0..<n { pieces.append([UInt8](try h.read(upToCount: 1 << 20) ?? Data())) }
        var sw = Stopwatch()
        var sink = 0
        for p in pieces { sink &+= AEAD.seal(p, key: key, nonce: nonce, associatedData: [1, 2, 3]).count }
        let aead = Double(n) / sw.wall
        sw = Stopwatch()
        let sha = SHA256()
        for p in pieces { sha.update(p) }
        sink &+= sha.finalize().count
        let hash = Double(n) / sw.wall
        FileManager.default.createFile(atPath: scratch, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch))
        sw = Stopwatch()
        for p in pieces { try out.write(contentsOf: Data(p)) }
        try out.synchronize()
        let disk = Double(n) / sw.wall
        try out.close()
        try? FileManager.default.removeItem(atPath: scratch)
        _ = sink
        return ["aead_MiB_s": aead, "sha256_MiB_s": hash, "disk_MiB_s": disk]
    }

    /// Attaches one file of `mebibytes` MiB to a case in a fresh node, then exports it: the
    /// peak memory of each must stay near the 1 MiB chunk, not the file. Run on its own:
    /// `SANDYQ_BENCH_EVIDENCE_MIB=256 sandyq-bench --phase evidence --work DIR`.
    static func evidence(work: String, mebibytes n: Int) throws -> PhaseReport {
        var r = PhaseReport(phase: "evidence")
        let home = work + "/evidence-home"
        let node = try NodeHost.initialize(home: home, passphrase: passphrase(), parameters: .interactive)
        _ = try node.admin.createProject(name: "Бенчмарк: дәлелдер")
        var doc = CaseDocument()
        doc.title = "Дәлел"
        let id = try node.cases.add(doc)
        let file = work + "/evidence.bin"
        FileManager.default.createFile(atPath: file, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        for _ in 0..<max(1, n) { try h.write(contentsOf: Data(Random.bytes(1 << 20))) }
        try h.close()
        _ = Memory.resetPeak()
        let base = Memory.currentMiB
        var sw = Stopwatch()
        _ = try node.evidence.attach(id.description, path: file)
        r.values["attach_s"] = sw.wall
        // CPU time over all threads: far below wall time means the attach waits on the disk.
        r.values["attach_cpu_s"] = sw.cpu
        r.values["attach_peak_over_start_MiB"] = Memory.peakMiB - base
        _ = Memory.resetPeak()
        sw = Stopwatch()
        let x = try node.evidence.export(to: work + "/evidence-out")
        r.values["export_s"] = sw.wall
        r.values["export_cpu_s"] = sw.cpu
        r.values["export_peak_over_start_MiB"] = Memory.peakMiB - base
        // Carried to a second coordinator in one bundle, then imported there: the import reads
        // the bundle twice (ops, then chunks), opens each chunk and checks the whole file.
        let peer = try NodeHost.initialize(home: work + "/evidence-peer", passphrase: passphrase(), parameters: .interactive)
        _ = try node.members.add(peer.nodeID, role: .coordinator)
        try peer.admin.join(try node.view().project)
        let bundle = work + "/evidence.sqb"
        _ = try node.exchange.exportBundle(to: [peer.nodeID], out: bundle)
        _ = Memory.resetPeak()
        sw = Stopwatch()
        let got = try peer.exchange.importBundle(bundle)
        r.values["import_s"] = sw.wall
        r.values["import_cpu_s"] = sw.cpu
        r.values["import_peak_over_start_MiB"] = Memory.peakMiB - base
        r.values["import_verified"] = Double(got.chunks.verified.count)
        let mib = Double(max(1, n))
        r.values["file_MiB"] = mib
        r.values["exported"] = Double(x.written.count)
        // The bounds, measured in the same run on the same bytes: sealing them in 1 MiB chunks,
        // hashing them with SHA-256 (the record's digest) and writing them to disk with a sync.
        let refs = try evidenceBounds(file: file, scratch: work + "/evidence-disk.bin", mebibytes: max(1, n))
        for (k, v) in refs { r.values[k] = v }
        let attach = mib / r.values["attach_s"]!, export = mib / r.values["export_s"]!, imported = mib / r.values["import_s"]!
        let bound = min(refs["aead_MiB_s"]!, refs["disk_MiB_s"]!)
        r.values["attach_MiB_s"] = attach
        r.values["export_MiB_s"] = export
        r.values["attach_share_of_bound"] = attach / bound
        r.values["export_share_of_bound"] = export / bound
        r.values["import_MiB_s"] = imported
        r.values["import_share_of_bound"] = imported / bound
        r.info["loadavg"] = loadAverage()
        #if DEBUG
        r.info["build"] = "debug"
        #else
        r.info["build"] = "release"
        #endif
        finish(&r)
        return r
    }
}
