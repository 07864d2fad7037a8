import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

extension Node {
    /// The project's network key, kept in the store encrypted under this node's storage key.
    public func networkKey() throws(NodeError) -> SymmetricKey? {
        guard let sealed = try mapped({ try store.setting("netkey") }), sealed.count > AEAD.nonceLength else { return nil }
        guard let plain = try? StorageSeal(identity).open(sealed, associatedData: Self.networkKeyAD),
              let k = try? SymmetricKey(SecureBytes(plain)) else {
            throw NodeError(.corrupt, "the stored network key does not open with this node's keys")
        }
        return k
    }

    public func setNetworkKey(_ k: SymmetricKey) throws(NodeError) {
        let sealed = StorageSeal(identity).seal(k.secret.unsafeCopy, associatedData: Self.networkKeyAD)
        try mapped { try store.setSetting("netkey", sealed) }
    }

    static let networkKeyAD = Array("netkey".utf8)

    /// The network key as members pass it on: 64 hex digits.
    public func networkKeyText() throws(NodeError) -> String {
        guard let k = try networkKey() else {
            throw NodeError(.notFound, "this node has no network key: the founder's `project create` makes one; others pass --network-key to `join`")
        }
        return Hex.encode(k.secret.unsafeCopy)
    }

    public static func parseNetworkKey(_ s: String) throws(NodeError) -> SymmetricKey {
        guard let b = Hex.decode(s), b.count == SymmetricKey.length, let k = try? SymmetricKey(SecureBytes(b)) else {
            throw NodeError(.usage, "a network key is 64 hex digits, as `sandyq project key` prints it")
        }
        return k
    }

    /// Membership from the membership ops alone, without reading the log; derived once and
    /// kept until a membership op is stored.
    func storedMembership() throws(NodeError) -> Membership {
        if let m = cachedMembership { return m }
        // Read before deriving: a membership op stored meanwhile leaves the stamp stale, not the cache.
        let stamp = try? store.membershipStamp()
        let m = try Node.membership(of: try requireProject(), in: store)
        membershipDerivations += 1
        cachedMembership = m
        cachedMembershipStamp = stamp
        return m
    }

    /// Drops the cached membership if a membership op was stored since it was derived, on
    /// this node's connection or another's (a `serve` session imports on its own).
    func forgetMembershipIfStale() {
        guard cachedMembership != nil else { return }
        guard let now = try? store.membershipStamp(), now == cachedMembershipStamp else { cachedMembership = nil; return }
    }

    /// Membership from the membership ops in `store`: a connection of its own lets the
    /// server's handshake thread read it without waiting on the node's.
    static func membership(of pid: ProjectID, in store: OpStore) throws(NodeError) -> Membership {
        let envs = try mapped { try store.membershipEnvelopes() }
        var changes: [Membership.Change] = []
        for e in envs where e.project == pid {
            if let c = try? MembershipChange(decoding: e.body) {
                changes.append(.init(op: e.id, author: e.author, seq: e.seq, change: c))
            }
        }
        return Membership.derive(project: pid, changes: changes, chain: { author in
            ((try? store.envelopes(author: author, after: 0)) ?? []).map { ChainLink(seq: $0.seq, id: $0.id, prev: $0.prev) }
        })
    }

    /// The import screen for ops from peers: refuses what a known lawyer or relay signed.
    func importScreen() throws(NodeError) -> @Sendable (Envelope) -> CoreError? {
        try importScreenParts().screen
    }

    func importScreenParts() throws(NodeError) -> (screen: @Sendable (Envelope) -> CoreError?, limits: LimitScreen) {
        let m = try storedMembership()
        let limits = try limitScreen(m)
        return ({ env in Node.screen(env, in: m) ?? limits.check(env) }, limits)
    }

    /// A member whose revocation this node holds: refused as a client and as a server, pinned or not.
    static func isRevoked(_ key: SigningPublicKey, in m: Membership) -> Bool {
        m.isRevoked(key)
    }

