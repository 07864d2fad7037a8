import Foundation
import SandyqCore
import SandyqCrypto
import Testing

/// Attacks on the derivation by a seizer holding one coordinator's device (security review
/// of the revocation change). Each test states what the promise requires.
@Suite("Membership review: attacks on the derivation")
struct MembershipReviewTests {
    typealias Op = MembershipPropertyTests.Op
    typealias Scenario = MembershipPropertyTests.Scenario

    /// Builds chains op by op; ids random from a fixed seed.
    struct Builder {
        var s = Scenario()
        var chains: [[Op]] = []
        var r: SeededRandom
        init(seed: UInt64, people: Int) throws {
            r = SeededRandom(seed: seed)
            for _ in 0..<people { s.keys.append(try MembershipPropertyTests.node(&r)); chains.append([]) }
        }
        @discardableResult
        mutating func write(_ a: Int, _ c: MembershipChange?) throws -> Op {
            let op = Op(author: a, seq: UInt64(chains[a].count + 1), id: try OpID(bytes: r.bytes(32)),
                        prev: chains[a].last?.id ?? .zero, change: c)
            chains[a].append(op)
            s.ops.append(op)
            return op
        }
        mutating func genesis() throws -> Op {
            try write(0, .genesis(founder: s.keys[0], nonce: [UInt8](repeating: 7, count: 16)))
        }
        mutating func add(_ by: Int, _ who: Int, _ role: Role = .coordinator) throws -> Op {
            try write(by, .add(member: s.keys[who], role: role))
        }
        mutating func revoke(_ by: Int, _ who: Int, after: Op?) throws -> Op {
            try write(by, .revoke(member: s.keys[who].signingKey, after: after.map { .op($0.id, seq: $0.seq) } ?? .nothing))
        }
        func key(_ i: Int) -> SigningPublicKey { s.keys[i].signingKey }
    }

    /// F founds, admits S first, then H1 and H2. S's device is seized. The seizer revokes F
    /// naming F's add of S: F's later adds (H1, H2) no longer stand, so H1 and H2 are "not
    /// certain" and tie-break rule 1 sets their revocations of S aside first. Every honest
    /// coordinator (F, H1, H2) revokes S, and S still wins.
    @Test("attack: the seizer revokes its admitter just after its own admission; the honest majority's revocations are set aside by rule 1")
    func revokeAdmitterAfterOwnAdd() throws {
        withKnownIssue("Protocol/membership.md known gap 11: a seized early coordinator revokes its admitter just after its own admission") {
            var b = try Builder(seed: 101, people: 4)
            let (F, S, H1, H2) = (0, 1, 2, 3)
            _ = try b.genesis()
            let addS = try b.add(F, S)
            _ = try b.add(F, H1); _ = try b.add(F, H2)
            let s1 = try b.write(S, nil)                        // S's last honest op, seen by all
            _ = try b.write(H1, nil); _ = try b.write(H2, nil)
            // The seizer, on S's unlocked device:
            let attack = try b.revoke(S, F, after: addS)
            // Told of the seizure, every honest coordinator revokes S, naming s1 (concurrently).
            let fr = try b.revoke(F, S, after: s1)
            let h1r = try b.revoke(H1, S, after: s1)
            let h2r = try b.revoke(H2, S, after: s1)
            let m = b.s.derive(b.s.changes)
            #expect(m.members[b.key(S)]?.isRevoked == true, "the seized device must be revoked")
            #expect(m.members[b.key(F)]?.isRevoked == false, "the founder must stand")
            #expect(m.members[b.key(H1)]?.isRevoked == false, "H1 must stand")
            #expect(m.members[b.key(H2)]?.isRevoked == false, "H2 must stand")
            #expect(m.effectiveRevocations.contains(h1r.id) && m.effectiveRevocations.contains(h2r.id) && m.effectiveRevocations.contains(fr.id))
            #expect(!m.effectiveRevocations.contains(attack.id))
            #expect(m.coordinators.contains(b.s.keys[H1]), "coordinators now: \(m.coordinators.count)")
        }
    }

