import SandyqCrypto

public struct Member: Hashable, Sendable {
    public let node: NodeID
    public let role: Role
    /// The op that admitted this member (the genesis for the founder).
    public let admittedBy: OpID
    /// The seq of the last genuine op its effective revocations name (0: none was genuine);
    /// nil while it is not revoked. Shown to people; standing is decided by `genuine`.
    public var revokedAfter: UInt64?
    /// While revoked: the ops of this member that still count, the named op and its chain
    /// ancestors (Protocol/membership.md, "Revocation").
    public var genuine: Set<OpID> = []

    public var isRevoked: Bool { revokedAfter != nil }
}

/// One op's place in its author's chain, so a revocation's named op can be traced back.
public struct ChainLink: Hashable, Sendable {
    public let seq: UInt64
    public let id: OpID
    public let prev: OpID
    public init(seq: UInt64, id: OpID, prev: OpID) { self.seq = seq; self.id = id; self.prev = prev }
}

/// Who belongs to the project, derived from its membership ops and the chains of revoked
/// authors. The rule, with the cases it settles, is Protocol/membership.md "Derivation".
public struct Membership: Sendable {
    public fileprivate(set) var project: ProjectID
    public fileprivate(set) var members: [SigningPublicKey: Member] = [:]
    public fileprivate(set) var genesis: OpID?
    public fileprivate(set) var founder: SigningPublicKey?
    /// Revocation ops that take effect; the rest were written by a key that had lost the
    /// right, or lost a tie-break.
    public fileprivate(set) var effectiveRevocations: Set<OpID> = []
    /// Revocations set aside by the tie-break of concurrent revocations.
    public fileprivate(set) var setAside: Set<OpID> = []
    /// Ops withdrawn by a withdrawal that stands (its author a coordinator, not revoked before
    /// it), with the withdrawal ops that name each (Protocol/ops.md section 4, "Withdrawal").
    public fileprivate(set) var withdrawn: [OpID: WithdrawnOp] = [:]
    public fileprivate(set) var withdrawals: [OpID: [WithdrawnOp]] = [:]
    /// Evidence files (fids) those withdrawals name.
    public fileprivate(set) var withdrawnFiles: Set<[UInt8]> = []
    /// Each member's reader key, from the announcements that count (Protocol/ops.md section 4,
    /// "Reader key"). A member absent here has announced none: it is sealed to by its node id.
    public fileprivate(set) var readerKeys: [SigningPublicKey: ReaderKey] = [:]

    public init(project: ProjectID) { self.project = project }

    public struct Change: Sendable {
        public let op: OpID
        public let author: SigningPublicKey
        public let seq: UInt64
        public let change: MembershipChange
        public init(op: OpID, author: SigningPublicKey, seq: UInt64, change: MembershipChange) {
            self.op = op; self.author = author; self.seq = seq; self.change = change
        }
    }

    /// Rebuilds membership from every membership op held, in any order. `chain` gives the
    /// held ops of an author (any order); it is asked only for revoked authors.
    public static func derive(project: ProjectID, changes: [Change],
                              chain: @escaping (SigningPublicKey) -> [ChainLink] = { _ in [] }) -> Membership {
        var d = Derivation(project: project, changes: changes, chain: chain)
        return d.run()
    }

    /// Whether a new op by `author` would count. `manage` asks for membership rights.
    public func isAllowed(author: SigningPublicKey, seq: UInt64, manage: Bool = false) -> Bool {
        guard let m = members[author], !m.isRevoked else { return false }
        return manage ? m.role.managesMembership : m.role.canWrite
    }

    public enum Standing: Sendable, Equatable {
        case accepted, notMember, readOnlyRole, revoked
    }

    /// The standing of a held op.
    public func standing(author: SigningPublicKey, op: OpID) -> Standing {
        guard let m = members[author] else { return .notMember }
        if m.isRevoked && !m.genuine.contains(op) { return .revoked }
        return m.role.canWrite ? .accepted : .readOnlyRole
    }

    public func role(of key: SigningPublicKey) -> Role? { members[key]?.role }

    /// Members not revoked.
    public var current: [Member] { members.values.filter { !$0.isRevoked } }

    /// Box keys of the members who read what is sealed to coordinators.
    public var coordinators: [NodeID] {
        members.values.filter { $0.role == .coordinator && !$0.isRevoked }.map(\.node).sorted()
    }

