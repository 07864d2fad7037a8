import SandyqCore
import SandyqCrypto
import SandyqStore

/// The exchange of a TCP session after its handshake (handshake.md, "Session state machine"),
/// with no I/O: events in, actions out. The caller owns the connection, the frame cipher and
/// the store, and carries the actions out; frames here are already opened.
///
/// Two halves run side by side. The receiver takes the peer's frames in their only honest
/// order, `vector, ops*, done, finalVector`; the sender sends our vector, streams what the
/// peer lacks, sends `done`, and sends `finalVector` once the peer's `done` and every import
/// before it are through.
public struct SessionMachine: Sendable {
    public typealias Message = PeerSession.Message

    public enum ReceiverState: Sendable, Equatable {
        case awaitingVector, receivingOps, awaitingFinalVector, finalSeen
    }

    public enum SenderState: Sendable, Equatable {
        case starting, awaitingPeerVector, streaming, doneSent, finalSent
    }

    public enum Event: Sendable {
        /// A frame that opened under the receive key.
        case frameReceived(Message, [UInt8])
        /// The store's next batch of the ops the peer lacks.
        case batchRead([Envelope])
        /// The store has no more ops for the peer.
        case opsEnd
        /// The store imported a batch handed out by `importBatch`.
        case imported(ImportReport)
        /// Our version vector, read after every import reported.
        case ownVectorRead(VersionVector)
        /// The connection closed or timed out, a frame did not open, or the store failed.
        case failed(SyncError)
    }

    public enum Action: Sendable {
        case send(Message, [UInt8])
        /// Read the ops above this vector in batches (`Batcher`), each fed back as `batchRead`, then `opsEnd`.
        case streamOps(above: VersionVector)
        /// Import in one transaction, then feed `imported`.
        case importBatch([Envelope])
        /// Read our version vector, then feed `ownVectorRead`.
        case readOwnVector
        /// Both halves are through: the summary, bytes aside, with the peer's final vector.
        case finish(PeerSession.Summary)
        case fail(SyncError)
    }

    /// The largest op count a received `ops` frame may announce.
    public static let maxBatchCount = PeerSession.batchOps * 4

    public private(set) var receiver = ReceiverState.awaitingVector
    public private(set) var sender = SenderState.starting
    /// Set once the machine has finished or failed; every later event is ignored.
    public private(set) var isClosed = false
    private let ours: VersionVector
    private var peerVector: VersionVector?
    private var pendingImports = 0
    private var ownVectorRequested = false
    private var finalVector: VersionVector?
    private var summary = PeerSession.Summary()

    /// `ours` is our version vector as the session starts: the one sent first.
    public init(peer: SigningPublicKey?, ours: VersionVector) {
        self.ours = ours
        summary.peer = peer
    }

    /// The receiver needs no more frames.
    public var receiverIsDone: Bool { receiver == .finalSeen || isClosed }

    /// The first actions: send our vector.
    public mutating func start() -> [Action] {
        guard sender == .starting, !isClosed else { return [] }
        sender = .awaitingPeerVector
        var out: [Action] = [.send(.vector, ours.encoded())]
        if let v = peerVector { sender = .streaming; out.append(.streamOps(above: v)) }
        return out
    }

    public mutating func handle(_ event: Event) -> [Action] {
        guard !isClosed else { return [] }
        switch event {
        case let .frameReceived(type, body): return received(type, body)
        case let .batchRead(envs): return batchRead(envs)
        case .opsEnd: return opsEnd()
        case let .imported(report): return imported(report)
        case let .ownVectorRead(v): return ownVectorRead(v)
        case let .failed(e): return fail(e)
        }
    }

    // MARK: receiver

    private mutating func received(_ type: Message, _ body: [UInt8]) -> [Action] {
        switch (receiver, type) {
        case (.awaitingVector, .vector):
            guard let v = try? VersionVector(decoding: body) else { return fail(.protocolViolation("malformed vector")) }
            receiver = .receivingOps
            peerVector = v
            guard sender == .awaitingPeerVector else { return [] }
            sender = .streaming
            return [.streamOps(above: v)]
        case (.receivingOps, .ops):
            let envs: [Envelope]
            do throws(SyncError) { envs = try decodeBatch(body) } catch { return fail(error) }
            pendingImports += 1
            return [.importBatch(envs)]
        case (.receivingOps, .done):
            receiver = .awaitingFinalVector
            return requestOwnVector()
        case (.awaitingFinalVector, .finalVector):
            guard let v = try? VersionVector(decoding: body) else { return fail(.protocolViolation("malformed vector")) }
            receiver = .finalSeen
            summary.peerVector = v
            return finishIfThrough()
        default:
            return fail(.protocolViolation("frame \(type) out of order: \(Self.expected(receiver))"))
        }
    }

