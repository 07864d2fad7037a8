import Foundation
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import SandyqStore
import Testing
import SandyqTestSupport

/// A withdrawal names each op by (author, seq, id), and a node that never held the op can only
/// take the place on trust. A seized coordinator key signs claims that are false, with the
/// project's own library, and the other nodes must still write, sync and revoke it.
@Suite("False places in a withdrawal")
struct FalseWithdrawalClaimTests {
    static func randomOp() throws -> OpID { try OpID(bytes: Random.bytes(OpID.length)) }

    /// `c` signs and stores a withdrawal of `ops`; `f` receives it.
    static func withdrawn(_ ops: [WithdrawnOp], by c: Node, to f: Node) throws {
        let env = try c.writer().membership(.withdraw(ops: ops, files: []))
        try c.commit([env], project: try c.requireProject())
        try NodeFixture.sync(c, to: f)
    }

    @Test("attack: stubs of never-written ops far up a member's chain and inside its next batch; it writes past them and revokes the seizer")
    func stubsAboveTheHead() throws {
        let dir = try TempDir()
        let (f, c) = try ReaderKeyConfirmTests.withCoordinator(dir)
        let me = f.nodeID.signingKey
        let head = try #require(try f.store.ownChain(me))
        let near = try Self.randomOp()
        try Self.withdrawn([WithdrawnOp(author: me, seq: (1 << 62) - 1, id: try Self.randomOp()),
                            WithdrawnOp(author: me, seq: head.seq + 20, id: near)], by: c, to: f)
        #expect(try f.store.withdrawnIDs().contains(near), "the claim is stored as a stub on the member")

        // One batch of 30 cases passes over the stub and links to it (the member, a coordinator,
        // first retires its reader key, in a few ops: the withdrawal named ops).
        _ = try f.importCases((1...30).map { RoleKit.doc("Дело \($0)", person: "Свидетель \($0)") })
        let written = try f.store.envelopes(author: me, after: head.seq)
        let seqs = written.map(\.seq), top = try #require(seqs.max())
        #expect(top >= head.seq + 21 && seqs == Array(head.seq + 1...top).filter { $0 != head.seq + 20 }, "seqs: \(seqs)")
        #expect(written.first { $0.seq == head.seq + 21 }?.prev == near, "the op after the stub links to it")
        // The member can still revoke the seizer, and the seizer's own node takes the ops as a chain.
        _ = try f.revoke(c.nodeID)
        try NodeFixture.sync(f, to: c)
        #expect(try f.store.forks().isEmpty && c.store.forks().isEmpty)
        let onC = try c.store.versionVector()[me], onF = try f.store.versionVector()[me]
        #expect(onC == onF && onF > head.seq + 21, "the member's chain is whole on both: \(onC) \(onF)")
    }

    @Test("attack: a held op named at a false place is stubbed at its own; no gap in its chain, no stub in another")
    func aHeldOpAtAFalsePlace() throws {
        let dir = try TempDir()
        let (f, c) = try ReaderKeyConfirmTests.withCoordinator(dir)
        let me = f.nodeID.signingKey
        let id = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Пятнадцатый"))
        _ = try f.addCase(RoleKit.doc("Следующее дело", person: "Асель Сулейменова"))
        try NodeFixture.syncBothWays(f, c)
        let real = try #require(try WithdrawalAttackTests.opsOf(id, on: f).first)
        let head = try #require(try f.store.ownChain(me)).seq
        try #require(real.seq < head)
        try Self.withdrawn([WithdrawnOp(author: me, seq: head + 50, id: real.id)], by: c, to: f)
        #expect(try f.view().cases[id] == nil, "the op is withdrawn")
        #expect(try f.store.versionVector()[me] == head, "the stub sits at the op's own seq")
        _ = try f.addCase(RoleKit.doc("Ещё дело", person: "Ерлан Ахметов"))
        let next = try #require(try f.store.ownChain(me)).seq
        #expect(next > head && next < head + 50, "the next op follows the head: \(next)")
        #expect(try f.store.versionVector()[me] == next)
        try NodeFixture.sync(f, to: c)
        #expect(try c.store.forks().isEmpty)
        #expect(try c.store.versionVector()[me] == next)
    }

