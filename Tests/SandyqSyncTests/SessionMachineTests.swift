import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore
@testable import SandyqSync

// SessionMachine without sockets. Two machines, each over a temporary OpStore, are driven
// against each other by a scheduler that holds what is in flight: the frames on each wire
// and the store work each side asked for. It delivers one event at a time (drip), every
// frame before any store work (all at once), or in a seeded random order. Out-of-place
// frames are fed to a lone machine and must fail as Protocol/handshake.md says.

typealias SM = SessionMachine

/// One side: a machine, its store and the work it is owed.
final class SMSide {
    var machine: SessionMachine
    let store: OpStore
    let project: ProjectID
    /// Frames from the peer, in wire order.
    var inbox: [(PeerSession.Message, [UInt8])] = []
    /// Imports and vector reads (the receiving thread's work), in the order asked.
    var receiverWork: [() -> SM.Event] = []
    /// Batches read from the store and the end of the stream (the sending thread's work).
    var senderWork: [SM.Event] = []
    var outcome: Result<PeerSession.Summary, SyncError>?
    /// Every frame this side sent, for counting.
    var sent: [(PeerSession.Message, [UInt8])] = []

    init(peer: SigningPublicKey, path: String, project: ProjectID) throws {
        store = try OpStore(path: path)
        self.project = project
        machine = SessionMachine(peer: peer, ours: try store.versionVector())
    }

    func carryOut(_ actions: [SM.Action], peer: SMSide) throws {
        for a in actions {
            switch a {
            case let .send(type, body):
                peer.inbox.append((type, body)); sent.append((type, body))
            case let .streamOps(above: known):
                var batcher = SM.Batcher()
                try store.forEachEnvelope(missingFrom: known) { env in
                    if let full = batcher.add(env) { senderWork.append(.batchRead(full)) }
                }
                if let rest = batcher.take() { senderWork.append(.batchRead(rest)) }
                senderWork.append(.opsEnd)
            case let .importBatch(envs):
                let store = store, project = project
                receiverWork.append { (try? store.importEnvelopes(envs, project: project)).map(SM.Event.imported) ?? .failed(.io("import failed")) }
            case .readOwnVector:
                let store = store
                receiverWork.append { (try? store.versionVector()).map(SM.Event.ownVectorRead) ?? .failed(.io("vector")) }
            case let .finish(s):
                #expect(outcome == nil); outcome = .success(s)
            case let .fail(e):
                #expect(outcome == nil); outcome = .failure(e)
            }
        }
    }

    /// The queues that can deliver an event now: 0 inbox, 1 receiver work, 2 sender work.
    var ready: [Int] {
        var r: [Int] = []
        if !inbox.isEmpty && !machine.receiverIsDone { r.append(0) }
        if !receiverWork.isEmpty { r.append(1) }
        if !senderWork.isEmpty { r.append(2) }
        return r
    }

    func deliver(_ queue: Int, peer: SMSide) throws {
        let event: SM.Event
        switch queue {
        case 0: let (t, b) = inbox.removeFirst(); event = .frameReceived(t, b)
        case 1: event = receiverWork.removeFirst()()
        default: event = senderWork.removeFirst()
        }
        try carryOut(machine.handle(event), peer: peer)
    }
}

enum SMSchedule {
    /// One event at a time, the two sides and their queues taken in turn.
    case drip
    /// Every frame in flight before any store work.
    case framesFirst
    /// Store work before any frame.
    case storeFirst
    case random(seed: UInt64)
}

/// Drives `a` and `b` until both have an outcome; false if they stall.
@discardableResult
func smRun(_ a: SMSide, _ b: SMSide, _ schedule: SMSchedule) throws -> Bool {
    var rng = SplitMix64(seed: { if case let .random(s) = schedule { s } else { 0 } }())
    try a.carryOut(a.machine.start(), peer: b)
    try b.carryOut(b.machine.start(), peer: a)
    var turn = 0
    for _ in 0..<1_000_000 {
        if a.outcome != nil && b.outcome != nil { return true }
        let choices = [(a, b), (b, a)].flatMap { side, peer in side.ready.map { (side, peer, $0) } }
        guard !choices.isEmpty else { return false }
        let pick: (SMSide, SMSide, Int)
        switch schedule {
        case .drip: pick = choices[turn % choices.count]; turn += 1
        case .framesFirst: pick = choices.first { $0.2 == 0 } ?? choices[0]
        case .storeFirst: pick = choices.first { $0.2 != 0 } ?? choices[0]
        case .random: pick = rng.pick(choices)
        }
        try pick.0.deliver(pick.2, peer: pick.1)
    }
    return false
}