    private static func expected(_ state: ReceiverState) -> String {
        switch state {
        case .awaitingVector: "expected vector first"
        case .receivingOps: "expected ops or done"
        case .awaitingFinalVector: "expected finalVector after done"
        case .finalSeen: "the session is through"
        }
    }

    /// An `ops` body: `varint k` then k length-prefixed envelopes. A malformed envelope is
    /// refused on its own; its neighbours still land.
    private mutating func decodeBatch(_ body: [UInt8]) throws(SyncError) -> [Envelope] {
        var r = ByteReader(body)
        var envs: [Envelope] = []
        do {
            let n = try r.varint()
            guard n <= UInt64(Self.maxBatchCount) else { throw SyncError.protocolViolation("batch too large") }
            for _ in 0..<n {
                let b = try r.blob(max: Envelope.maxBodyLength + 4096)
                if let e = try? Envelope(decoding: b) {
                    envs.append(e)
                } else {
                    summary.report.refused.append((OpID.zero, SigningPublicKey.zeroKey, 0, .malformed("undecodable envelope")))
                }
            }
        } catch let e as SyncError { throw e } catch { throw .protocolViolation("malformed batch") }
        return envs
    }

    private mutating func imported(_ report: ImportReport) -> [Action] {
        guard pendingImports > 0 else { return fail(.io("an import reported that was never asked for")) }
        pendingImports -= 1
        summary.report.merge(report)
        return requestOwnVector()
    }

    /// After the peer's `done`, once every batch before it is imported: our vector, for `finalVector`.
    private mutating func requestOwnVector() -> [Action] {
        guard receiver != .receivingOps, receiver != .awaitingVector, pendingImports == 0, !ownVectorRequested else { return [] }
        ownVectorRequested = true
        return [.readOwnVector]
    }

    private mutating func ownVectorRead(_ v: VersionVector) -> [Action] {
        guard ownVectorRequested, finalVector == nil else { return fail(.io("a vector read that was never asked for")) }
        finalVector = v
        return sendFinalVector()
    }

    // MARK: sender

    private mutating func batchRead(_ envs: [Envelope]) -> [Action] {
        guard sender == .streaming else { return fail(.io("ops read while not streaming")) }
        guard !envs.isEmpty else { return [] }
        summary.sent += envs.count
        return [.send(.ops, Batcher.body(envs))]
    }

    private mutating func opsEnd() -> [Action] {
        guard sender == .streaming else { return fail(.io("end of ops while not streaming")) }
        sender = .doneSent
        var w = ByteWriter()
        w.varint(UInt64(summary.sent))
        return [.send(.done, w.bytes)] + sendFinalVector()
    }

    /// `finalVector` goes after our own `done` and after the peer's `done` and its imports.
    private mutating func sendFinalVector() -> [Action] {
        guard sender == .doneSent, let v = finalVector else { return [] }
        sender = .finalSent
        return [.send(.finalVector, v.encoded())] + finishIfThrough()
    }

    private mutating func finishIfThrough() -> [Action] {
        guard receiver == .finalSeen, sender == .finalSent else { return [] }
        isClosed = true
        return [.finish(summary)]
    }

    private mutating func fail(_ e: SyncError) -> [Action] {
        isClosed = true
        return [.fail(e)]
    }
}

extension SessionMachine {
    /// Gathers the ops for one `ops` frame: up to `PeerSession.batchOps` ops or about
    /// `PeerSession.batchBytes` of them, whichever fills first.
    public struct Batcher: Sendable {
        public private(set) var envelopes: [Envelope] = []
        private var bytes = 0

        public init() {}

        /// Adds `env`; returns the batch when it is full.
        public mutating func add(_ env: Envelope) -> [Envelope]? {
            envelopes.append(env)
            bytes += Self.varintLength(env.encoded.count) + env.encoded.count
            guard envelopes.count >= PeerSession.batchOps || bytes >= PeerSession.batchBytes else { return nil }
            return take()
        }

        /// What is left, if anything.
        public mutating func take() -> [Envelope]? {
            guard !envelopes.isEmpty else { return nil }
            defer { envelopes = []; bytes = 0 }
            return envelopes
        }

        /// The bytes a LEB128 varint of `n` takes, as the frame counts them.
        static func varintLength(_ n: Int) -> Int {
            var n = n, k = 1
            while n >= 0x80 { n >>= 7; k += 1 }
            return k
        }

        /// The `ops` frame body for `envs`.
        static func body(_ envs: [Envelope]) -> [UInt8] {
            var w = ByteWriter(capacity: envs.reduce(8) { $0 + $1.encoded.count + 4 })
            w.varint(UInt64(envs.count))
            for e in envs { w.blob(e.encoded) }
            return w.bytes
        }
    }
}
