import Foundation
import SandyqCore
import SandyqStore
import SandyqSync

/// Moving ops between nodes: bundles, the USB mailbox, TCP sync and serve, and the peers
/// this node knows.
public struct ExchangeService: Sendable {
    let host: NodeHost

    public typealias BundleImport = Node.BundleImport
    public typealias BundleExport = Node.BundleExport
    public typealias PeerState = Node.PeerState
    public typealias MailboxResult = Node.MailboxResult

    public static let defaultMaxBundleSize = Node.defaultMaxBundleSize
    public static let defaultMaxHandshakes = HandshakeGate.Limits().pending
    public static let defaultMaxPerAddress = HandshakeGate.Limits().perAddress
    /// Proven members that may wait for a free session thread (`serve --max-waiting`).
    public static let defaultMaxWaiting = 4096
    /// How long a member waits for a free thread before `serve` lets it go: less than the
    /// client's own idle timeout, so the client hears a closed connection, not silence.
    static let maxWait = PeerSession.idleTimeout * 0.75
    /// Tor's client port on this machine: what `sync --via tor` goes through.
    public static let torProxy = Socks5.torDefault
    /// Seconds per LAN discovery window (Protocol/transports.md).
    public static let defaultLanWindow = LanBeacon.defaultWindow

    /// Resolves `--to` names: node ids, or a role's plural or singular name.
    public func recipients(_ names: [String]) throws(NodeError) -> [NodeID] {
        try host.withNode { n throws(NodeError) in try n.recipients(names) }
    }

    public func exportBundle(to recipients: [NodeID], out: String, all: Bool = false,
                             maxSize: Int = Node.defaultMaxBundleSize) throws(NodeError) -> Node.BundleExport {
        try host.withNode { n throws(NodeError) in try n.exportBundle(to: recipients, out: out, all: all, maxSize: maxSize) }
    }

    public func importBundle(_ path: String) throws(NodeError) -> Node.BundleImport {
        try host.withNode { n throws(NodeError) in try n.importBundle(path) }
    }

    public typealias MailboxStep = Node.MailboxStep

    /// `progress` is called on the syncing thread, once as each bundle starts and once as it ends.
    public func syncMailbox(_ dir: String, progress: @escaping @Sendable (Node.MailboxStep) -> Void = { _ in }) throws(NodeError) -> Node.MailboxResult {
        try host.withNode { n throws(NodeError) in try n.syncMailbox(dir, progress: progress) }
    }

    public func versionVector() throws(NodeError) -> VersionVector {
        try host.withNode { n throws(NodeError) in try n.versionVector() }
    }

    public func envelopes(missingFrom known: VersionVector) throws(NodeError) -> [Envelope] {
        try host.withNode { n throws(NodeError) in try n.envelopes(missingFrom: known) }
    }

    /// Verifies and stores ops from a peer.
    public func importEnvelopes(_ envs: [Envelope]) throws(NodeError) -> ImportReport {
        try host.withNode { n throws(NodeError) in try n.importEnvelopes(envs) }
    }

    public func peers() throws(NodeError) -> [Node.PeerState] {
        try host.withNode { n throws(NodeError) in try n.peers() }
    }

    /// When each peer last said what it holds (wall ms).
    public func lastHeard() throws(NodeError) -> [NodeID: Int64] {
        try host.withNode { n throws(NodeError) in try n.lastHeard() }
    }

    /// What one seized device could take with it: ops and files only it is known to hold.
    public func lossRisk() throws(NodeError) -> LossRisk {
        try host.withNode { n throws(NodeError) in try n.lossRisk() }
    }

    /// What the delivery page reads: loss risk, peers and when each was heard, from one read of
    /// this node's vector in one hold of the node.
    public func delivery() throws(NodeError) -> (risk: LossRisk, peers: [Node.PeerState], heard: [NodeID: Int64]) {
        try host.withNode { n throws(NodeError) in
            let mine = try n.versionVector()
            return (try n.lossRisk(mine: mine), try n.peers(mine: mine), try n.lastHeard())
        }
    }

    public func pinnedPeers() throws(NodeError) -> [NodeID: String] {
        try host.withNode { n throws(NodeError) in try n.pinnedPeers() }
    }

