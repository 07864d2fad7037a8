import SandyqCrypto

public struct Member: Hashable, Sendable {
    public let node: NodeID
    public let role: Role
    /// The op that admitted this member (the genesis for the founder).
    public let admittedBy: OpID
    /// Ops signed with seq above this are quarantined.
    public var revokedAfter: UInt64?
}

/// Who belongs to the project, derived from its membership ops. Admission needs a
/// coordinator who was itself admitted, so the result is a fixpoint from the genesis.
public struct Membership: Sendable {
    public private(set) var project: ProjectID
    public private(set) var members: [SigningPublicKey: Member] = [:]
    public private(set) var genesis: OpID?
    public private(set) var founder: SigningPublicKey?

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

    /// Rebuilds membership from every membership op held, in any order. Revocations take
    /// effect during admission, so a revoked coordinator's later adds and revokes count for
    /// nothing: the pass repeats with the revocations it found until they stop changing.
    public static func derive(project: ProjectID, changes: [Change]) -> Membership {
        var revocations: [SigningPublicKey: UInt64] = [:]
        var m = Membership(project: project)
        var seen: [[SigningPublicKey: UInt64]] = []
        for _ in 0..<16 {
            m = pass(project: project, changes: changes, revocations: revocations)
            if m.pendingRevocations == revocations { return m }
            seen.append(m.pendingRevocations)
            revocations = m.pendingRevocations
        }
        // Revocations that undo their own authority (revoking one's admitter) can oscillate:
        // keep only those every pass agreed on, which is stable and the same on every node.
        var agreed = seen.first ?? [:]
        for r in seen.dropFirst() { agreed = agreed.filter { r[$0.key] == $0.value } }
        return pass(project: project, changes: changes, revocations: agreed)
    }

    static func pass(project: ProjectID, changes: [Change], revocations: [SigningPublicKey: UInt64]) -> Membership {
        var m = Membership(project: project)
        // Genesis: the one whose derived id matches the project, by its founder, at seq 1.
        for c in changes {
            if case let .genesis(f, nonce) = c.change, c.seq == 1, c.author == f.signingKey,
               ProjectID.derive(founder: f, nonce: nonce) == project {
                if m.genesis == nil || c.op < m.genesis! {
                    m.genesis = c.op
                    m.founder = f.signingKey
                    m.members = [f.signingKey: Member(node: f, role: .coordinator, admittedBy: c.op, revokedAfter: revocations[f.signingKey])]
                }
            }
        }
        guard m.genesis != nil else { return m }
        var pending = changes.filter { if case .genesis = $0.change { return false } else { return true } }
        var progressed = true
        while progressed {
            progressed = false
            var rest: [Change] = []
            for c in pending {
                guard m.isAllowed(author: c.author, seq: c.seq, manage: true) else { rest.append(c); continue }
                progressed = true
                switch c.change {
                case let .add(node, role):
                    // Re-adding never lifts a revocation, and a device keeps its first role.
                    if m.members[node.signingKey] == nil {
                        m.members[node.signingKey] = Member(node: node, role: role, admittedBy: c.op, revokedAfter: revocations[node.signingKey])
                    }
                case let .revoke(key, from):
                    // The founder cannot be revoked: every admission descends from the genesis.
                    if key == m.founder { break }
                    m.pendingRevocations[key] = min(m.pendingRevocations[key] ?? .max, from)
                case .genesis:
                    break
                }
            }
            pending = rest
        }
        // Concurrent add and revoke resolve to revoke.
        for (key, from) in m.pendingRevocations {
            if var member = m.members[key] {
                member.revokedAfter = min(member.revokedAfter ?? .max, from)
                m.members[key] = member
            }
        }
        return m
    }

    private var pendingRevocations: [SigningPublicKey: UInt64] = [:]

    /// Whether an op by `author` at `seq` counts. `manage` asks for membership rights.
    public func isAllowed(author: SigningPublicKey, seq: UInt64, manage: Bool = false) -> Bool {
        guard let m = members[author] else { return false }
        if let r = m.revokedAfter, seq > r { return false }
        return manage ? m.role.managesMembership : m.role.canWrite
    }

    public enum Standing: Sendable, Equatable {
        case accepted, notMember, readOnlyRole, revoked
    }

    public func standing(author: SigningPublicKey, seq: UInt64) -> Standing {
        guard let m = members[author] else { return .notMember }
        if let r = m.revokedAfter, seq > r { return .revoked }
        return m.role.canWrite ? .accepted : .readOnlyRole
    }

    public func role(of key: SigningPublicKey) -> Role? { members[key]?.role }

    /// Box keys of the members who read what is sealed to coordinators.
    public var coordinators: [NodeID] {
        members.values.filter { $0.role == .coordinator && $0.revokedAfter == nil }.map(\.node).sorted()
    }
}
