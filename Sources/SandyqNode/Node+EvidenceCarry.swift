import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// What a node knows of one attached file it holds chunks of, whether or not it can read the record.
public struct HeldFile: Sendable {
    public let fid: String
    public let count: Int
    public let present: Int
    /// When this node last checked the whole file against its record (ms), 0 when it has not (or cannot).
    public let verifiedMillis: Int64
    /// When this node let its copy go after a coordinator said it holds the file (ms), 0 when it has not.
    public let releasedMillis: Int64
    /// Other nodes that said, signed, they hold the whole file.
    public let holders: [Holder]

    public struct Holder: Sendable {
        public let node: SigningPublicKey
        public let role: Role?
        public let verified: Bool
        public let atMillis: Int64
        public var fingerprint: String { NodeID.fingerprint(of: node) }
    }

    public var complete: Bool { present == count }
    /// A coordinator checked the whole file against its record and said so.
    public var acknowledgedByCoordinator: Bool { holders.contains { $0.role == .coordinator && $0.verified } }

    /// Where the file stands as its sender sees it, one rule for every screen that says it.
    public enum State: String, Sendable, CaseIterable {
        /// Sealed here; no other node has said it holds the file.
        case held
        /// Another node said it holds the file; no coordinator has said it checked it.
        case sent
        /// A coordinator said, signed, it holds the file whole and checked it against its record.
        case received
        /// This node let its copy go after that.
        case removed
    }

    public var state: State {
        if releasedMillis > 0 { return .removed }
        if acknowledgedByCoordinator { return .received }
        return holders.isEmpty ? .held : .sent
    }
}

/// What an import of chunks did.
public struct ChunkIntake: Sendable, Equatable {
    /// Chunks stored.
    public var stored = 0
    /// Chunks this node already held.
    public var known = 0
    /// Chunks refused: malformed, another project's, or (for a file whose record this node reads)
    /// not opening under its key or not matching its record's count.
    public var refused = 0
    /// Chunks of withdrawn files, dropped on arrival.
    public var withdrawn = 0
    /// Files now whole and checked against their record.
    public var verified: [String] = []
    /// Files whole but not matching their record: their chunks were dropped to be fetched again.
    public var failed: [String] = []

    public init() {}

    public mutating func merge(_ o: ChunkIntake) {
        stored += o.stored; known += o.known; refused += o.refused; withdrawn += o.withdrawn
        verified += o.verified; failed += o.failed
    }
}

