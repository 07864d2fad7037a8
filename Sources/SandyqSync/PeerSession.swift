import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// One sync with one peer over a connection: the handshake, then both sides send their
/// version vectors, stream what the other lacks in bounded batches (one transaction per
/// batch, so an interrupted sync keeps what arrived), and finish with their new vectors.
public final class PeerSession: @unchecked Sendable {
    // The sending half (sendCipher) is used only by the sender thread once it starts; the rest only by the reader.
    public enum Message: UInt8 {
        case vector = 1, ops = 2, done = 3, finalVector = 4
    }

    public struct Summary: Sendable {
        public var peer: SigningPublicKey?
        public var sent = 0
        public var report = ImportReport()
        public var bytesSent = 0
        public var bytesReceived = 0
        /// The peer's vector after it imported what we sent: what it is known to hold.
        public var peerVector: VersionVector?
    }

    public static let batchOps = 1000
    public static let batchBytes = 1 << 20
    public static let handshakeTimeout = 10.0
    public static let idleTimeout = 60.0

    let conn: Connection
    let storePath: String
    let project: ProjectID
    let screen: (@Sendable (Envelope) -> OpError?)?
    var sendCipher: FrameCipher
    var receiveCipher: FrameCipher
    public private(set) var summary = Summary()

    init(conn: Connection, storePath: String, project: ProjectID, session: Handshake.Session,
         screen: (@Sendable (Envelope) -> OpError?)? = nil) {
        self.screen = screen
        self.conn = conn
        self.storePath = storePath
        self.project = project
        sendCipher = FrameCipher(key: session.send)
        receiveCipher = FrameCipher(key: session.receive)
        summary.peer = session.peer
    }

    // MARK: handshakes