    /// The key what `node` may read is sealed to (Protocol/ops.md section 4, "Reader key"): its
    /// reader key; its node id's box key when it has announced none, or two at one epoch (a
    /// copied device: the box key is the one both copies hold).
    public func sealingKey(for node: NodeID) -> BoxPublicKey {
        guard let rk = readerKeys[node.signingKey], !rk.forked, members[node.signingKey]?.node == node else { return node.boxKey }
        return rk.key
    }

    /// What is sealed to coordinators is sealed to these.
    public var coordinatorSealingKeys: [BoxPublicKey] { coordinators.map(sealingKey(for:)) }

    /// Refuses, before they reach the store, ops whose author is known to have no write rights.
    public func screen(_ env: Envelope) -> CoreError? {
        guard let member = members[env.author] else { return nil }
        if env.kind == .membership {
            return member.role == .coordinator ? nil : .notAllowed("only coordinators change membership")
        }
        return member.role.canWrite ? nil : .notAllowed("a \(member.role.rawValue) may not write")
    }

    /// A member whose revocation is held: refused as a client and as a server, pinned or not.
    public func isRevoked(_ key: SigningPublicKey) -> Bool {
        members[key]?.isRevoked == true
    }

    /// Whether `id` (both keys) is an admitted member whose new ops would still count: the only
    /// nodes a node acknowledges or writes bundles to.
    public func isCurrentMember(_ id: NodeID) -> Bool {
        guard let member = members[id.signingKey], member.node == id else { return false }
        return !member.isRevoked
    }
}

/// The derivation as a well-founded fixpoint over revocation ops, then a deterministic
/// tie-break for what remains undecided (cycles of concurrent revocations).
private struct Derivation {
    let project: ProjectID
    let changes: [Change]
    let chain: (SigningPublicKey) -> [ChainLink]
    typealias Change = Membership.Change

    var genesis: Change?
    var revocations: [OpID: (author: SigningPublicKey, target: SigningPublicKey, point: RevocationPoint)] = [:]
    var links: [SigningPublicKey: [OpID: ChainLink]] = [:]
    var genuineCache: [[UInt8]: Set<OpID>] = [:]

    init(project: ProjectID, changes: [Change], chain: @escaping (SigningPublicKey) -> [ChainLink]) {
        self.project = project
        // Chain order, so "first" below means the same on every node.
        self.changes = changes.sorted { ($0.author, $0.seq, $0.op) < ($1.author, $1.seq, $1.op) }
        self.chain = chain
        for c in self.changes {
            if case let .genesis(f, nonce) = c.change, c.seq == 1, c.author == f.signingKey,
               ProjectID.derive(founder: f, nonce: nonce) == project, genesis == nil || c.op < genesis!.op {
                genesis = c
            }
            // Self-revocation is ignored: a device that could write it can also write anything.
            if case let .revoke(target, point) = c.change, target != c.author {
                revocations[c.op] = (c.author, target, point)
            }
        }
    }

    struct World {
        var members: [SigningPublicKey: Member] = [:]
        var depth: [SigningPublicKey: Int] = [:]
        var valid: Set<OpID> = []
    }

    mutating func run() -> Membership {
        var m = Membership(project: project)
        guard let g = genesis, case let .genesis(founder, _) = g.change else { return m }
        var setAside: Set<OpID> = []
        var lower: Set<OpID> = []
        for _ in 0...revocations.count {
            lower = []
            var upper: Set<OpID> = []
            // Alternating fixpoint: `lower` grows to the revocations effective whatever the
            // undecided ones do, `upper` shrinks to those that might be.
            for _ in 0..<64 {
                upper = evaluate(lower).valid.subtracting(setAside)
                let next = evaluate(upper).valid.subtracting(setAside)
                if next == lower { break }
                lower = next
            }
            let undecided = upper.subtracting(lower)
            if undecided.isEmpty { break }
            setAside.formUnion(tieBreak(undecided, lower: lower, upper: upper))
        }
        let w = evaluate(lower)
        m.genesis = g.op
        m.founder = founder.signingKey
        m.members = w.members
        m.effectiveRevocations = lower
        m.setAside = setAside
        for c in changes {
            guard case let .withdraw(ops, files) = c.change, let author = m.members[c.author], author.role == .coordinator,
                  !author.isRevoked || author.genuine.contains(c.op) else { continue }
            m.withdrawals[c.op] = ops
            for o in ops { m.withdrawn[o.id] = o }
            m.withdrawnFiles.formUnion(files)
        }
        m.readerKeys = readerKeys(in: m)
        return m
    }