extension Node {
    /// The key and chunk count of every file whose record this node reads, by file id.
    func readableFiles() throws(NodeError) -> [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)] {
        guard !isWriteOnly, try project() != nil else { return [:] }
        var out: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)] = [:]
        for s in try view().orderedCases {
            for fid in s.elements("evidence") {
                guard let raw = Hex.decode(fid), raw.count == EvidenceChunk.fileIDLength,
                      let count = Int(s.value("evidence", fid, "chunks") ?? ""), count > 0, count <= EvidenceChunk.maxCount,
                      let kh = s.secret("evidence", fid, "key"), let kb = Hex.decode(kh),
                      let key = try? SymmetricKey(SecureBytes(kb)) else { continue }
                out[raw] = (key, count, s.id)
            }
        }
        return out
    }

    /// Stores chunks that came from a peer (a bundle or a session). A chunk of a file whose
    /// record this node reads must open under the file's key at its place, or it is refused; a
    /// held chunk that does not open is replaced by one that does. Chunks of files whose record
    /// this node cannot read (a relay, or the record has not arrived yet) are kept as they are.
    /// Files made whole are then checked against their record.
    public func receiveChunks(_ objects: [[UInt8]]) throws(NodeError) -> ChunkIntake {
        let readable = try readableFiles()
        var intake = try storeChunks(objects, readable: readable)
        let (verified, failed) = try checkUnverified(readable)
        intake.verified = verified
        intake.failed = failed
        return intake
    }

    /// `receiveChunks` without the check of whole files, against a map of readable files read once.
    func storeChunks(_ objects: [[UInt8]], readable: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)]) throws(NodeError) -> ChunkIntake {
        let pid = try requireProject()
        var intake = ChunkIntake()
        var rows: [(fid: [UInt8], index: Int, count: Int, bytes: [UInt8], replace: Bool)] = []
        // A withdrawn file's chunks never land again, whoever still carries them.
        let withdrawn = try storedMembership().withdrawnFiles
        for bytes in objects {
            guard let c = try? EvidenceChunk.decode(bytes), c.project == pid.bytes else { intake.refused += 1; continue }
            if !withdrawn.isEmpty && withdrawn.contains(c.fileID) { intake.withdrawn += 1; continue }
            let index = Int(c.index)
            var replace = false
            if let r = readable[c.fileID] {
                guard c.count == UInt32(r.count), (try? c.open(key: r.key)) != nil else { intake.refused += 1; continue }
                if let held = try mapped({ try store.chunk(fid: c.fileID, index: index) }) {
                    if held == bytes || Self.opens(held, key: r.key, fid: c.fileID, index: index, count: r.count, project: pid) {
                        intake.known += 1
                        continue
                    }
                    replace = true
                }
            } else if try mapped({ try store.chunk(fid: c.fileID, index: index) }) != nil {
                intake.known += 1
                continue
            }
            rows.append((c.fileID, index, Int(c.count), bytes, replace))
        }
        intake.stored = try mapped { try store.putReceivedChunks(rows) }
        intake.known += rows.count - intake.stored
        return intake
    }

    /// Checks every whole file whose record this node reads and that it has not checked yet:
    /// its chunks may have come before its record, or by another way. Returns the file ids
    /// checked good and those that did not match (their bad chunks dropped, to come again).
    @discardableResult
    public func checkUnverified(_ known: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)]? = nil)
        throws(NodeError) -> (verified: [String], failed: [String]) {
        guard let pid = try project() else { return ([], []) }
        let readable: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)]
        if let known { readable = known } else { readable = try readableFiles() }
        guard !readable.isEmpty else { return ([], []) }
        var checked = Set<[UInt8]>()
        for l in try mapped({ try store.localFiles() }) where l.verifiedMillis > 0 || l.releasedMillis > 0 { checked.insert(l.fid) }
        var verified: [String] = [], failed: [String] = []
        for s in try mapped({ try store.chunkSummaries() }) where !checked.contains(s.fid) {
            guard let r = readable[s.fid] else { continue }
            switch try checkWhole(fid: s.fid, key: r.key, count: r.count, project: pid) {
            case .some(true): verified.append(Hex.encode(s.fid))
            case .some(false): failed.append(Hex.encode(s.fid))
            case nil: break
            }
        }
        return (verified, failed)
    }

    static func opens(_ bytes: [UInt8], key: SymmetricKey, fid: [UInt8], index: Int, count: Int, project: ProjectID) -> Bool {
        guard let c = try? EvidenceChunk.decode(bytes), c.project == project.bytes, c.fileID == fid,
              c.index == UInt32(index), c.count == UInt32(count) else { return false }
        return (try? c.open(key: key)) != nil
    }

    /// When every chunk of `fid` is here: opens each, compares the whole with the record's
    /// SHA-256 and notes the result. A file that does not match loses the chunks that do not
    /// open (all of them, when each opens but the whole differs: a reader re-sealed one), so
    /// they are fetched again. Nil while chunks are missing.
    @discardableResult
    func checkWhole(fid: [UInt8], key: SymmetricKey, count: Int, project pid: ProjectID) throws(NodeError) -> Bool? {
        let have = try mapped { try store.chunkIndexes(fid: fid) }.filter { $0 < count }
        guard have.count == count else { return nil }
        guard let state = try readableState(of: fid), let want = state.value("evidence", Hex.encode(fid), "sha256") else { return nil }
        // Hash on its own thread while the next chunk is read and opened.
        let sha = PipelinedSHA256()
        var bad: [Int] = []
        for i in 0..<count {
            guard let bytes = try mapped({ try store.chunk(fid: fid, index: i) }),
                  let c = try? EvidenceChunk.decode(bytes), c.project == pid.bytes, c.fileID == fid,
                  c.index == UInt32(i), c.count == UInt32(count), let plain = try? c.open(key: key) else { bad.append(i); continue }
            sha.update(plain)
        }
        if bad.isEmpty, Hex.encode(sha.finalize()) == want {
            try mapped { try store.setVerified(fid: fid, count: count, at: Int64(Self.wallMillis())) }
            return true
        }
        try mapped {
            try store.setVerified(fid: fid, count: count, at: 0)
            for i in bad.isEmpty ? Array(0..<count) : bad { try store.deleteChunk(fid: fid, index: i) }
        }
        return false
    }

    func readableState(of fid: [UInt8]) throws(NodeError) -> CaseState? {
        let hex = Hex.encode(fid)
        return try view().orderedCases.first { $0.elements("evidence").contains(hex) }
    }

    // MARK: holding statements

    /// This node's signed word on the whole files it holds that `peer` may know of: the files
    /// it would hand the peer (`chunkGate`: a lawyer's shared cases, everything to coordinators
    /// and relays) and the files the peer attached itself (a reporter's own). Nil `peer`: every file.
    /// A coordinator or relay with no whole file states none to another (or to several).
    public func holdingStatement(for peer: SigningPublicKey?) throws(NodeError) -> EvidenceHeld? {
        guard let pid = try project() else { return nil }
        // Most nodes hold no whole file: then no statement, and no view is built to judge one
        // (a TCP sync of a large log spent most of its time building it here).
        // A row whose id no chunk could carry (a store file someone wrote into) is no file to
        // state: signing it would trap (EvidenceHeld.sign's precondition).
        let whole = try mapped({ try store.chunkSummaries() }).filter { $0.present == $0.count && $0.fid.count == EvidenceChunk.fileIDLength }
        guard !whole.isEmpty else {
            // A coordinator or relay says "none" to another: that peer drops its word that this
            // node holds a file (one a lifted withdrawal took), and hands it over again.
            let m = try storedMembership()
            guard Self.listsEveryFile(m.role(of: identity.signing.publicKey)), peer.map({ Self.listsEveryFile(m.role(of: $0)) }) ?? true else { return nil }
            return EvidenceHeld.sign(project: pid, files: [], createdMillis: Self.wallMillis(), by: identity.signing)
        }
        let local = Dictionary(uniqueKeysWithValues: try mapped { try store.localFiles() }.map { ($0.fid, $0) })
        var files: [EvidenceHeld.File] = []
        let gate = try peer.map { (p: SigningPublicKey) throws(NodeError) in try chunkGate(to: p) }
        var peersOwn: Set<[UInt8]>?
        for s in whole {
            if let gate, let peer, !gate(s.fid) {
                if peersOwn == nil { peersOwn = try filesAttached(by: peer) }
                if !(peersOwn?.contains(s.fid) ?? false) { continue }
            }
            files.append(.init(fileID: s.fid, count: UInt32(s.count), verified: (local[s.fid]?.verifiedMillis ?? 0) > 0))
        }
        guard !files.isEmpty else { return nil }
        return EvidenceHeld.sign(project: pid, files: Array(files.prefix(EvidenceHeld.maxFiles)),
                                 createdMillis: Self.wallMillis(), by: identity.signing)
    }

    /// The files whose record `author` wrote, among those this node reads.
    func filesAttached(by author: SigningPublicKey) throws(NodeError) -> Set<[UInt8]> {
        guard !isWriteOnly, try project() != nil else { return [] }
        var out = Set<[UInt8]>()
        for s in try view().orderedCases {
            for fid in s.elements("evidence") {
                guard let w = s.register(FieldPath(collection: "evidence", element: fid, field: "sha256"))?.winner,
                      w.author == author, let raw = Hex.decode(fid) else { continue }
                out.insert(raw)
            }
        }
        return out
    }

    /// Keeps a peer's signed statement. Refused unless it verifies, is for this project, and
    /// its holder is a current member (anyone can sign a statement with a key of their own).
    /// `from`, when given, must be the holder: the peer a session proved or a bundle's signed sender.
    @discardableResult
    public func acceptHolding(_ bytes: [UInt8], from sender: SigningPublicKey? = nil) throws(NodeError) -> Int {
        let pid = try requireProject()
        let h: EvidenceHeld
        do { h = try EvidenceHeld.decode(bytes) } catch { throw NodeError(.corrupt, "holding statement: \(error)", code: error.code) }
        guard h.project == pid else { throw NodeError(.notForMe, "holding statement for another project", code: CoreError.bundleWrongProject.code) }
        if let sender, sender != h.holder {
            throw NodeError(.refused, "holding statement signed by \(NodeID.fingerprint(of: h.holder)), not by the peer that sent it",
                            code: "evidence.holding-not-sender")
        }
        guard h.holder != identity.signing.publicKey else { return 0 }
        let m = try storedMembership()
        guard let member = m.members[h.holder], m.isCurrentMember(member.node) else {
            throw NodeError(.refused, "holding statement from \(NodeID.fingerprint(of: h.holder)), not a current member",
                            code: "evidence.holding-not-member")
        }
        // A coordinator or relay is told every whole file, and one of them holding files keeps
        // them (it is not a laptop that lets files go): a file left out is one it lost, as a
        // withdrawal that was later lifted drops it, and it must be handed over again.
        // A list cut at the format's limit says nothing of the files past it.
        let complete = Self.listsEveryFile(member.role) && Self.listsEveryFile(m.role(of: identity.signing.publicKey))
            && h.files.count < EvidenceHeld.maxFiles
        return try mapped {
            try store.recordHolding(statement: bytes, holder: h.holder.bytes, createdMillis: Int64(clamping: h.createdMillis),
                                    files: h.files.map { ($0.fileID, Int($0.count), $0.verified) }, complete: complete)
        }
    }

    /// Roles that are handed every file and keep what they hold: a statement between two of
    /// them lists every whole file its holder has.
    static func listsEveryFile(_ role: Role?) -> Bool { role == .coordinator || role == .relay }

    // MARK: what is held, and letting it go

    /// Every file this node holds chunks of, has checked, or let go, with who else holds it.
    public func heldFiles() throws(NodeError) -> [HeldFile] {
        var byFid: [[UInt8]: (count: Int, present: Int)] = [:]
        for s in try mapped({ try store.chunkSummaries() }) { byFid[s.fid] = (s.count, s.present) }
        let local = try mapped { try store.localFiles() }
        for l in local where byFid[l.fid] == nil { byFid[l.fid] = (l.count, 0) }
        let localBy = Dictionary(uniqueKeysWithValues: local.map { ($0.fid, $0) })
        let m: Membership? = try project() != nil ? try storedMembership() : nil
        var out: [HeldFile] = []
        for (fid, c) in byFid.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let holders = try mapped { try store.holdings(fid: fid) }.compactMap { h -> HeldFile.Holder? in
                guard let k = try? SigningPublicKey(bytes: h.holder), h.count == c.count else { return nil }
                return .init(node: k, role: m?.role(of: k), verified: h.verified, atMillis: h.createdMillis)
            }
            out.append(HeldFile(fid: Hex.encode(fid), count: c.count, present: c.present,
                                verifiedMillis: localBy[fid]?.verifiedMillis ?? 0, releasedMillis: localBy[fid]?.releasedMillis ?? 0,
                                holders: holders))
        }
        return out
    }

    /// Deletes this node's copy of each file a current coordinator said, signed, it holds whole
    /// and checked against its record ("sent, received, removed from this laptop"). With
    /// `fids`, only those, and each must be so acknowledged. Returns the files let go.
    public func releaseAcknowledged(_ fids: [String]? = nil) throws(NodeError) -> [HeldFile] {
        // The archive lives on coordinators and relays; their peers hand back what they lack.
        if try project() != nil, Self.listsEveryFile(try storedMembership().role(of: identity.signing.publicKey)) {
            throw NodeError(.refused, "a coordinator or relay keeps every file: the archive lives on these nodes", code: "evidence.keeps-all")
        }
        let held = try heldFiles()
        var chosen: [HeldFile] = []
        if let fids {
            for f in fids {
                guard let h = held.first(where: { $0.fid == f.lowercased() || ($0.fid.hasPrefix(f.lowercased()) && f.count >= 8) }) else {
                    throw NodeError(.notFound, "no file \(f) is held here", code: "evidence.not-found")
                }
                guard h.acknowledgedByCoordinator else {
                    throw NodeError(.refused, "file \(h.fid.prefix(8)) has not been acknowledged by a coordinator: keeping it",
                                    code: "evidence.not-acknowledged")
                }
                chosen.append(h)
            }
        } else {
            chosen = held.filter { $0.acknowledgedByCoordinator && $0.present > 0 }
        }
        let now = Int64(Self.wallMillis())
        for h in chosen {
            guard let raw = Hex.decode(h.fid) else { continue }
            try mapped { try store.releaseChunks(fid: raw, count: h.count, at: now) }
        }
        if !chosen.isEmpty { try mapped { try store.compact() } }
        return try heldFiles().filter { f in chosen.contains { $0.fid == f.fid } }
    }

    // MARK: by need

    /// Whether this node hands file `fid`'s chunks to `peer`: to coordinators and relays every
    /// file; to a lawyer a file of a case shared with it (which this node must read to know);
    /// to a reporter none. Nil membership (no project): none.
    func chunkGate(to peer: SigningPublicKey) throws(NodeError) -> @Sendable ([UInt8]) -> Bool {
        guard try project() != nil else { return { _ in false } }
        let m = try storedMembership()
        guard let member = m.members[peer], m.isCurrentMember(member.node) else { return { _ in false } }
        switch member.role {
        case .coordinator, .relay: return { _ in true }
        case .reporter: return { _ in false }
        case .lawyer:
            guard !isWriteOnly else { return { _ in false } }
            let hex = Hex.encode(peer.bytes)
            var shared = Set<[UInt8]>()
            for s in try view().orderedCases where s.elements("sharedWith").contains(hex) {
                for fid in s.elements("evidence") { if let raw = Hex.decode(fid) { shared.insert(raw) } }
            }
            let gate = shared
            return { gate.contains($0) }
        }
    }

    /// The chunks to hand `peers` (every one of them must be allowed the file, and one at least
    /// must not be known to hold it whole), as (fid, index) in file order.
    func chunksOwed(to peers: [SigningPublicKey]) throws(NodeError) -> [(fid: [UInt8], index: Int)] {
        // No chunk held, nothing owed: judged before the gates, since a lawyer's gate builds the view.
        let summaries = try mapped({ try store.chunkSummaries() })
        guard !peers.isEmpty, !summaries.isEmpty else { return [] }
        var gates: [@Sendable ([UInt8]) -> Bool] = []
        for p in peers { gates.append(try chunkGate(to: p)) }
        var heldBy: [[[UInt8]: Int]] = []
        for p in peers {
            var d: [[UInt8]: Int] = [:]
            for h in try mapped({ try store.holdings(holder: p.bytes) }) { d[h.fid] = h.count }
            heldBy.append(d)
        }
        var out: [(fid: [UInt8], index: Int)] = []
        for s in summaries
        where gates.allSatisfy({ $0(s.fid) }) && heldBy.contains(where: { $0[s.fid] != s.count }) {
            for i in try mapped({ try store.chunkIndexes(fid: s.fid) }) where i < s.count { out.append((s.fid, i)) }
        }
        return out
    }
}
