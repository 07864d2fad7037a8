import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// One sync with one peer over a connection: the handshake, then both sides send their
/// version vectors, stream what the other lacks in bounded batches (one transaction per
/// batch, so an interrupted sync keeps what arrived), and finish with their new vectors.
public final class PeerSession: @unchecked Sendable {
    // The sending half (sendCipher) is used only by the sender thread once it starts; the rest only by the reader.
    public enum Message: UInt8, Sendable {
        case vector = 1, ops = 2, done = 3, finalVector = 4
        /// A chunk session's frames (ChunkSession.swift).
        case want = 5, chunk = 6, chunksDone = 7, held = 8
    }

    public struct Summary: Sendable {
        public var peer: SigningPublicKey?
        public var sent = 0
        public var report = ImportReport()
        public var bytesSent = 0
        public var bytesReceived = 0
        /// The peer's vector after it imported what we sent: what it is known to hold.
        public var peerVector: VersionVector?
        /// The chunk session that follows the ops (nil when none ran), and why it failed, if it did.
        public var chunks: ChunkSummary?
        public var chunkError: String?
    }

    public static let batchOps = 1000
    public static let batchBytes = 1 << 20
    public static let handshakeTimeout = 10.0
    public static let idleTimeout = 60.0

    let conn: Connection
    let storePath: String
    let project: ProjectID
    let screen: (@Sendable (Envelope) -> CoreError?)?
    /// Which held ops this side hands the peer (nil: every one the peer lacks).
    let carry: (@Sendable (Envelope) -> Bool)?
    /// The same as a rule, when there is one: it can pass over an author's ops unread.
    let carryRule: CarryRule?
    var sendCipher: FrameCipher
    var receiveCipher: FrameCipher
    public private(set) var summary = Summary()

    init(conn: Connection, storePath: String, project: ProjectID, session: Handshake.Session,
         screen: (@Sendable (Envelope) -> CoreError?)? = nil, carry: (@Sendable (Envelope) -> Bool)? = nil,
         carryRule: CarryRule? = nil) {
        self.screen = screen
        self.carry = carry
        self.carryRule = carryRule
        self.conn = conn
        self.storePath = storePath
        self.project = project
        sendCipher = FrameCipher(sending: session)
        receiveCipher = FrameCipher(receiving: session)
        summary.peer = session.peer
    }

    // MARK: handshakes

