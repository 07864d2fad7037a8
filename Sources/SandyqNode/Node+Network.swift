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

    /// Membership from the membership ops alone, without reading the log.
    func storedMembership() throws(NodeError) -> Membership {
        try Node.membership(of: try requireProject(), in: store)
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
    func importScreen() throws(NodeError) -> @Sendable (Envelope) -> OpError? {
        try importScreenParts().screen
    }

    func importScreenParts() throws(NodeError) -> (screen: @Sendable (Envelope) -> OpError?, limits: LimitScreen) {
        let m = try storedMembership()
        let limits = try limitScreen(m)
        return ({ env in Node.screen(env, in: m) ?? limits.check(env) }, limits)
    }

    /// Keys a server accepts as clients: members not revoked, never itself.
    func allowedKeys(pinned: NodeID?) throws(NodeError) -> Set<SigningPublicKey> {
        let m = try storedMembership()
        var keys = Set(m.members.keys.filter { !Node.isRevoked($0, in: m) })
        if let pinned, !Node.isRevoked(pinned.signingKey, in: m) { keys.insert(pinned.signingKey) }
        keys.remove(identity.signing.publicKey)
        return keys
    }

    /// A member whose revocation this node holds: refused as a client and as a server, pinned or not.
    static func isRevoked(_ key: SigningPublicKey, in m: Membership) -> Bool {
        m.members[key]?.isRevoked == true
    }

    /// Why this node refuses `key` as the server at `address`, or nil to accept it. Accepted:
    /// a current member; the key pinned for exactly this address (`peers add`, or `--peer`
    /// for this one sync); and, while this node is not yet admitted, the inviter it recorded
    /// at `join`. Refused always: a revoked member, and this node itself.
    func serverRefusal(at address: String, expecting: NodeID?) throws(NodeError) -> @Sendable (SigningPublicKey) -> String? {
        let m = try storedMembership()
        let me = identity.signing.publicKey
        let pinned = try mapped { try store.pinnedPeer(at: address) }.flatMap { NodeID(string: $0) }
        // Before admission this node holds no membership that names anyone; the peers rows it
        // has then are those `join` recorded (its inviter) and pins.
        let joining = m.members[me] == nil
        let inviters: Set<SigningPublicKey> = joining
            ? Set(try mapped { try store.peers() }.compactMap { NodeID(string: $0.node)?.signingKey }) : []
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

    /// Peers pinned by hand, with the address each is pinned for (`peers add`).
    public func pinnedPeers() throws(NodeError) -> [NodeID: String] {
        var out: [NodeID: String] = [:]
        for r in try mapped({ try store.peers() }) where r.pinned {
            if let id = NodeID(string: r.node), let a = r.address { out[id] = a }
        }
        return out
    }

    func requireNetworkKey() throws(NodeError) -> SymmetricKey {
        guard let k = try networkKey() else {
            throw NodeError(.usage, "this node has no network key for its project: run `sandyq join PROJECT --network-key KEY` (a coordinator prints it with `sandyq project key`)")
        }
        return k
    }

    func recordAck(_ summary: PeerSession.Summary) throws(NodeError) {
        guard let peer = summary.peer, let v = summary.peerVector else { return }
        // Membership ops alone say who the peer is: rebuilding the whole view here made a
        // one-op sync into a 100,000-op replica take seconds.
        if let id = try storedMembership().members[peer]?.node {
            try mapped { try store.acknowledge(v, by: id.description) }
        } else if let rec = try mapped({ try store.peers() }).first(where: { NodeID(string: $0.node)?.signingKey == peer }) {
            try mapped { try store.acknowledge(v, by: rec.node) }
        }
    }

    /// Syncs once with the peer at `address`, both directions.
    public func sync(with address: String, expecting: NodeID? = nil) throws(NodeError) -> PeerSession.Summary {
        let pid = try requireProject()
        let nk = try requireNetworkKey()
        let refusal = try serverRefusal(at: address, expecting: expecting)
        var last: PeerSession.Summary?
        // A second session only when the first brought admissions it had refused ops for.
        let report = try importAdmittingInStream { screen, _ throws(NodeError) in
            do {
                let conn = try Connection.connect(to: address)
                defer { conn.close() }
                var s = try PeerSession.client(conn: conn, identity: identity.signing, networkKey: nk,
                                               storePath: Node.databasePath(home), project: pid, screen: screen,
                                               carry: { [self] peer in (try? carryRule(to: [peer])).map { rule in { rule.allows($0) } } },
                                               refusal: refusal)
                let r = s.report
                if let f = last { s.sent += f.sent; s.bytesSent += f.bytesSent; s.bytesReceived += f.bytesReceived }
                last = s
                return r
            } catch {
                throw NodeError(.failure, "sync with \(address) failed: \(error)")
            }
        }
        guard var summary = last else { throw NodeError(.failure, "sync with \(address) ran no session") }
        summary.report = report
        invalidateView()
        try recordAck(summary)
        if summary.report.new > 0 { try forwardSharedCaseKeys() }
        return summary
    }

    /// Accepts peers until `shouldStop` says so. Every connection first waits in a
    /// `HandshakeGate` (one thread, poll), which costs a stranger's socket no thread and no
    /// slot; only a member proven by message 3 takes one of `maxPeers` slots and a thread of
    /// its own, with its own SQLite connections. A bad peer ends its own connection only.
    public static let defaultMaxHandshakes = HandshakeGate.Limits().pending
    public static let defaultMaxPerAddress = HandshakeGate.Limits().perAddress

    public func serve(listen address: String, maxPeers: Int = 32, maxHandshakes: Int = Node.defaultMaxHandshakes,
                      maxPerAddress: Int = Node.defaultMaxPerAddress, shouldStop: @escaping @Sendable () -> Bool,
                      onListening: (UInt16) -> Void = { _ in }, log: @escaping @Sendable (String) -> Void) throws(NodeError) {
        let pid = try requireProject()
        let nk = try requireNetworkKey()
        let listener: Listener
        do { listener = try Listener(address: address) } catch { throw NodeError(.failure, error.description) }
        onListening(listener.port)
        log("listening on \(address) (port \(listener.port)) as \(nodeID.fingerprint)")
        var limits = HandshakeGate.Limits()
        limits.pending = max(1, maxHandshakes)
        limits.perAddress = max(1, maxPerAddress)
        let gate = HandshakeGate(listener: listener, identity: identity.signing, networkKey: nk, replay: ReplayCache(), limits: limits)
        let refusals = RefusalLog(log)
        let slots = DispatchSemaphore(value: max(1, maxPeers))
        let group = DispatchGroup()
        let storePath = Node.databasePath(home)
        let state = ServerState(node: self)
        // The gate checks each message 3 on a store connection of its own, so a member
        // thread busy in the node (acknowledging, forwarding keys) never stalls the gate.
        let gateStore = try mapped { try OpStore(path: storePath) }
        let me = identity.signing.publicKey
        while !shouldStop() {
            let events = gate.step(timeout: 0.2) { key in
                guard key != me, let m = try? Node.membership(of: pid, in: gateStore) else { return false }
                return m.members[key] != nil && !Node.isRevoked(key, in: m)
            }
            for event in events {
                switch event {
                case let .refused(peer, reason, received, sent):
                    refusals.log("peer \(peer): connection ended: \(reason) (received \(received) bytes, sent \(sent))")
                case let .admitted(conn, session):
                    guard slots.wait(timeout: .now()) == .success else {
                        refusals.log("peer \(conn.peerAddress) [\(NodeID.fingerprint(of: session.peer))]: refused, \(maxPeers) peers already connected")
                        conn.close()
                        continue
                    }
                    group.enter()
                    Thread {
                        defer { conn.close(); slots.signal(); group.leave() }
                        let who = NodeID.fingerprint(of: session.peer)
                        do {
                            let s = try PeerSession.exchange(conn: conn, session: session, storePath: storePath, project: pid,
                                                             screen: state.screen(), carry: state.carry(to: session.peer))
                            state.acknowledge(s)
                            log("peer \(conn.peerAddress) [\(who)]: sent \(s.sent), received \(s.report.new) new, \(s.report.known) known, \(s.report.refused.count) refused")
                        } catch {
                            log("peer \(conn.peerAddress) [\(who)]: connection ended: \(error) (received \(conn.bytesReceived) bytes, sent \(conn.bytesSent))")
                        }
                    }.start()
                }
            }
            refusals.summarise()
        }
        gate.closeAll()
        group.wait()
        refusals.summarise(force: true)
        log("stopped")
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

/// What the server's connection threads share: the membership check and the ack ledger,
/// behind one lock (the Node itself is single-threaded).
final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private let node: Node

    init(node: Node) { self.node = node }

    func screen() -> @Sendable (Envelope) -> OpError? {
        lock.lock(); defer { lock.unlock() }
        node.invalidateView()
        let fallback: @Sendable (Envelope) -> OpError? = { _ in nil }
        return (try? node.importScreen()) ?? fallback
    }

    func carry(to peer: SigningPublicKey) -> (@Sendable (Envelope) -> Bool)? {
        lock.lock(); defer { lock.unlock() }
        return (try? node.carryRule(to: [peer])).map { rule in { rule.allows($0) } }
    }

    func acknowledge(_ s: PeerSession.Summary) {
        lock.lock(); defer { lock.unlock() }
        node.invalidateView()
        try? node.recordAck(s)
        if s.report.new > 0 { try? node.forwardSharedCaseKeys() }
    }
}

