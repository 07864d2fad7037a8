import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqSync

// A stranger, or a network-key holder who is not a member, floods a member's `serve` from
// other loopback addresses (127.0.0.2-5 stand for other hosts): silent sockets, garbage,
// replayed and fresh message 1s. Members must still sync, and the server's log must stay small.

/// B syncs with A's server `times` times, writing a case before each; returns the failures.
private func memberSyncs(_ p: TCPPair, _ server: TCPServer, times: Int, _ context: String) throws -> [String] {
    var failures: [String] = []
    for i in 0..<times {
        try p.b.ok(["case", "add", "--title", "B during \(context) \(i)"])
        let (r, o) = try p.b.sync(server.address)
        // B's first write also carried its reader-key announcement.
        if r.code != 0 || (o?["sent"] as? Int) != (i == 0 ? 2 : 1) { failures.append("sync \(i): \(r)") }
    }
    return failures
}

/// Waits (bounded) until the floods have opened `count` connections in all.
private func waitForConnects(_ floods: [TCPFlood], _ count: Int, seconds: Double = 20) -> Int {
    let deadline = Date().addingTimeInterval(seconds)
    var n = 0
    repeat { n = floods.reduce(0) { $0 + $1.connects.value }; if n >= count { break }; usleep(20_000) } while Date() < deadline
    return n
}

@Suite(.serialized) struct TCPLockoutTests {
    /// From another host, and from the members' own address (one NAT, or an onion service,
    /// whose clients all arrive from the local Tor daemon).
    @Test(arguments: ["127.0.0.2", "127.0.0.1"])
    func silentSocketsDoNotLockMembersOut(from source: String) throws {
        let p = try TCPPair.make("idle flood")
        let server = try TCPServer(p.a)
        defer { server.stop() }
        try p.b.syncOK(server.address, peer: p.a.nodeId, "(first contact)")

        // 200 sockets that never send a byte, reopened as soon as the server closes one.
        let flood = TCPFlood(port: server.port, from: source, sockets: 200)
        defer { flood.stop() }
        let opened = waitForConnects([flood], 200)
        #expect(opened >= 200, "the flood opened only \(opened) connections")
        let logBefore = server.log.utf8.count
        let start = Date()
        let failures = try memberSyncs(p, server, times: 3, "the idle flood")
        // Hold the flood past the handshake deadline, so slots held by silent sockets would
        // have been given back and taken again.
        while Date().timeIntervalSince(start) < 12 { usleep(100_000) }
        let elapsed = Date().timeIntervalSince(start)
        flood.stop()
        let growth = server.log.utf8.count - logBefore
        #expect(failures.isEmpty, "members locked out by 200 silent sockets from \(source):\n\(failures.joined(separator: "\n"))")
        #expect(growth < 24_000, "the log grew \(growth) bytes in \(elapsed) s under the flood (\(flood.connects.value) connections)")
        #expect(flood.answeredBytes.value == 0, "silent sockets got \(flood.answeredBytes.value) bytes")
        #expect(server.stop(), "A's server did not stop cleanly: \(server.log.suffix(2000))")
    }

    @Test func messageOneFloodDoesNotLockMembersOut() throws {
        let p = try TCPPair.make("msg1 flood")
        let server = try TCPServer(p.a)
        defer { server.stop() }
        try p.b.syncOK(server.address, peer: p.a.nodeId, "(first contact)")
        let nk = try SymmetricKey(SecureBytes(Hex.decode(p.networkKey) ?? []))
        func message1() -> [UInt8] {
            var c = ClientHandshake(identity: SigningKeyPair(), networkKey: nk)
            return c.message1(nowMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        }
        let recorded = message1()
        let nkBox = TCPUnchecked(nk)
        let floods = [
            // No network key: 73 bytes that look like a message 1.
            TCPFlood(port: server.port, from: "127.0.0.3", sockets: 40) { var g = tcpRandomBytes(73); g[0] = 1; return g },
            // One recorded message 1, sent again and again.
            TCPFlood(port: server.port, from: "127.0.0.4", sockets: 40) { recorded },
            // A network-key holder who is not a member: a fresh, valid message 1, then silence
            // where message 3 should come.
            TCPFlood(port: server.port, from: "127.0.0.5", sockets: 120) {
                var c = ClientHandshake(identity: SigningKeyPair(), networkKey: nkBox.value)
                return c.message1(nowMillis: UInt64(Date().timeIntervalSince1970 * 1000))
            },
        ]
        defer { for f in floods { f.stop() } }
        let opened = waitForConnects(floods, 300)
        #expect(opened >= 200, "the floods opened only \(opened) connections")
        let logBefore = server.log.utf8.count
        let start = Date()
        let failures = try memberSyncs(p, server, times: 3, "the message-1 flood")
        while Date().timeIntervalSince(start) < 12 { usleep(100_000) }
        let elapsed = Date().timeIntervalSince(start)
        for f in floods { f.stop() }
        let log = server.log
        let growth = log.utf8.count - logBefore
        let counts = floods.map { $0.connects.value }
        #expect(failures.isEmpty, "members locked out by a message-1 flood (\(counts) connections):\n\(failures.joined(separator: "\n"))")
        #expect(growth < 24_000, "the log grew \(growth) bytes in \(elapsed) s under the flood (\(counts) connections)")
        let summarised = log.contains("not logged")
        #expect(summarised, "the log does not say how many refusals it left out")
        // The garbage got no byte back; the recorded message 1 was answered at most once.
        #expect(floods[0].answeredBytes.value == 0, "garbage got \(floods[0].answeredBytes.value) bytes back")
        #expect(floods[1].answeredBytes.value <= Handshake.message2Length + Handshake.maxPadding, "a replayed message 1 got \(floods[1].answeredBytes.value) bytes back")
        #expect(server.stop(), "A's server did not stop cleanly: \(log.suffix(2000))")
    }
}