    func readerKeys(in m: Membership) -> [SigningPublicKey: ReaderKey] {
        var out: [SigningPublicKey: ReaderKey] = [:]
        for c in changes {
            guard case let .readerKey(s) = c.change, m.counts(s, op: c.op, author: c.author) else { continue }
            Membership.merge(s, op: c.op, into: &out)
        }
        return out
    }

    /// Membership if exactly the revocations in `effective` take effect, and which
    /// revocations would then be valid.
    mutating func evaluate(_ effective: Set<OpID>) -> World {
        guard let g = genesis, case let .genesis(founder, _) = g.change else { return World() }
        var points: [SigningPublicKey: [RevocationPoint]] = [:]
        for op in effective.sorted() { if let r = revocations[op] { points[r.target, default: []].append(r.point) } }
        var genuine: [SigningPublicKey: Set<OpID>] = [:]
        for (target, ps) in points { genuine[target] = genuineOps(of: target, points: ps) }
        func stands(_ c: Change) -> Bool {
            // The genesis is every admission's root: it stands even when its author is revoked.
            c.op == g.op || genuine[c.author].map { $0.contains(c.op) } ?? true
        }
        var w = World()
        w.members[founder.signingKey] = Member(node: founder, role: .coordinator, admittedBy: g.op)
        w.depth[founder.signingKey] = 0
        func manages(_ c: Change) -> Bool { w.members[c.author]?.role.managesMembership == true && stands(c) }
        var pending = changes.filter { if case .add = $0.change { return true } else { return false } }
        var progressed = true
        while progressed {
            progressed = false
            var rest: [Change] = []
            for c in pending {
                guard manages(c) else { rest.append(c); continue }
                progressed = true
                // Re-adding never lifts a revocation. A device's role is the most capable any
                // standing add gives it, whatever the order: a later add by a seized coordinator
                // cannot demote an honest one (say, to a relay whose revocations do not count).
                guard case let .add(node, role) = c.change else { continue }
                if let existing = w.members[node.signingKey] {
                    if role < existing.role {
                        w.members[node.signingKey] = Member(node: existing.node, role: role, admittedBy: existing.admittedBy)
                    }
                } else {
                    w.members[node.signingKey] = Member(node: node, role: role, admittedBy: c.op)
                    w.depth[node.signingKey] = (w.depth[c.author] ?? 0) + 1
                }
            }
            pending = rest
        }
        for c in changes where revocations[c.op] != nil && manages(c) { w.valid.insert(c.op) }
        for (target, ps) in points {
            guard var member = w.members[target] else { continue }
            member.revokedAfter = ps.map(\.seq).min()
            member.genuine = genuine[target] ?? []
            w.members[target] = member
        }
        return w
    }

    /// The ops of `author` every one of `points` leaves standing: each named op and the ops
    /// its `prev` links reach. A link to an op not held ends the walk: what lies below it
    /// cannot be told from a fork until the missing op arrives.
    mutating func genuineOps(of author: SigningPublicKey, points: [RevocationPoint]) -> Set<OpID> {
        var result: Set<OpID>?
        for p in points {
            let key = author.bytes + p.cacheKey
            let set: Set<OpID>
            if let hit = genuineCache[key] { set = hit } else {
                set = ancestors(of: author, point: p)
                genuineCache[key] = set
            }
            result = result.map { $0.intersection(set) } ?? set
        }
        return result ?? []
    }

    mutating func ancestors(of author: SigningPublicKey, point: RevocationPoint) -> Set<OpID> {
        if links[author] == nil {
            var byID: [OpID: ChainLink] = [:]
            for l in chain(author) { byID[l.id] = l }
            links[author] = byID
        }
        let held = links[author]!
        let start: OpID
        switch point {
        case .nothing: return []
        case let .op(id, _): start = id
        case let .legacySeq(seq):
            // The retired v1 form named a seq: it names the op there only when exactly one is held.
            let at = held.values.filter { $0.seq == seq }
            guard seq > 0, at.count == 1 else { return [] }
            start = at[0].id
        }
        var out: Set<OpID> = []
        var cur = held[start]
        while let l = cur, !out.contains(l.id) {
            out.insert(l.id)
            guard l.seq > 1, let below = held[l.prev], below.seq == l.seq - 1 else { break }
            cur = below
        }
        return out
    }