    public func rememberPeer(_ id: NodeID, address: String) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.rememberPeer(id, address: address) }
    }

    /// Syncs once with the peer at `address`, both directions. As in `serve`, the lock is taken
    /// only for what the session needs from the node (keys, the server check, the import
    /// screen, the carry rule) and for the bookkeeping after it, never while the network is
    /// used: a stalled peer holds up no other caller of the host.
    /// `proxy`: a SOCKS5 proxy (HOST:PORT) to reach the peer through, such as Tor's client port.
    public func sync(with address: String, expecting: NodeID? = nil, proxy: String? = nil) throws(NodeError) -> PeerSession.Summary {
        let host = self.host
        let plan = try host.withNode { n throws(NodeError) in try n.syncPlan(at: address, expecting: expecting, proxy: proxy) }
        let (report, last) = try Node.syncSessions(
            with: address, plan: plan,
            screens: { () throws(NodeError) in try host.withNode { n throws(NodeError) in try n.importScreenParts() } },
            forget: { r in host.withNode { n in n.forgetMembership(ifChangedBy: r) } },
            carry: { peer in host.withNode { n in n.carryFilter(to: peer) } })
        var summary = try host.withNode { n throws(NodeError) in try n.finishSync(report, last) }
        Node.chunkSession(with: address, plan: plan, access: NodeAccess(node: nil, host: host), into: &summary)
        return summary
    }

    /// The line a member's tor needs in its `ClientOnionAuthDir` to reach `server`'s
    /// members-only onion service at `onion` (`serve --onion --onion-members-only`).
    public func onionClientAuthLine(onion: String, server: NodeID) throws(NodeError) -> String {
        guard let name = OnionService.serviceName(onion) else {
            throw NodeError(.usage, "'\(onion)' is not an onion service's address (56 letters and digits 2-7, then .onion)")
        }
        let box = host.withNode { n in n.identity.box }
        return OnionService.clientAuthLine(service: name, keys: try OnionService.clientAuthKeys(mine: box, peer: server.boxKey))
    }

    /// Members heard on this network within `seconds` (`serve --lan` elsewhere), each with the
    /// address its server announced: only nodes a plain `sync ADDRESS` would accept.
    public func discover(seconds: Double, windowLength: UInt64 = defaultLanWindow) throws(NodeError) -> [LanDiscovery.Found] {
        let (nk, me) = try host.withNode { n throws(NodeError) in (try n.requireNetworkKey(), n.identity.signing.publicKey) }
        let heard = LanDiscovery.listen(networkKey: nk, seconds: seconds, windowLength: windowLength, ignoring: me)
        return try host.withNode { n throws(NodeError) in try n.lanAcceptable(heard) }
    }

    /// One member's session with `serve`, for a screen that shows them in its own words.
    public struct ServedSession: Sendable {
        public let peer: NodeID?
        public let address: String
        public let sent: Int
        public let received: Int
        public let known: Int
        public let refused: Int
        public let chunksSent: Int
        public let chunksReceived: Int
        /// The session ended before it finished (the log line says why).
        public let failed: Bool
    }

    /// Accepts peers until `shouldStop` says so. Every connection first waits in a
    /// `HandshakeGate` (one thread, poll), which costs a stranger's socket no thread and no
    /// slot; only a member proven by message 3 takes one of `maxPeers` slots and a thread of
    /// its own, with its own SQLite connections. Past `maxPeers`, up to `maxWaiting` proven
    /// members wait in turn (a socket each, no thread) for the next free thread; a member who
    /// waited `maxWait` seconds is let go before its own client gives up. A bad peer ends its
    /// own connection only.
    /// The accept loop holds no lock: a member's thread takes the host's lock only to read its
    /// import screen and carry rule, and for the bookkeeping after its import.
    public func serve(listen address: String, maxPeers: Int = 32, maxWaiting: Int = Self.defaultMaxWaiting,
                      maxHandshakes: Int = Self.defaultMaxHandshakes,
                      maxPerAddress: Int = Self.defaultMaxPerAddress, shouldStop: @escaping @Sendable () -> Bool,
                      onListening: (UInt16) -> Void = { _ in }, log: @escaping @Sendable (String) -> Void,
                      onSession: @escaping @Sendable (ServedSession) -> Void = { _ in },
                      lanWindow: UInt64? = nil) throws(NodeError) {
        let (pid, nk, identity) = try host.withNode { n throws(NodeError) in
            (try n.requireProject(), try n.requireNetworkKey(), n.identity.signing)
        }
        let listener: Listener
        do { listener = try Listener(address: address) } catch { throw NodeError(.failure, error.description) }
        onListening(listener.port)
        log("listening on \(address) (port \(listener.port)) as \(host.nodeID.fingerprint)")
        var limits = HandshakeGate.Limits()
        limits.pending = max(1, maxHandshakes)
        limits.perAddress = max(1, maxPerAddress)
        let gate = HandshakeGate(listener: listener, identity: identity, networkKey: nk, replay: ReplayCache(), limits: limits)
        // `serve --lan`: announced from a thread of its own, until this function returns.
        let announcing = DispatchGroup(), ended = LockedFlag()
        if let lanWindow {
            if address.hasPrefix("127.") || address.hasPrefix("localhost:") || address.hasPrefix("[::1]") {
                log("lan: listening on \(address), which members on the network cannot reach; listen on 0.0.0.0:PORT to be found")
            }
            let beacon = LanBeacon(node: host.nodeID, port: listener.port)
            announcing.enter()
            Thread {
                defer { announcing.leave() }
                LanDiscovery.announce(beacon, networkKey: nk, windowLength: lanWindow, shouldStop: { ended.isSet || shouldStop() }, log: log)
            }.start()
            log("lan: announcing to members on this network")
        }
        defer {
            ended.set()
            announcing.wait()
        }
        let refusals = RefusalLog(log)
        let group = DispatchGroup()
        let storePath = Node.databasePath(host.home)
        // The gate checks each message 3 on a store connection of its own, so a member
        // thread busy in the node (acknowledging, forwarding keys) never stalls the gate.
        let gateStore = try mapped { try OpStore(path: storePath) }
        let me = identity.publicKey
        let host = self.host
        /// One admitted member's session, on the thread that runs it.
        @Sendable func serveMember(_ conn: Connection, _ session: Handshake.Session) {
            let who = NodeID.fingerprint(of: session.peer)
            let peerID = host.withNode { n in (try? n.storedMembership())?.members[session.peer]?.node }
            func told(_ s: PeerSession.Summary?, chunks: (sent: Int, received: Int) = (0, 0), failed: Bool = false) {
                onSession(ServedSession(peer: peerID, address: conn.peerAddress, sent: s?.sent ?? 0, received: s?.report.new ?? 0,
                                        known: s?.report.known ?? 0, refused: s?.report.refused.count ?? 0,
                                        chunksSent: chunks.sent, chunksReceived: chunks.received, failed: failed))
            }
            do {
                let (screen, carry) = host.withNode { n in
                    // Another member's session may have stored membership ops it has not ingested yet.
                    n.forgetMembershipIfStale()
                    let fallback: @Sendable (Envelope) -> CoreError? = { _ in nil }
                    return ((try? n.importScreen()) ?? fallback, try? n.carryRule(to: [session.peer]))
                }
                let served = try PeerSession.serve(conn: conn, session: session, storePath: storePath, project: pid,
                                                   screen: screen, carryRule: carry, chunks: {
                    let member = host.withNode { n -> Bool in
                        guard let m = try? n.storedMembership(), let who = m.members[session.peer] else { return false }
                        return m.isCurrentMember(who.node)
                    }
                    return member ? NodeChunkPeer(NodeAccess(node: nil, host: host), peer: session.peer) : nil
                })
                guard case let .ops(s) = served else {
                    if case let .chunks(c) = served, c.sent + c.received > 0 {
                        log("peer \(conn.peerAddress) [\(who)]: evidence chunks sent \(c.sent), received \(c.received)")
                        told(nil, chunks: (c.sent, c.received))
                    }
                    return
                }
                host.withNode { n in
                    // The session imported on its own connection; the node does the rest.
                    _ = try? n.ingest(.imported(s.report), peer: { Node.ingestPeer(s) })
                }
                log("peer \(conn.peerAddress) [\(who)]: sent \(s.sent), received \(s.report.new) new, \(s.report.known) known, \(s.report.refused.count) refused")
                told(s)
            } catch {
                log("peer \(conn.peerAddress) [\(who)]: connection ended: \(error) (received \(conn.bytesReceived) bytes, sent \(conn.bytesSent))")
                told(nil, failed: true)
            }
        }
        let waiting = ServeQueue()
        // Derived again only when a membership op was stored since: a thousand members at
        // once each met a fresh derivation here, which was most of the gate's work.
        var gateMembership: (stamp: [Int64], m: Membership)?
        while !shouldStop() {
            let events = gate.step(timeout: 0.2) { key in
                guard key != me, let stamp = try? gateStore.membershipStamp() else { return false }
                if gateMembership?.stamp != stamp {
                    guard let m = try? Node.membership(of: pid, in: gateStore) else { return false }
                    gateMembership = (stamp, m)
                }
                guard let m = gateMembership?.m else { return false }
                return m.members[key] != nil && !Node.isRevoked(key, in: m)
            }
            for event in events {
                switch event {
                case let .refused(peer, reason, received, sent):
                    refusals.log("peer \(peer): connection ended: \(reason) (received \(received) bytes, sent \(sent))")
                case let .admitted(conn, session):
                    switch waiting.admit(conn, session, running: maxPeers, waiting: maxWaiting) {
                    case .run:
                        group.enter()
                        Thread {
                            defer { group.leave() }
                            var next: ServeQueue.Member? = .init(conn: conn, session: session, since: 0)
                            while let m = next {
                                serveMember(m.conn, m.session)
                                m.conn.close()
                                next = waiting.next(maxWait: Self.maxWait) { m, waited in
                                    refusals.log("peer \(m.conn.peerAddress) [\(NodeID.fingerprint(of: m.session.peer))]: let go after waiting \(Int(waited)) s for a free slot")
                                    m.conn.close()
                                }
                            }
                        }.start()
                    case .wait:
                        continue
                    case .refuse:
                        refusals.log("peer \(conn.peerAddress) [\(NodeID.fingerprint(of: session.peer))]: refused, \(maxPeers) peers already connected and \(maxWaiting) waiting")
                        conn.close()
                    }
                }
            }
            refusals.summarise()
        }
        gate.closeAll()
        waiting.closeAll()
        group.wait()
        refusals.summarise(force: true)
        log("stopped")
    }
}

