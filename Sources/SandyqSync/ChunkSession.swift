import Foundation
import SandyqCore
import SandyqCrypto

/// What a node asks a peer for in a chunk session (handshake.md, "Chunk sessions"): per file,
/// the chunk indexes it lacks (none: it holds the file whole, do not send it), and whether it
/// also takes every other file the peer may hand it (a relay).
public struct ChunkWants: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public let fileID: [UInt8]
        public let count: UInt32
        public let missing: [UInt32]
        public init(fileID: [UInt8], count: UInt32, missing: [UInt32]) {
            self.fileID = fileID
            self.count = count
            self.missing = missing
        }
    }

    public static let maxFiles = 65_536
    public var everything: Bool
    public var files: [File]

    public init(everything: Bool = false, files: [File] = []) {
        self.everything = everything
        self.files = files
    }

    /// `flags u8 ‖ varint k ‖ k × (fid 16 ‖ u32 count ‖ varint m ‖ m × varint index)`
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u8(everything ? 1 : 0)
        w.varint(UInt64(files.count))
        for f in files {
            w.raw(f.fileID)
            w.u32(f.count)
            w.varint(UInt64(f.missing.count))
            for i in f.missing { w.varint(UInt64(i)) }
        }
        return w.bytes
    }

    /// Refuses unknown flags, more than `maxFiles` files, a count of 0, an index not below
    /// its count, more indexes than the count, and trailing bytes.
    public static func decode(_ bytes: [UInt8]) throws(SyncError) -> ChunkWants {
        var r = ByteReader(bytes)
        do {
            let flags = try r.u8()
            guard flags & ~1 == 0 else { throw SyncError.protocolViolation("want: unknown flags") }
            let k = try r.varint()
            guard k <= UInt64(maxFiles) else { throw SyncError.protocolViolation("want: too many files") }
            var files: [File] = []
            for _ in 0..<k {
                let fid = try r.raw(EvidenceChunk.fileIDLength)
                let count = try r.u32()
                let m = try r.varint()
                guard count > 0, m <= UInt64(count) else { throw SyncError.protocolViolation("want: bad count") }
                var missing: [UInt32] = []
                for _ in 0..<m {
                    let i = try r.varint()
                    guard i < UInt64(count) else { throw SyncError.protocolViolation("want: index past count") }
                    missing.append(UInt32(i))
                }
                files.append(File(fileID: fid, count: count, missing: missing))
            }
            guard r.isAtEnd else { throw SyncError.protocolViolation("want: trailing bytes") }
            return ChunkWants(everything: flags & 1 != 0, files: files)
        } catch let e as SyncError {
            throw e
        } catch {
            throw .protocolViolation("want: truncated")
        }
    }
}

/// The node's side of a chunk session: what it holds, wants and hands on. Called on the
/// session's thread; an implementation takes whatever lock the node needs.
public protocol ChunkPeer: Sendable {
    /// This node's signed holding statement for the peer, or empty for none.
    func statement() throws(SyncError) -> [UInt8]
    /// Keeps the peer's statement (already proven to come from the peer the handshake named).
    func accept(statement: [UInt8])
    func wants() throws(SyncError) -> ChunkWants
    /// The (file, index) pairs to hand the peer for its wants, in order.
    func gives(for wants: ChunkWants) throws(SyncError) -> [(fid: [UInt8], index: Int)]
    func chunk(fid: [UInt8], index: Int) throws(SyncError) -> [UInt8]?
    /// Stores one chunk from the peer, durably, before the next is read: a cut keeps it.
    func receive(chunk: [UInt8]) throws(SyncError)
    /// The peer sent all it will: check the files made whole.
    func finishReceiving() throws(SyncError)
}

/// A session that moves evidence chunks after the ops (handshake.md, "Chunk sessions").
/// Half duplex, in turns, so neither side writes while the other is not reading: the server
/// sends `vector` (as it opens every session); the client `held`, `want`; the server `held`,
/// `want`, its chunks, `chunksDone`; the client its chunks, `chunksDone`, `held`; the server `held`.
public struct ChunkSummary: Sendable, Equatable {
    public var sent = 0
    public var received = 0
    /// Chunks the peer sent that this side had not asked for: dropped.
    public var unasked = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    public init() {}
}

