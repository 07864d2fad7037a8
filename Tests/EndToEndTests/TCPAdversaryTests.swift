import Foundation
import Testing
import SandyqSync

// The TCP server against interruptions, strangers and bad peers. A's server runs as its own
// process (`serve`, port 0 + --port-file) and is stopped in a defer.

/// A founder A and one member B (a coordinator) that has made first contact with A's server.
struct TCPPair {
    let a: TCPNode, b: TCPNode
    let project: String
    let networkKey: String

    static func make(_ tag: String) throws -> TCPPair {
        let n = try TCPNode.make(["A", "B"])
        let (a, b) = (n[0], n[1])
        let project = try a.json(["project", "create", "TCP \(tag)"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try b.ok(["join", project, "--network-key", key])
        try a.ok(["member", "add", b.nodeId, "--role", "coordinator"])
        return TCPPair(a: a, b: b, project: project, networkKey: key)
    }
}

/// `count` cases with ~11 KB of text each, as `case import` reads them.
func tcpBulkCases(_ count: Int, tag: String) throws -> String {
    let filler = String(repeating: "Свидетель сообщил о задержании без ордера; адвоката не допустили. ", count: 100)
    var cases: [[String: Any]] = []
    for i in 0..<count {
        cases.append(["ref": "\(tag)-\(i)", "title": "Bulk \(tag) \(i)", "status": "detained", "city": "Almaty",
                      "summary": "\(i): " + filler])
    }
    let path = FileManager.default.temporaryDirectory.path + "/sandyq-tcp-bulk-\(UUID().uuidString).json"
    let data = try JSONSerialization.data(withJSONObject: ["format": "sandyq-cases/1", "cases": cases])
    try data.write(to: URL(fileURLWithPath: path))
    return path
}

/// Bytes in a node's database and its WAL: about what a full sync of its ops carries.
func tcpStoreBytes(_ node: TCPNode) -> Int {
    let fm = FileManager.default
    return [node.home.dbPath, node.home.dbPath + "-wal"].reduce(0) {
        $0 + (((try? fm.attributesOfItem(atPath: $1))?[.size] as? NSNumber)?.intValue ?? 0)
    }
}

/// Waits (bounded) until `node` stores more than `count` ops; returns what it stores then. Used
/// while a TCPGateProxy holds the rest of a transfer, so the wait cannot overshoot.
func tcpWaitForStoredOps(_ node: TCPNode, above count: Int, seconds: Double = 30) -> Int {
    let deadline = Date().addingTimeInterval(seconds)
    var n = (try? tcpStoredOps(node)) ?? 0
    while n <= count && Date() < deadline { usleep(20_000); n = (try? tcpStoredOps(node)) ?? 0 }
    return n
}

@Suite struct TCPAdversaryTests {
    /// SIGKILL of the sync client, then of the server, each while the transfer is held half-way
    /// by a proxy (TCPGateProxy): the kill lands mid-sync however loaded the machine is.
    @Test func killedMidSyncLosesNothing() throws {
        let p = try TCPPair.make("kill")
        let server = try TCPServer(p.a)
        defer { server.stop() }
        try p.b.syncOK(server.address, peer: p.a.nodeId, "(first contact)")

        // 400 cases, about 4.5 MB for B to fetch in 1 MiB batches; the proxy passes a third.
        let bulk = try tcpBulkCases(400, tag: "kill")
        defer { try? FileManager.default.removeItem(atPath: bulk) }
        try p.a.ok(["case", "import", bulk])
        let aOps = try tcpStoredOps(p.a), bBefore = try tcpStoredOps(p.b)
        #expect(aOps > 400)

        let toB = try TCPGateProxy(to: server.port, holding: .toClient, after: tcpStoreBytes(p.a) / 3)
        defer { toB.drop() }
        let sync = try TCPProcess(["sync", toB.address, "--home", p.b.path], label: "B sync")
        try #require(toB.waitUntilHeld(), "the proxy passed all \(toB.toClient.value) bytes: the sync ended first: \(sync.stderr)")
        // B has stored what it got so far (a batch or more), and cannot get further.
        let landed = tcpWaitForStoredOps(p.b, above: bBefore)
        #expect(landed > bBefore, "B stored nothing of the \(toB.toClient.value) bytes it received")
        let wasRunning = sync.process.isRunning
        sync.killHard()
        #expect(wasRunning && sync.exitedBySignal, "the sync was not killed mid-way (exit \(sync.exitCode)): \(sync.stderr)")
        toB.drop()

        // Both stores are intact (the CLI is the first to open B's store after the kill).
        let checks = try tcpParallel([p.a, p.b]) { try $0.run(["check"]) }
        for (n, r) in zip([p.a, p.b], checks) { #expect(r.code == 0, "\(n.name): check after the kill: \(r)") }
        let partial = try tcpStoredOps(p.b)
        #expect(partial > bBefore && partial < aOps, "B holds \(partial) of \(aOps) ops after a kill a third of the way through")
        print("TCPAdversaryTests: sync client SIGKILLed after \(toB.toClient.value) bytes in; B held \(partial) of \(aOps) ops")
        #expect(server.waitForLine(containing: "connection ended") != nil, "A logged no end for the killed session:\n\(server.log)")

        // A's server is still serving; the next sync completes and nothing is lost.
        let s = try p.b.syncOK(server.address, peer: nil, "(after the kill)")
        #expect(s["received"] as? Int == aOps - partial, "after the kill B held \(partial) of \(aOps); the resync brought \(s)")
        let (ca, cb) = (try tcpStoredOps(p.a), try tcpStoredOps(p.b))
        #expect(ca == aOps && cb == aOps, "A holds \(ca), B holds \(cb), A wrote \(aOps)")
        let digests = try tcpParallel([p.a, p.b]) { try $0.digest() }
        #expect(digests[0] == digests[1], "digests differ after the resync: \(digests)")

        // Now the server: B pushes a bulk of its own, and A's server is SIGKILLed while the
        // proxy holds the second two thirds of it.
        let bulk2 = try tcpBulkCases(250, tag: "kill2")
        defer { try? FileManager.default.removeItem(atPath: bulk2) }
        let bBytes = tcpStoreBytes(p.b)
        try p.b.ok(["case", "import", bulk2])
        let total = try tcpStoredOps(p.b), aBefore = try tcpStoredOps(p.a)
        let toA = try TCPGateProxy(to: server.port, holding: .toServer, after: (tcpStoreBytes(p.b) - bBytes) / 3)
        defer { toA.drop() }
        let sync2 = try TCPProcess(["sync", toA.address, "--home", p.b.path], label: "B sync")
        try #require(toA.waitUntilHeld(), "the proxy passed all \(toA.toServer.value) bytes: the sync ended first: \(sync2.stderr)")
        let landed2 = tcpWaitForStoredOps(p.a, above: aBefore)
        #expect(landed2 > aBefore, "A stored nothing of the \(toA.toServer.value) bytes it received")
        let stillRunning = sync2.process.isRunning
        server.killHard()
        #expect(stillRunning, "B's sync ended before the server was killed")
        #expect(sync2.waitExit(20), "B's sync did not notice its server was killed")
        sync2.killHard()
        #expect(sync2.exitCode != 0 && !sync2.exitedBySignal, "B's sync, its server killed mid-way, exited with \(sync2.exitCode): \(sync2.stdout) \(sync2.stderr)")
        #expect(sync2.stderr.contains("sync with"), "B's sync gave no reason: \(sync2.stderr)")
        toA.drop()
        let checks2 = try tcpParallel([p.a, p.b]) { try $0.run(["check"]) }
        for (n, r) in zip([p.a, p.b], checks2) { #expect(r.code == 0, "\(n.name): check after killing the server: \(r)") }
        let partial2 = try tcpStoredOps(p.a)
        #expect(partial2 > aBefore && partial2 < total, "A holds \(partial2) of \(total) ops after its server was killed a third of the way through")
        print("TCPAdversaryTests: server SIGKILLed after \(toA.toServer.value) bytes in; A held \(partial2) of \(total) ops")

        let restarted = try TCPServer(p.a)
        defer { restarted.stop() }
        try p.b.syncOK(restarted.address, peer: nil, "(after the server was killed)")
        let (fa, fb) = (try tcpStoredOps(p.a), try tcpStoredOps(p.b))
        #expect(fa == total && fb == total, "A holds \(fa), B holds \(fb), B wrote up to \(total)")
        let digests2 = try tcpParallel([p.a, p.b]) { try $0.digest() }
        #expect(digests2[0] == digests2[1], "digests differ after the server restarted: \(digests2)")
    }

    /// The network vanishes mid-sync (both processes live on): each side ends that session only.
    @Test func droppedConnectionMidSyncLosesNothing() throws {
        let p = try TCPPair.make("drop")
        let server = try TCPServer(p.a)
        defer { server.stop() }
        try p.b.syncOK(server.address, peer: p.a.nodeId, "(first contact)")
        let bulk = try tcpBulkCases(300, tag: "drop")
        defer { try? FileManager.default.removeItem(atPath: bulk) }
        try p.a.ok(["case", "import", bulk])
        let aOps = try tcpStoredOps(p.a), bBefore = try tcpStoredOps(p.b)

        let proxy = try TCPGateProxy(to: server.port, holding: .toClient, after: tcpStoreBytes(p.a) / 2)
        defer { proxy.drop() }
        let sync = try TCPProcess(["sync", proxy.address, "--home", p.b.path], label: "B sync")
        try #require(proxy.waitUntilHeld(), "the proxy passed all \(proxy.toClient.value) bytes: the sync ended first: \(sync.stderr)")
        #expect(tcpWaitForStoredOps(p.b, above: bBefore) > bBefore, "B stored nothing before the drop")
        proxy.drop()
        #expect(sync.waitExit(30), "B's sync did not notice the connection was gone")
        sync.killHard()
        #expect(sync.exitCode != 0 && !sync.exitedBySignal, "B's sync, its connection dropped, exited with \(sync.exitCode): \(sync.stderr)")
        #expect(sync.stderr.contains("sync with"), "B's sync gave no reason: \(sync.stderr)")
        #expect(server.waitForLine(containing: "connection ended") != nil, "A logged no end for the dropped session:\n\(server.log)")

        let checks = try tcpParallel([p.a, p.b]) { try $0.run(["check"]) }
        for (n, r) in zip([p.a, p.b], checks) { #expect(r.code == 0, "\(n.name): check after the drop: \(r)") }
        let partial = try tcpStoredOps(p.b)
        #expect(partial < aOps, "B held all \(aOps) ops after half the bytes")
        print("TCPAdversaryTests: connection dropped after \(proxy.toClient.value) bytes; B held \(partial) of \(aOps) ops")
        // The same server, still up, completes the next sync.
        let s = try p.b.syncOK(server.address, peer: nil, "(after the drop)")
        #expect(s["received"] as? Int == aOps - partial, "after the drop B held \(partial) of \(aOps); the resync brought \(s)")
        let digests = try tcpParallel([p.a, p.b]) { try $0.digest() }
        let held = try tcpStoredOps(p.b)
        #expect(digests[0] == digests[1] && held == aOps, "after the resync B holds \(held) of \(aOps); digests \(digests)")
    }

    @Test func strangersAreRefusedBeforeAnyOpByte() throws {
        let n = try TCPNode.make(["A", "E", "F"])
        let (a, e, f) = (n[0], n[1], n[2])
        let project = try a.json(["project", "create", "TCP strangers"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try a.ok(["case", "add", "--title", "Only for members"])
        try e.ok(["project", "create", "Another project"])
        try f.ok(["join", project, "--network-key", key])
        let aOps = try tcpStoredOps(a), eOps = try tcpStoredOps(e)
        let server = try TCPServer(a)
        defer { server.stop() }

        // 73 random bytes, then 73 with a valid version byte (so the MAC is what fails): no answer at all.
        var message1 = tcpRandomBytes(73)
        message1[0] = 1
        for garbage in [tcpRandomBytes(73), message1] {
            let raw = try TCPRawSocket(connectTo: server.port)
            try raw.send(garbage)
            let (got, closed) = raw.drain(seconds: 5)
            #expect(got.isEmpty, "a stranger's garbage got \(got.count) bytes back")
            #expect(closed, "the server kept a garbage connection open")
            let port = raw.localPort
            let line = server.waitForLine(containing: ":\(port): connection ended") ?? "none"
            #expect(tcpLoggedBytes(line).map { $0 == (73, 0) } == true, "server log: \(line)")
        }

        // E belongs to another project: its network key is not A's.
        let re = try e.run(["sync", server.address, "--peer", a.nodeId])
        #expect(re.code != 0, "E synced with A: \(re)")
        #expect(re.stderr.contains("did not answer"), "\(re)")
        let lines = server.waitForConnectionLines(3)
        let eLine = lines.count >= 3 ? lines[2] : "none"
        #expect(eLine.contains("connection ended") && eLine.contains("network key"), "server log for E: \(eLine)")
        #expect(tcpLoggedBytes(eLine)?.sent == 0, "the server answered E: \(eLine)")

        // F has the right network key but no coordinator ever added it.
        let rf = try f.run(["sync", server.address, "--peer", a.nodeId])
        #expect(rf.code != 0, "F, not a member, synced: \(rf)")
        #expect(rf.stderr.contains("sync with"), "F's error: \(rf)")
        let fLines = server.waitForConnectionLines(4)
        let fLine = fLines.count >= 4 ? fLines[3] : "none"
        #expect(fLine.contains("connection ended") && fLine.contains("not a member"), "server log for F: \(fLine)")
        let fBytes = tcpLoggedBytes(fLine)
        #expect(fBytes != nil && fBytes!.sent <= Handshake.message2Length + Handshake.maxPadding, "F got more than handshake message 2: \(fLine)")
        #expect(try f.opCount() == 0, "F's status")
        #expect(try tcpStoredOps(a) == aOps)
        #expect(try tcpStoredOps(e) == eOps)
        #expect(server.stop(), "A's server did not stop cleanly: \(server.log)")
    }

    @Test func badPeersEndOnlyTheirOwnConnection() throws {
        let p = try TCPPair.make("bad peers")
        let server = try TCPServer(p.a)
        defer { server.stop() }
        try p.b.syncOK(server.address, peer: p.a.nodeId, "(first contact)")
        var bCases = 0
        func memberSyncs(_ after: String, via address: String? = nil) throws {
            bCases += 1
            try p.b.ok(["case", "add", "--title", "B after \(after)"])
            let s = try p.b.syncOK(address ?? server.address, peer: nil, "(after \(after))")
            // B's first write also carried its reader-key announcement.
            #expect(s["sent"] as? Int == (bCases == 1 ? 2 : 1), "after \(after): \(s)")
        }

        // Garbage longer than message 1.
        let garbage = try TCPRawSocket(connectTo: server.port)
        try garbage.send(tcpRandomBytes(500))
        let (g, gClosed) = garbage.drain(seconds: 5)
        #expect(g.isEmpty && gClosed, "garbage: got \(g.count) bytes, closed \(gClosed)")
        garbage.close()
        try memberSyncs("garbage")

        // Half of message 1, then silence: the server keeps serving others meanwhile.
        let staller = try TCPRawSocket(connectTo: server.port)
        var half = tcpRandomBytes(36)
        half[0] = 1
        try staller.send(half)
        let stallerPort = staller.localPort
        try memberSyncs("a staller connected")
        try memberSyncs("a staller connected (again)")
        let (s, sClosed) = staller.drain(seconds: 0.3)
        #expect(s.isEmpty && !sClosed, "the staller got \(s.count) bytes, closed \(sClosed), within the 10 s handshake timeout")
        staller.close()
        let stallLine = server.waitForLine(containing: ":\(stallerPort): connection ended") ?? "none"
        #expect(tcpLoggedBytes(stallLine).map { $0 == (36, 0) } == true, "server log for the staller: \(stallLine)")

        // A legitimate sync through a recording proxy, then its first message replayed on a new connection.
        let proxy = try TCPRecordingProxy(to: server.port)
        try memberSyncs("the staller left (through the proxy)", via: "127.0.0.1:\(proxy.port)")
        #expect(proxy.wait(), "the proxied connection did not end")
        // Version 2: message 1's length (73 + padding) is known only with the network key, so the
        // whole client stream is replayed; the server reads message 1 and no further.
        let captured = proxy.clientBytes.value
        #expect(captured.count > Handshake.message1Length + Handshake.message3Length, "captured \(captured.count) bytes")
        #expect(proxy.serverBytes.value.count > 144, "the proxied sync got only \(proxy.serverBytes.value.count) bytes")
        let replay = try TCPRawSocket(connectTo: server.port)
        try replay.send(captured)
        let (r, rClosed) = replay.drain(seconds: 5)
        #expect(r.count <= 160, "a replayed message 1 got \(r.count) bytes back")
        #expect(rClosed, "the server kept the replaying connection open")
        let replayPort = replay.localPort
        replay.close()
        let replayLine = server.waitForLine(containing: ":\(replayPort): connection ended") ?? "none"
        #expect(replayLine.contains("replayed"), "server log for the replay: \(replayLine)")
        try memberSyncs("the replay")

        // Everything B wrote reached A, and A's server still stops cleanly.
        let digests = try tcpParallel([p.a, p.b]) { try $0.digest() }
        #expect(digests[0] == digests[1])
        #expect(bCases == 5)
        #expect(server.stop(), "A's server did not stop cleanly: \(server.log)")
    }
}
