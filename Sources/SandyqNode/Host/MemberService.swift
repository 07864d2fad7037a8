import SandyqCore

/// Who belongs to the project: invitations, admission, roles, revocation and the limits
/// this node holds members to.
public struct MemberService: Sendable {
    let host: NodeHost

    public typealias RevokePoint = Node.RevokePoint

    public func invite(role: Role) throws(NodeError) -> Invitation {
        try host.withNode { n throws(NodeError) in try n.invite(role: role) }
    }

    /// The new member's side of an invitation.
    public func accept(_ inv: Invitation) throws(NodeError) -> (request: JoinRequest, sas: String) {
        try host.withNode { n throws(NodeError) in try n.accept(inv) }
    }

    public func authenticationString(for req: JoinRequest) throws(NodeError) -> String {
        try host.withNode { n throws(NodeError) in try n.authenticationString(for: req) }
    }

    public func admit(_ req: JoinRequest) throws(NodeError) -> (Envelope, Role) {
        try host.withNode { n throws(NodeError) in try n.admit(req) }
    }

    @discardableResult
    public func add(_ member: NodeID, role: Role) throws(NodeError) -> Envelope {
        try host.withNode { n throws(NodeError) in try n.addMember(member, role: role) }
    }

    public func revoke(_ member: NodeID, after: Node.RevokePoint = .lastHeld) throws(NodeError) -> (env: Envelope, point: RevocationPoint) {
        try host.withNode { n throws(NodeError) in try n.revoke(member, after: after) }
    }

    /// Shares a case with a lawyer.
    public func share(_ ref: String, with lawyer: NodeID) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.share(ref, with: lawyer) }
    }

    /// Every member the view knows, revoked ones included.
    public func list() throws(NodeError) -> [Member] {
        Array(try host.view().membership.members.values)
    }

    /// The reader key each member announced (ops.md section 4, "Reader key"); absent: none yet.
    public func readerKeys() throws(NodeError) -> [SigningPublicKey: ReaderKey] {
        try host.view().membership.readerKeys
    }

    public func quarantine() throws(NodeError) -> [(id: OpID, author: NodeID?, seq: UInt64)] {
        try host.withNode { n throws(NodeError) in try n.quarantine() }
    }

    public func forks() throws(NodeError) -> [(author: NodeID?, seq: UInt64)] {
        try host.withNode { n throws(NodeError) in try n.forks() }
    }

    public func limits() throws(NodeError) -> AuthorLimits {
        try host.withNode { n throws(NodeError) in try n.authorLimits() }
    }

    public func setLimits(_ l: AuthorLimits) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.setAuthorLimits(l) }
    }
}