extension PeerSession {
    /// Client side of a chunk session: a fresh connection, the same handshake as an op session.
    public static func clientChunks(conn: Connection, identity: SigningKeyPair, networkKey: SymmetricKey, project: ProjectID,
                                    peer: (SigningPublicKey) -> (any ChunkPeer)?,
                                    refusal: (SigningPublicKey) -> String?) throws(SyncError) -> ChunkSummary {
        conn.setTimeout(seconds: handshakeTimeout)
        var hs = ClientHandshake(identity: identity, networkKey: networkKey)
        try conn.writeAll(hs.message1(nowMillis: nowMillis()))
        let m2 = try hs.readMessage2(from: conn, deadline: Date(timeIntervalSinceNow: handshakeTimeout))
        let (m3, session): ([UInt8], Handshake.Session)
        do { (m3, session) = try hs.receive2(m2, refusal: refusal) } catch { throw .protocolViolation(error.description) }
        try conn.writeAll(m3)
        guard let p = peer(session.peer) else { throw .usage("no chunk exchange with this peer") }
        let s = PeerSession(conn: conn, storePath: "", project: project, session: session)
        conn.setTimeout(seconds: idleTimeout)
        return try s.chunksAsClient(p)
    }

    func expect(_ type: Message) throws(SyncError) -> [UInt8] {
        let (t, body) = try receive()
        guard t == type else { throw .protocolViolation("chunk session: expected \(type), got \(t)") }
        return body
    }

    func chunksAsClient(_ p: any ChunkPeer) throws(SyncError) -> ChunkSummary {
        var sum = ChunkSummary()
        // The server opens every session with its version vector; a chunk session has no use for it.
        _ = try expect(.vector)
        try send(.held, try p.statement())
        let mine = try p.wants()
        try send(.want, mine.encoded())
        let theirs = try expect(.held)
        if !theirs.isEmpty { p.accept(statement: theirs) }
        let wants = try ChunkWants.decode(try expect(.want))
        (sum.received, sum.unasked) = try receiveChunks(p, asked: mine)
        sum.sent = try sendChunks(p, for: wants)
        try send(.held, try p.statement())
        let last = try expect(.held)
        if !last.isEmpty { p.accept(statement: last) }
        sum.bytesSent = conn.bytesSent
        sum.bytesReceived = conn.bytesReceived
        return sum
    }

    /// Server side, after the client's first frame (`held`) was read.
    func chunksAsServer(_ p: any ChunkPeer, first: [UInt8]) throws(SyncError) -> ChunkSummary {
        var sum = ChunkSummary()
        if !first.isEmpty { p.accept(statement: first) }
        let wants = try ChunkWants.decode(try expect(.want))
        try send(.held, try p.statement())
        let mine = try p.wants()
        try send(.want, mine.encoded())
        sum.sent = try sendChunks(p, for: wants)
        (sum.received, sum.unasked) = try receiveChunks(p, asked: mine)
        let theirs = try expect(.held)
        if !theirs.isEmpty { p.accept(statement: theirs) }
        try send(.held, try p.statement())
        sum.bytesSent = conn.bytesSent
        sum.bytesReceived = conn.bytesReceived
        return sum
    }

    private func sendChunks(_ p: any ChunkPeer, for wants: ChunkWants) throws(SyncError) -> Int {
        var n = 0
        for (fid, index) in try p.gives(for: wants) {
            guard let c = try p.chunk(fid: fid, index: index) else { continue }
            try send(.chunk, c)
            n += 1
        }
        try send(.chunksDone, [])
        return n
    }

    /// Stores the chunks the peer sends that this side asked for; a chunk it did not ask for
    /// (a reporter asks for none) is dropped unread and counted, so a peer cannot plant files
    /// on a device that never held them.
    private func receiveChunks(_ p: any ChunkPeer, asked: ChunkWants) throws(SyncError) -> (stored: Int, unasked: Int) {
        var n = 0, unasked = 0
        var wanted: [[UInt8]: Set<UInt32>] = [:]
        for f in asked.files { wanted[f.fileID] = Set(f.missing) }
        defer { try? p.finishReceiving() }
        while true {
            let (t, body) = try receive()
            switch t {
            case .chunk:
                guard let c = try? EvidenceChunk.decode(body) else { unasked += 1; continue }
                let ok = wanted[c.fileID].map { $0.contains(c.index) } ?? asked.everything
                guard ok else { unasked += 1; continue }
                try p.receive(chunk: body)
                n += 1
            case .chunksDone:
                return (n, unasked)
            default:
                throw .protocolViolation("chunk session: expected chunk or chunksDone, got \(t)")
            }
        }
    }
}
