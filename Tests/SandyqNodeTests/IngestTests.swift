import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqStore
@testable import SandyqNode

/// Every import runs through one ingest: the ack ledger is keyed by node id on both
/// transports and both sides, and membership is derived once per ingest, not per step.
@Suite struct IngestTests {
    @Test("a bundle and a TCP session, client and server side, record acks under the peer's node id")
    func acksByNodeIDOnBothTransports() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let b = try RoleKit.make(dir, "b"), t = try RoleKit.make(dir, "t")
        try RoleKit.admit(b, as: .coordinator, by: c)
        try RoleKit.admit(t, as: .coordinator, by: c)
        try t.join(try #require(try c.project()), networkKey: try #require(try c.networkKey()))
        _ = try b.addCase(RoleKit.doc("По почте", person: "Первый"))
        _ = try t.addCase(RoleKit.doc("По сети", person: "Второй"))

        // Bundle: the header's vector, under the sender's id, and an answer owed to it.
        let out = dir.sub("b-to-c.sqb")
        _ = try b.exportBundle(to: [c.nodeID], out: out)
        let imported = try c.importBundle(out)
        #expect(imported.senderIsMember == true)
        #expect(try c.store.acknowledged(by: b.nodeID) == (try b.versionVector()))
        #expect(try c.store.peer(b.nodeID)?.owesAck == true)

        // TCP: the client records the server's vector, the server the client's.
        let served = try ServedHost(home: c.home)
        defer { served.stop() }
        let tHeld = try t.versionVector()
        let cHeld = try OpStore(path: Node.databasePath(c.home)).versionVector()
        _ = try t.sync(with: served.address, expecting: c.nodeID)
        #expect(try t.store.acknowledged(by: c.nodeID).covers(cHeld))
        // The server acknowledges once its session thread ends: wait for it, on a connection of our own.
        let serverStore = try OpStore(path: Node.databasePath(c.home))
        var seen = VersionVector()
        for _ in 0..<400 where !seen.covers(tHeld) {
            seen = try serverStore.acknowledged(by: t.nodeID)
            usleep(25_000)
        }
        #expect(seen.covers(tHeld), "the server recorded no ack under the client's node id")
    }

    @Test("an import derives membership at most once, and keeps it until a membership op lands")
    func membershipOncePerIngest() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let b = try RoleKit.make(dir, "b")
        try RoleKit.admit(b, as: .coordinator, by: c)
        // b's first write announces its reader key (a membership op): c takes that one first.
        _ = try b.addCase(RoleKit.doc("Дело первое", person: "Человек"))
        _ = try NodeFixture.sync(b, to: c)
        for i in 0..<3 { _ = try b.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }

        c.invalidateView()
        c.membershipDerivations = 0
        let first = dir.sub("first.sqb")
        _ = try b.exportBundle(to: [c.nodeID], out: first)
        #expect(try c.importBundle(first).report.new == 3)
        #expect(c.membershipDerivations == 1, "screen, ack and key forwarding share one derivation")

        // A new member: the kept membership screens the import, the membership op drops it,
        // and what follows the import derives it once.
        let d = try RoleKit.make(dir, "d")
        try d.join(try #require(try c.project()))
        _ = try b.addMember(d.nodeID, role: .lawyer)
        c.membershipDerivations = 0
        let second = dir.sub("second.sqb")
        _ = try b.exportBundle(to: [c.nodeID], out: second)
        #expect(try c.importBundle(second).report.new == 1)
        #expect(c.membershipDerivations == 1)
        #expect(try c.storedMembership().role(of: d.nodeID.signingKey) == .lawyer)
    }
}
