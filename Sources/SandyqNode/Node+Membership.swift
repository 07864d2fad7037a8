import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// An invitation a coordinator carries to a new member by hand (a file or a text code):
/// the project, its network key, the inviter, the role, and a nonce that ties the reply to it.
/// `sqi-` + base32(version ‖ project[16] ‖ network key[32] ‖ inviter signing[32] ‖ inviter box[32] ‖ role ‖ nonce[16] ‖ check[4]).
public struct Invitation: Sendable {
    public let project: ProjectID
    public let networkKey: SymmetricKey
    public let inviter: NodeID
    public let role: Role
    public let nonce: [UInt8]

    public var text: String {
        var b: [UInt8] = [1] + project.bytes + networkKey.secret.unsafeCopy + inviter.signingKey.bytes + inviter.boxKey.bytes
        b += [role.code] + nonce
        return "sqi-" + Base32.encode(b + Hash.blake2b(b, length: 16).prefix(4))
    }

    public init(project: ProjectID, networkKey: SymmetricKey, inviter: NodeID, role: Role, nonce: [UInt8]) {
        self.project = project; self.networkKey = networkKey; self.inviter = inviter; self.role = role; self.nonce = nonce
    }

    public init?(text: String) {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("sqi-"), let b = Base32.decode(String(t.dropFirst(4))), b.count == 1 + 16 + 32 + 64 + 1 + 16 + 4,
              b[0] == 1, Array(Hash.blake2b(Array(b[0..<(b.count - 4)]), length: 16).prefix(4)) == Array(b[(b.count - 4)...]),
              let p = try? ProjectID(bytes: Array(b[1..<17])), let nk = try? SymmetricKey(SecureBytes(b[17..<49])),
              let sk = try? SigningPublicKey(bytes: Array(b[49..<81])), let bk = try? BoxPublicKey(bytes: Array(b[81..<113])),
              let role = Role(code: b[113]) else { return nil }
        project = p; networkKey = nk; inviter = NodeID(signingKey: sk, boxKey: bk); self.role = role; nonce = Array(b[114..<130])
    }
}

/// The new member's reply: `sqr-` + base32(version ‖ nonce[16] ‖ signing[32] ‖ box[32] ‖ check[4]).
public struct JoinRequest: Sendable {
    public let nonce: [UInt8]
    public let node: NodeID

    public var text: String {
        let b: [UInt8] = [1] + nonce + node.signingKey.bytes + node.boxKey.bytes
        return "sqr-" + Base32.encode(b + Hash.blake2b(b, length: 16).prefix(4))
    }

    public init(nonce: [UInt8], node: NodeID) { self.nonce = nonce; self.node = node }

    public init?(text: String) {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("sqr-"), let b = Base32.decode(String(t.dropFirst(4))), b.count == 1 + 16 + 64 + 4, b[0] == 1,
              Array(Hash.blake2b(Array(b[0..<(b.count - 4)]), length: 16).prefix(4)) == Array(b[(b.count - 4)...]),
              let sk = try? SigningPublicKey(bytes: Array(b[17..<49])), let bk = try? BoxPublicKey(bytes: Array(b[49..<81])),
              // Nothing could be sealed to that device (ops.md, "Keys of small order"): not a reply.
              bk.opensSealedBoxes else { return nil }
        nonce = Array(b[1..<17]); node = NodeID(signingKey: sk, boxKey: bk)
    }

    /// Six digits both people read aloud: a swapped invitation or reply changes them. Keyed by
    /// the network key, which travels only in the invitation, so someone who intercepts the reply
    /// alone cannot grind key pairs until the digits match.
    public static func authenticationString(nonce: [UInt8], inviter: NodeID, joiner: NodeID, networkKey: SymmetricKey) -> String {
        let h = Hash.blake2b(Array("sandyq-sas".utf8) + nonce + inviter.signingKey.bytes + inviter.boxKey.bytes
                             + joiner.signingKey.bytes + joiner.boxKey.bytes, length: 16, key: networkKey.secret)
        let n = h.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 1_000_000
        let s = String(n)
        let padded = String(repeating: "0", count: 6 - s.count) + s
        return "\(padded.prefix(3))-\(padded.suffix(3))"
    }
}


