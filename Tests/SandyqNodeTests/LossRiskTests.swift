import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// Loss risk: the ops and files one device alone is known to hold, and how that changes as
/// bundles carry them and answers come back.
@Suite(.serialized) struct LossRiskTests {
    @Test("new ops and a new file exist only here until a second coordinator answers; a reporter's unsent ops only on its laptop")
    func soleCopiesComeAndGo() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let d = try RoleKit.make(dir, "d")
        try RoleKit.admit(d, as: .coordinator, by: c)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        try RoleKit.admit(r, as: .reporter, by: c)
        // Everyone holds the membership so far.
        for n in [d, r] {
            _ = try c.importBundle(try n.exportBundle(to: [c.nodeID], out: dir.file("\(n.nodeID.fingerprint).sqb")).files[0])
            _ = try n.importBundle(try c.exportBundle(to: [n.nodeID], out: dir.file("to-\(n.nodeID.fingerprint).sqb")).files[0])
        }
        let id = try c.addCase(RoleKit.doc("Только здесь", person: "Айгуль"))
        let e = try c.attach(id.description, path: try EvidenceTests.randomFile(dir, "scan.bin", size: 5000))
        var risk = try c.lossRisk()
        let mine = try #require(risk.atRisk.first { $0.author == c.nodeID.signingKey })
        #expect(mine.soleOps == 2 && mine.soleHolder?.isThisNode == true, "a case and an attach, on this device only: \(mine.soleOps)")
        #expect(risk.files.map(\.fid) == [e.fid] && risk.files.first?.here == true)

        // D takes them by stick and answers: both copies now exist twice.
        _ = try d.importBundle(try c.exportBundle(to: [d.nodeID], out: dir.file("c2d.sqb")).files[0])
        _ = try c.importBundle(try d.exportBundle(to: [c.nodeID], out: dir.file("d2c.sqb")).files[0])
        risk = try c.lossRisk()
        #expect(!risk.atRisk.contains { $0.author == c.nodeID.signingKey })
        #expect(risk.files.isEmpty, "D said it holds the file whole: \(risk.files.map(\.fid))")
        let replicas = try #require(risk.authors.first { $0.author == c.nodeID.signingKey }?.replicas)
        // The reporter holds C's membership ops only, so it is behind on C's chain.
        #expect(Set(replicas.map(\.node)) == [c.nodeID, d.nodeID, r.nodeID])
        #expect(replicas.filter { $0.behind == 0 }.map(\.node).sorted() == [c.nodeID, d.nodeID].sorted())
        #expect((replicas.first { $0.node == r.nodeID }?.behind ?? 0) >= 2)
        #expect(replicas.first { $0.node == d.nodeID }?.heardAtMillis != nil)

        // R records three cases and says so (its vector) before C holds them: only R has them.
        for i in 0..<3 { _ = try r.addCase(RoleKit.doc("С поля \(i)", person: "Свидетель \(i)")) }
        try c.store.acknowledge(try r.versionVector(), by: r.nodeID, at: 1_000)
        risk = try c.lossRisk()
        let field = try #require(risk.atRisk.first { $0.author == r.nodeID.signingKey })
        #expect(field.soleOps == 3 && field.soleHolder?.node == r.nodeID && field.soleHolder?.heardAtMillis == 1_000)
        #expect(field.role == .reporter)
        // The stick brings them: the risk is gone.
        _ = try c.importBundle(try r.exportBundle(to: [c.nodeID], out: dir.file("r2c.sqb")).files[0])
        risk = try c.lossRisk()
        #expect(!risk.atRisk.contains { $0.author == r.nodeID.signingKey })
    }
}

/// What each peer has not yet acknowledged, counted from the vectors (the delivery page), must
/// equal a count made by reading every op the peer lacks and asking the carry rule about each.
@Suite(.serialized) struct UndeliveredCountTests {
    func scanned(_ n: Node, to peer: NodeID) throws -> Int {
        let rule = try n.carryRule(to: [peer.signingKey])
        var count = 0
        try n.store.forEachEnvelope(missingFrom: try n.store.acknowledged(by: peer)) { if rule.allows($0) { count += 1 } }
        return count
    }

    @Test("vector counts equal op-by-op counts for coordinators, reporters, lawyers and a revoked member, from random acknowledgements",
          arguments: [1, 2, 3])
    func countsAgree(seed: UInt64) throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let d = try RoleKit.make(dir, "d"), r = try RoleKit.make(dir, "r"), w = try RoleKit.make(dir, "w", writeOnly: true)
        let l = try RoleKit.make(dir, "l"), x = try RoleKit.make(dir, "x")
        try RoleKit.admit(d, as: .coordinator, by: c)
        try RoleKit.admit(r, as: .reporter, by: c)
        try RoleKit.admit(w, as: .reporter, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        try RoleKit.admit(x, as: .reporter, by: c)
        var seeded = SplitMix64(seed: seed)
        let writers = [c, d, r, w, x]
        for round in 0..<4 {
            for n in writers where Int.random(in: 0..<3, using: &seeded) > 0 {
                for i in 0..<Int.random(in: 1...4, using: &seeded) { _ = try n.addCase(RoleKit.doc("R\(round) \(i)", person: "П \(i)")) }
                // Everything reaches C, as sticks bring it.
                if n !== c { _ = try c.importBundle(try n.exportBundle(to: [c.nodeID], out: dir.file("\(round)-\(n.nodeID.fingerprint).sqb")).files[0]) }
            }
            if round == 2 { _ = try c.revoke(x.nodeID, after: .lastHeld) }
        }
        // X goes on writing after its revocation: those ops are quarantined and carried to no one.
        for i in 0..<3 { _ = try x.addCase(RoleKit.doc("после отзыва \(i)", person: "Х")) }
        _ = try c.importEnvelopes(try x.envelopes(missingFrom: try c.versionVector()))
        // Each peer has said it holds a random part of each chain.
        let mine = try c.versionVector()
        for peer in [d, r, w, l, x] {
            var heads: [SigningPublicKey: UInt64] = [:]
            for (a, s) in mine.heads { heads[a] = UInt64.random(in: 0...s, using: &seeded) }
            try c.store.acknowledge(VersionVector(heads), by: peer.nodeID, at: 1)
        }
        for p in try c.peers() {
            #expect(p.undelivered == (try scanned(c, to: p.node)), "\(p.role.map { "\($0)" } ?? "?") \(p.node.fingerprint)")
        }
        #expect(try c.peers().contains { $0.role == .reporter && $0.undelivered > 0 }, "the random acknowledgements left nothing to count")
        // From a reporter's side: it hands on its own chain only.
        _ = try r.importBundle(try c.exportBundle(to: [r.nodeID], out: dir.file("c2r.sqb")).files[0])
        for p in try r.peers() { #expect(p.undelivered == (try scanned(r, to: p.node)), "from R to \(p.node.fingerprint)") }
    }
}
