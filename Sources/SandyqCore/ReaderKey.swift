import SandyqCrypto

/// A member's announcement of the X25519 key that key entries, parents and grants are to be
/// sealed to (its reader key of `epoch`), signed by the member itself so that no coordinator,
/// nor a seizer of one, can substitute a key (Protocol/ops.md section 4, "Reader key").
public struct ReaderKeyStatement: Hashable, Sendable {
    public let member: SigningPublicKey
    public let epoch: UInt32
    public let key: BoxPublicKey
    public let signature: Signature

    static let context = Array("sandyq-reader-key".utf8)
    /// The body's length after its two leading bytes.
    static let encodedLength = 32 + 4 + 32 + 64

    public init(member: SigningPublicKey, epoch: UInt32, key: BoxPublicKey, signature: Signature) {
        self.member = member; self.epoch = epoch; self.key = key; self.signature = signature
    }

    /// The member signs its own statement.
    public init(project: ProjectID, signer: SigningKeyPair, epoch: UInt32, key: BoxPublicKey) {
        let message = Self.message(project: project, member: signer.publicKey, epoch: epoch, key: key)
        self.init(member: signer.publicKey, epoch: epoch, key: key, signature: signer.sign(message))
    }

    /// The project is in the signed bytes, so a statement cannot be replayed into another project.
    public static func message(project: ProjectID, member: SigningPublicKey, epoch: UInt32, key: BoxPublicKey) -> [UInt8] {
        var w = ByteWriter(capacity: 17 + 16 + 32 + 4 + 32)
        w.raw(context); w.raw(project.bytes); w.raw(member.bytes); w.u32(epoch); w.raw(key.bytes)
        return w.bytes
    }

    public func verifies(in project: ProjectID) -> Bool {
        member.isValidSignature(signature, for: Self.message(project: project, member: member, epoch: epoch, key: key))
    }

    /// What the statement itself must be to count (the vectors' `counts`): a key something can
    /// be sealed to, signed by the member for this project. Membership adds author and member.
    public func holds(in project: ProjectID) -> Bool { key.opensSealedBoxes && verifies(in: project) }
}

/// A member's reader key as membership derives it: the highest epoch among the announcements
/// that count; of several keys at that epoch, the one in the lowest op id, marked `forked`.
public struct ReaderKey: Hashable, Sendable {
    public let epoch: UInt32
    public let key: BoxPublicKey
    /// The announcement that set it.
    public let op: OpID
    /// Another announcement that counts names a different key at the same epoch: the member's
    /// key (or the coordinator that wrapped it) signed two.
    public let forked: Bool

    public init(epoch: UInt32, key: BoxPublicKey, op: OpID, forked: Bool) {
        self.epoch = epoch; self.key = key; self.op = op; self.forked = forked
    }
}
