import Foundation
import SandyqCore
import SandyqCrypto
import Testing

/// Random projects where coordinators revoke one another concurrently, each naming a point
/// of the other's chain as it last saw it. The derivation must not depend on the order it is
/// given ops in, must always leave a coordinator standing, and must never let a revoked
/// author's op outside its genuine chain count.
@Suite("Membership derivation: concurrent revocations settle alike everywhere")
struct MembershipPropertyTests {
    struct Op { let author: Int; let seq: UInt64; let id: OpID; let prev: OpID; let change: MembershipChange? }

    struct Scenario {
        var keys: [NodeID] = []
        var ops: [Op] = []
        var changes: [Membership.Change] {
            ops.compactMap { o in o.change.map { .init(op: o.id, author: keys[o.author].signingKey, seq: o.seq, change: $0) } }
        }
        func chain(_ k: SigningPublicKey) -> [ChainLink] {
            ops.filter { keys[$0.author].signingKey == k }.map { ChainLink(seq: $0.seq, id: $0.id, prev: $0.prev) }
        }
        func derive(_ order: [Membership.Change]) -> Membership {
            let s = self
            return Membership.derive(project: project, changes: order, chain: { s.chain($0) })
        }
        var project: ProjectID { ProjectID.derive(founder: keys[0], nonce: [UInt8](repeating: 7, count: 16)) }
    }

    static func node(_ r: inout SeededRandom) throws -> NodeID {
        NodeID(signingKey: try SigningPublicKey(bytes: r.bytes(32)), boxKey: try BoxPublicKey(bytes: r.bytes(32)))
    }

    /// Founder 0 admits coordinators 1..n-1; then each writes filler ops and revocations of
    /// others at random, each naming a random point of the target's chain (its view then).
    static func scenario(_ r: inout SeededRandom) throws -> Scenario {
        var s = Scenario()
        let n = 2 + r.below(4)
        for _ in 0..<n { s.keys.append(try node(&r)) }
        var chains: [[Op]] = Array(repeating: [], count: n)
        func append(_ a: Int, _ c: MembershipChange?, _ r: inout SeededRandom) throws {
            let seq = UInt64(chains[a].count + 1)
            let op = Op(author: a, seq: seq, id: try OpID(bytes: r.bytes(32)), prev: chains[a].last?.id ?? .zero, change: c)
            chains[a].append(op)
            s.ops.append(op)
        }
        try append(0, .genesis(founder: s.keys[0], nonce: [UInt8](repeating: 7, count: 16)), &r)
        for k in 1..<n { try append(0, .add(member: s.keys[k], role: .coordinator), &r) }
        for _ in 0..<(3 + r.below(10)) {
            let a = r.below(n)
            if r.chance(0.5) || n < 2 { try append(a, nil, &r); continue }
            var t = r.below(n)
            while t == a { t = r.below(n) }
            let seen = r.below(chains[t].count + 1)
            let point: RevocationPoint = seen == 0 ? .nothing : .op(chains[t][seen - 1].id, seq: UInt64(seen))
            try append(a, .revoke(member: s.keys[t].signingKey, after: point), &r)
        }
        // Sometimes an admitted coordinator's key is copied and forked below its head.
        if r.chance(0.3) {
            let a = 1 + r.below(n - 1)
            if chains[a].count >= 2 {
                let base = chains[a][0]
                let fork = Op(author: a, seq: 2, id: try OpID(bytes: r.bytes(32)), prev: base.id,
                              change: .add(member: try node(&r), role: .coordinator))
                s.ops.append(fork)
            }
        }
        return s
    }

    @Test("same result in any order; a coordinator always stands; revoked authors count only genuine ops")
    func properties() throws {
        let base = ProcessInfo.processInfo.environment["SANDYQ_SEED"] != nil ? SeededRandom.seeds : SeededRandom.seeds.map { $0 &* 1000 }
        for seed in base.flatMap({ b in (0..<UInt64(ProcessInfo.processInfo.environment["SANDYQ_SEED"] != nil ? 1 : 200)).map { b &+ $0 } }) {
            var r = SeededRandom(seed: seed)
            let s = try Self.scenario(&r)
            let m = s.derive(s.changes)
            let shuffled = s.derive(s.changes.shuffled(using: &r))
            #expect(m.members == shuffled.members, "seed \(seed): the order changed the result")
            #expect(m.effectiveRevocations == shuffled.effectiveRevocations, "seed \(seed)")
            #expect(!m.coordinators.isEmpty, "seed \(seed): no coordinator left standing")
            for op in m.effectiveRevocations {
                let c = try #require(s.changes.first { $0.op == op })
                #expect(m.standing(author: c.author, op: op) == .accepted, "seed \(seed): an effective revocation by an author it does not count for")
            }
            for o in s.ops {
                let key = s.keys[o.author].signingKey
                guard let member = m.members[key], member.isRevoked else { continue }
                // The genuine set is a chain prefix: seqs strictly below each other, linked.
                let genuine = s.ops.filter { s.keys[$0.author].signingKey == key && member.genuine.contains($0.id) }
                #expect(Set(genuine.map(\.seq)).count == genuine.count, "seed \(seed): a fork inside the genuine set")
            }
        }
    }

    @Test("mutual revocation of two coordinators: exactly one stands, by the written rule")
    func mutualRevocation() throws {
        var r = SeededRandom(seed: 13)
        var s = Scenario()
        s.keys = [try Self.node(&r), try Self.node(&r)]
        let g = Op(author: 0, seq: 1, id: try OpID(bytes: r.bytes(32)), prev: .zero,
                   change: .genesis(founder: s.keys[0], nonce: [UInt8](repeating: 7, count: 16)))
        let add = Op(author: 0, seq: 2, id: try OpID(bytes: r.bytes(32)), prev: g.id, change: .add(member: s.keys[1], role: .coordinator))
        let c1 = Op(author: 1, seq: 1, id: try OpID(bytes: r.bytes(32)), prev: .zero, change: nil)
        let fr = Op(author: 0, seq: 3, id: try OpID(bytes: r.bytes(32)), prev: add.id,
                    change: .revoke(member: s.keys[1].signingKey, after: .op(c1.id, seq: 1)))
        let cr = Op(author: 1, seq: 2, id: try OpID(bytes: r.bytes(32)), prev: c1.id,
                    change: .revoke(member: s.keys[0].signingKey, after: .op(add.id, seq: 2)))
        s.ops = [g, add, c1, fr, cr]
        let m = s.derive(s.changes)
        // Equal on revocations and accusers: the shallower admission (the founder) loses.
        #expect(m.members[s.keys[0].signingKey]?.isRevoked == true)
        #expect(m.members[s.keys[1].signingKey]?.isRevoked == false)
        #expect(m.effectiveRevocations == [cr.id] && m.setAside == [fr.id])
        // The founder's genesis still stands: the project keeps its root.
        #expect(m.genesis == g.id && m.members[s.keys[1].signingKey] != nil)
    }
}
