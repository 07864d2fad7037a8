import Foundation
import SandyqCore
import SandyqNode

/// The coordinator's node the delivery page is measured on (issue 18: < 200 ms on 100,000 ops
/// from 50 authors): `authors` nodes, one the founder, each writing its share of `n` ops; every
/// member's bundle reaches the founder as a stick would bring it, so the founder knows who
/// holds what. The founder then writes 1% more that no one else holds yet, so the page has
/// something to warn about. The founder's home is written to `work/delivery.json`.
enum DeliveryFixture {
    struct Out: Codable { var home: String; var node: String; var ops: Int; var authors: Int }

    static func run(work: String, ops n: Int) throws -> PhaseReport {
        var r = PhaseReport(phase: "delivery-home")
        let authors = max(2, ProcessInfo.processInfo.environment["SANDYQ_BENCH_AUTHORS"].flatMap { Int($0) } ?? 50)
        let per = n / authors
        let start = now()
        let nodes = try (0..<authors).map { i in
            try NodeHost.initialize(home: "\(work)/node-\(i)", passphrase: passphrase(), parameters: .interactive)
        }
        let founder = nodes[0]
        let pid = try founder.admin.createProject(name: "Жеткізу: 50 автор")
        // A coordinator in every twelve; the rest record as reporters.
        for (i, node) in nodes.enumerated().dropFirst() { _ = try founder.members.add(node.nodeID, role: i % 12 == 0 ? .coordinator : .reporter) }
        for node in nodes.dropFirst() {
            try node.admin.join(pid)
            _ = try node.exchange.importEnvelopes(try founder.exchange.envelopes(missingFrom: try node.exchange.versionVector()))
        }
        r.values["setup_s"] = now() - start
        var rng = SplitMix(seed: 0xDE11_7E57)
        var t = now()
        for node in nodes { try write(node, ops: per, &rng) }
        r.values["write_s"] = now() - t
        t = now()
        for (i, node) in nodes.enumerated().dropFirst() {
            let out = "\(work)/from-\(i).sqb"
            let e = try node.exchange.exportBundle(to: [founder.nodeID], out: out)
            for f in e.files { _ = try founder.exchange.importBundle(f); try? FileManager.default.removeItem(atPath: f) }
        }
        r.values["carry_s"] = now() - t
        try write(founder, ops: max(1, n / 100), &rng)
        let held = try founder.opCount()
        r.values["founder_ops"] = Double(held)
        r.values["authors"] = Double(authors)
        let out = Out(home: "\(work)/node-0", node: founder.nodeID.description, ops: held, authors: authors)
        try JSONEncoder().encode(out).write(to: URL(fileURLWithPath: work + "/delivery.json"))
        r.values["total_s"] = now() - start
        Phases.finish(&r)
        return r
    }

    /// `n` ops on `node`: a tenth creates cases, the rest edit distinct ones, in batches.
    static func write(_ node: NodeHost, ops n: Int, _ rng: inout SplitMix) throws {
        var cases: [CaseID] = []
        var written = 0
        while written < n {
            let size = min(Phases.batchSize, n - written)
            let creates = cases.isEmpty ? min(size, max(1, n / 10)) : min(size, max(0, n / 10 - cases.count))
            let view = try node.view()
            var batch: [[Mutation]] = []
            var newIDs: [CaseID] = []
            for i in 0..<creates {
                let id = CaseID.random()
                batch.append(try CaseEditor.create(Workload.document(cases.count + i, &rng), id: id))
                newIDs.append(id)
            }
            var chosen = Set<Int>()
            for _ in 0..<(size - creates) where !cases.isEmpty {
                var k = Int(rng.next() % UInt64(cases.count))
                if cases.count >= size { while chosen.contains(k) { k = Int(rng.next() % UInt64(cases.count)) } }
                chosen.insert(k)
                batch.append([try Workload.edit(view.cases[cases[k]]!, &rng)])
            }
            _ = try node.cases.write(batch: batch)
            cases += newIDs
            written += batch.count
        }
    }
}