@Suite struct SessionMachineTests {
    static let schedules: [SMSchedule] = [.drip, .framesFirst, .storeFirst, .random(seed: 1), .random(seed: 2)]

    @Test(arguments: 0..<schedules.count)
    func bothSidesFinishWithTheFiguresOfASocketSession(_ which: Int) throws {
        // Over 1000 ops from A, so its side streams more than one batch.
        let f = PSFixture(aSealed: 1_150, bSealed: 40)

        // The same stores over real sockets.
        let real = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        let server = try PSServer()
        server.start(f, storePath: real.aPath) { $0 == f.b.publicKey }
        let conn = try Connection.connect(to: server.address)
        let rb = try PeerSession.client(conn: conn, identity: f.b, networkKey: f.networkKey, storePath: real.bPath,
                                        project: f.project) { $0 == f.a.publicKey }
        conn.close()
        let ra = try #require(try #require(server.wait(), "server did not finish").get())

        let mem = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        let a = try SMSide(peer: f.b.publicKey, path: mem.aPath, project: f.project)
        let b = try SMSide(peer: f.a.publicKey, path: mem.bPath, project: f.project)
        #expect(try smRun(a, b, Self.schedules[which]), "the in-memory session stalled")
        let ma = try #require(try #require(a.outcome).get()), mb = try #require(try #require(b.outcome).get())

        for (m, r) in [(ma, ra), (mb, rb)] {
            #expect(m.peer == r.peer)
            #expect(m.sent == r.sent)
            #expect(m.report.new == r.report.new && m.report.known == r.report.known && m.report.refused.count == r.report.refused.count)
            #expect(m.peerVector == r.peerVector)
        }
        #expect(ma.sent == f.aOps.count && mb.sent == f.bOps.count)
        #expect(ma.report.new == f.bOps.count && mb.report.new == f.aOps.count)
        #expect(try mem.ids(mem.aPath) == real.ids(real.aPath))
        #expect(try mem.ids(mem.bPath) == real.ids(real.bPath))
        #expect(try mem.vector(mem.aPath) == mem.vector(mem.bPath))
        // Frames as the wire carries them: vector, two ops batches (1000 + the rest), done, finalVector.
        #expect(a.sent.map(\.0) == [.vector, .ops, .ops, .done, .finalVector])
        #expect(b.sent.map(\.0) == [.vector, .ops, .done, .finalVector])
    }

    @Test func aSessionWithNothingToMoveStillEndsWithVectors() throws {
        let f = PSFixture(aSealed: 2, bSealed: 2)
        let mem = try PSStores(f, aHolds: f.aOps + f.bOps, bHolds: f.aOps + f.bOps)
        let a = try SMSide(peer: f.b.publicKey, path: mem.aPath, project: f.project)
        let b = try SMSide(peer: f.a.publicKey, path: mem.bPath, project: f.project)
        #expect(try smRun(a, b, .drip))
        let ma = try #require(try #require(a.outcome).get())
        #expect(ma.sent == 0 && ma.report.new == 0)
        #expect(ma.peerVector == (try mem.vector(mem.bPath)))
        #expect(a.sent.map(\.0) == [.vector, .done, .finalVector])
    }

    /// Random op sets on the two sides (a prefix of each chain), random delivery order: both
    /// end holding the union, with equal vectors, each knowing the other's.
    @Test func randomHoldingsAndInterleavingsConverge() throws {
        let f = PSFixture(aSealed: 40, bSealed: 40, valueSize: 16)
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var rng = SplitMix64(seed: seed)
        for round in 0..<12 {
            func holding() -> [Envelope] {
                Array(f.aOps.prefix(rng.below(f.aOps.count + 1))) + Array(f.bOps.prefix(rng.below(f.bOps.count + 1)))
            }
            let ha = holding(), hb = holding()
            let mem = try PSStores(f, aHolds: ha, bHolds: hb)
            let a = try SMSide(peer: f.b.publicKey, path: mem.aPath, project: f.project)
            let b = try SMSide(peer: f.a.publicKey, path: mem.bPath, project: f.project)
            let order = rng.next()
            #expect(try smRun(a, b, .random(seed: order)), "seed \(seed) round \(round): stalled")
            let ma = try #require(try #require(a.outcome).get(), "seed \(seed) round \(round)")
            let mb = try #require(try #require(b.outcome).get(), "seed \(seed) round \(round)")
            let union = Set(ha.map(\.id)).union(hb.map(\.id))
            #expect(try mem.ids(mem.aPath) == union, "seed \(seed) round \(round)")
            #expect(try mem.ids(mem.bPath) == union, "seed \(seed) round \(round)")
            let va = try mem.vector(mem.aPath)
            #expect(va == (try mem.vector(mem.bPath)), "seed \(seed) round \(round)")
            #expect(ma.peerVector == va && mb.peerVector == va, "seed \(seed) round \(round)")
            #expect(ma.sent == union.count - Set(hb.map(\.id)).count && mb.report.new == ma.sent, "seed \(seed) round \(round)")
            #expect(mb.sent == union.count - Set(ha.map(\.id)).count && ma.report.new == mb.sent, "seed \(seed) round \(round)")
        }
    }

