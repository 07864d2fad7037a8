import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

/// How a chunk session reaches the node: directly (a CLI `sync` that owns it), or through the
/// host's lock, taken for each step and never while the network is used.
struct NodeAccess: @unchecked Sendable {
    let node: Node?
    let host: NodeHost?

    func callAsFunction<R: Sendable>(_ body: (Node) throws(NodeError) -> R) throws(NodeError) -> R {
        if let node { return try body(node) }
        return try host!.withNode { n throws(NodeError) -> R in try body(n) }
    }
}

/// The node's side of a chunk session with one peer (ChunkSession.swift).
final class NodeChunkPeer: ChunkPeer, @unchecked Sendable {
    let access: NodeAccess
    let peer: SigningPublicKey
    private let lock = NSLock()
    private var readable: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)]?
    private(set) var intake = ChunkIntake()

    init(_ access: NodeAccess, peer: SigningPublicKey) {
        self.access = access
        self.peer = peer
    }

    static func sync<R>(_ body: () throws(NodeError) -> R) throws(SyncError) -> R {
        do { return try body() } catch { throw .io("\(error.message)") }
    }

    func statement() throws(SyncError) -> [UInt8] {
        let peer = self.peer
        return try Self.sync { () throws(NodeError) in try access { n throws(NodeError) in try n.holdingStatement(for: peer)?.encoded() ?? [] } }
    }

    func accept(statement: [UInt8]) {
        let peer = self.peer
        _ = try? access { n throws(NodeError) in try n.acceptHolding(statement, from: peer) }
    }

    func wants() throws(SyncError) -> ChunkWants {
        try Self.sync { () throws(NodeError) in try access { n throws(NodeError) in try n.chunkWants() } }
    }

    func gives(for wants: ChunkWants) throws(SyncError) -> [(fid: [UInt8], index: Int)] {
        let peer = self.peer
        let list = try Self.sync { () throws(NodeError) in
            try access { n throws(NodeError) in try n.chunksWanted(by: peer, wants).map { Given(fid: $0.fid, index: $0.index) } }
        }
        return list.map { ($0.fid, $0.index) }
    }

    struct Given: Sendable { let fid: [UInt8]; let index: Int }

    func chunk(fid: [UInt8], index: Int) throws(SyncError) -> [UInt8]? {
        try Self.sync { () throws(NodeError) in try access { n throws(NodeError) in try mapped { try n.store.chunk(fid: fid, index: index) } } }
    }

    func receive(chunk: [UInt8]) throws(SyncError) {
        lock.lock(); defer { lock.unlock() }
        let known = readable
        let (got, map) = try Self.sync { () throws(NodeError) in
            try access { n throws(NodeError) in
                let map: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)]
                if let known { map = known } else { map = try n.readableFiles() }
                return (try n.storeChunks([chunk], readable: map), Readable(map: map))
            }
        }
        readable = map.map
        intake.merge(got)
    }

    struct Readable: @unchecked Sendable { let map: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)] }

    func finishReceiving() throws(SyncError) {
        lock.lock(); defer { lock.unlock() }
        guard intake.stored > 0 || intake.known > 0 else { return }
        let got = try Self.sync { () throws(NodeError) in try access { n throws(NodeError) in try n.checkUnverified() } }
        intake.verified += got.verified
        intake.failed += got.failed
    }
}

extension Node {
    /// What this node asks a peer for: a reader, the missing chunks of each file whose record it
    /// reads and has not let go; a relay, everything, less what it holds; a reporter, nothing.
    func chunkWants() throws(NodeError) -> ChunkWants {
        guard try project() != nil, !isWriteOnly else { return ChunkWants() }
        let role = try storedMembership().role(of: nodeID.signingKey)
        if role == .reporter { return ChunkWants() }
        var summaries: [[UInt8]: (count: Int, present: Int)] = [:]
        for s in try mapped({ try store.chunkSummaries() }) { summaries[s.fid] = (s.count, s.present) }
        var released = Set<[UInt8]>()
        for l in try mapped({ try store.localFiles() }) where l.releasedMillis > 0 { released.insert(l.fid) }
        var files: [ChunkWants.File] = []
        func entry(_ fid: [UInt8], _ count: Int) throws(NodeError) -> ChunkWants.File {
            let missing = try mapped { try store.missingChunks(fid: fid, count: count) }
            return .init(fileID: fid, count: UInt32(count), missing: missing.map { UInt32($0) })
        }
        if role == .relay {
            for (fid, s) in summaries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) { files.append(try entry(fid, s.count)) }
            return ChunkWants(everything: true, files: Array(files.prefix(ChunkWants.maxFiles)))
        }
        for (fid, r) in try readableFiles().sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) where !released.contains(fid) {
            guard summaries[fid]?.present != r.count else { continue }
            files.append(try entry(fid, r.count))
        }
        return ChunkWants(files: Array(files.prefix(ChunkWants.maxFiles)))
    }

    /// The chunks to hand `peer` for what it asked: those it lacks of the files it named, and,
    /// when it takes everything, every chunk of the files it did not name; all by `chunkGate`.
    func chunksWanted(by peer: SigningPublicKey, _ wants: ChunkWants) throws(NodeError) -> [(fid: [UInt8], index: Int)] {
        let gate = try chunkGate(to: peer)
        var out: [(fid: [UInt8], index: Int)] = []
        var named = Set<[UInt8]>()
        for f in wants.files {
            named.insert(f.fileID)
            guard gate(f.fileID), !f.missing.isEmpty else { continue }
            let have = Set(try mapped { try store.chunkIndexes(fid: f.fileID) })
            for i in f.missing where have.contains(Int(i)) { out.append((f.fileID, Int(i))) }
        }
        if wants.everything {
            for s in try mapped({ try store.chunkSummaries() }) where !named.contains(s.fid) && gate(s.fid) {
                for i in try mapped({ try store.chunkIndexes(fid: s.fid) }) where i < s.count { out.append((s.fid, i)) }
            }
        }
        return out
    }

    /// A chunk session with the peer at `address`, after the ops: never fails the sync, whose
    /// ops have landed; the summary says what moved, or why nothing did.
    static func chunkSession(with address: String, plan: SyncPlan, access: NodeAccess, into summary: inout PeerSession.Summary) {
        do {
            let conn = try Connection.connect(to: address, via: plan.proxy)
            defer { conn.close() }
            summary.chunks = try PeerSession.clientChunks(
                conn: conn, identity: plan.identity, networkKey: plan.networkKey, project: plan.project,
                peer: { NodeChunkPeer(access, peer: $0) }, refusal: plan.refusal)
        } catch {
            summary.chunkError = "evidence chunks with \(address): \(error)"
        }
    }
}
