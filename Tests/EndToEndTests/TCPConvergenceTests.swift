import Foundation
import Testing

// Four nodes as separate processes with separate homes, syncing over TCP on 127.0.0.1 (port 0,
// --port-file). A founds the project and adds B, C and D as coordinators before any case exists;
// each of B, C, D first syncs with A pinning A's key (--peer), as a new member must.

/// A founded project with B, C, D admitted as coordinators, and one case everyone will edit.
struct TCPProject {
    let a: TCPNode, b: TCPNode, c: TCPNode, d: TCPNode
    let project: String
    let networkKey: String
    let sharedCase: String

    var all: [TCPNode] { [a, b, c, d] }
    var others: [TCPNode] { [b, c, d] }

    static func found(_ tag: String) throws -> TCPProject {
        let n = try TCPNode.make(["A", "B", "C", "D"])
        let (a, b, c, d) = (n[0], n[1], n[2], n[3])
        let project = try a.json(["project", "create", "TCP \(tag)"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.count == 64 && key.allSatisfy(\.isHexDigit), "project key printed '\(key)'")
        _ = try tcpParallel([b, c, d]) { try $0.ok(["join", project, "--network-key", key]) }
        for x in [b, c, d] { try a.ok(["member", "add", x.nodeId, "--role", "coordinator"]) }
        let shared = try a.json(["case", "add", "--title", "Shared \(tag)", "--city", "Almaty"])["id"] as? String ?? ""
        return TCPProject(a: a, b: b, c: c, d: d, project: project, networkKey: key, sharedCase: shared)
    }

    /// Every node's digest, in A, B, C, D order.
    func digests() throws -> [String] { try tcpParallel(all) { try $0.digest() } }
}

@Suite struct TCPConvergenceTests {
    @Test func starOfFourConvergesOverTCP() throws {
        let p = try TCPProject.found("star")
        let server = try TCPServer(p.a)
        defer { server.stop() }

        // First contact: each new member pins A's key, then gets the membership and the shared case.
        for x in p.others {
            let s = try x.syncOK(server.address, peer: p.a.nodeId, "(first contact)")
            #expect(s["sent"] as? Int == 0, "\(x.name) had nothing to send: \(s)")
            #expect((s["received"] as? Int ?? 0) >= 5, "\(x.name) got too little: \(s)")
            let shown = try x.json(["case", "show", p.sharedCase])
            #expect((shown["document"] as? [String: Any])?["title"] as? String == "Shared star", "\(x.name) cannot read the shared case: \(shown)")
        }

        // Concurrently: each adds cases of its own and sets the same field of the shared case.
        _ = try tcpParallel(p.others) { x in
            try x.ok(["case", "add", "--title", "From \(x.name) 1", "--city", "Aktau"])
            try x.ok(["case", "add", "--title", "From \(x.name) 2"])
            try x.ok(["case", "edit", p.sharedCase, "--city", "City of \(x.name)"])
        }

        // Two rounds; within a round the three syncs run at once against the one server.
        var received: [String: Int] = [:]
        for round in 1...2 {
            let sums = try tcpParallel(p.others) { x in (x.name, try x.syncOK(server.address, peer: nil, "(round \(round))")) }
            for (name, s) in sums {
                #expect(s["refused"] as? Int == 0, "round \(round) \(name): \(s)")
                // Each wrote 3 ops nobody else holds, after the reader-key announcement its first
                // write carried: all 4 go to A in round 1, none later.
                #expect(s["sent"] as? Int == (round == 1 ? 4 : 0), "round \(round) \(name): \(s)")
                received[name, default: 0] += s["received"] as? Int ?? 0
            }
        }
        // Across both rounds each got exactly the other two members' 4 + 4 ops.
        for x in p.others { #expect(received[x.name] == 8, "\(x.name) received \(received[x.name] ?? -1) new ops over two rounds") }

        let digests = try p.digests()
        #expect(Set(digests).count == 1, "digests differ: \(zip(p.all.map(\.name), digests).map { "\($0)=\($1.prefix(12))" })")
        let counts = try p.all.map(tcpStoredOps)
        #expect(Set(counts).count == 1, "op counts differ: \(counts)")

        // The three concurrent edits of one field merged into the same open conflict everywhere.
        let r = try p.a.ok(["case", "conflicts", "--json"])
        let rows = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [[String: Any]] ?? []
        let city = rows.first { $0["caseId"] as? String == p.sharedCase && $0["field"] as? String == "city" }
        let values = Set(((city?["values"] as? [[String: Any]]) ?? []).compactMap { $0["value"] as? String })
        #expect(values == ["City of B", "City of C", "City of D"], "conflict on A: \(rows)")

        #expect(server.stop(), "A's server did not stop cleanly on SIGTERM: \(server.log)")
        #expect(server.log.contains("stopped"))
        let ok = server.connectionLines.filter { $0.contains(": sent ") }
        #expect(ok.count == 9, "A logged \(ok.count) completed sessions, expected 9:\n\(server.log)")
    }

    @Test func chainOfFourConvergesOneHopPerRound() throws {
        let p = try TCPProject.found("chain")
        // Bootstrap: every member learns the membership from A.
        do {
            let boot = try TCPServer(p.a)
            defer { boot.stop() }
            for x in p.others { try x.syncOK(boot.address, peer: p.a.nodeId, "(first contact)") }
        }

        // New writes at both ends and in the middle, including the same field of the shared case.
        _ = try tcpParallel(p.all) { x in
            try x.ok(["case", "add", "--title", "Chain \(x.name)"])
            try x.ok(["case", "edit", p.sharedCase, "--status", x.name == "A" || x.name == "C" ? "detained" : "released"])
        }

        // The chain A-B-C-D: each hop syncs with the next, which serves.
        let sb = try TCPServer(p.b)
        defer { sb.stop() }
        let sc = try TCPServer(p.c)
        defer { sc.stop() }
        let sd = try TCPServer(p.d)
        defer { sd.stop() }
        let hops: [(TCPNode, TCPServer)] = [(p.a, sb), (p.b, sc), (p.c, sd)]

        var convergedAfter: Int?
        var history: [String] = []
        for round in 1...5 {
            for (client, server) in hops {
                let s = try client.syncOK(server.address, peer: nil, "(round \(round), to \(server.node.name))")
                #expect(s["refused"] as? Int == 0)
                history.append("r\(round) \(client.name)->\(server.node.name): sent \(s["sent"] ?? "?"), received \(s["received"] ?? "?")")
            }
            let digests = try p.digests()
            history.append("r\(round) digests " + digests.map { String($0.prefix(8)) }.joined(separator: " "))
            if Set(digests).count == 1 { convergedAfter = round; break }
        }
        // D's ops travel one hop per round (C in round 1, B in round 2, A in round 3).
        #expect(convergedAfter == 3, "converged after \(convergedAfter.map(String.init) ?? "no") rounds:\n\(history.joined(separator: "\n"))")
        let counts = try p.all.map(tcpStoredOps)
        #expect(Set(counts).count == 1, "op counts differ: \(counts)")
        let statuses = try tcpParallel(p.all) { (try $0.json(["case", "show", p.sharedCase])["document"] as? [String: Any])?["status"] as? String ?? "?" }
        #expect(Set(statuses).count == 1, "the shared case shows different statuses: \(statuses)")

        for s in [sb, sc, sd] { #expect(s.stop(), "\(s.node.name)'s server did not stop cleanly: \(s.log)") }
    }
}