    // MARK: one machine, frames by hand

    static let peer = SigningKeyPair().publicKey
    static let vector = VersionVector().encoded()
    static func count(_ n: UInt64) -> [UInt8] { var w = ByteWriter(); w.varint(n); return w.bytes }

    /// Feeds `frames`, answering every import and vector read at once; the actions in order.
    static func feed(_ frames: [(PeerSession.Message, [UInt8])], machine: inout SessionMachine) -> [SM.Action] {
        var out: [SM.Action] = []
        func take(_ actions: [SM.Action]) {
            for a in actions {
                out.append(a)
                switch a {
                case .importBatch: take(machine.handle(.imported(ImportReport())))
                case .readOwnVector: take(machine.handle(.ownVectorRead(VersionVector())))
                default: break
                }
            }
        }
        for (t, b) in frames { take(machine.handle(.frameReceived(t, b))) }
        return out
    }

    static func failures(_ actions: [SM.Action]) -> [SyncError] {
        actions.compactMap { if case let .fail(e) = $0 { e } else { nil } }
    }

    @Test(arguments: [
        ([PeerSession.Message.ops], "frame ops out of order: expected vector first"),
        ([.done], "frame done out of order: expected vector first"),
        ([.finalVector], "frame finalVector out of order: expected vector first"),
        ([.vector, .vector], "frame vector out of order: expected ops or done"),
        ([.vector, .finalVector], "frame finalVector out of order: expected ops or done"),
        ([.vector, .done, .ops], "frame ops out of order: expected finalVector after done"),
        ([.vector, .done, .done], "frame done out of order: expected finalVector after done"),
        ([.vector, .done, .vector], "frame vector out of order: expected finalVector after done"),
        ([.vector, .done, .finalVector, .ops], "frame ops out of order: the session is through"),
        ([.vector, .chunk], "frame chunk out of order: expected ops or done"),
        ([.held], "frame held out of order: expected vector first"),
    ])
    func aFrameOutOfItsPlaceFailsTheSession(_ types: [PeerSession.Message], _ why: String) {
        var m = SessionMachine(peer: Self.peer, ours: VersionVector())
        // Our sender has not finished, so a session whose receiver is through stays open to see the stray frame.
        _ = m.start()
        let frames = types.map { t -> (PeerSession.Message, [UInt8]) in
            switch t {
            case .vector, .finalVector: (t, Self.vector)
            case .ops: (t, Self.count(0))
            case .done: (t, Self.count(0))
            case .want, .chunk, .chunksDone, .held: (t, [])
            }
        }
        let actions = Self.feed(frames, machine: &m)
        #expect(Self.failures(actions) == [.protocolViolation(why)])
        #expect(m.isClosed)
        // A failed machine ignores everything after.
        #expect(m.handle(.frameReceived(.vector, Self.vector)).isEmpty)
        #expect(m.handle(.opsEnd).isEmpty)
    }

    @Test(arguments: [
        (PeerSession.Message.vector, [UInt8]([0xFF]), "malformed vector"),
        (.ops, SessionMachineTests.count(4001), "batch too large"),
        (.ops, SessionMachineTests.count(1) + [0xFF], "malformed batch"),
    ])
    func aMalformedBodyFailsTheSession(_ type: PeerSession.Message, _ body: [UInt8], _ why: String) {
        var m = SessionMachine(peer: Self.peer, ours: VersionVector())
        _ = m.start()
        let frames: [(PeerSession.Message, [UInt8])] = type == .vector ? [(type, body)] : [(.vector, Self.vector), (type, body)]
        #expect(Self.failures(Self.feed(frames, machine: &m)) == [.protocolViolation(why)])
    }

    @Test func aMalformedFinalVectorFailsTheSession() {
        var m = SessionMachine(peer: Self.peer, ours: VersionVector())
        _ = m.start()
        let actions = Self.feed([(.vector, Self.vector), (.done, Self.count(0)), (.finalVector, [0xFF])], machine: &m)
        #expect(Self.failures(actions) == [.protocolViolation("malformed vector")])
    }

