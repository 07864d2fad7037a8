import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

extension Node {
    public struct BundleExport: Sendable {
        public var files: [String] = []
        public var ops = 0
        /// Evidence chunks carried (Protocol/evidence.md), after the ops.
        public var chunks = 0
        public var bytes = 0
        public var bundleID: BundleID
    }

    /// Default split size: below FAT32's 4 GiB file limit, with room for padding.
    public static let defaultMaxBundleSize = 3_800_000_000

    /// Resolves `--to` names: node ids, or a role's plural (`coordinators`) or singular name.
    public func recipients(_ names: [String]) throws(NodeError) -> [NodeID] {
        var out: [NodeID] = []
        for n in names {
            if let id = NodeID(string: n) { out.append(id); continue }
            let roleName = n.hasSuffix("s") ? String(n.dropLast()) : n
            if let role = Role(rawValue: roleName) {
                let m = try storedMembership()
                let members = m.members.values
                    .filter { $0.role == role && $0.node != nodeID && Self.isCurrentMember($0.node, in: m) }.map(\.node)
                guard !members.isEmpty else { throw NodeError(.notFound, "the project has no other \(role.rawValue)s to address") }
                out += members
                continue
            }
            throw NodeError(.usage, "'\(n)' is neither a node id (sqn-...) nor a role (coordinators, reporters, lawyers, relays)")
        }
        return Array(Set(out)).sorted()
    }

    /// What every recipient is known to hold: the pointwise minimum of their acknowledgements.
    func commonAcknowledgement(_ recipients: [NodeID]) throws(NodeError) -> VersionVector {
        var acks: [VersionVector] = []
        for r in recipients { acks.append(try mapped { try store.acknowledged(by: r) }) }
        guard var common = acks.first else { return VersionVector() }
        for a in acks.dropFirst() {
            var next = VersionVector()
            for (k, v) in common.heads { next[k] = min(v, a[k]) }
            common = next
        }
        return common
    }

    /// Writes the ops the recipients are not known to hold (all ops with `all`) into one or
    /// more bundle files: `out`, then `out.2`, `out.3`... when `maxSize` splits it.
    static let maxBundleSizeLimit = 1 << 50

    public func exportBundle(to recipients: [NodeID], out: String, all: Bool = false,
                             maxSize: Int = Node.defaultMaxBundleSize) throws(NodeError) -> BundleExport {
        let pid = try requireProject()
        guard !recipients.isEmpty else { throw NodeError(.usage, "name at least one recipient with --to") }
        // Such keys get no entry (ops.md, "Keys of small order"): a file only they were named for opens for no one.
        guard recipients.contains(where: \.boxKey.opensSealedBoxes) else {
            throw NodeError(.refused, "no recipient could open this bundle: each one's node id carries a box key nothing can be sealed to (a point of small order)")
        }
        // The upper bound keeps the padding arithmetic below from overflowing (a trap, exit 132).
        guard maxSize >= 4 * BundleFormat.chunkSize, maxSize <= Self.maxBundleSizeLimit else {
            throw NodeError(.usage, "--max-size must be between \(4 * BundleFormat.chunkSize) bytes and 1 PiB")
        }
        let known = all ? VersionVector() : try commonAcknowledgement(recipients)
        let rule = try carryRule(to: recipients.map(\.signingKey))
        let mine = try versionVector()
        let imported = try mapped { try store.recentImportedBundles() }
        let bundleID = BundleID.random()
        var result = BundleExport(bundleID: bundleID)
        let budget = BundleFormat.PartBudget(maxSize: maxSize, recipients: recipients.count)
        var writer: BundleWriter?
        var part: UInt32 = 0
        func open() throws(SyncError) -> BundleWriter {
            part += 1
            let path = part == 1 ? out : "\(out).\(part)"
            let header = BundleFormat.Header(project: pid, sender: nodeID, senderVector: mine, bundleID: bundleID,
                                             part: part, createdMillis: Self.wallMillis(), imported: imported)
            return try BundleWriter(path: path, recipients: recipients.map(\.boxKey), header: header, signer: identity.signing)
        }
        do {
            writer = try open()
            // The stored bytes go out as they are; the rule is judged once per author, and an
            // op is decoded only where it must be judged alone (a revoked author's).
            var passes: [SigningPublicKey: CarryRule.AuthorPass] = [:]
            func reading(_ author: SigningPublicKey) -> Bool {
                let pass = rule.pass(for: author)
                passes[author] = pass
                return pass != .none
            }
            try store.forEachEncodedEnvelopeWithID(missingFrom: known, reading: reading) { author, id, raw in
                guard try rule.allows(encoded: raw, pass: passes[author] ?? .each) else { return }
                if !budget.fits(opLength: raw.count, after: writer!.recordBytes), writer!.opsWritten > 0 {
                    result.bytes += try writer!.finish()
                    result.files.append(writer!.path)
                    writer = try open()
                }
                try writer!.append(encodedOp: raw, id: id)
                result.ops += 1
            }
            // What this node holds whole, so the recipient stops sending it; then the chunks it
            // is owed, each in whichever part has room: any part opens on its own, in any order.
            let m = try storedMembership()
            let reporterAmong = recipients.contains { m.role(of: $0.signingKey) == .reporter }
            if recipients.count == 1 || !reporterAmong,
               let held = try holdingStatement(for: recipients.count == 1 ? recipients[0].signingKey : nil) {
                try writer!.append(held: held.encoded())
            }
            for (fid, index) in try chunksOwed(to: recipients.map(\.signingKey)) {
                guard let bytes = try store.chunk(fid: fid, index: index) else { continue }
                if !budget.fits(opLength: bytes.count, after: writer!.recordBytes), writer!.opsWritten + writer!.chunksWritten > 0 {
                    result.bytes += try writer!.finish()
                    result.files.append(writer!.path)
                    writer = try open()
                }
                try writer!.append(chunk: bytes)
                result.chunks += 1
            }
            result.bytes += try writer!.finish()
            result.files.append(writer!.path)
        } catch let e as SyncError {
            throw NodeError(.failure, e.description, code: e.code)
        } catch {
            throw NodeError.from(error)
        }
        return result
    }

