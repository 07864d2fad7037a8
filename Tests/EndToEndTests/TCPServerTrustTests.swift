import Foundation
import Testing

// Whom a client accepts as a server: current members, or the key pinned for that exact
// address. A revoked member keeps the network key and runs `serve` where honest nodes
// used to sync; they must refuse it, pinned or not, and say why.

@Suite struct TCPServerTrustTests {
    /// A founds a project, admits B and C as coordinators and serves; both have synced once.
    static func threeCoordinators(_ title: String) throws -> (TCPNode, TCPNode, TCPNode, TCPServer) {
        let n = try TCPNode.make(["A", "B", "C"])
        let (a, b, c) = (n[0], n[1], n[2])
        let project = try a.json(["project", "create", title])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for x in [b, c] {
            try x.ok(["join", project, "--network-key", key])
            try a.ok(["member", "add", x.nodeId, "--role", "coordinator"])
        }
        let aServer = try TCPServer(a)
        do {
            try b.syncOK(aServer.address, peer: a.nodeId, "(B's first contact)")
            try c.syncOK(aServer.address, peer: a.nodeId, "(C's first contact)")
        } catch { aServer.stop(); throw error }
        return (a, b, c, aServer)
    }

    @Test func aRevokedMembersServerIsRefused() throws {
        let (a, b, c, aServer) = try Self.threeCoordinators("TCP revoked server")
        defer { aServer.stop() }

        // While B is a member, A and C sync with B's server; A remembers it by hand too.
        let bServer = try TCPServer(b)
        try a.syncOK(bServer.address, peer: nil, "(B still a member)")
        try c.syncOK(bServer.address, peer: nil, "(B still a member)")
        try a.ok(["peers", "add", b.nodeId, bServer.address])

        // A revokes B (a seized device); C learns of it from A.
        try a.ok(["member", "revoke", b.nodeId])
        try c.syncOK(aServer.address, peer: nil, "(learning of the revocation)")
        let aOps = try tcpStoredOps(a), cOps = try tcpStoredOps(c)

        // The seizer writes on B and keeps B's server running at the same address.
        try b.ok(["case", "add", "--title", "Written by whoever holds B"])
        // A completed session is logged as "peer ADDR [FINGERPRINT]: sent N, received M new, ...".
        func sessions(_ s: TCPServer) -> [String] { s.connectionLines.filter { $0.contains("]: sent ") } }
        let sessionsBefore = sessions(bServer)
        for (who, args) in [(a, ["sync", bServer.address]), (a, ["sync", bServer.address, "--peer", b.nodeId]),
                            (c, ["sync", bServer.address])] {
            let r = try who.run(args)
            #expect(r.code != 0, "\(who.name) synced with revoked B's server (\(args.joined(separator: " "))): \(r)")
            #expect(r.stderr.contains("revoked"), "\(who.name)'s error does not say B was revoked: \(r.stderr)")
        }
        #expect(try tcpStoredOps(a) == aOps && tcpStoredOps(c) == cOps, "ops arrived from revoked B's server")
        // And as a client: A's server refuses B, which still holds the network key.
        let asClient = try b.run(["sync", aServer.address, "--peer", a.nodeId])
        #expect(asClient.code != 0, "revoked B synced with A's server: \(asClient)")
        #expect(try tcpStoredOps(a) == aOps, "A's server took ops from revoked B")
        let sessionsAfter = sessions(bServer)
        #expect(sessionsAfter == sessionsBefore, "B's server completed sessions with honest nodes after its revocation: \(sessionsAfter)")
        bServer.stop()
    }

    @Test func syncPeerAcceptsThatKeyAloneEvenFromAMember() throws {
        // `--peer NODE` names the one server key this sync accepts: another member answering
        // at the address (a moved port, a swapped machine) is refused before any op moves.
        let (a, b, c, aServer) = try Self.threeCoordinators("TCP pinned key")
        defer { aServer.stop() }
        try b.ok(["case", "add", "--title", "Only B holds this"])
        let bServer = try TCPServer(b)
        defer { bServer.stop() }
        let before = try tcpStoredOps(c)
        let r = try c.run(["sync", bServer.address, "--peer", a.nodeId])
        #expect(r.code != 0, "C synced with B's server while pinning A: \(r)")
        #expect(r.stderr.contains("not the pinned"), "C's error does not say the key is not the pinned one: \(r.stderr)")
        #expect(try tcpStoredOps(c) == before, "ops arrived from a server that is not the pinned key")
        // The key that does answer there, pinned, syncs.
        try c.syncOK(bServer.address, peer: b.nodeId, "(B pinned)")
        #expect(try tcpStoredOps(c) > before)
    }

    @Test func aKnownPeerIsNotAServerAtAnotherAddress() throws {
        // F holds the network key and has sent nothing wrong, but no coordinator admitted it.
        // A remembers F at one address: F's server at another address is not trusted for it.
        let n = try TCPNode.make(["A", "F"])
        let (a, f) = (n[0], n[1])
        let project = try a.json(["project", "create", "TCP pinned address"])["project"] as? String ?? ""
        let key = try a.ok(["project", "key"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try f.ok(["join", project, "--network-key", key])
        let fServer = try TCPServer(f)
        defer { fServer.stop() }
        try a.ok(["peers", "add", f.nodeId, "127.0.0.1:1"])
        let r = try a.run(["sync", fServer.address])
        #expect(r.code != 0, "A synced with a non-member pinned for another address: \(r)")
        #expect(r.stderr.contains("not a member") && r.stderr.contains("pinned"), "A's error: \(r.stderr)")
        // The pin for this exact address is what makes it acceptable (F then refuses A, which
        // F does not know as a member: the refusal comes from F's side, after A's check).
        try a.ok(["peers", "add", f.nodeId, fServer.address])
        let r2 = try a.run(["sync", fServer.address])
        #expect(!r2.stderr.contains("pinned"), "A refused the key pinned for this address: \(r2.stderr)")
    }
}