    @Test func anUndecodableEnvelopeIsRefusedAloneAndItsNeighboursImported() throws {
        let f = PSFixture(aSealed: 2, bSealed: 0)
        var w = ByteWriter()
        w.varint(3); w.blob(f.aOps[0].encoded); w.blob([1, 2, 3]); w.blob(f.aOps[1].encoded)
        var m = SessionMachine(peer: Self.peer, ours: VersionVector())
        _ = m.start()
        _ = m.handle(.frameReceived(.vector, Self.vector))
        let actions = m.handle(.frameReceived(.ops, w.bytes))
        guard case let .importBatch(envs)? = actions.first, actions.count == 1 else { Issue.record("\(actions)"); return }
        #expect(envs.map(\.id) == [f.aOps[0].id, f.aOps[1].id])
        _ = m.handle(.imported(ImportReport()))
        _ = m.handle(.opsEnd)
        _ = Self.feed([(.done, Self.count(2))], machine: &m)
        let end = m.handle(.frameReceived(.finalVector, Self.vector))
        guard case let .finish(s)? = end.last else { Issue.record("\(end)"); return }
        #expect(s.report.refused.count == 1)
    }

    @Test func finalVectorWaitsForTheImportsBeforeDoneAndForOurOwnDone() {
        var m = SessionMachine(peer: Self.peer, ours: VersionVector())
        _ = m.start()
        var w = ByteWriter(); w.varint(0)
        #expect(m.handle(.frameReceived(.vector, Self.vector)).count == 1) // streamOps
        _ = m.handle(.frameReceived(.ops, w.bytes))
        _ = m.handle(.frameReceived(.ops, w.bytes))
        // The peer's done while two imports are still out: no vector read yet.
        #expect(m.handle(.frameReceived(.done, Self.count(0))).isEmpty)
        #expect(m.handle(.imported(ImportReport())).isEmpty)
        let read = m.handle(.imported(ImportReport()))
        guard case .readOwnVector? = read.first, read.count == 1 else { Issue.record("\(read)"); return }
        // Our own stream is still running: the vector waits for our done.
        #expect(m.handle(.ownVectorRead(VersionVector())).isEmpty)
        let end = m.handle(.opsEnd)
        let kinds = end.map { a -> String in
            switch a {
            case let .send(t, _): "send \(t)"
            case .finish: "finish"
            default: "\(a)"
            }
        }
        #expect(kinds == ["send done", "send finalVector"])
        #expect(m.sender == .finalSent && m.receiver == .awaitingFinalVector && !m.isClosed)
        let fin = m.handle(.frameReceived(.finalVector, Self.vector))
        guard case .finish? = fin.first, fin.count == 1 else { Issue.record("\(fin)"); return }
        #expect(m.isClosed)
    }

    @Test func theBatcherFillsAtItsOpCountOrItsBytes() throws {
        let f = PSFixture(aSealed: 3, bSealed: 0)
        var b = SM.Batcher()
        var batches: [[Envelope]] = []
        for _ in 0..<PeerSession.batchOps + 1 { if let full = b.add(f.aOps[2]) { batches.append(full) } }
        #expect(batches.map(\.count) == [PeerSession.batchOps])
        #expect(b.take()?.count == 1 && b.take() == nil)
        // The frame body is exactly what a hand-made ops frame carries.
        #expect(SM.Batcher.body(Array(f.aOps)) == PSRawClient.opsBody(f.aOps))
    }
}

/// The socket driver carries a `fail` out: it ends the session, even with its sender blocked mid-stream.
@Suite struct SessionMachineOverSocketTests {
    @Test func aSecondVectorEndsTheSessionWhileTheServerStreams() throws {
        // About 5.5 MB, more than the server's send buffer (4 MiB at most) and the client's
        // small receive buffer hold, for a raw client that never reads: the server's sender blocks in a send.
        let f = PSFixture(aSealed: 1_200, bSealed: 0, valueSize: 4_500)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: [])
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }

        var raw = try PSRawClient(to: server.address, f)
        defer { raw.conn.close() }
        var small: Int32 = 4096
        setsockopt(raw.conn.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try raw.conn.writeAll(raw.frame(.vector, VersionVector().encoded()))
        usleep(300_000)
        try raw.conn.writeAll(raw.frame(.vector, VersionVector().encoded()))

        let r = try #require(server.wait(10), "the server hung on a frame out of order")
        #expect(r.error == .protocolViolation("frame vector out of order: expected ops or done"), "server: \(r)")
        #expect(server.bytesSent < f.aOps.reduce(0) { $0 + $1.encoded.count }, "the server streamed everything before failing")
    }
}