    public struct BundleImport: Sendable {
        public var file: String
        public var sender: NodeID?
        public var report = ImportReport()
        public var damagedChunks = 0
        public var malformedRecords = 0
        public var truncated = false
        /// The mailbox skipped it: this node imported the same bundle before.
        public var alreadySeen = false
        /// False when the (signed) sender is not an admitted, unrevoked member even after the
        /// bundle's ops landed: nothing was acknowledged to it, and nothing will be written to it.
        public var senderIsMember: Bool?
        /// Evidence chunks it carried, and what became of them.
        public var chunks = ChunkIntake()
        /// Holding statements it carried that were kept.
        public var holdings = 0
        public var intact: Bool { damagedChunks == 0 && malformedRecords == 0 && !truncated }
    }

    /// Verifies and applies a bundle's ops in one transaction, then records what its sender holds.
    public func importBundle(_ path: String, skipIfSeen: Bool = false) throws(NodeError) -> BundleImport {
        let pid = try requireProject()
        let reader: BundleReader
        do { reader = try BundleReader(path: path, keys: identity.box) } catch {
            switch error {
            case let .bundle(b) where b == .notForMe: throw NodeError(.notForMe, "\(path): \(b)", code: b.code)
            case let .bundle(b): throw NodeError(.corrupt, "\(path): \(b)", code: b.code)
            default: throw NodeError(.notFound, error.description, code: error.code)
            }
        }
        if let h = reader.header, h.project != pid {
            throw NodeError(.notForMe, "\(path): \(CoreError.bundleWrongProject)", code: CoreError.bundleWrongProject.code)
        }
        var result = BundleImport(file: path, sender: reader.header?.sender)
        let bundleID = reader.header?.bundleID
        if skipIfSeen, let bundleID, try mapped({ try store.hasImportedBundle(bundleID) }) {
            result.alreadySeen = true
            return result
        }
        result.report = try ingest(.run { [self] screen, retry throws(NodeError) in
            do {
                // The second pass reads the file again, keeping only the ops the first refused.
                let r = try retry == nil ? reader : BundleReader(path: path, keys: identity.box)
                return try store.importBatches(project: pid, screen: screen, prefetch: true) { () throws(SyncError) -> [Envelope]? in
                    guard let retry else { return try r.next() }
                    while let batch = try r.next() {
                        let kept = batch.filter { retry.contains($0.id) }
                        if !kept.isEmpty { return kept }
                    }
                    return nil
                }
            } catch {
                throw NodeError.from(error)
            }
        }, peer: {
            reader.header.map { h in
                .bundle(sender: h.sender, vector: h.senderVector, delivered: reader.intact ? bundleID : nil,
                        importedThere: h.imported, created: h.createdMillis)
            }
        })
        if let h = reader.header, h.sender != nodeID { result.senderIsMember = try isCurrentMember(h.sender) }
        try importEvidence(path, from: reader.header?.sender, into: &result)
        result.damagedChunks = reader.damagedChunks
        result.malformedRecords = reader.malformedRecords
        result.truncated = reader.truncated
        return result
    }