    /// Same attack when F does not take part (say, F is away): H1 and H2, two honest
    /// coordinators of three, revoke S. The promise holds for >= 3 coordinators.
    @Test("attack: two honest revokers of three lose to one seizer who revoked their admitter")
    func revokeAdmitterTwoHonest() throws {
        withKnownIssue("Protocol/membership.md known gap 11: a seized early coordinator revokes its admitter just after its own admission") {
            var b = try Builder(seed: 102, people: 4)
            let (F, S, H1, H2) = (0, 1, 2, 3)
            _ = try b.genesis()
            let addS = try b.add(F, S)
            _ = try b.add(F, H1); _ = try b.add(F, H2)
            let s1 = try b.write(S, nil)
            _ = try b.revoke(S, F, after: addS)
            _ = try b.revoke(H1, S, after: s1)
            _ = try b.revoke(H2, S, after: s1)
            let m = b.s.derive(b.s.changes)
            #expect(m.members[b.key(S)]?.isRevoked == true, "the seized device must be revoked")
            #expect(m.members[b.key(H1)]?.isRevoked == false && m.members[b.key(H2)]?.isRevoked == false,
                    "H1, H2 must stand; members: \(m.members.count), coordinators: \(m.coordinators.count)")
        }
    }

    /// With three coordinators, one honest revoker: the seizer answers with a revocation of
    /// the revoker naming its op from before (backdating is free: "concurrent" cannot be
    /// checked). Rules 2 and 3 tie, and rule 4 hands the win to the deeper admission.
    @Test("attack: a single honest revoker loses to a deeper seized coordinator that backdates a counter-revocation")
    func backdatedCounterRevocation() throws {
        withKnownIssue("Protocol/membership.md, The 1-v-1 limit: one honest revoker against a backdated counter-revocation") {
            var b = try Builder(seed: 103, people: 4)
            let (F, H1, H2, S) = (0, 1, 2, 3)
            _ = try b.genesis()
            _ = try b.add(F, H1); _ = try b.add(F, H2)
            _ = try b.add(H2, S)                                // S is admitted by H2: depth 2
            let s1 = try b.write(S, nil)
            let h1 = try b.write(H1, nil)
            let h1r = try b.revoke(H1, S, after: s1)
            // The seizer has already received h1r; it names H1's op just before it.
            _ = try b.revoke(S, H1, after: h1)
            let m = b.s.derive(b.s.changes)
            #expect(m.members[b.key(S)]?.isRevoked == true, "the seized device must be revoked")
            #expect(m.members[b.key(H1)]?.isRevoked == false, "the honest revoker must stand")
            #expect(m.effectiveRevocations.contains(h1r.id))
        }
    }

    /// "A device keeps the role of the first add applied to it", and within one sweep adds
    /// go in (author key, seq, op id) order. So a coordinator whose key sorts before the
    /// admitter's can write, at any later time, `add(H, role: .relay)` for a coordinator H
    /// admitted at the same depth as its own adds are applied: H becomes a relay, its
    /// revocations count for nothing (and Node.screen refuses them at import). Here F admits
    /// S and H1; H1 admits H2 and H3; the seizer on S demotes H2 and H3. All of H1, H2, H3
    /// then revoke S, and S answers H1 alone with a backdated counter-revocation. While S
    /// stands H2 and H3 are relays, so their revocations are in no world valid: the >= 3
    /// protection is gone, it is a 1-v-1 settled by rules 4-5 (with this seed S loses rule 5,
    /// so only the first expectation fails; a seizer deeper than H1 would win by rule 4).
    @Test("attack: demoting honest coordinators with a later add that wins the sweep order")
    func demotionByLaterAdd() throws {
        var b = try Builder(seed: 106, people: 5)
        // Pick S and H1 among keys 1, 2 so that S's key sorts before H1's.
        let (S, H1) = b.key(1) < b.key(2) ? (1, 2) : (2, 1)
        let (F, H2, H3) = (0, 3, 4)
        _ = try b.genesis()
        _ = try b.add(F, S); _ = try b.add(F, H1)
        _ = try b.add(H1, H2); _ = try b.add(H1, H3)
        let s1 = try b.write(S, nil)
        let h1 = try b.write(H1, nil)
        // The seizer on S, after H2 and H3 have long been coordinators:
        _ = try b.add(S, H2, .relay); _ = try b.add(S, H3, .relay)
        let before = b.s.derive(b.s.changes)
        #expect(before.role(of: b.key(H2)) == .coordinator, "an honest coordinator demoted by a later add: \(before.role(of: b.key(H2)).map(\.rawValue) ?? "none")")
        // Every honest coordinator revokes S; S answers only H1.
        _ = try b.revoke(H1, S, after: s1)
        let h2r = try b.revoke(H2, S, after: s1)
        _ = try b.revoke(H3, S, after: s1)
        _ = try b.revoke(S, H1, after: h1)
        let m = b.s.derive(b.s.changes)
        #expect(m.members[b.key(S)]?.isRevoked == true, "the seized device must be revoked (S depth 1, H1 depth 1: rule 5 decides)")
        #expect(m.role(of: b.key(H2)) == .coordinator)
        #expect(m.effectiveRevocations.contains(h2r.id), "H2's revocation of S must count")
    }

    /// The founder is whoever's genesis derives the project id. A stranger's genesis naming the
    /// same project, with itself as founder and the smallest op id, founds nothing.
    @Test("holds: a stranger's genesis with the smallest id does not make it the founder")
    func strangersGenesisFoundsNothing() throws {
        var b = try Builder(seed: 109, people: 3)
        let (F, H, X) = (0, 1, 2)
        let g = try b.genesis()
        _ = try b.add(F, H)
        let stranger = Op(author: X, seq: 1, id: try OpID(bytes: [UInt8](repeating: 0, count: 31) + [1]), prev: .zero,
                          change: .genesis(founder: b.s.keys[X], nonce: [UInt8](repeating: 7, count: 16)))
        b.s.ops.append(stranger)
        let m = b.s.derive(b.s.changes)
        #expect(m.genesis == g.id)
        #expect(m.founder == b.key(F))
        #expect(m.members[b.key(X)] == nil)
        #expect(m.members[b.key(H)]?.role == .coordinator)
    }

    /// Checks that held (these pass): self-revocation, revoking a never-admitted key, the v1
    /// seq form on a forked chain, a forged second genesis, a ring of revocations.
    @Test("holds: self-revocation, never-admitted target, legacySeq on a fork, forged genesis, revocation ring")
    func edgeCasesThatHold() throws {
        var b = try Builder(seed: 107, people: 6)
        let (F, S, H1, H2, X, O) = (0, 1, 2, 3, 4, 5)
        let g = try b.genesis()
        _ = try b.add(F, S); _ = try b.add(F, H1); _ = try b.add(F, H2)
        let s1 = try b.write(S, nil)
        // Self-revocation is ignored.
        _ = try b.revoke(S, S, after: nil)
        // Revoking an outsider O (never admitted): no member appears.
        _ = try b.revoke(S, O, after: nil)
        // The seizer forks its own seq 2 and writes a v1 revoke naming H1's seq 1.
        let fork = Op(author: S, seq: 2, id: try OpID(bytes: b.r.bytes(32)), prev: s1.id, change: .revoke(member: b.key(H1), after: .legacySeq(1)))
        b.s.ops.append(fork)
        // A forged genesis at seq 1 by the founder's key (same body, another id, smallest).
        let forged = Op(author: F, seq: 1, id: try OpID(bytes: [UInt8](repeating: 0, count: 31) + [1]), prev: .zero,
                        change: .genesis(founder: b.s.keys[F], nonce: [UInt8](repeating: 7, count: 16)))
        b.s.ops.append(forged)
        // Honest H1 and H2 revoke S naming s1.
        _ = try b.revoke(H1, S, after: s1); _ = try b.revoke(H2, S, after: s1)
        let m = b.s.derive(b.s.changes)
        #expect(m.members[b.key(S)]?.isRevoked == true)
        #expect(m.members[b.key(O)] == nil && m.members[b.key(X)] == nil)
        #expect(m.members[b.key(H1)]?.isRevoked == false && m.members[b.key(H2)]?.isRevoked == false)
        // The forged genesis becomes `genesis` (smallest id), which changes nothing else here.
        #expect(m.genesis == forged.id || m.genesis == g.id)
        let shuffled = b.s.derive(b.s.changes.reversed())
        #expect(shuffled.members == m.members && shuffled.effectiveRevocations == m.effectiveRevocations)

        // A ring of 60 coordinators each revoking the next (naming the op before its own
        // revocation): terminates, leaves coordinators standing, same in any order.
        var r = try Builder(seed: 108, people: 60)
        _ = try r.genesis()
        for k in 1..<60 { _ = try r.add(0, k) }
        let pre = try (0..<60).map { try r.write($0, nil) }
        for k in 0..<60 { _ = try r.revoke(k, (k + 1) % 60, after: pre[(k + 1) % 60]) }
        let start = Date()
        let rm = r.s.derive(r.s.changes)
        print("ring of 60: derive took \(String(format: "%.2f", Date().timeIntervalSince(start))) s, \(rm.coordinators.count) standing")
        #expect(!rm.coordinators.isEmpty)
        #expect(r.s.derive(r.s.changes.shuffled(using: &r.r)).members == rm.members)
    }
}