    /// Client side: proves itself, checks the server with `allowed`, then exchanges.
    public static func client(conn: Connection, identity: SigningKeyPair, networkKey: SymmetricKey, storePath: String,
                              project: ProjectID, screen: (@Sendable (Envelope) -> OpError?)? = nil,
                              allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> Summary {
        conn.setTimeout(seconds: handshakeTimeout)
        var hs = ClientHandshake(identity: identity, networkKey: networkKey)
        try conn.writeAll(hs.message1(nowMillis: nowMillis()))
        let m2: [UInt8]
        do { m2 = try conn.readExactly(Handshake.message2Length, deadline: Date(timeIntervalSinceNow: handshakeTimeout)) } catch {
            throw .protocolViolation("the server did not answer the handshake (wrong network key, or not a sandyq node): \(error)")
        }
        let (m3, session): ([UInt8], Handshake.Session)
        do { (m3, session) = try hs.receive2(m2, allowed: allowed) } catch { throw .protocolViolation(error.description) }
        try conn.writeAll(m3)
        let s = PeerSession(conn: conn, storePath: storePath, project: project, session: session, screen: screen)
        try s.exchange()
        return s.summary
    }

    /// Server side. A first message without the network key gets no answer at all.
    public static func server(conn: Connection, identity: SigningKeyPair, networkKey: SymmetricKey, storePath: String,
                              project: ProjectID, replay: ReplayCache, screen: (@Sendable (Envelope) -> OpError?)? = nil,
                              allowed: (SigningPublicKey) -> Bool) throws(SyncError) -> Summary {
        conn.setTimeout(seconds: handshakeTimeout)
        var hs = ServerHandshake(identity: identity, networkKey: networkKey)
        // One deadline for the whole handshake, not one per byte.
        let deadline = Date(timeIntervalSinceNow: handshakeTimeout)
        let m1 = try conn.readExactly(Handshake.message1Length, deadline: deadline)
        let m2: [UInt8]
        do { m2 = try hs.receive1(m1, nowMillis: nowMillis(), fresh: replay.insert) } catch { throw .protocolViolation(error.description) }
        try conn.writeAll(m2)
        let m3 = try conn.readExactly(Handshake.message3Length, deadline: deadline)
        let session: Handshake.Session
        do { session = try hs.receive3(m3, allowed: allowed) } catch { throw .protocolViolation(error.description) }
        let s = PeerSession(conn: conn, storePath: storePath, project: project, session: session, screen: screen)
        try s.exchange()
        return s.summary
    }

    static func nowMillis() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    // MARK: frames

    func send(_ type: Message, _ body: [UInt8]) throws(SyncError) {
        try conn.writeAll(sendCipher.seal([type.rawValue] + body))
    }

    func receive() throws(SyncError) -> (Message, [UInt8]) {
        let lenBytes = try conn.readExactly(4)
        let len = lenBytes.reduce(0) { $0 << 8 | Int($1) }
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

    func exchange() throws(SyncError) {
        conn.setTimeout(seconds: Self.idleTimeout)
        let importer: OpStore
        do { importer = try OpStore(path: storePath) } catch { throw .io("cannot open the store: \(error)") }
        let mine: VersionVector
        do { mine = try importer.versionVector() } catch { throw .io("\(error)") }
        try send(.vector, mine.encoded())

        // The sender runs on its own thread so both directions stream at once.
        let peerVector = Latch<VersionVector>()
        let importsDone = Latch<VersionVector>()
        let senderResult = Latch<Result<Int, SyncError>>()
        let path = storePath
        let thread = Thread { [self] in
            senderResult.set(Result { () throws(SyncError) -> Int in
                guard let known = peerVector.wait() else { return 0 }
                let reader: OpStore
                do { reader = try OpStore(path: path) } catch { throw .io("cannot open the store: \(error)") }
                var batch = ByteWriter(capacity: Self.batchBytes + 4096)
                var count = 0, sent = 0
                func flush() throws(SyncError) {
                    guard count > 0 else { return }
                    var w = ByteWriter(capacity: batch.bytes.count + 8)
                    w.varint(UInt64(count)); w.raw(batch.bytes)
                    try send(.ops, w.bytes)
                    batch = ByteWriter(capacity: Self.batchBytes + 4096); count = 0
                }
                do {
                    try reader.forEachEnvelope(missingFrom: known) { env in
                        batch.blob(env.encoded); count += 1; sent += 1
                        if count >= Self.batchOps || batch.bytes.count >= Self.batchBytes { try flush() }
                    }
                } catch let e as SyncError { throw e } catch { throw .io("\(error)") }
                try flush()
                var w = ByteWriter(); w.varint(UInt64(sent))
                try send(.done, w.bytes)
                guard let after = importsDone.wait() else { return sent }
                try send(.finalVector, after.encoded())
                return sent
            })
        }
        thread.start()

        var gotDone = false, gotFinal = false
        var failure: SyncError?
        do throws(SyncError) {
            while !(gotDone && gotFinal) {
                let (type, body) = try receive()
                switch type {
                case .vector:
                    guard let v = try? VersionVector(decoding: body) else { throw .protocolViolation("malformed vector") }
                    peerVector.set(v)
                case .ops:
                    var r = ByteReader(body)
                    var envs: [Envelope] = []
                    do {
                        let n = try r.varint()
                        guard n <= UInt64(Self.batchOps * 4) else { throw SyncError.protocolViolation("batch too large") }
                        for _ in 0..<n {
                            let b = try r.blob(max: Envelope.maxBodyLength + 4096)
                            // A malformed op is refused on its own; its neighbours still land.
                            if let e = try? Envelope(decoding: b) { envs.append(e) } else { summary.report.refused.append((OpID.zero, SigningPublicKey.zeroKey, 0, .malformed("undecodable envelope"))) }
                        }
                    } catch let e as SyncError { throw e } catch { throw .protocolViolation("malformed batch") }
                    do { summary.report.merge(try importer.importEnvelopes(envs, project: project, screen: screen)) } catch { throw .io("import failed: \(error)") }
                case .done:
                    gotDone = true
                    let after: VersionVector
                    do { after = try importer.versionVector() } catch { throw .io("\(error)") }
                    importsDone.set(after)
                case .finalVector:
                    guard let v = try? VersionVector(decoding: body) else { throw .protocolViolation("malformed vector") }
                    gotFinal = true
                    summary.peerVector = v
                }
            }
            peerVector.cancel() // a peer that sent done + finalVector but never its vector must not leave the sender waiting forever
        } catch {
            failure = error
            peerVector.cancel(); importsDone.cancel()
            conn.close()
        }
        let sent = senderResult.wait()
        if let failure { throw failure }
        switch sent {
        case let .success(n)?: summary.sent = n
        case let .failure(e)?: throw e
        case nil: break
        }
        summary.bytesSent = conn.bytesSent
        summary.bytesReceived = conn.bytesReceived
    }

}

extension SigningPublicKey {
    static var zeroKey: SigningPublicKey { (try? SigningPublicKey(bytes: [UInt8](repeating: 0, count: 32)))! }
}

/// A one-shot value handed between threads.
final class Latch<T>: @unchecked Sendable {
    private let cond = NSCondition()
    private var value: T?
    private var cancelled = false

    func set(_ v: T) { cond.lock(); value = v; cond.broadcast(); cond.unlock() }
    func cancel() { cond.lock(); cancelled = true; cond.broadcast(); cond.unlock() }

    func wait() -> T? {
        cond.lock(); defer { cond.unlock() }
        while value == nil && !cancelled { cond.wait() }
        return value
    }
}

/// Client ephemeral keys seen lately, so a replayed first message gets no second answer.
public final class ReplayCache: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [[UInt8]: UInt64] = [:]

    public init() {}

    public func insert(_ key: [UInt8]) -> Bool {
        lock.lock(); defer { lock.unlock() }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        // `$0.value > now` after the clock stepped back: keep it (and never subtract past zero).
        if seen.count > 10_000 { seen = seen.filter { $0.value > now || now - $0.value < 2 * Handshake.maxSkewMillis } }
        if seen[key] != nil { return false }
        seen[key] = now
        return true
    }
}
