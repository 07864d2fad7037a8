import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

extension Node {
    /// The project's network key, kept in the store encrypted under this node's storage key.
    public func networkKey() throws(NodeError) -> SymmetricKey? {
        guard let sealed = try mapped({ try store.setting("netkey") }), sealed.count > AEAD.nonceLength else { return nil }
        let key = SymmetricKey.storage(identity.storageKey)
        guard let plain = try? AEAD.open(Array(sealed[AEAD.nonceLength...]), key: key, nonce: Array(sealed[0..<AEAD.nonceLength]),
                                         associatedData: Array("netkey".utf8)),
              let k = try? SymmetricKey(SecureBytes(plain)) else {
            throw NodeError(.corrupt, "the stored network key does not open with this node's keys")
        }
        return k
    }

    public func setNetworkKey(_ k: SymmetricKey) throws(NodeError) {
        let nonce = AEAD.randomNonce()
        let sealed = AEAD.seal(k.secret.unsafeCopy, key: SymmetricKey.storage(identity.storageKey), nonce: nonce,
                               associatedData: Array("netkey".utf8))
        try mapped { try store.setSetting("netkey", nonce + sealed) }
    }

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

    /// Who may connect, or be connected to: any member not revoked, and a pinned peer.
    /// Membership from the membership ops alone, without reading the log.
    func storedMembership() throws(NodeError) -> Membership {
        let pid = try requireProject()
        let envs = try mapped { try store.membershipEnvelopes() }
        var changes: [Membership.Change] = []
        for e in envs where e.project == pid {
            if let c = try? MembershipChange(decoding: e.body) {
                changes.append(.init(op: e.id, author: e.author, seq: e.seq, change: c))
            }
        }
        let opStore = self.store
        return Membership.derive(project: pid, changes: changes, chain: { author in
            ((try? opStore.envelopes(author: author, after: 0)) ?? []).map { ChainLink(seq: $0.seq, id: $0.id, prev: $0.prev) }
        })
    }

    /// The import screen for ops from peers: refuses what a known lawyer or relay signed.
    func importScreen() throws(NodeError) -> @Sendable (Envelope) -> OpError? {
        let m = try storedMembership()
        let limits = try limitScreen(m)
        return { env in Node.screen(env, in: m) ?? limits.check(env) }
    }

    func allowedKeys(pinned: NodeID?) throws(NodeError) -> Set<SigningPublicKey> {
        let m = try storedMembership()
        var keys = Set(m.members.values.filter { $0.revokedAfter == nil }.map(\.node.signingKey))
        if let pinned { keys.insert(pinned.signingKey) }
        keys.remove(identity.signing.publicKey)
        return keys
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
        var pinned = expecting
        if pinned == nil {
            pinned = try mapped { try store.peers() }.first { $0.address == address }.flatMap { NodeID(string: $0.node) }
        }
        var allowed = try allowedKeys(pinned: pinned)
        // Peers this node was told of by hand (an inviter, `peers add`) count as pinned too.
        for r in try mapped({ try store.peers() }) { if let id = NodeID(string: r.node) { allowed.insert(id.signingKey) } }
        let summary: PeerSession.Summary
        do {
            let conn = try Connection.connect(to: address)
            defer { conn.close() }
            summary = try PeerSession.client(conn: conn, identity: identity.signing, networkKey: nk,
                                             storePath: Node.databasePath(home), project: pid, screen: try importScreen()) { key in
                if let expecting, key != expecting.signingKey { return false }
                return allowed.contains(key)
            }
        } catch {
            throw NodeError(.failure, "sync with \(address) failed: \(error)")
        }
        invalidateView()
        try recordAck(summary)
        if summary.report.new > 0 { try forwardSharedCaseKeys() }
        return summary
    }

    /// Accepts peers until `shouldStop` says so. Each connection runs on its own thread with
    /// its own SQLite connections; a bad peer ends its own connection only.
    public func serve(listen address: String, maxPeers: Int = 32, shouldStop: @escaping @Sendable () -> Bool,
                      onListening: (UInt16) -> Void = { _ in }, log: @escaping @Sendable (String) -> Void) throws(NodeError) {
        let pid = try requireProject()
        let nk = try requireNetworkKey()
        let listener: Listener
        do { listener = try Listener(address: address) } catch { throw NodeError(.failure, error.description) }
        onListening(listener.port)
        log("listening on \(address) (port \(listener.port)) as \(nodeID.fingerprint)")
        let replay = ReplayCache()
        let slots = DispatchSemaphore(value: maxPeers)
        let group = DispatchGroup()
        let signing = identity.signing
        let storePath = Node.databasePath(home)
        let state = ServerState(node: self)
        while !shouldStop() {
            let conn: Connection?
            do { conn = try listener.accept(timeout: 0.2) } catch { log("accept failed: \(error)"); continue }
            guard let conn else { continue }
            guard slots.wait(timeout: .now()) == .success else {
                log("peer \(conn.peerAddress): refused, \(maxPeers) peers already connected")
                conn.close()
                continue
            }
            group.enter()
            Thread {
                defer { conn.close(); slots.signal(); group.leave() }
                let (allowed, screen) = state.allowed()
                do {
                    let s = try PeerSession.server(conn: conn, identity: signing, networkKey: nk, storePath: storePath,
                                                   project: pid, replay: replay, screen: screen) { allowed.contains($0) }
                    state.acknowledge(s)
                    log("peer \(conn.peerAddress) [\(s.peer.map { NodeID.fingerprint(of: $0) } ?? "?")]: sent \(s.sent), received \(s.report.new) new, \(s.report.known) known, \(s.report.refused.count) refused")
                } catch {
                    log("peer \(conn.peerAddress): connection ended: \(error) (received \(conn.bytesReceived) bytes, sent \(conn.bytesSent))")
                }
            }.start()
        }
        group.wait()
        log("stopped")
    }
}

/// What the server's connection threads share: the membership check and the ack ledger,
/// behind one lock (the Node itself is single-threaded).
final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private let node: Node

    init(node: Node) { self.node = node }

    func allowed() -> (Set<SigningPublicKey>, @Sendable (Envelope) -> OpError?) {
        lock.lock(); defer { lock.unlock() }
        node.invalidateView()
        let fallback: @Sendable (Envelope) -> OpError? = { _ in nil }
        let screen = (try? node.importScreen()) ?? fallback
        return ((try? node.allowedKeys(pinned: nil)) ?? [], screen)
    }

    func acknowledge(_ s: PeerSession.Summary) {
        lock.lock(); defer { lock.unlock() }
        node.invalidateView()
        try? node.recordAck(s)
        if s.report.new > 0 { try? node.forwardSharedCaseKeys() }
    }
}


extension SymmetricKey {
    /// The storage key's subkey for one purpose.
    static func storage(_ k: SymmetricKey) -> SymmetricKey {
        (try? SymmetricKey(k.derive(context: "sandyq-store-v1"))) ?? k
    }
}