    /// Why this node refuses `key` as the server at `address`, or nil to accept it. Accepted:
    /// a current member; the key pinned for exactly this address (`peers add`, or `--peer`
    /// for this one sync); and, while this node is not yet admitted, the inviter it recorded
    /// at `join`. Refused always: a revoked member, and this node itself.
    func serverRefusal(at address: String, expecting: NodeID?) throws(NodeError) -> @Sendable (SigningPublicKey) -> String? {
        let m = try storedMembership()
        let me = identity.signing.publicKey
        let pinned = try mapped { try store.pinnedPeer(at: address) }
        // Before admission this node holds no membership that names anyone; the peers rows it
        // has then are those `join` recorded (its inviter) and pins.
        let joining = m.members[me] == nil
        let inviters: Set<SigningPublicKey> = joining
            ? Set(try mapped { try store.peers() }.map(\.node.signingKey)) : []
        return { key in
            let who = NodeID.fingerprint(of: key)
            if key == me { return "the server at \(address) is this node itself" }
            if Node.isRevoked(key, in: m) {
                return "the server at \(address) is \(who), whose membership was revoked: refusing to sync with it"
            }
            if let expecting {
                return key == expecting.signingKey ? nil : "the server at \(address) is \(who), not the pinned \(expecting.fingerprint)"
            }
            if m.members[key] != nil || key == pinned?.signingKey || inviters.contains(key) { return nil }
            return "the server at \(address) is \(who), which is not a member of this project nor the peer pinned for this address (`sandyq peers add NODE \(address)` pins one)"
        }
    }

    /// The nodes heard on the LAN that this node would sync with anyway: a member; before
    /// admission, its inviter; a pin. A beacon proves only that its sender holds the network
    /// key, which a revoked member may still hold.
    func lanAcceptable(_ heard: [LanDiscovery.Found]) throws(NodeError) -> [LanDiscovery.Found] {
        var kept: [LanDiscovery.Found] = []
        for f in heard where try serverRefusal(at: f.address, expecting: nil)(f.node.signingKey) == nil {
            // The beacon names both keys; a member's box key must be the one it was admitted with.
            if let m = try storedMembership().members[f.node.signingKey], m.node != f.node { continue }
            kept.append(f)
        }
        return kept
    }

    /// Peers pinned by hand, with the address each is pinned for (`peers add`).
    public func pinnedPeers() throws(NodeError) -> [NodeID: String] {
        var out: [NodeID: String] = [:]
        for r in try mapped({ try store.peers() }) where r.pinned {
            if let a = r.address { out[r.node] = a }
        }
        return out
    }

    func requireNetworkKey() throws(NodeError) -> SymmetricKey {
        guard let k = try networkKey() else {
            throw NodeError(.usage, "this node has no network key for its project: run `sandyq join PROJECT --network-key KEY` (a coordinator prints it with `sandyq project key`)")
        }
        return k
    }

    /// The peer a finished session proved, with the vector it declared.
    static func ingestPeer(_ summary: PeerSession.Summary?) -> IngestPeer? {
        guard let summary, let key = summary.peer, let v = summary.peerVector else { return nil }
        return .session(key: key, vector: v)
    }

    /// What a client session needs from the node before it connects, read in one go (under
    /// the host's lock when there is one).
    struct SyncPlan: Sendable {
        let project: ProjectID
        let networkKey: SymmetricKey
        let identity: SigningKeyPair
        let storePath: String
        let refusal: @Sendable (SigningPublicKey) -> String?
        /// A SOCKS5 proxy (HOST:PORT) every connection of the sync goes through, or nil for direct.
        var proxy: String? = nil
    }

    func syncPlan(at address: String, expecting: NodeID?, proxy: String? = nil) throws(NodeError) -> SyncPlan {
        SyncPlan(project: try requireProject(), networkKey: try requireNetworkKey(), identity: identity.signing,
                 storePath: Node.databasePath(home), refusal: try serverRefusal(at: address, expecting: expecting), proxy: proxy)
    }

    /// Which held ops a session hands `peer`: nil (every op it lacks) when the rule cannot be read.
    func carryFilter(to peer: SigningPublicKey) -> (@Sendable (Envelope) -> Bool)? {
        (try? carryRule(to: [peer])).map { rule in { rule.allows($0) } }
    }