extension Node {
    func requireCoordinator() throws(NodeError) -> ProjectView {
        let v = try view()
        guard v.membership.isAllowed(author: nodeID.signingKey, seq: (try writer().seq) + 1, manage: true) else {
            throw NodeError(.refused, "only a coordinator can do this")
        }
        return v
    }

    /// Makes an invitation for a new member; the coordinator remembers its nonce and role.
    public func invite(role: Role) throws(NodeError) -> Invitation {
        let v = try requireCoordinator()
        guard let nk = try networkKey() else { throw NodeError(.usage, "this node has no network key to hand on") }
        let inv = Invitation(project: v.project, networkKey: nk, inviter: nodeID, role: role, nonce: Random.bytes(16))
        try mapped { try store.setSetting("invite:" + Hex.encode(inv.nonce), [role.code]) }
        return inv
    }

    /// The new member's side: take the project, network key and inviter from the invitation.
    public func accept(_ inv: Invitation) throws(NodeError) -> (request: JoinRequest, sas: String) {
        try join(inv.project, networkKey: inv.networkKey)
        try mapped { try store.acknowledge(VersionVector(), by: inv.inviter) }
        let req = JoinRequest(nonce: inv.nonce, node: nodeID)
        return (req, JoinRequest.authenticationString(nonce: inv.nonce, inviter: inv.inviter, joiner: nodeID, networkKey: inv.networkKey))
    }

    /// The short authentication string the coordinator compares before admitting.
    public func authenticationString(for req: JoinRequest) throws(NodeError) -> String {
        guard let nk = try networkKey() else { throw NodeError(.usage, "this node has no network key; it cannot have invited anyone") }
        return JoinRequest.authenticationString(nonce: req.nonce, inviter: nodeID, joiner: req.node, networkKey: nk)
    }

    /// Admits the node behind a reply to one of this coordinator's invitations, with the invited role.
    public func admit(_ req: JoinRequest) throws(NodeError) -> (Envelope, Role) {
        let key = "invite:" + Hex.encode(req.nonce)
        guard let code = try mapped({ try store.setting(key) }), code.count == 1, let role = Role(code: code[0]) else {
            throw NodeError(.notFound, "this reply does not answer an open invitation from this node")
        }
        let env = try addMember(req.node, role: role)
        try mapped { try store.deleteSetting(key) }
        try mapped { try store.acknowledge(VersionVector(), by: req.node) }
        return (env, role)
    }

    /// Which of a revoked member's ops a revocation keeps (Protocol/membership.md, "Revocation").
    public enum RevokePoint: Sendable, Equatable {
        /// The last op this node holds from it; refused while a fork of its chain is known.
        case lastHeld
        /// This op, named by id or a unique hex prefix of at least 8 digits, and its ancestors.
        case op(String)
        /// The one op held at this seq (0: none of its ops).
        case seq(UInt64)
    }

    /// Revokes a member (say, a seized device): every op of it that is not the named op or one
    /// of that op's chain ancestors is quarantined everywhere, and nothing new is sealed to it.
    /// Throws, after writing the op, if the revocation does not take effect here.
    public func revoke(_ member: NodeID, after: RevokePoint = .lastHeld) throws(NodeError) -> (env: Envelope, point: RevocationPoint) {
        let v = try requireCoordinator()
        guard v.membership.members[member.signingKey] != nil else {
            throw NodeError(.notFound, "\(member.fingerprint) is not a member of this project")
        }
        guard member != nodeID else { throw NodeError(.usage, "a node cannot revoke itself; ask another coordinator, or use `panic`") }
        let held = try mapped { try store.envelopes(author: member.signingKey, after: 0) }
        let point: RevocationPoint
        switch after {
        case .seq(0):
            point = .nothing
        case let .seq(s):
            let at = held.filter { $0.seq == s }
            guard at.count == 1 else {
                throw NodeError(at.isEmpty ? .notFound : .usage, at.isEmpty
                    ? "this node holds no op of \(member.fingerprint) at seq \(s)"
                    : "\(member.fingerprint) has \(at.count) different ops at seq \(s) (a fork): name the genuine one with --after OPID")
            }
            point = .op(at[0].id, seq: s)
        case let .op(text):
            let t = text.lowercased()
            let hits = held.filter { $0.id.description.hasPrefix(t) }
            guard t.count >= 8, hits.count == 1 else {
                throw NodeError(.notFound, hits.count > 1 ? "'\(text)' matches several ops of \(member.fingerprint)"
                    : "no op of \(member.fingerprint) held here matches '\(text)' (give at least 8 hex digits; `sandyq log` lists them)")
            }
            point = .op(hits[0].id, seq: hits[0].seq)
        case .lastHeld:
            let forked = try mapped { try store.forks() }.filter { $0.author == member.signingKey }.map(\.seq)
            guard forked.isEmpty else {
                throw NodeError(.usage, "\(member.fingerprint)'s chain is forked at seq \(forked.map(String.init).joined(separator: ", ")): "
                    + "its key was copied, so the last op is not known to be genuine; name the last genuine op with --after OPID", code: "revoke.forked")
            }
            point = held.last.map { .op($0.id, seq: $0.seq) } ?? .nothing
        }
        let env = try writer().membership(.revoke(member: member.signingKey, after: point))
        try commit([env], project: v.project)
        let after = try view().membership
        guard after.effectiveRevocations.contains(env.id) else {
            let still = after.members[member.signingKey]?.isRevoked == true
                ? " (\(member.fingerprint) stays revoked by another coordinator's revocation)" : ""
            throw NodeError(.refused, "wrote revocation op \(env.id.short), but it does not take effect: it would quarantine "
                + "this node's own admission, or a concurrent revocation settled against it\(still); `sandyq member list` shows who stands", code: "revoke.no-effect")
        }
        return (env, point)
    }

