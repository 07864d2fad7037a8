import Foundation
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import Testing
import SandyqTestSupport

/// The attacks of a seizer who holds an unlocked coordinator's device, the founder's
/// included, run with the project's own library against real nodes and stores.
@Suite("Revocation under attack: a seized coordinator, founder included")
struct RevocationAttackTests {
    static func exchangeAll(_ nodes: [Node]) throws {
        for _ in 0..<2 { for a in nodes { for b in nodes where a !== b { try NodeFixture.sync(a, to: b) } } }
    }

    @Test("the founder's seized device is revoked by another coordinator; its adds and revokes after the named op count for nothing")
    func founderSeized() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), c3 = try RoleKit.make(dir, "c3")
        try RoleKit.admit(c2, as: .coordinator, by: f)
        try RoleKit.admit(c3, as: .coordinator, by: f)
        let old = try c2.addCase(RoleKit.doc("Дело до изъятия", person: "Асель"))
        try Self.exchangeAll([f, c2, c3])

        // The seizer, on the founder's unlocked laptop, mints its own coordinator and revokes
        // every honest one; meanwhile C2, told of the seizure, revokes the founder's device.
        let x = try RoleKit.make(dir, "x")
        try x.join(pid)
        _ = try f.addMember(x.nodeID, role: .coordinator)
        _ = try f.revoke(c2.nodeID)
        _ = try f.revoke(c3.nodeID)
        let (_, point) = try c2.revoke(f.nodeID)
        guard case .op = point else { Issue.record("the default must name an op, got \(point)"); return }
        try NodeFixture.sync(f, to: x)
        let xCase = try x.addCase(RoleKit.doc("Дело захватчика", person: "Икс"))
        try NodeFixture.sync(x, to: f)

        try Self.exchangeAll([f, c2, c3, x])
        for (name, n) in [("C2", c2), ("C3", c3), ("the seized founder", f), ("X", x), ("C3 reopened", try NodeFixture.open(dir, "c3"))] {
            let m = try n.view().membership
            #expect(m.members[f.nodeID.signingKey]?.isRevoked == true, "\(name): the founder's device must be revoked")
            #expect(m.members[x.nodeID.signingKey] == nil, "\(name): the seizer's coordinator must not be admitted")
            #expect(m.members[c2.nodeID.signingKey]?.isRevoked == false, "\(name): C2 must stand")
            #expect(m.members[c3.nodeID.signingKey]?.isRevoked == false, "\(name): C3 must stand")
            #expect(try n.view().cases[xCase] == nil, "\(name): the seizer's case must not be accepted")
        }
        #expect(try c2.view().cases[old] != nil, "the past stays readable")
        // What the project writes next is not sealed to the seized device or the seizer's key.
        let new = try c3.addCase(RoleKit.doc("Дело после", person: "Болат"))
        #expect(try c3.view().cases[new] != nil)
        let last = try #require(try c3.envelopes(missingFrom: VersionVector()).last { $0.author == c3.nodeID.signingKey && $0.kind == .sealed })
        let body = try SealedBody(decoding: last.body)
        #expect(body.openSessionKey(with: f.identity.box) == nil, "sealed to the revoked founder")
        #expect(body.openSessionKey(with: x.identity.box) == nil, "sealed to the seizer's coordinator")
    }

    @Test("a seizer who forks a revoked coordinator's chain below the named op (seq 2 rewritten as a member add) is quarantined")
    func forkBelowTheNamedOp() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), r = try RoleKit.make(dir, "r")
        try RoleKit.admit(c2, as: .coordinator, by: f)
        try r.join(pid)
        _ = try c2.addMember(r.nodeID, role: .reporter)                        // C2's seq 1
        // Its first write: seq 2 announces its reader key, seq 3 is the case.
        _ = try c2.addCase(RoleKit.doc("Дело один", person: "Дана"))          // seqs 2, 3
        _ = try c2.addCase(RoleKit.doc("Дело два", person: "Ерлан"))          // seq 4
        try NodeFixture.syncBothWays(f, c2)
        // A fresh coordinator that so far holds only the project's first ops.
        let n = try RoleKit.make(dir, "n")
        try RoleKit.admit(n, as: .coordinator, by: f)

        let x = try RoleKit.make(dir, "x")
        try x.join(pid)
        try NodeFixture.sync(f, to: x)
        // C2's laptop is seized; F revokes it, naming the last op it holds (seq 4).
        let (_, point) = try f.revoke(c2.nodeID)
        #expect(point == .op(try #require(try c2.store.chainHead(of: c2.nodeID.signingKey)).id, seq: 4))

        // The seizer deletes C2's ops above seq 1 and writes a new seq 2: a coordinator of its own.
        let seq1 = try #require(try c2.store.envelopes(author: c2.nodeID.signingKey, after: 0).first)
        let w = OpWriter(keys: c2.identity.signing, project: pid, seq: 1, prev: seq1.id, clock: HybridClock())
        let fork = w.membership(.add(member: x.nodeID, role: .coordinator))
        _ = try x.importEnvelopes([fork])
        let xCase = try x.addCase(RoleKit.doc("Дело захватчика", person: "Икс"))
        let fromSeizer = try x.envelopes(missingFrom: VersionVector()).filter { $0.author == x.nodeID.signingKey } + [fork]

        // F holds the genuine seq 2 too; N receives F's revocation and the seizer's ops, but
        // never saw C2's genuine seqs 2 to 4.
        _ = try f.importEnvelopes(fromSeizer)
        let fromF = try f.envelopes(missingFrom: try n.versionVector()).filter { !($0.author == c2.nodeID.signingKey && $0.seq > 1) }
        _ = try n.importEnvelopes(fromF + fromSeizer)
        for (name, node) in [("F", f), ("N", n)] {
            let v = try node.view()
            #expect(v.membership.members[x.nodeID.signingKey] == nil, "\(name): the fork's member add must not be obeyed")
            #expect(v.cases[xCase] == nil, "\(name): the seizer's coordinator's case must not be accepted")
            #expect(v.quarantined.contains(fork.id), "\(name): the fork must be listed as quarantined")
        }
        #expect(try f.view().membership.members[r.nodeID.signingKey]?.role == .reporter, "C2's genuine add before the point stands")
    }

    @Test("a revocation that would quarantine its own author's admission does not take effect, and the node says so")
    func revocationThatUndoesItself() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: f)
        // Naming the founder's genesis keeps nothing after it: C2's own admission included.
        RoleKit.expectNodeError(.refused, "a revocation that sets itself aside") {
            _ = try c2.revoke(f.nodeID, after: .seq(1))
        }
        #expect(try c2.view().membership.members[f.nodeID.signingKey]?.isRevoked == false)
        RoleKit.expectNodeError(.usage, "self-revocation") { _ = try c2.revoke(c2.nodeID) }
    }

    @Test("the default point is refused while the member's chain is forked: the coordinator must name the genuine op")
    func defaultRefusedOnFork() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: f)
        _ = try c2.addCase(RoleKit.doc("Дело", person: "Гульнара"))
        _ = try c2.addCase(RoleKit.doc("Дело 2", person: "Гульнара"))
        try NodeFixture.sync(c2, to: f)
        let seq1 = try #require(try c2.store.envelopes(author: c2.nodeID.signingKey, after: 0).first)
        let fork = OpWriter(keys: c2.identity.signing, project: pid, seq: 1, prev: seq1.id, clock: HybridClock())
            .sealed([.projectName("захвачено")], readers: [f.nodeID.boxKey], wallMillis: 1)
        _ = try f.importEnvelopes([fork])
        RoleKit.expectNodeError(.usage, "revoke with a fork known") { _ = try f.revoke(c2.nodeID) }
        let genuine = try #require(try c2.store.chainHead(of: c2.nodeID.signingKey))
        let (_, point) = try f.revoke(c2.nodeID, after: .op(String(genuine.id.description.prefix(10))))
        #expect(point == .op(genuine.id, seq: genuine.seq))
        #expect(try f.view().quarantined.contains(fork.id))
    }

    @Test("a revocation racing an add: the add written after the revoker's named op does not admit")
    func revocationRacingAnAdd() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), c3 = try RoleKit.make(dir, "c3")
        try RoleKit.admit(c2, as: .coordinator, by: f)
        try RoleKit.admit(c3, as: .coordinator, by: f)
        try Self.exchangeAll([f, c2, c3])
        let m = try RoleKit.make(dir, "m")
        try m.join(pid)
        _ = try c2.addMember(m.nodeID, role: .reporter)   // C2, seized, adds M...
        _ = try f.revoke(c2.nodeID)                       // ...while F revokes C2 without having seen it
        try Self.exchangeAll([f, c2, c3])
        for n in [f, c2, c3] {
            #expect(try n.view().membership.members[m.nodeID.signingKey] == nil)
        }
    }

    @Test("a relay that withholds a revocation and forwards later ops leaves a gap every node shows, and warns about before sealing")
    func withheldRevocationIsVisible() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r"), n = try RoleKit.make(dir, "n")
        try RoleKit.admit(n, as: .coordinator, by: f)
        try RoleKit.admit(r, as: .reporter, by: f)
        let revocation = try f.revoke(r.nodeID).env
        _ = try f.addCase(RoleKit.doc("После отзыва", person: "Жанна"))
        // The relay passes on everything the founder wrote except the revocation.
        let withheld = try f.envelopes(missingFrom: try n.versionVector()).filter { $0.id != revocation.id }
        _ = try n.importEnvelopes(withheld)
        _ = pid
        let gaps = try n.chainGaps()
        #expect(gaps.count == 1 && gaps.first?.author == f.nodeID.signingKey && gaps.first?.missing == [revocation.seq...revocation.seq])
        #expect(gaps.first?.warning.contains("coordinator \(f.nodeID.fingerprint)'s ops \(revocation.seq)..\(revocation.seq) are missing: a revocation may be withheld") == true)
        let heard = Heard()
        n.warn = { heard.add($0) }
        _ = try n.addCase(RoleKit.doc("Новое", person: "Нурлан"))
        #expect(heard.lines.contains { $0.contains("a revocation may be withheld") }, "no warning before sealing: \(heard.lines)")
        // Once the op arrives, the gap and the warning are gone.
        try NodeFixture.sync(f, to: n)
        #expect(try n.chainGaps().isEmpty)
        #expect(try n.view().membership.members[r.nodeID.signingKey]?.isRevoked == true)
    }
}

final class Heard: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ s: String) { lock.lock(); stored.append(s); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}