    /// The sessions of one sync. The node is reached only through `screens`, `forget` and
    /// `carry`, so none of them is held while the network is used. A second session runs only
    /// when the first brought admissions it had refused ops for.
    static func syncSessions(
        with address: String, plan: SyncPlan,
        screens: () throws(NodeError) -> (screen: @Sendable (Envelope) -> CoreError?, limits: LimitScreen),
        forget: (ImportReport) -> Void,
        carry: (SigningPublicKey) -> (@Sendable (Envelope) -> Bool)?
    ) throws(NodeError) -> (report: ImportReport, last: PeerSession.Summary) {
        var last: PeerSession.Summary?
        let report = try importAdmittingInStream(screens: screens, forget: forget) { screen, _ throws(NodeError) in
            do {
                let conn = try Connection.connect(to: address, via: plan.proxy)
                defer { conn.close() }
                var s = try PeerSession.client(conn: conn, identity: plan.identity, networkKey: plan.networkKey,
                                               storePath: plan.storePath, project: plan.project, screen: screen,
                                               carry: carry, refusal: plan.refusal)
                let r = s.report
                if let f = last { s.sent += f.sent; s.bytesSent += f.bytesSent; s.bytesReceived += f.bytesReceived }
                last = s
                return r
            } catch {
                // The sync engine's code says what failed (no answer, another project, a refusal) to callers that explain it.
                throw NodeError(.failure, "sync with \(address) failed: \(error)", code: (error as? SyncError)?.code)
            }
        }
        guard let last else { throw NodeError(.failure, "sync with \(address) ran no session") }
        return (report, last)
    }

    /// After a sync's sessions: the bookkeeping every transport shares (the sessions imported
    /// on connections of their own).
    func finishSync(_ report: ImportReport, _ last: PeerSession.Summary) throws(NodeError) -> PeerSession.Summary {
        var summary = last
        summary.report = try ingest(.imported(report), peer: { Node.ingestPeer(last) })
        return summary
    }

    /// Syncs once with the peer at `address`, both directions.
    public func sync(with address: String, expecting: NodeID? = nil, proxy: String? = nil) throws(NodeError) -> PeerSession.Summary {
        let plan = try syncPlan(at: address, expecting: expecting, proxy: proxy)
        let (report, last) = try Node.syncSessions(
            with: address, plan: plan,
            screens: { () throws(NodeError) in try importScreenParts() },
            forget: { forgetMembership(ifChangedBy: $0) },
            carry: { carryFilter(to: $0) })
        var summary = try finishSync(report, last)
        Node.chunkSession(with: address, plan: plan, access: NodeAccess(node: self, host: nil), into: &summary)
        return summary
    }
}

/// Refusal lines, rate-limited so that a flood cannot fill the disk through the log: up to
/// `burst` lines at once, then `perSecond`; what is left out is counted and said in one line
/// at most every `summaryEvery` seconds.
final class RefusalLog: @unchecked Sendable {
    static let burst = 20.0
    static let perSecond = 1.0
    static let summaryEvery = 10.0

    private let lock = NSLock()
    private let out: @Sendable (String) -> Void
    private var tokens = RefusalLog.burst
    private var refilled = ProcessInfo.processInfo.systemUptime
    private var suppressed = 0
    private var since = ProcessInfo.processInfo.systemUptime

    init(_ out: @escaping @Sendable (String) -> Void) { self.out = out }

    func log(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        let now = ProcessInfo.processInfo.systemUptime
        tokens = min(Self.burst, tokens + (now - refilled) * Self.perSecond)
        refilled = now
        guard tokens >= 1 else {
            if suppressed == 0 { since = now }
            suppressed += 1
            return
        }
        tokens -= 1
        out(line)
    }

    /// Says how many lines were left out, once `summaryEvery` seconds have passed since the first.
    func summarise(force: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        let now = ProcessInfo.processInfo.systemUptime
        guard suppressed > 0, force || now - since >= Self.summaryEvery else { return }
        out("\(suppressed) refused connections not logged in the last \(Int((now - since).rounded())) s (rate limit: \(Int(Self.burst)) lines, then \(Int(Self.perSecond)) a second)")
        suppressed = 0
        since = now
    }
}