extension MembershipReviewTests {
    /// A seizer's chain of sockpuppets (each adding the next) revoking honest coordinators:
    /// the derivation must still settle with the seizer revoked. `SANDYQ_PUPPETS` sets the
    /// chain's length; the time is printed (a measurement, not a pass condition).
    @Test("sockpuppet chain: 2,000 crafted revocations settle with the seizer revoked")
    func sockpuppetChain() throws {
        let env = ProcessInfo.processInfo.environment
        let honest = 50, puppets = Int(env["SANDYQ_PUPPETS"] ?? "") ?? 200, each = max(1, 2000 / puppets)
        var b = try Builder(seed: 104, people: honest + 1 + puppets)
        // swift-format-ignore: AlwaysUseLowerCamelCase
        let S = honest  // the seized coordinator, S as in the tests above
        _ = try b.genesis()
        for k in 1..<honest { _ = try b.add(0, k) }
        _ = try b.add(0, S)
        let s1 = try b.write(S, nil)
        var heads: [Op?] = Array(repeating: nil, count: honest)
        for k in 1..<honest { heads[k] = try b.write(k, nil) }
        _ = try b.revoke(1, S, after: s1)
        var prev = S
        for p in 0..<puppets { _ = try b.add(prev, honest + 1 + p); prev = honest + 1 + p }
        for p in 0..<puppets {
            for t in 0..<each { _ = try b.revoke(honest + 1 + p, (p * 7 + t) % (honest - 1) + 1, after: heads[(p * 7 + t) % (honest - 1) + 1]) }
        }
        let start = Date()
        let m = b.s.derive(b.s.changes)
        print("sockpuppet chain: \(puppets) puppets, \(b.s.changes.count) membership changes, derived in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        #expect(m.members[b.key(S)]?.isRevoked == true)
        #expect(m.coordinators.count == honest)
    }
}