    /// Client side: proves itself, checks the server with `allowed`, then exchanges.
    public static func client(conn: Connection, identity: SigningKeyPair, networkKey: SymmetricKey, storePath: String,
                              project: ProjectID, screen: (@Sendable (Envelope) -> CoreError?)? = nil,
                              handshakeVersion: UInt8 = Handshake.version,
                              allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> Summary {
        try client(conn: conn, identity: identity, networkKey: networkKey, storePath: storePath, project: project, screen: screen,
                   handshakeVersion: handshakeVersion, refusal: { allowed($0) ? nil : "the server's key is not a member of this project, nor the peer pinned for this address" })
    }

    /// Client side, where `refusal` says why a server key is refused (nil: allowed).
    public static func client(conn: Connection, identity: SigningKeyPair, networkKey: SymmetricKey, storePath: String,
                              project: ProjectID, screen: (@Sendable (Envelope) -> CoreError?)? = nil,
                              carry: (SigningPublicKey) -> (@Sendable (Envelope) -> Bool)? = { _ in nil },
                              handshakeVersion: UInt8 = Handshake.version,
                              refusal: (SigningPublicKey) -> String?) throws(SyncError) -> Summary {
        conn.setTimeout(seconds: handshakeTimeout)
        // Version 1 only for tests: a new client never falls back (handshake.md "Versions").
        var hs = ClientHandshake(identity: identity, networkKey: networkKey, version: handshakeVersion)
        try conn.writeAll(hs.message1(nowMillis: nowMillis()))
        let m2: [UInt8]
        do { m2 = try hs.readMessage2(from: conn, deadline: Date(timeIntervalSinceNow: handshakeTimeout)) } catch {
            throw .protocolViolation("the server did not answer the handshake (wrong network key, or not a sandyq node): \(error)")
        }
        let (m3, session): ([UInt8], Handshake.Session)
        do { (m3, session) = try hs.receive2(m2, refusal: refusal) } catch { throw .protocolViolation(error.description) }
        try conn.writeAll(m3)
        let s = PeerSession(conn: conn, storePath: storePath, project: project, session: session, screen: screen,
                            carry: carry(session.peer))
        do { try s.exchange() } catch {
            throw refusedAfterHandshake(error, conn: conn, message2: m2.count) ?? error
        }
        return s.summary
    }

    /// A server that closes after message 3 before sending a single frame has refused this
    /// client there: all its slots are taken (`serve --max-peers`), or it does not hold this
    /// node for a member. The handshake does not say which, so the error names both.
    static func refusedAfterHandshake(_ error: SyncError, conn: Connection, message2: Int) -> SyncError? {
        guard conn.bytesReceived == message2, case let .io(why) = error,
              why == "peer closed the connection" || why.hasPrefix("receive failed") || why.hasPrefix("send failed") else { return nil }
        return .io("the server closed the connection right after the handshake, before its first frame: it is full "
            + "(too many members syncing at once; try again later), or it does not count this node as a member of the project")
    }

    /// Server side. A first message without the network key gets no answer at all.
    public static func server(conn: Connection, identity: SigningKeyPair, networkKey: SymmetricKey, storePath: String,
                              project: ProjectID, replay: ReplayCache, screen: (@Sendable (Envelope) -> CoreError?)? = nil,
                              allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> Summary {
        conn.setTimeout(seconds: handshakeTimeout)
        var hs = ServerHandshake(identity: identity, networkKey: networkKey)
        // One deadline for the whole handshake, not one per byte.
        let deadline = Date(timeIntervalSinceNow: handshakeTimeout)
        var m1 = try conn.readExactly(Handshake.message1Length, deadline: deadline)
        // Version 2's padding: its length is known once the first 73 bytes verify.
        let more = Handshake.message1Length(prefix: m1, networkKey: networkKey) - m1.count
        if more > 0 { m1 += try conn.readExactly(more, deadline: deadline) }
        let m2: [UInt8]
        do { m2 = try hs.receive1(m1, nowMillis: nowMillis(), replay: replay) } catch { throw .protocolViolation(error.description) }
        try conn.writeAll(m2)
        let m3 = try conn.readExactly(hs.message3Length, deadline: deadline)
        let session: Handshake.Session
        do { session = try hs.receive3(m3, allowed: allowed) } catch { throw .protocolViolation(error.description) }
        return try exchange(conn: conn, session: session, storePath: storePath, project: project, screen: screen)
    }

    /// What a served connection turned out to be: an op session, or a chunk session.
    public enum Served: Sendable {
        case ops(Summary)
        case chunks(ChunkSummary)
    }

    /// Server side after `HandshakeGate`: the client's first frame says which session it opens,
    /// `vector` for ops, `held` for chunks (only when `chunks` gives a peer for it).
    public static func serve(conn: Connection, session: Handshake.Session, storePath: String, project: ProjectID,
                             screen: (@Sendable (Envelope) -> CoreError?)? = nil,
                             carry: (@Sendable (Envelope) -> Bool)? = nil, carryRule: CarryRule? = nil,
                             chunks: () -> (any ChunkPeer)?) throws(SyncError) -> Served {
        let s = PeerSession(conn: conn, storePath: storePath, project: project, session: session, screen: screen,
                            carry: carry, carryRule: carryRule)
        if let held = try s.exchange(chunkSession: true) {
            guard let p = chunks() else { throw .protocolViolation("chunk session refused: nothing to exchange with this peer") }
            return .chunks(try s.chunksAsServer(p, first: held))
        }
        return .ops(s.summary)
    }

    /// The exchange over a connection whose handshake is done (by `HandshakeGate`).
    public static func exchange(conn: Connection, session: Handshake.Session, storePath: String, project: ProjectID,
                                screen: (@Sendable (Envelope) -> CoreError?)? = nil,
                                carry: (@Sendable (Envelope) -> Bool)? = nil) throws(SyncError) -> Summary {
        let s = PeerSession(conn: conn, storePath: storePath, project: project, session: session, screen: screen, carry: carry)
        try s.exchange()
        return s.summary
    }

    static func nowMillis() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    // MARK: frames

    func send(_ type: Message, _ body: [UInt8]) throws(SyncError) {
        try conn.writeAll(sendCipher.seal([type.rawValue] + body))
    }

    func receive() throws(SyncError) -> (Message, [UInt8]) {
        let len = receiveCipher.length(try conn.readExactly(4))
        guard len >= AEAD.tagLength + 1, len <= FrameCipher.maxFrame else {
            throw .protocolViolation("frame length \(len) outside 17...\(FrameCipher.maxFrame)")
        }
        let c = try conn.readExactly(len)
        let p: [UInt8]
        do { p = try receiveCipher.open(c) } catch { throw .protocolViolation("frame failed authentication") }
        guard let t = Message(rawValue: p[0]) else { throw .protocolViolation("unknown message type \(p[0])") }
        return (t, Array(p[1...]))
    }

    // MARK: exchange

    /// Carries out `SessionMachine`'s actions: this thread reads frames and imports; a sender
    /// thread sends frames and streams our ops, so both directions move at once.
    /// With `chunkSession`, a first frame `held` from the peer ends the op exchange before it
    /// began (our `vector` is the only frame sent) and is returned: the peer opened a chunk session.
    @discardableResult
    func exchange(chunkSession: Bool = false) throws(SyncError) -> [UInt8]? {
        conn.setTimeout(seconds: Self.idleTimeout)
        let importer: OpStore
        do { importer = try OpStore(path: storePath) } catch { throw .io("cannot open the store: \(error)") }
        let mine: VersionVector
        do { mine = try importer.versionVector() } catch { throw .io("\(error)") }
        let run = SessionRun(SessionMachine(peer: summary.peer, ours: mine), conn: conn)
        let thread = Thread { [self] in sendLoop(run) }
        thread.start()

        var actions = run.start()
        var first = chunkSession
        while true {
            while !actions.isEmpty {
                let event: SessionMachine.Event
                switch actions.removeFirst() {
                case let .importBatch(envs):
                    do { event = .imported(try importer.importEnvelopes(envs, project: project, screen: screen)) } catch {
                        event = .failed(.io("import failed: \(error)"))
                    }
                case .readOwnVector:
                    do { event = .ownVectorRead(try importer.versionVector()) } catch { event = .failed(.io("\(error)")) }
                default:
                    continue
                }
                actions += run.feed(event)
            }
            if run.receiverIsDone { break }
            do throws(SyncError) {
                let (type, body) = try receive()
                if first, type == .held {
                    run.abandon()
                    run.waitForSender()
                    return body
                }
                first = false
                actions = run.feed(.frameReceived(type, body))
            } catch {
                actions = run.feed(.failed(error))
            }
        }
        run.waitForSender()
        switch run.outcome {
        case let .success(s)?: summary = s
        case let .failure(e)?: throw e
        case nil: throw .io("the session ended without an outcome")
        }
        summary.bytesSent = conn.bytesSent
        summary.bytesReceived = conn.bytesReceived
        return nil
    }

    /// The sender thread: sends what the machine queued, in its order, until the sending half is through.
    private func sendLoop(_ run: SessionRun) {
        defer { run.senderExited() }
        while let action = run.nextOutgoing(wait: true) {
            switch action {
            case let .send(type, body):
                do throws(SyncError) { try send(type, body) } catch { _ = run.feed(.failed(error)); return }
            case let .streamOps(above: known):
                guard stream(above: known, run) else { return }
            default:
                continue
            }
        }
    }

    /// Reads the ops above `known` in batches, sending each before the next is read, so at
    /// most one batch is held. False when the session failed meanwhile.
    private func stream(above known: VersionVector, _ run: SessionRun) -> Bool {
        struct Stop: Error {}
        let reader: OpStore
        do { reader = try OpStore(path: storePath) } catch { _ = run.feed(.failed(.io("cannot open the store: \(error)"))); return false }
        var batcher = SessionMachine.Batcher()
        func deliver(_ envs: [Envelope]?) throws(Stop) {
            if let envs { _ = run.feed(.batchRead(envs)) }
            while let a = run.nextOutgoing(wait: false) {
                guard case let .send(type, body) = a else { continue }
                do throws(SyncError) { try send(type, body) } catch { _ = run.feed(.failed(error)); throw Stop() }
            }
            // Closed while streaming can only mean failed.
            if run.isClosed { throw Stop() }
        }
        do {
            if let rule = carryRule {
                // A field device is handed the membership and its own chain: judged per author,
                // the rest of the log is not read (a thousand reporters once each decoded it all).
                var passes: [SigningPublicKey: CarryRule.AuthorPass] = [:]
                var membershipAuthors: Set<SigningPublicKey>?
                var askedAuthors = false
                func reading(_ author: SigningPublicKey) -> Bool {
                    let p = rule.pass(for: author)
                    passes[author] = p
                    switch p {
                    case .none: return false
                    case .membershipOnly:
                        if !askedAuthors { membershipAuthors = try? reader.membershipAuthors(); askedAuthors = true }
                        // Unknown authors of membership ops: read every author, as before.
                        return membershipAuthors?.contains(author) ?? true
                    case .all, .each: return true
                    }
                }
                func offer(_ author: SigningPublicKey, _ raw: UnsafeRawBufferPointer) throws {
                    guard try rule.allows(encoded: raw, pass: passes[author] ?? .each) else { return }
                    let env = try Envelope(decoding: Array(raw))
                    if let carry = self.carry, !carry(env) { return }
                    if let full = batcher.add(env) { try deliver(full) }
                }
                try reader.forEachEncodedEnvelope(missingFrom: known, reading: reading, offer)
            } else {
                try reader.forEachEnvelope(missingFrom: known) { env in
                    if let carry = self.carry, !carry(env) { return }
                    if let full = batcher.add(env) { try deliver(full) }
                }
            }
            try deliver(batcher.take())
        } catch is Stop {
            return false
        } catch {
            _ = run.feed(.failed(.io("\(error)")))
            return false
        }
        _ = run.feed(.opsEnd)
        return true
    }
}

extension ClientHandshake {
    /// Reads message 2: e_s first, which gives version 2's padding, then the rest.
    public func readMessage2(from conn: Connection, deadline: Date) throws(SyncError) -> [UInt8] {
        let es = try conn.readExactly(32, deadline: deadline)
        return es + (try conn.readExactly(message2Length(prefix: es) - 32, deadline: deadline))
    }
}

extension SigningPublicKey {
    static var zeroKey: SigningPublicKey { (try? SigningPublicKey(bytes: [UInt8](repeating: 0, count: 32)))! }
}

/// One `SessionMachine` shared by a session's two threads. Sends and streams go to the
/// sender thread in the order the machine gave them; imports and reads stay with the feeder.
final class SessionRun: @unchecked Sendable {
    private let cond = NSCondition()
    private var machine: SessionMachine
    private let conn: Connection
    private var outbox: [SessionMachine.Action] = []
    private var sendingThrough = false
    private var senderGone = false
    private(set) var outcome: Result<PeerSession.Summary, SyncError>?

    init(_ machine: SessionMachine, conn: Connection) {
        self.machine = machine
        self.conn = conn
    }

    var receiverIsDone: Bool { cond.lock(); defer { cond.unlock() }; return machine.receiverIsDone }
    var isClosed: Bool { cond.lock(); defer { cond.unlock() }; return machine.isClosed }

    func start() -> [SessionMachine.Action] { route { $0.start() } }

    func feed(_ event: SessionMachine.Event) -> [SessionMachine.Action] { route { $0.handle(event) } }

    /// Queues the sender's actions and keeps the outcome; returns the rest for the caller.
    private func route(_ step: (inout SessionMachine) -> [SessionMachine.Action]) -> [SessionMachine.Action] {
        cond.lock()
        var local: [SessionMachine.Action] = []
        var failed = false
        for a in step(&machine) {
            switch a {
            case .send, .streamOps: outbox.append(a)
            case let .finish(s): outcome = .success(s)
            case let .fail(e): outcome = .failure(e); outbox.removeAll(); failed = true
            case .importBatch, .readOwnVector: local.append(a)
            }
        }
        if machine.sender == .finalSent || machine.isClosed { sendingThrough = true }
        cond.broadcast()
        cond.unlock()
        // Every failure closes the connection, which also unblocks the other thread.
        if failed { conn.close() }
        return local
    }

    /// The next action for the sender thread; nil once the sending half is through or the session failed.
    func nextOutgoing(wait: Bool) -> SessionMachine.Action? {
        cond.lock(); defer { cond.unlock() }
        while outbox.isEmpty {
            if sendingThrough || !wait { return nil }
            cond.wait()
        }
        return outbox.removeFirst()
    }

    /// Ends the op exchange without closing the connection: the sender sends nothing more and
    /// exits once idle (the peer opened a chunk session instead).
    func abandon() {
        cond.lock()
        outbox.removeAll()
        sendingThrough = true
        cond.broadcast()
        cond.unlock()
    }

    func senderExited() { cond.lock(); senderGone = true; cond.broadcast(); cond.unlock() }

    func waitForSender() {
        cond.lock(); defer { cond.unlock() }
        while !senderGone { cond.wait() }
    }
}

/// Client ephemeral keys answered lately, so a recorded message 1 gets no second answer.
///
/// Keys are filed by the clock their message 1 carries, in 10-second buckets. A message is
/// fresh only while its clock is within `Handshake.maxSkewMillis` of ours, so a bucket whose
/// every clock is that far behind can never be matched again and is dropped whole: pruning
/// costs nothing per entry held. Memory is bounded by `capacity`: when full, the bucket
/// farthest from now is dropped and its clock range refused until it goes stale, so a key it
/// held can still not be answered twice.
public final class ReplayCache: @unchecked Sendable {
    public static let bucketMillis: UInt64 = 10_000
    public static let defaultCapacity = 1 << 17

    public enum Verdict: Sendable, Equatable {
        case fresh
        case replayed
        /// The message's clock falls in a bucket dropped under pressure: it may be a replay.
        case forgotten
    }

    struct Key: Hashable {
        let a, b, c, d: UInt64
        init(_ k: [UInt8]) {
            func word(_ i: Int) -> UInt64 {
                var w: UInt64 = 0
                for j in i..<min(i + 8, k.count) { w = w << 8 | UInt64(k[j]) }
                return w
            }
            a = word(0); b = word(8); c = word(16); d = word(24)
        }
    }

    public let capacity: Int
    private let lock = NSLock()
    private var seen: [Key: UInt64] = [:]
    private var buckets: [UInt64: [Key]] = [:]
    private var dropped: Set<UInt64> = []
    private var prunedAt: UInt64 = .max

    public init(capacity: Int = ReplayCache.defaultCapacity) { self.capacity = max(1, capacity) }

    public var count: Int { lock.lock(); defer { lock.unlock() }; return seen.count }
    var bucketCount: Int { lock.lock(); defer { lock.unlock() }; return buckets.count }

    /// Records `key`, sent with clock `time`, unless it was answered before.
    public func check(_ key: [UInt8], time: UInt64, now: UInt64) -> Verdict {
        lock.lock(); defer { lock.unlock() }
        prune(now: now)
        let bucket = time / Self.bucketMillis
        if dropped.contains(bucket) { return .forgotten }
        let k = Key(key)
        if seen[k] != nil { return .replayed }
        while seen.count >= capacity { dropFarthest(from: now / Self.bucketMillis) }
        if dropped.contains(bucket) { return .forgotten }
        seen[k] = bucket
        buckets[bucket, default: []].append(k)
        return .fresh
    }

    /// `check` with the message's clock taken as now.
    public func insert(_ key: [UInt8]) -> Bool {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        return check(key, time: now, now: now) == .fresh
    }

    /// Drops buckets whose every clock is stale; runs at most once per bucket of wall time,
    /// over at most the buckets held (about 120 in a ±10 min window).
    private func prune(now: UInt64) {
        let current = now / Self.bucketMillis
        guard current != prunedAt else { return }
        prunedAt = current
        func stale(_ b: UInt64) -> Bool { (b + 1) * Self.bucketMillis + Handshake.maxSkewMillis <= now }
        for b in buckets.keys where stale(b) {
            for k in buckets[b] ?? [] { seen[k] = nil }
            buckets[b] = nil
        }
        dropped = dropped.filter { !stale($0) }
    }

    private func dropFarthest(from current: UInt64) {
        func distance(_ b: UInt64) -> UInt64 { b > current ? b - current : current - b }
        guard let far = buckets.keys.max(by: { distance($0) < distance($1) }) else { seen.removeAll(); return }
        for k in buckets[far] ?? [] { seen[k] = nil }
        buckets[far] = nil
        dropped.insert(far)
    }
}