    /// The retired spelling: keep ops up to `fromSeq` (0: none).
    public func revoke(_ member: NodeID, fromSeq: UInt64) throws(NodeError) -> Envelope {
        try revoke(member, after: .seq(fromSeq)).env
    }

    /// Shares a case with a lawyer: its past through session-key grants (no new copies of the
    /// data), its future because later ops on the case are sealed to the lawyer too.
    public func share(_ ref: String, with lawyer: NodeID) throws(NodeError) {
        let v = try requireCoordinator()
        guard let m = v.membership.members[lawyer.signingKey], m.role == .lawyer, m.revokedAfter == nil else {
            throw NodeError(.usage, "\(lawyer.fingerprint) is not a lawyer of this project")
        }
        _ = v
        try addElement(ref, collection: "sharedWith", fields: [:], element: Hex.encode(lawyer.signingKey.bytes))
        try forwardSharedCaseKeys()
    }

    /// Grants each lawyer the keys of every session of its shared cases that it was not yet
    /// given, and each coordinator this node added the keys of the project's past. Runs after
    /// a share, a `member add` and every import: a reporter cannot read who a case is shared
    /// with, so its later edits reach the lawyer through a coordinator's grant.
    public func forwardSharedCaseKeys() throws(NodeError) {
        // Decide from membership alone first: most imports need no view at all.
        let m = try storedMembership()
        guard m.role(of: nodeID.signingKey) == .coordinator else { return }
        let debts = try mapped { try store.grantDebts() }
        // A write-only coordinator forwards nothing to lawyers (as before), but pays its debts.
        let lawyers = !isWriteOnly && m.members.values.contains(where: { $0.role == .lawyer && $0.revokedAfter == nil })
        guard !debts.isEmpty || lawyers else { return }
        let v = try view()
        guard v.membership.role(of: nodeID.signingKey) == .coordinator,
              v.membership.isAllowed(author: nodeID.signingKey, seq: (try writer().seq) + 1, manage: true) else { return }
        let key = grantTagKey
        var byLawyer: [SigningPublicKey: Set<SessionID>] = [:]
        for (id, c) in v.cases where lawyers {
            for hex in c.elements("sharedWith") {
                guard let b = Hex.decode(hex), let k = try? SigningPublicKey(bytes: b),
                      let m = v.membership.members[k], m.role == .lawyer, m.revokedAfter == nil else { continue }
                byLawyer[k, default: []].formUnion(v.caseSessions[id] ?? [])
            }
        }
        for (lawyer, sids) in byLawyer.sorted(by: { $0.key < $1.key }) {
            guard let node = v.membership.members[lawyer]?.node else { continue }
            try grant(sids, to: node, from: v, key: key)
        }
        // Debts: coordinators this node added (the lawyers' were settled above). A recipient no
        // longer a current coordinator or lawyer is owed nothing.
        var owed: [[UInt8]: NodeID] = [:]
        for c in v.membership.coordinators where c.signingKey != nodeID.signingKey { owed[grantTag(c.signingKey, key: key)] = c }
        for tag in debts.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if let c = owed[tag] { try grant(Set(v.sessionKeys.keys), to: c, from: v, key: key) }
            try mapped { try store.setGrantDebt(tag, owed: false) }
        }
    }

    /// Finishes what an interrupted run left: grants still owed (a `member add` or a
    /// forwarding cut short), so they do not wait for the next import that brings new ops.
    /// Cheap when nothing is owed: one query.
    func resumeGrants() throws(NodeError) {
        if !(try mapped { try store.grantDebts() }).isEmpty { try forwardSharedCaseKeys() }
    }

    /// Grants `recipient` the keys of those of `sids` it was not yet given, in as many ops as
    /// the body limit needs (each measured from the encoded size of its grants). Each op lands
    /// in one transaction with the record of what it granted, so a forwarding cut short resumes
    /// where it stopped and never grants a session twice.
    func grant(_ sids: Set<SessionID>, to recipient: NodeID, from v: ProjectView, key: SecureBytes) throws(NodeError) {
        let rtag = grantTag(recipient.signingKey, key: key)
        // Nothing can be sealed to a box key of small order (ops.md): it is owed nothing, and
        // trying would fail every import that forwards keys, on every coordinator.
        let sealTo = v.membership.sealingKey(for: recipient)
        guard sealTo.opensSealedBoxes else {
            try mapped { try store.setGrantDebt(rtag, owed: false) }
            return
        }
        let given = try mapped { try store.grantedSessions(to: rtag) }
        var pending: [(grant: Mutation, size: Int, tag: [UInt8])] = []
        let empty = Payload(clock: 0, mutations: []).encoded().count
        for sid in sids.sorted() {
            let tag = sessionTag(sid, recipient: rtag, key: key)
            // A member's own sessions are its own to read already.
            guard !given.contains(tag), let k = v.sessionKeys[sid], sid.author != recipient.signingKey else { continue }
            let g = Mutation.grant(session: sid, key: k.secret.unsafeCopy)
            pending.append((g, Payload(clock: 0, mutations: [g]).encoded().count - empty, tag))
        }
        guard !pending.isEmpty else {
            try mapped { try store.setGrantDebt(rtag, owed: false) }
            return
        }
        // Owed until the last op lands: a run cut short is resumed when the node next opens.
        try mapped { try store.setGrantDebt(rtag, owed: true) }
        let limit = min(grantBodyLimit, Envelope.maxBodyLength)
        let scope = Array("grant".utf8) + recipient.signingKey.bytes
        for (ops, range) in try grantRuns(pending.map(\.size), limit: limit).enumerated() {
            if let stop = grantOpsBeforeInterruption, ops >= stop {
                throw NodeError(.failure, "granting stopped after \(ops) op(s)")
            }
            let run = pending[range]
            let w = try writer()
            let made: Envelope
            do { made = try w.checkedSealed(run.map(\.grant), readers: [sealTo], wallMillis: Self.wallMillis(), scope: scope, limit: limit).envelope }
            catch { invalidateView(); throw NodeError(.failure, "cannot build a grant op: \(error)") }
            try commit([made], project: v.project) { try self.store.recordGrants(to: rtag, sessions: run.map(\.tag)) }
        }
        try mapped { try store.setGrantDebt(rtag, owed: false) }
    }

    /// How grants of these encoded sizes split into ops of at most `limit` bytes of body and
    /// `Payload.maxMutations` mutations, in order.
    func grantRuns(_ sizes: [Int], limit: Int) throws(NodeError) -> [Range<Int>] {
        let empty = Payload(clock: 0, mutations: []).encoded().count
        // What a payload costs besides its grants, the mutation count's varint at its widest.
        let fixed = SealingSession.bodyLength(plaintext: empty + 9, readers: 1)
        var runs: [Range<Int>] = []
        var i = 0
        while i < sizes.count {
            var end = i, size = fixed
            while end < sizes.count, end - i < Payload.maxMutations, size + sizes[end] <= limit {
                size += sizes[end]
                end += 1
            }
            guard end > i else { throw NodeError(.failure, "a grant op of one key exceeds the \(limit)-byte limit") }
            runs.append(i..<end)
            i = end
        }
        return runs
    }

    var grantTagKey: SecureBytes { identity.storageKey.derive(context: "sandyq-grant-tags") }

    /// A recipient's tag in the grant records: a keyed hash, so the store names no one.
    func grantTag(_ recipient: SigningPublicKey, key: SecureBytes) -> [UInt8] {
        Hash.blake2b(Array("recipient".utf8) + recipient.bytes, length: 16, key: key)
    }

    /// A session's tag, per recipient: two lawyers given one case do not share tags.
    func sessionTag(_ sid: SessionID, recipient: [UInt8], key: SecureBytes) -> [UInt8] {
        Hash.blake2b(Array("session".utf8) + recipient + sid.bytes, length: 16, key: key)
    }

    /// Rewrites the clear `granted:<lawyer hex>` settings of older builds as keyed tags, in one
    /// transaction: after it the store no longer names the lawyer nor lists the shared sessions.
    func sealLegacyGrantRecords() throws(NodeError) {
        let rows = try mapped { try store.settings(prefix: "granted:") }
        guard !rows.isEmpty else { return }
        let key = grantTagKey
        try mapped {
            try store.scrubbing {
                for (name, value) in rows {
                    if let b = Hex.decode(String(name.dropFirst("granted:".count))), let lawyer = try? SigningPublicKey(bytes: b) {
                        let rtag = grantTag(lawyer, key: key)
                        let n = SessionID.length
                        let sids = stride(from: 0, to: value.count - value.count % n, by: n).compactMap { try? SessionID(bytes: Array(value[$0..<($0 + n)])) }
                        try store.recordGrants(to: rtag, sessions: sids.map { sessionTag($0, recipient: rtag, key: key) })
                    }
                    try store.deleteSetting(name)
                }
            }
        }
    }

    /// Ops kept but excluded from every view: those signed with a revoked key after its point.
    public func quarantine() throws(NodeError) -> [(id: OpID, author: NodeID?, seq: UInt64)] {
        let v = try view()
        let ids = Set(v.quarantined)
        return try mapped { try store.allEnvelopes() }.filter { ids.contains($0.id) }.map {
            ($0.id, v.membership.members[$0.author]?.node, $0.seq)
        }
    }

    /// Two different ops at one (author, seq): evidence that a key was copied.
    public func forks() throws(NodeError) -> [(author: NodeID?, seq: UInt64)] {
        let v = try view()
        return try mapped { try store.forks() }.map { (v.membership.members[$0.author]?.node, $0.seq) }
    }

    /// A hole in an author's chain: ops below its highest held seq that never arrived.
    public struct ChainGap: Sendable, Equatable {
        public let author: SigningPublicKey
        public let member: NodeID?
        public let role: Role?
        public let missing: [ClosedRange<UInt64>]

        public var ranges: String { missing.map { "\($0.lowerBound)..\($0.upperBound)" }.joined(separator: ", ") }

        /// One line for people; a coordinator's hole may hide a revocation.
        public var warning: String {
            let who = member?.fingerprint ?? String(Hex.encode(author.bytes).prefix(12))
            if role == .coordinator {
                return "coordinator \(who)'s ops \(ranges) are missing: a revocation may be withheld; sync with another peer"
            }
            return "\(role?.rawValue ?? "unknown author") \(who)'s ops \(ranges) are missing"
        }
    }

    /// Every hole in a chain this node holds, coordinators' first.
    public func chainGaps() throws(NodeError) -> [ChainGap] {
        let gaps = try mapped { try store.chainGaps() }
        guard !gaps.isEmpty else { return [] }
        let m = try storedMembership()
        // A reporter is given membership ops only (CarryRule): every other chain has holes by design.
        if m.role(of: nodeID.signingKey) == .reporter { return [] }
        return gaps.map { g in
            ChainGap(author: g.author, member: m.members[g.author]?.node, role: m.members[g.author]?.role, missing: g.missing)
        }.sorted { a, b in
            let ca = a.role == .coordinator, cb = b.role == .coordinator
            return ca != cb ? ca : a.author.bytes.lexicographicallyPrecedes(b.author.bytes)
        }
    }

    /// Refuses, before they reach the store, ops whose author is known to have no write rights.
    static func screen(_ env: Envelope, in m: Membership) -> CoreError? { m.screen(env) }
}