/// Proven members waiting for a session thread, first come first served. A member costs its
/// socket here, no thread: `serve` keeps at most `running` threads, each of which takes the
/// next waiting member when its session ends.
final class ServeQueue: @unchecked Sendable {
    struct Member {
        let conn: Connection
        let session: Handshake.Session
        let since: Double
    }
    enum Verdict { case run, wait, refuse }

    private let lock = NSLock()
    private var queue: [Member] = []
    private var head = 0
    private var running = 0
    private var closed = false

    /// Whether `conn` starts a thread, waits for one, or is refused.
    func admit(_ conn: Connection, _ session: Handshake.Session, running limit: Int, waiting maxWaiting: Int) -> Verdict {
        lock.lock(); defer { lock.unlock() }
        if running < max(1, limit) { running += 1; return .run }
        guard queue.count - head < maxWaiting else { return .refuse }
        queue.append(Member(conn: conn, session: session, since: ProcessInfo.processInfo.systemUptime))
        return .wait
    }

    /// The next waiting member for a thread whose session ended, or nil (the thread ends). A
    /// member who waited more than `maxWait` seconds is handed to `expired` instead.
    func next(maxWait: Double, expired: (Member, Double) -> Void) -> Member? {
        var stale: [(Member, Double)] = []
        defer { for (m, w) in stale { expired(m, w) } }
        lock.lock(); defer { lock.unlock() }
        let now = ProcessInfo.processInfo.systemUptime
        while !closed, head < queue.count {
            let m = queue[head]
            head += 1
            if head > 1024 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
            if now - m.since > maxWait { stale.append((m, now - m.since)); continue }
            return m
        }
        running -= 1
        return nil
    }

    /// On stop: the waiting members' connections close, and no thread takes another.
    func closeAll() {
        lock.lock()
        closed = true
        let left = queue[head...]
        queue = []; head = 0
        lock.unlock()
        for m in left { m.conn.close() }
    }
}

/// Set once, read from another thread.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
