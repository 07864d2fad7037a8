import SandyqCrypto

/// Which ops a node hands a peer, by bundle or TCP alike. A quarantined op goes to no one: a
/// revoked key's flood stops at the first node that knows of the revocation. A field device
/// (a reporter) gets the membership ops and its own chain, nothing of the project's other
/// work, so a seized reporter's store holds only what it wrote and who belongs; a reporter,
/// or any write-only node, hands on its own chain only.
public struct CarryRule: Sendable {
    let revoked: [SigningPublicKey: Set<OpID>]
    /// Set when the ops go to a reporter: the recipients' own keys.
    let fieldRecipients: Set<SigningPublicKey>?
    /// Set when this node is a reporter: its own key.
    let onlyAuthor: SigningPublicKey?

    public static let everything = CarryRule(revoked: [:], fieldRecipients: nil, onlyAuthor: nil)

    /// Whether anything is held back, so counting what a peer lacks needs a pass over the ops.
    public var restricts: Bool { !revoked.isEmpty || fieldRecipients != nil || onlyAuthor != nil }

    public func allows(_ e: Envelope) -> Bool {
        if let genuine = revoked[e.author], !genuine.contains(e.id) { return false }
        if let only = onlyAuthor, e.author != only { return false }
        if let field = fieldRecipients { return e.kind == .membership || field.contains(e.author) }
        return true
    }

    /// How an author's ops fare under this rule, so a count of what a peer lacks reads an op
    /// only where the rule must look at each one (a revoked author's).
    public enum AuthorPass: Sendable { case all, none, membershipOnly, each }

    public func pass(for author: SigningPublicKey) -> AuthorPass {
        if revoked[author] != nil { return .each }
        if let only = onlyAuthor, author != only { return .none }
        if let field = fieldRecipients { return field.contains(author) ? .all : .membershipOnly }
        return .all
    }

    /// What `allows` says of an op, from its encoded bytes and its author's `pass`: only a
    /// revoked author's op is decoded (its id is a hash of the bytes); the others need the
    /// author, or the kind byte at most.
    public func allows(encoded raw: UnsafeRawBufferPointer, pass: AuthorPass) throws(CoreError) -> Bool {
        switch pass {
        case .all: return true
        case .none: return false
        case .membershipOnly: return raw.count > 1 && raw[1] == Envelope.Kind.membership.rawValue
        case .each: return allows(try Envelope(decoding: Array(raw)))
        }
    }

    init(revoked: [SigningPublicKey: Set<OpID>], fieldRecipients: Set<SigningPublicKey>?, onlyAuthor: SigningPublicKey?) {
        self.revoked = revoked
        self.fieldRecipients = fieldRecipients
        self.onlyAuthor = onlyAuthor
    }

    /// The rule for handing `me`'s ops to `recipients` under membership `m`.
    package init(to recipients: [SigningPublicKey], from me: SigningPublicKey, in m: Membership, writeOnly: Bool = false) {
        var revoked: [SigningPublicKey: Set<OpID>] = [:]
        for (k, member) in m.members where member.isRevoked { revoked[k] = member.genuine }
        let field = recipients.filter { m.role(of: $0) == .reporter }
        self.init(revoked: revoked, fieldRecipients: field.isEmpty ? nil : Set(recipients),
                  onlyAuthor: m.role(of: me) == .reporter || writeOnly ? me : nil)
    }
}