    @Test("attack on the race: a command on the home takes in a stub at the seq the coordinator's membership op is about to take; the op is refused as raced, and sent again it passes over the stub, and no peer sees a fork")
    func aStubMeanwhileIsPassedOver() throws {
        let dir = try TempDir()
        let (f, c) = try ReaderKeyConfirmTests.withCoordinator(dir)
        let me = f.nodeID.signingKey
        let head = try #require(try f.store.ownChain(me)).seq
        let fake = try Self.randomOp()
        let claim = try c.writer().membership(.withdraw(ops: [WithdrawnOp(author: me, seq: head + 1, id: fake)], files: []))
        try c.commit([claim], project: try c.requireProject())
        let l = try RoleKit.make(dir, "l")
        _ = try f.view()
        let command = try NodeFixture.open(dir, "c")
        var once = true
        f.beforeOwnCommitForTests = {
            guard once else { return }
            once = false
            try? NodeFixture.sync(c, to: command)
        }
        #expect(throws: NodeError.self, "the add and the stub would share a seq") { try f.addMember(l.nodeID, role: .lawyer) }
        #expect(!once, "the other process took in the claim")
        #expect(try f.store.withdrawnIDs().contains(fake))
        let add = try f.addMember(l.nodeID, role: .lawyer)
        #expect(add.seq > head + 1 && add.seq != head + 1)
        #expect(try f.store.envelopes(author: me, after: head).allSatisfy { $0.seq != head + 1 }, "no op of the desk's at the stub's seq")
        try NodeFixture.sync(f, to: c)
        #expect(try c.store.forks().isEmpty && f.store.forks().isEmpty, "a fork at the stub's seq reads as a copied key")
    }

    @Test("attack: the seizer's stub is lifted when the member revokes it; the member's open writer does not pass over the stub that is gone")
    func aLiftedStubIsNotPassedOver() throws {
        let dir = try TempDir()
        let (f, c) = try ReaderKeyConfirmTests.withCoordinator(dir)
        let me = f.nodeID.signingKey
        let head = try #require(try f.store.ownChain(me)).seq
        let fake = try Self.randomOp()
        try Self.withdrawn([WithdrawnOp(author: me, seq: head + 20, id: fake)], by: c, to: f)
        _ = try f.addCase(RoleKit.doc("Дело до отзыва", person: "Свидетель Первый"))
        let claim = try #require(try f.store.envelopes(author: c.nodeID.signingKey, after: 0).last)
        _ = try f.revoke(c.nodeID, fromSeq: claim.seq - 1)
        #expect(try !f.store.withdrawnIDs().contains(fake), "the claim of a revoked key is lifted")
        _ = try f.importCases((1...30).map { RoleKit.doc("Дело \($0)", person: "Свидетель \($0)") })
        let top = try #require(try f.store.ownChain(me)).seq
        #expect(top > head + 20)
        #expect(try f.store.versionVector()[me] == top, "no gap in the member's own chain")
    }

    @Test("attack: a stub planted in the chain of a member that has written nothing yet is passed over by its first batch")
    func aStubBeforeTheFirstOp() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: f)
        let fake = try Self.randomOp()
        let before = try r.store.ownChain(r.nodeID.signingKey)?.seq ?? 0
        try Self.withdrawn([WithdrawnOp(author: r.nodeID.signingKey, seq: before + 2, id: fake)], by: f, to: r)
        _ = try r.importCases((1...3).map { RoleKit.doc("Дело \($0)", person: "Свидетель \($0)") })
        let seqs = try r.store.envelopes(author: r.nodeID.signingKey, after: before).map(\.seq)
        #expect(seqs == [before + 1, before + 3, before + 4], "seqs: \(seqs)")
    }

    @Test("attack: an op a false claim stubbed at another place arrives later; its stub moves to the op's own place and the op stays out")
    func aStubMovesToTheOpsPlace() throws {
        let dir = try TempDir()
        let (f, c) = try ReaderKeyConfirmTests.withCoordinator(dir)
        let n = try RoleKit.make(dir, "n")
        try RoleKit.admit(n, as: .coordinator, by: f)
        try NodeFixture.sync(f, to: n)
        // f writes a case n has not seen; c (seized) names it at a false place to n first.
        let id = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Шестнадцатый"))
        try NodeFixture.syncBothWays(f, c)
        let real = try #require(try WithdrawalAttackTests.opsOf(id, on: f).first)
        try Self.withdrawn([WithdrawnOp(author: real.author, seq: 2, id: real.id)], by: c, to: n)
        try NodeFixture.sync(f, to: n)
        #expect(try n.view().cases[id] == nil, "the withdrawn op stays out")
        #expect(try n.store.envelopes(ids: [real.id]).isEmpty)
        #expect(try n.store.versionVector()[real.author] == f.store.versionVector()[real.author], "no gap where the op is, nor at the claimed place")
    }
}