    /// Concurrent revocations that undo each other (a cycle no fixpoint settles): one of
    /// their authors is chosen by rules every node applies alike (Protocol/membership.md,
    /// "Tie-break"), and its undecided revocations are set aside.
    mutating func tieBreak(_ undecided: Set<OpID>, lower: Set<OpID>, upper: Set<OpID>) -> Set<OpID> {
        let optimistic = evaluate(lower)
        // Admitted even when every possible revocation takes effect: admitted in every world.
        let certain = Set(evaluate(upper).members.keys)
        var targets: [SigningPublicKey: Set<SigningPublicKey>] = [:]      // author -> whom it revokes
        var accusers: [SigningPublicKey: Set<SigningPublicKey>] = [:]     // target -> certain accusers
        for op in undecided {
            guard let r = revocations[op] else { continue }
            targets[r.author, default: []].insert(r.target)
            if certain.contains(r.author) { accusers[r.target, default: []].insert(r.author) }
        }
        // The greatest rank is set aside: an admission that hangs on the cycle (a seizer's
        // sockpuppet), then the most members revoked, then the most certain accusers, then the
        // shallower admission (seniority gives no power), then the smaller admitting op and key.
        func rank(_ k: SigningPublicKey) -> [Int] {
            [certain.contains(k) ? 0 : 1, targets[k]?.count ?? 0, accusers[k]?.count ?? 0,
             -(optimistic.depth[k] ?? Int.max / 2)]
        }
        func tail(_ k: SigningPublicKey) -> [UInt8] {
            (optimistic.members[k]?.admittedBy.bytes ?? []) + [0] + k.bytes
        }
        // Every author whose admission hangs on the cycle is set aside in one round: they
        // rank first together, and one round each made a seizer's chain of sockpuppets cost
        // minutes per derivation (membership.md, known gap 12).
        let uncertain = Set(targets.keys.filter { !certain.contains($0) })
        if !uncertain.isEmpty {
            return undecided.filter { revocations[$0].map { uncertain.contains($0.author) } ?? false }
        }
        let loser = targets.keys.max { a, b in
            let ra = rank(a), rb = rank(b)
            if ra != rb { return ra.lexicographicallyPrecedes(rb) }
            return tail(b).lexicographicallyPrecedes(tail(a))
        }!
        return undecided.filter { revocations[$0]?.author == loser }
    }
}

extension RevocationPoint {
    var seq: UInt64 {
        switch self {
        case .nothing: 0
        case let .op(_, seq): seq
        case let .legacySeq(seq): seq
        }
    }

    var cacheKey: [UInt8] {
        switch self {
        case .nothing: [0]
        case let .op(id, _): [1] + id.bytes
        case let .legacySeq(seq): [2] + withUnsafeBytes(of: seq.bigEndian, Array.init)
        }
    }
}

extension Membership {
    /// An announcement counts when a coordinator that stands for it wrote it, it names a member
    /// that reads (any role but relay) and is not revoked (nothing is sealed to it any more, and a
    /// seizer of its key could otherwise still set one), and the statement holds: a key not of
    /// small order, and the member's own signature.
    func counts(_ s: ReaderKeyStatement, op: OpID, author: SigningPublicKey) -> Bool {
        guard let a = members[author], a.role == .coordinator, !a.isRevoked || a.genuine.contains(op),
              let member = members[s.member], member.role != .relay, !member.isRevoked, s.holds(in: project) else { return false }
        return true
    }

    /// The highest epoch wins; at one epoch the lowest op id, `forked` when the keys differ. The
    /// result does not depend on the order the announcements are met in.
    static func merge(_ s: ReaderKeyStatement, op: OpID, into out: inout [SigningPublicKey: ReaderKey]) {
        guard let held = out[s.member], held.epoch >= s.epoch else {
            out[s.member] = ReaderKey(epoch: s.epoch, key: s.key, op: op, forked: false)
            return
        }
        guard held.epoch == s.epoch else { return }
        let lower = op < held.op
        out[s.member] = ReaderKey(epoch: s.epoch, key: lower ? s.key : held.key, op: lower ? op : held.op,
                                  forked: held.forked || held.key != s.key)
    }

    /// One more announcement, as a derivation over every change and this one would take it: an
    /// announcement changes no member, revocation or standing, and the merge is order-free.
    public mutating func absorbReaderKey(_ s: ReaderKeyStatement, op: OpID, author: SigningPublicKey) {
        guard counts(s, op: op, author: author) else { return }
        Membership.merge(s, op: op, into: &readerKeys)
    }
}
