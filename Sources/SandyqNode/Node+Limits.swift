import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// How many bytes of ops one author may make a node store, so one member (or a stranger
/// with a recipient's box key) cannot fill every disk of the project.
public struct AuthorLimits: Sendable, Equatable {
    /// Per author, for every member but a coordinator in good standing (a revoked
    /// coordinator included: its quarantined ops are kept only up to this).
    public var perMember: Int
    /// All authors not (yet) admitted together: ops that wait for their author's admission.
    public var awaitingAdmission: Int

    public init(perMember: Int, awaitingAdmission: Int) {
        self.perMember = perMember
        self.awaitingAdmission = awaitingAdmission
    }

    public static let standard = AuthorLimits(perMember: 16 << 20, awaitingAdmission: 8 << 20)
}

/// Counts what an import adds per author and refuses what goes over the limits.
final class LimitScreen: @unchecked Sendable {
    private let lock = NSLock()
    private var held: [SigningPublicKey: Int]
    private var awaiting: Int
    private let membership: Membership
    private let limits: AuthorLimits
    private var awaitingRefused: Set<OpID> = []

    /// Ops refused only because their author was not yet admitted here.
    var refusedAwaitingAdmission: Set<OpID> { lock.lock(); defer { lock.unlock() }; return awaitingRefused }

    init(held: [SigningPublicKey: Int], membership: Membership, limits: AuthorLimits) {
        self.held = held
        self.membership = membership
        self.limits = limits
        awaiting = held.filter { membership.members[$0.key] == nil }.values.reduce(0, +)
    }

    func check(_ env: Envelope) -> CoreError? {
        let size = env.encoded.count
        lock.lock(); defer { lock.unlock() }
        guard let m = membership.members[env.author] else {
            guard awaiting + size <= limits.awaitingAdmission else {
                awaitingRefused.insert(env.id)
                return .notAllowed("ops awaiting their authors' admission are over this node's limit of \(limits.awaitingAdmission >> 20) MiB")
            }
            awaiting += size
            return nil
        }
        if m.role == .coordinator && !m.isRevoked { return nil }
        let now = held[env.author, default: 0]
        guard now + size <= limits.perMember else {
            return .notAllowed("this author's ops are over this node's limit of \(limits.perMember >> 20) MiB per member")
        }
        held[env.author] = now + size
        return nil
    }
}

extension Node {
    static let limitsSetting = "author-limits"

    /// The limits this node applies (`sandyq member limits` changes them).
    public func authorLimits() throws(NodeError) -> AuthorLimits {
        guard let b = try mapped({ try store.setting(Self.limitsSetting) }), b.count == 16 else { return .standard }
        func u64(_ s: ArraySlice<UInt8>) -> Int { Int(truncatingIfNeeded: s.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) }
        return AuthorLimits(perMember: u64(b[0..<8]), awaitingAdmission: u64(b[8..<16]))
    }

    public func setAuthorLimits(_ l: AuthorLimits) throws(NodeError) {
        guard l.perMember >= 1 << 20, l.awaitingAdmission >= 1 << 20 else {
            throw NodeError(.usage, "a limit below 1 MiB would refuse ordinary work")
        }
        var w = ByteWriter()
        w.u64(UInt64(l.perMember)); w.u64(UInt64(l.awaitingAdmission))
        try mapped { try store.setSetting(Self.limitsSetting, w.bytes) }
    }

    func limitScreen(_ m: Membership) throws(NodeError) -> LimitScreen {
        LimitScreen(held: try mapped { try store.bytesByAuthor() }, membership: m, limits: try authorLimits())
    }

    /// Imports with the screen, then once more with a fresh screen when the first pass
    /// refused ops as awaiting admission and stored something: the import may have carried
    /// those authors' admissions (a new member's first import of a project's log). Ops are
    /// screened per batch, sorted by author, so an admission can come after its member's ops.
    func importAdmittingInStream(_ run: (_ screen: @escaping @Sendable (Envelope) -> CoreError?, _ retry: Set<OpID>?) throws(NodeError) -> ImportReport) throws(NodeError) -> ImportReport {
        try Node.importAdmittingInStream(screens: { () throws(NodeError) in try importScreenParts() },
                                         forget: { forgetMembership(ifChangedBy: $0) }, run)
    }

    /// The same, with the node reached only through `screens` and `forget`, so that a caller
    /// holding the node behind a lock takes it for those steps and runs `run` without it.
    static func importAdmittingInStream(
        screens: () throws(NodeError) -> (screen: @Sendable (Envelope) -> CoreError?, limits: LimitScreen),
        forget: (ImportReport) -> Void,
        _ run: (_ screen: @escaping @Sendable (Envelope) -> CoreError?, _ retry: Set<OpID>?) throws(NodeError) -> ImportReport
    ) throws(NodeError) -> ImportReport {
        let (screen, limits) = try screens()
        let first = try run(screen, nil)
        forget(first)
        let awaiting = limits.refusedAwaitingAdmission
        guard first.new > 0, !awaiting.isEmpty else { return first }
        let (screen2, _) = try screens()
        let second = try run(screen2, awaiting)
        var out = first
        out.refused.removeAll { awaiting.contains($0.id) }
        let again = Set(out.refused.map(\.id))
        out.new += second.new
        out.forks += second.forks
        out.newMembership += second.newMembership
        out.newAuthors.formUnion(second.newAuthors)
        out.refused += second.refused.filter { !again.contains($0.id) }
        return out
    }
}
