import Foundation
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import Testing
import SandyqTestSupport

/// Security review of the revocation change: a seizer holding one coordinator's unlocked
/// device, with the project's own Node API, against real nodes and stores.
@Suite("Membership review: a seized coordinator against real nodes")
struct MembershipReviewNodeTests {
    /// F admits S first, then H1 and H2. S is seized. With `Node.revoke` (which accepts it:
    /// the revocation takes effect on S's own view) the seizer revokes F naming F's add of S,
    /// so F's later adds of H1 and H2 stop standing. F, H1 and H2 all revoke S, concurrently.
    /// After a full exchange every node must show S revoked and F, H1, H2 standing.
    @Test("attack: a seized early coordinator revokes the founder just after its own admission")
    func seizerRevokesFounderAfterOwnAdmission() throws {
        withKnownIssue("Protocol/membership.md known gap 11: a seized early coordinator revokes its admitter just after its own admission") {
            let dir = try TempDir()
            let (f, pid) = try RoleKit.founder(dir)
            let s = try RoleKit.make(dir, "s"), h1 = try RoleKit.make(dir, "h1"), h2 = try RoleKit.make(dir, "h2")
            try s.join(pid)
            let addS = try f.addMember(s.nodeID, role: .coordinator)
            try RoleKit.admit(h1, as: .coordinator, by: f)
            try RoleKit.admit(h2, as: .coordinator, by: f)
            try RevocationAttackTests.exchangeAll([f, s, h1, h2])
            _ = try s.addCase(RoleKit.doc("Дело", person: "Айгерим"))
            try RevocationAttackTests.exchangeAll([f, s, h1, h2])

            // The seizer, on S's unlocked device, through the ordinary API:
            let (attack, _) = try s.revoke(f.nodeID, after: .op(addS.id.description))
            // Told of the seizure, before hearing from S again, every honest coordinator revokes S.
            _ = try f.revoke(s.nodeID)
            _ = try h1.revoke(s.nodeID)
            _ = try h2.revoke(s.nodeID)
            try RevocationAttackTests.exchangeAll([f, s, h1, h2])

            for (name, n) in [("F", f), ("H1", h1), ("H2", h2), ("S", s)] {
                let m = try n.view().membership
                #expect(m.members[s.nodeID.signingKey]?.isRevoked == true, "\(name): the seized device must be revoked")
                #expect(m.members[f.nodeID.signingKey]?.isRevoked == false, "\(name): the founder must stand")
                #expect(m.members[h1.nodeID.signingKey]?.isRevoked == false, "\(name): H1 must stand (member: \(m.members[h1.nodeID.signingKey] != nil))")
                #expect(m.members[h2.nodeID.signingKey]?.isRevoked == false, "\(name): H2 must stand (member: \(m.members[h2.nodeID.signingKey] != nil))")
                #expect(!m.effectiveRevocations.contains(attack.id), "\(name): the seizer's revocation took effect")
            }
            // Can an honest coordinator still act?
            #expect(throws: Never.self, "H1 can no longer write a membership op") { _ = try h1.revoke(s.nodeID) }
        }
    }

    /// A coordinator's later `add(H2, role: .relay)` of an already admitted coordinator H2
    /// wins when it is applied in the same sweep as H2's genuine admission and its author's
    /// key sorts first. Every node then treats H2 as a relay: its view, and the import screen,
    /// which refuses H2's revocation of the seizer outright.
    @Test("attack: a seized coordinator demotes an honest coordinator with a later add, and its revocation is refused at import")
    func demotionRefusesRevocation() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let a = try RoleKit.make(dir, "a"), b = try RoleKit.make(dir, "b"), h2 = try RoleKit.make(dir, "h2")
        let (s, h1) = a.nodeID.signingKey < b.nodeID.signingKey ? (a, b) : (b, a)
        try RoleKit.admit(s, as: .coordinator, by: f)
        try RoleKit.admit(h1, as: .coordinator, by: f)
        try RevocationAttackTests.exchangeAll([f, s, h1])
        try RoleKit.admit(h2, as: .coordinator, by: h1)
        try RevocationAttackTests.exchangeAll([f, s, h1, h2])
        #expect(try f.view().membership.role(of: h2.nodeID.signingKey) == .coordinator)

        // The seizer, on S: an add of H2 as relay, signed with S's key (Node.addMember refuses
        // an existing member; a modified client does not).
        let head = try s.store.chainHead(of: s.nodeID.signingKey)
        let demote = OpWriter(keys: s.identity.signing, project: pid, seq: head?.seq ?? 0, prev: head?.id ?? .zero,
                              clock: HybridClock(last: try s.view().maxClock)).membership(.add(member: h2.nodeID, role: .relay))
        _ = try s.importEnvelopes([demote])
        try NodeFixture.sync(s, to: f)
        let roleAtF = try f.view().membership.role(of: h2.nodeID.signingKey)
        #expect(roleAtF == .coordinator, "F: honest coordinator H2 is now a \(roleAtF.map(\.rawValue) ?? "non-member")")
        // H2, not yet aware, revokes S; F's import screen must accept it.
        let (rev, _) = try h2.revoke(s.nodeID)
        let report = try f.importEnvelopes(try h2.envelopes(missingFrom: try f.versionVector()))
        #expect(!report.refused.contains { $0.id == rev.id }, "F refused H2's revocation of the seizer: \(report.refused.map { "\($0.reason)" })")
    }
}