    /// The second pass over a bundle: its evidence chunks, a batch at a time (each batch one
    /// transaction, so a full disk keeps the batches before it), and its holding statements.
    /// A statement is kept only when the bundle's signed sender signed it. When the sender is a
    /// current member and chunks came, it is owed an answer, as for ops: the answer says what
    /// this node now holds.
    func importEvidence(_ path: String, from sender: NodeID?, into result: inout BundleImport) throws(NodeError) {
        let reader: BundleReader
        do { reader = try BundleReader(path: path, keys: identity.box, pass: .evidence) } catch { return }
        // The ops pass has been ingested, so the records it brought are readable now: read
        // them once, store every batch against them, and check whole files once at the end.
        // Only when there is a chunk to judge: reading them builds the view, which an import of
        // ops alone (a relay's, a stick's at the command line) leaves to the first read.
        var readable: [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)]?
        func files() throws(NodeError) -> [[UInt8]: (key: SymmetricKey, count: Int, caseID: CaseID)] {
            if let readable { return readable }
            let r = try readableFiles()
            readable = r
            return r
        }
        var batch: [[UInt8]] = []
        func flush() throws(NodeError) {
            guard !batch.isEmpty else { return }
            result.chunks.merge(try storeChunks(batch, readable: try files()))
            batch.removeAll(keepingCapacity: true)
        }
        while let item = try? reader.nextEvidence() {
            switch item {
            case let .chunk(bytes):
                batch.append(bytes)
                if batch.count >= 8 { try flush() }
            case let .held(bytes):
                guard let sender else { continue }
                if let n = try? acceptHolding(bytes, from: sender.signingKey) { result.holdings += n }
            }
        }
        try flush()
        // Also files whose chunks came before and whose record the ops pass brought.
        let held = try mapped { try store.chunkSummaries() }
        if readable != nil || !held.isEmpty {
            let checked = try checkUnverified(try files())
            result.chunks.verified += checked.verified
            result.chunks.failed += checked.failed
        }
        if let sender, sender != nodeID, result.chunks.stored + result.chunks.known > 0, try isCurrentMember(sender) {
            try mapped { try store.setOwesAck(to: sender) }
        }
    }

    /// Whether `id` (both keys) is an admitted member whose new ops would still count: the only
    /// nodes this node acknowledges or writes bundles to.
    static func isCurrentMember(_ id: NodeID, in m: Membership) -> Bool {
        m.isCurrentMember(id)
    }

    /// The same, from the membership ops in the store (cheap: no case is decrypted).
    func isCurrentMember(_ id: NodeID) throws(NodeError) -> Bool {
        guard try project() != nil else { return false }
        return Self.isCurrentMember(id, in: try storedMembership())
    }

    /// Marks our outbox bundles that `peer` says it imported.
    func noteDelivered(_ ids: [BundleID], by peer: NodeID) throws {
        let seen = Set(ids)
        for e in try store.outbox() where e.peer == peer {
            guard let id = e.bundleID, seen.contains(id) else { continue }
            try store.recordOutbox(.init(file: e.file, peer: e.peer, bundleID: nil, vector: e.vector))
        }
    }

    public struct PeerState: Sendable {
        public let node: NodeID
        public let role: Role?
        public let address: String?
        public let acknowledged: VersionVector
        /// Ops this node holds that the peer is not known to hold.
        public let undelivered: Int
    }

    /// Every member and remembered peer, with what is still undelivered to each.
    /// `mine`: this node's vector, when the caller already read it.
    public func peers(mine known: VersionVector? = nil) throws(NodeError) -> [PeerState] {
        let mine: VersionVector
        if let known { mine = known } else { mine = try versionVector() }
        let records = try mapped { try store.peers() }
        var byID: [NodeID: OpStore.PeerRecord] = [:]
        for r in records { byID[r.node] = r }
        var ids = Set(byID.keys)
        let m: Membership? = (try project()) != nil ? try storedMembership() : nil
        if let m {
            // Every current member. Of the other rows, only addresses a person remembered for a
            // node that is no member (yet): never a revoked member, never a row that holds only an
            // acknowledgement (left by an older build that believed any bundle's sender).
            for member in m.members.values where Self.isCurrentMember(member.node, in: m) { ids.insert(member.node) }
            ids = ids.filter { Self.isCurrentMember($0, in: m) || (m.members[$0.signingKey] == nil && byID[$0]?.address != nil) }
        }
        ids.remove(nodeID)
        var out: [PeerState] = []
        var membershipOps: [Envelope]?
        for id in ids.sorted() {
            let acked = byID[id]?.acked ?? VersionVector()
            let rule = m.map { CarryRule(to: [id.signingKey], from: nodeID.signingKey, in: $0, writeOnly: isWriteOnly) } ?? .everything
            out.append(PeerState(node: id, role: m?.role(of: id.signingKey), address: byID[id]?.address,
                                 acknowledged: acked, undelivered: try undelivered(above: acked, mine: mine, rule: rule, membershipOps: &membershipOps)))
        }
        return out
    }

    public func rememberPeer(_ id: NodeID, address: String) throws(NodeError) {
        try mapped { try store.setAddress(address, for: id) }
    }

    public struct MailboxResult: Sendable {
        public var imported: [BundleImport] = []
        public var skipped: [String] = []
        public var failed: [(String, String)] = []
        /// The same failures with the error, for a caller that words them itself (the desk).
        public var failures: [(String, NodeError)] = []
        public var written: [String] = []
        public var deleted: [String] = []
        /// What was left alone and why, beyond `skipped` (a FIFO or device named like a bundle).
        public var notes: [String] = []
    }

    /// One bundle of a mailbox sync starting or finished: read from the stick or written to it.
    public struct MailboxStep: Sendable {
        public var file: String
        public var writing: Bool
        public var finished: Bool
    }

    /// The USB mailbox: import what is addressed to us; for each peer, write one fresh bundle
    /// when we hold something new since our last one to it (replacing the older one); delete
    /// ours once their recipient imported them or holds everything they carried.
    /// `progress` hears of each bundle as it starts and ends, for a progress bar.
    public func syncMailbox(_ dir: String, progress: @Sendable (MailboxStep) -> Void = { _ in }) throws(NodeError) -> MailboxResult {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw NodeError(.notFound, "\(dir) is not a directory")
        }
        var result = MailboxResult()
        removeAbandonedPartials(in: dir)
        let ours = Set(try mapped { try store.outbox() }.map(\.file))
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".sqb") }.sorted()
        // A folder-sync tool's conflict copy of one of our bundles is ours too: not read, and
        // removed with the original (removeOutbox).
        for name in names where !ours.contains(name) && !ours.contains(Self.conflictOriginal(name) ?? "") {
            // A FIFO would block the open for ever, a device could stream for ever: read files only.
            var st = stat()
            guard stat(dir + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                result.notes.append("\(name) is not a regular file (a FIFO, device, folder or broken link): left alone, not read")
                continue
            }
            progress(MailboxStep(file: name, writing: false, finished: false))
            defer { progress(MailboxStep(file: name, writing: false, finished: true)) }
            do {
                let r = try importBundle(dir + "/" + name, skipIfSeen: true)
                if r.alreadySeen { result.skipped.append(name) } else { result.imported.append(r) }
            } catch {
                if error.kind == .notForMe { result.skipped.append(name) } else { result.failed.append((name, error.message)); result.failures.append((name, error)) }
            }
        }
        let mine = try versionVector()
        // Our bundles to a node that is no longer a member come off the stick: revocation assumes
        // its keys are in the wrong hands, and they open with them.
        // No project yet: no one is a member, so nothing is written.
        let members: Membership? = (try project()) != nil ? try storedMembership() : nil
        func current(_ id: NodeID) -> Bool { members.map { Self.isCurrentMember(id, in: $0) } ?? false }
        for e in try mapped({ try store.outbox() }) {
            if let id = e.peer, current(id) { continue }
            try removeOutbox(dir: dir, file: e.file, into: &result)
        }
        // Only current members get a bundle: never a stranger, never a revoked device.
        for peer in try peers() where current(peer.node) {
            let entries = try mapped { try store.outbox() }.filter { $0.peer == peer.node }
            for e in entries where e.bundleID == nil || peer.acknowledged.covers(e.vector) {
                try removeOutbox(dir: dir, file: e.file, into: &result)
            }
            let ledger = try mapped { try store.peer(peer.node) }
            // Write when there is news for the peer, or when it reported back since our last
            // bundle and still lacks ops (part of that bundle was lost on the way).
            let resend = peer.undelivered > 0 && ledger?.lastAckSeen != peer.acknowledged
            // Evidence chunks the peer is not known to hold, when no bundle of ours to it is on
            // the stick: a bundle whose ops arrived by another way may be taken back before its
            // chunks were read, and the peer's holding statement is what settles them.
            let waiting = try mapped { try store.outbox() }.contains { $0.peer == peer.node }
            let owed = try chunksOwed(to: [peer.node.signingKey])
            let chunksOwed = !waiting && !owed.isEmpty
            guard ledger?.owesAck == true || (peer.undelivered > 0 && ledger?.lastSent != mine) || resend || chunksOwed else { continue }
            let file = Hex.encode(Random.bytes(8)) + ".sqb"
            progress(MailboxStep(file: file, writing: true, finished: false))
            let exp = try exportBundle(to: [peer.node], out: dir + "/" + file)
            progress(MailboxStep(file: file, writing: true, finished: true))
            try mapped {
                try store.recordOutbox(.init(file: file, peer: peer.node, bundleID: exp.bundleID, vector: mine))
                try store.recordSent(mine, ackSeen: peer.acknowledged, to: peer.node)
            }
            result.written.append(file)
            for e in try mapped({ try store.outbox() }) where e.peer == peer.node && e.file != file {
                try removeOutbox(dir: dir, file: e.file, into: &result)
            }
        }
        return result
    }

    /// An export killed or cut off mid-write leaves `<bundle>.partial-<hex>` (never the bundle's
    /// own name); on a stick passed around for months they would pile up. Ones untouched for
    /// an hour belong to no running export.
    func removeAbandonedPartials(in dir: String, olderThan seconds: TimeInterval = 3600) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.contains(".sqb.partial-") {
            let path = dir + "/" + name
            guard let m = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  Date().timeIntervalSince(m) > seconds else { continue }
            try? fm.removeItem(atPath: path)
        }
    }

    private func removeOutbox(dir: String, file: String, into result: inout MailboxResult) throws(NodeError) {
        if unlink(dir + "/" + file) == 0 || errno == ENOENT {
            try mapped { try store.forgetOutbox(file: file) }
            result.deleted.append(file)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where Self.conflictOriginal(name) == file {
                if unlink(dir + "/" + name) == 0 { result.deleted.append(name) }
            }
        }
    }

    /// The file a folder-sync tool's conflict copy stands for: Syncthing names the copy
    /// `NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.sqb` for `NAME.sqb` (Protocol/bundles.md, "USB mailbox").
    static func conflictOriginal(_ name: String) -> String? {
        guard name.hasSuffix(".sqb"), let r = name.range(of: ".sync-conflict-") else { return nil }
        let tag = name[r.upperBound...].dropLast(4)
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 8, parts[1].count == 6, parts[0].allSatisfy(\.isNumber),
              parts[1].allSatisfy(\.isNumber), !parts[2].isEmpty, r.lowerBound > name.startIndex else { return nil }
        return String(name[..<r.lowerBound]) + ".sqb"
    }
}
