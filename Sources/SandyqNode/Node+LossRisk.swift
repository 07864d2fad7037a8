import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// What could be lost if one device were seized tomorrow, from what this node knows: its own
/// vector, each member's acknowledged vector, and who said they hold which file.
public struct LossRisk: Sendable {
    /// One node's copy of an author's chain.
    public struct Replica: Sendable {
        public let node: NodeID
        public let role: Role?
        /// The author's ops it is known to hold (its head: chains are held contiguously).
        public let held: UInt64
        /// How many of the author's known ops it lacks.
        public let behind: UInt64
        /// When it last said what it holds (wall ms); nil for this node and for one never heard.
        public let heardAtMillis: Int64?
        public let isThisNode: Bool
    }

    public struct Author: Sendable {
        public let author: SigningPublicKey
        public let node: NodeID?
        public let role: Role?
        /// The highest op of its chain any node is known to hold.
        public let known: UInt64
        public let replicas: [Replica]
        /// Ops that only one node is known to hold (the top of the chain), and which node.
        public let soleOps: UInt64
        public let soleHolder: Replica?
        public var fingerprint: String { NodeID.fingerprint(of: author) }
    }

    /// An attached file that at most one node is known to hold whole.
    public struct File: Sendable {
        public let fid: String
        public let name: String?
        public let caseRef: String?
        public let attachedBy: SigningPublicKey?
        /// The nodes known to hold it whole (at most one here).
        public let holders: [NodeID]
        /// This node holds it whole.
        public let here: Bool
    }

    public let authors: [Author]
    public let files: [File]
    public var atRisk: [Author] { authors.filter { $0.soleOps > 0 } }
}

extension Node {
    /// When each peer last said what it holds (wall ms).
    public func lastHeard() throws(NodeError) -> [NodeID: Int64] {
        try mapped { try store.heardAt() }
    }

    /// Authors whose newest ops one device alone is known to hold, and files one device alone
    /// holds whole. Costs O(members × authors) plus a pass over the files: no op is read.
    /// `mine`: this node's vector, when the caller already read it.
    public func lossRisk(mine known: VersionVector? = nil) throws(NodeError) -> LossRisk {
        guard try project() != nil else { return LossRisk(authors: [], files: []) }
        let m = try storedMembership()
        let mine: VersionVector
        if let known { mine = known } else { mine = try versionVector() }
        let heard = try mapped { try store.heardAt() }
        var vectors: [(node: NodeID, vector: VersionVector)] = [(nodeID, mine)]
        for r in try mapped({ try store.peers() }) where r.node != nodeID && m.isCurrentMember(r.node) {
            vectors.append((r.node, r.acked))
        }
        var authors = Set(mine.heads.keys)
        for (_, v) in vectors { authors.formUnion(v.heads.keys) }
        var out: [LossRisk.Author] = []
        for a in authors.sorted() {
            let known = vectors.map { $0.vector[a] }.max() ?? 0
            guard known > 0 else { continue }
            let replicas = vectors.filter { $0.vector[a] > 0 }.map { x in
                LossRisk.Replica(node: x.node, role: m.role(of: x.node.signingKey), held: x.vector[a], behind: known - x.vector[a],
                                 heardAtMillis: x.node == nodeID ? nil : heard[x.node], isThisNode: x.node == nodeID)
            }.sorted { ($0.held, $1.node) > ($1.held, $0.node) }
            let second = replicas.count > 1 ? replicas[1].held : 0
            let sole = replicas.first.map { $0.held - second } ?? 0
            out.append(LossRisk.Author(author: a, node: m.members[a]?.node, role: m.role(of: a), known: known, replicas: replicas,
                                       soleOps: sole, soleHolder: sole > 0 ? replicas.first : nil))
        }
        return LossRisk(authors: out, files: try filesAtRisk())
    }

    /// Files at most one node is known to hold whole: this node's (with the holders it heard
    /// of), and those whose record it reads but whose chunks no node said it holds.
    func filesAtRisk() throws(NodeError) -> [LossRisk.File] {
        var byFid: [String: EvidenceEntry] = [:]
        if !isWriteOnly { for e in try evidence() { byFid[e.fid] = e } }
        var seen = Set<String>()
        var out: [LossRisk.File] = []
        for h in try heldFiles() where h.releasedMillis == 0 {
            seen.insert(h.fid)
            var holders = h.holders.compactMap { x -> NodeID? in try? storedMembership().members[x.node]?.node }
            if h.complete { holders.insert(nodeID, at: 0) }
            guard holders.count <= 1 else { continue }
            let e = byFid[h.fid]
            out.append(.init(fid: h.fid, name: e?.name, caseRef: e?.caseRef, attachedBy: e?.attachedBy, holders: holders, here: h.complete))
        }
        for (fid, e) in byFid.sorted(by: { $0.key < $1.key }) where !seen.contains(fid) {
            out.append(.init(fid: fid, name: e.name, caseRef: e.caseRef, attachedBy: e.attachedBy, holders: [], here: false))
        }
        return out
    }
}
