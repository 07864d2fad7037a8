import SandyqCore
import SandyqCrypto
import SandyqStore

extension Node {
    static let readerKeySetting = "reader-key"
    static let readerKeyAD = Array("sandyq-reader-key".utf8)

    /// Older reader keys this node still opens with after a withdrawal moved it to a new one
    /// (store.md, `reader-key-retired:<epoch>`): writers that have not yet seen the new key seal
    /// to them, so they open entries and seal nothing.
    static let retiredReaderKeyPrefix = "reader-key-retired:"
    static let retiredReaderKeyAD = Array("sandyq-reader-key-retired".utf8)
    /// Set, to a fresh random mark, in the transaction that applies a withdrawal naming anything
    /// new: the reader key that could open it is retired at this coordinator's next change.
    static let readerRetireDueSetting = "reader-retire-due"
    static let selfGrantScope = Array("self-grant".utf8)
    /// The id of the last announcement this home wrote itself: what arrived after its row was
    /// sent after it (a restored home imports its own announcement among others' ops).
    static let announcedHereSetting = "reader-key-announced-here"

    /// This node's reader key and its epoch, kept in the store under the storage key (so a
    /// rotation needs no passphrase); nil until the node first announces one.
    func storedReaderKey() throws(NodeError) -> (epoch: UInt32, keys: BoxKeyPair)? {
        guard let sealed = try mapped({ try store.setting(Self.readerKeySetting) }) else { return nil }
        guard let key = openReaderKey(sealed, associatedData: Self.readerKeyAD) else {
            throw NodeError(.corrupt, "the stored reader key does not open with this node's keys")
        }
        return key
    }

    func openReaderKey(_ sealed: [UInt8], associatedData: [UInt8]) -> (epoch: UInt32, keys: BoxKeyPair)? {
        guard let plain = try? StorageSeal(identity).open(sealed, associatedData: associatedData), plain.count == 4 + 32,
              let keys = try? BoxKeyPair(secretKey: SecureBytes(Array(plain[4...]))) else { return nil }
        return (plain[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, keys)
    }

    func storeReaderKey(epoch: UInt32, _ keys: BoxKeyPair, associatedData: [UInt8] = Node.readerKeyAD) -> [UInt8] {
        var w = ByteWriter(capacity: 36)
        w.u32(epoch)
        w.raw(keys.secretKey.unsafeCopy)
        return StorageSeal(identity).seal(SecureBytes(w.bytes), associatedData: associatedData)
    }

    /// The retired reader keys this home holds, newest first. A row that does not open (or
    /// whose name is not its epoch) is passed over: it opens nothing.
    func retiredReaderKeys() throws(NodeError) -> [(epoch: UInt32, keys: BoxKeyPair)] {
        try mapped { try store.settings(prefix: Self.retiredReaderKeyPrefix) }.compactMap { row in
            guard let k = openReaderKey(row.value, associatedData: Self.retiredReaderKeyAD),
                  row.key == Self.retiredReaderKeyName(k.epoch) else { return nil }
            return k
        }.sorted { $0.epoch > $1.epoch }
    }

    static func retiredReaderKeyName(_ epoch: UInt32) -> String { retiredReaderKeyPrefix + Hex.encode((0..<4).map { UInt8(truncatingIfNeeded: epoch >> (24 - 8 * $0)) }) }

    /// What a coordinator's node owes: the op announcing its reader key, the row to store with
    /// it, and on a retirement the row that keeps the old key (its epoch and sealed row).
    struct OwedAnnouncement {
        var op: MembershipChange
        var sealed: [UInt8]?
        var retiring: (epoch: UInt32, sealed: [UInt8])?
        var key: BoxPublicKey
    }

    /// The announcement a coordinator's node owes: its reader key, when membership does not hold
    /// it yet. A node whose key membership does not know, at an epoch membership has already
    /// passed (restored from backup pieces, or its store lost the key), moves to a new key one
    /// epoch above the announced one, so it never forks its own epoch; so does a node whose row
    /// no longer opens. With `retire` (a withdrawal was applied here), a node whose key is the
    /// announced one (or one not announced yet) moves to a new key too. Whenever a key that opens
    /// is replaced it is kept, retired: writers that have not seen the new one still seal to it.
    /// Nil when nothing is owed, or when no epoch is left above the announced one (only a copy
    /// of this node's key can have announced the last: it must be revoked).
    func readerKeyAnnouncement(_ m: Membership, retire: Bool = false) throws(NodeError) -> OwedAnnouncement? {
        guard let me = m.members[nodeID.signingKey], me.role == .coordinator, !me.isRevoked else { return nil }
        let announced = m.readerKeys[nodeID.signingKey]
        var held: (epoch: UInt32, keys: BoxKeyPair)?
        do { held = try storedReaderKey() } catch {
            // A damaged row must not stop a coordinator's work: it moves to a new key instead.
            warn?("\(error.message): this node announces a new reader key")
        }
        let current = held.flatMap { h in announced.map { h.epoch == $0.epoch && h.keys.publicKey == $0.key } } ?? false
        if current && !retire { return nil }
        // Held and above what membership announced (or nothing announced): not announced yet.
        let unannounced = held.map { h in announced.map { h.epoch > $0.epoch } ?? true } ?? false
        var sealed: [UInt8]?
        var retiring: (epoch: UInt32, sealed: [UInt8])?
        if !unannounced || retire {
            let (epoch, overflow) = max(announced?.epoch ?? 0, held?.epoch ?? 0).addingReportingOverflow(1)
            if overflow {
                warn?("another device announced this node's last reader-key epoch: its key was copied; revoke this device and admit a new one")
                return nil
            }
            if let h = held { retiring = (h.epoch, storeReaderKey(epoch: h.epoch, h.keys, associatedData: Self.retiredReaderKeyAD)) }
            let fresh = BoxKeyPair()
            sealed = storeReaderKey(epoch: epoch, fresh)
            held = (epoch, fresh)
        }
        let statement = ReaderKeyStatement(project: m.project, signer: identity.signing, epoch: held!.epoch, key: held!.keys.publicKey)
        return OwedAnnouncement(op: .readerKey(statement), sealed: sealed, retiring: retiring, key: held!.keys.publicKey)
    }

    /// Writes the announcement this coordinator owes, with the new key stored in the same
    /// transaction (so a crash leaves neither or both). Runs before a coordinator's first write
    /// in a process, and again after membership changes: the founder announces with its
    /// genesis, a coordinator admitted later with its first own change (a node that only reads
    /// seals nothing and is sealed to by its node id). After a withdrawal it retires the key
    /// (ops.md section 4, "Retiring the reader key"): the new key's announcement, a self-grant of
    /// every session key the view holds sealed to the new key alone, the old key kept as retired.
    func announceReaderKeyIfDue() throws(NodeError) {
        // Another process on this home may have written since: its ops move the chain head, and
        // its announcement may already be the one owed.
        if changedElsewhere() { catchUpWarmView() }
        let m = try storedMembership()
        // Not admitted yet (or restored and not synced): checked again once membership changes.
        guard m.members[nodeID.signingKey] != nil else { return }
        if keepsSelfKey(m) {
            // A reporter: its key replaced if a withdrawal made that due, then the self-grant owed.
            try replaceSelfKeyIfDue()
            try prepareSelfKey(try storedMembership())
            readerKeyChecked = try mapped { try store.setting(Self.readerRetireDueSetting) } == nil
            return
        }
        // Promoted while a replacement's self-grant was owed: its own sessions are its own to
        // grant (no other coordinator grants a member its own).
        try writeOwedSelfGrant(m)
        let rowBefore = try mapped { try store.setting(Self.readerKeySetting) }
        let dueMark = try mapped { try store.setting(Self.readerRetireDueSetting) }
        let due = dueMark != nil
        guard let owed = try readerKeyAnnouncement(m, retire: due) else {
            readerKeyChecked = true
            return
        }
        // A node rebuilt from backup pieces writes nothing until its chain is back.
        guard try mapped({ try store.setting(Self.restoredSetting) }) == nil else { return }
        // `writer()` builds the view (for its clock) with the key still stored: so a row about to
        // be replaced (pieces older than the last epoch) has opened and cached what it can, which
        // would otherwise be lost here (`staleRestoreKeepsWhatTheOldKeyOpens`).
        let w = try writer()
        guard m.isAllowed(author: nodeID.signingKey, seq: w.seq + 1, manage: true) else { return }
        var envs = [w.membership(owed.op)]
        let announcementID = envs[0].id
        if due && owed.retiring != nil {
            do { envs += try selfGrant(to: owed.key, from: try view(), with: w) } catch {
                activeWriter = nil
                throw error
            }
        }
        beforeRetiringForTests?()
        try commit(envs, project: m.project) {
            // Two processes deciding at once would each store a key: the second must not replace
            // the first's, which its announcement made the one others seal to. Nor may a
            // self-grant built before another process applied a withdrawal (it set a new mark)
            // land: it may carry what that withdrawal took.
            guard try self.store.setting(Self.readerKeySetting) == rowBefore,
                  try self.store.setting(Self.readerRetireDueSetting) == dueMark else {
                throw NodeError(.conflict, "another process on this home changed the reader key or applied a withdrawal at the same moment; nothing was recorded: try again")
            }
            if let s = owed.sealed { try self.store.setSetting(Self.readerKeySetting, s) }
            try self.store.setSetting(Self.announcedHereSetting, announcementID.bytes)
            if let r = owed.retiring { try self.store.setSetting(Self.retiredReaderKeyName(r.epoch), r.sealed) }
            // A key that changed for another reason (a lost row) is new all the same.
            if due { try self.store.deleteSetting(Self.readerRetireDueSetting) }
        }
        // The commit's own ingest may have applied a withdrawal left unapplied: then another is due.
        readerKeyChecked = (try? store.setting(Self.readerRetireDueSetting)) == nil
    }

    /// Ops granting `key` alone (this node's next reader key) the key of every session `v`
    /// holds that carried something besides grants, as many ops as the body limit needs: once
    /// the retired key is gone, they are what opens the archive here (a lost key cache, a
    /// restore from pieces made since). A session that carried grants alone (a coordinator's
    /// grants to this node at its admission, an earlier self-grant) is left out: through it the
    /// new key would open keys a withdrawal took since, and what such grants carried that is
    /// kept, the view holds, and grants, directly.
    func selfGrant(to key: BoxPublicKey, from v: ProjectView, with w: OpWriter) throws(NodeError) -> [Envelope] {
        var content = Set<SessionID>()
        for e in try mapped({ try store.allEnvelopes() }) where e.kind == .sealed {
            guard let body = try? SealedBody(decoding: e.body) else { continue }
            let sid = SessionID(author: e.author, body: body)
            guard !content.contains(sid), let p = Self.payload(of: e, in: v) else { continue }
            if p.carriesContent { content.insert(sid) }
        }
        return try selfGrant(to: key, keys: v.sessionKeys.filter { content.contains($0.key) }, with: w)
    }

    /// Ops granting `key` alone each of `keys`, as many ops as the body limit needs.
    func selfGrant(to key: BoxPublicKey, keys: [SessionID: SymmetricKey], with w: OpWriter) throws(NodeError) -> [Envelope] {
        let empty = Payload(clock: 0, mutations: []).encoded().count
        var pending: [(grant: Mutation, size: Int)] = []
        for (sid, k) in keys.sorted(by: { $0.key < $1.key }) {
            let g = Mutation.grant(session: sid, key: k.secret.unsafeCopy)
            pending.append((g, Payload(clock: 0, mutations: [g]).encoded().count - empty))
        }
        let limit = min(grantBodyLimit, Envelope.maxBodyLength)
        var out: [Envelope] = []
        for range in try grantRuns(pending.map(\.size), limit: limit) {
            do { out.append(try w.checkedSealed(pending[range].map(\.grant), readers: [key], wallMillis: Self.wallMillis(), scope: Self.selfGrantScope, limit: limit).envelope) }
            catch { throw NodeError(.failure, "cannot build a self-grant op: \(error)") }
        }
        return out
    }
}

extension Node {
    /// Every key this node opens key entries with: its reader key, the keys it retired (newest
    /// first: what writers sealed to them before they saw the new one), then its node id's box
    /// key (what was sealed to it before it announced one, or by a writer that had not yet seen it).
    /// A row that does not open leaves the box key alone: `announceReaderKeyIfDue` replaces it.
    /// Any other store error is passed up: a view built without the reader key would miss all
    /// that was sealed to it, and a warm view or snapshot would keep that.
    public func openingKeys() throws(NodeError) -> [BoxKeyPair] {
        do {
            if let held = try storedReaderKey() { return [held.keys] + (try retiredReaderKeys()).map(\.keys) + [identity.box] }
        } catch {
            guard error.kind == .corrupt else { throw error }
        }
        return (try retiredReaderKeys()).map(\.keys) + [identity.box]
    }

    /// What is sealed to coordinators is sealed to these: each one's sealing key, and for this
    /// node the one its home holds (`ownSealingKey`), never a key announced for it that it lost.
    func coordinatorKeys(_ m: Membership) -> [BoxPublicKey] {
        m.coordinators.map { $0 == nodeID ? ownSealingKey(m) : m.sealingKey(for: $0) }
    }

    /// What this node seals its own readable ops to: its announced reader key when this home
    /// holds it, else its node id's box key (announced elsewhere, or not yet announced).
    func ownSealingKey(_ m: Membership) -> BoxPublicKey {
        if let rk = m.readerKeys[nodeID.signingKey], !rk.forked,
           let held = try? storedReaderKey(), held.keys.publicKey == rk.key { return rk.key }
        // A reporter's own key: nobody else seals to it, so it needs no announcement.
        if keepsSelfKey(m), let held = try? storedReaderKey() { return held.keys.publicKey }
        return identity.box.publicKey
    }
}

extension Node {
    /// The writers that may still send ops sealed to a key this node retired, and so keep it
    /// from being destroyed (ops.md section 4, "Who may still seal to a retired key"); empty
    /// when no key is retired. A current writer (coordinator or reporter, not this node) has
    /// shown it holds this node's announced key once this node holds its chain, contiguous from
    /// seq 1, up to an op with a key entry that opens with that key: it could seal to the key
    /// only after the announcement reached it, so what it wrote later is not sealed to a retired
    /// one, and what it wrote before is here. A coordinator shows it by its acknowledgement too:
    /// the vector it last sent covers the announcement op, and this node holds its chain up to
    /// that vector's own entry (a reporter is sent membership ops only, so its vector never
    /// covers another writer's, and it shows it with its next write). A revoked writer is waited
    /// on until this node holds its chain up to the last op that counts, which may be sealed to
    /// a retired key. A forked chain shows nothing: a writer's fork may hide a sibling sealed to
    /// a retired key, and with this node's own chain forked, what others hold of it says nothing.
    /// Until the new key is announced (a retirement due), every writer is waited on.
    func writersWaitedOn(_ m: Membership) throws(NodeError) -> [Member] {
        guard !(try retiredReaderKeys()).isEmpty else { return [] }
        let vector = try mapped { try store.versionVector() }
        let forked = Set(try mapped { try store.forks() }.map(\.author))
        let writers = m.members.values.filter { w in
            guard w.role.canWrite, w.node != nodeID else { return false }
            if let last = w.revokedAfter, !forked.contains(w.node.signingKey) { return vector[w.node.signingKey] < last }
            return true
        }.sorted { $0.node < $1.node }
        guard try mapped({ try store.setting(Self.readerRetireDueSetting) }) == nil, !forked.contains(nodeID.signingKey),
              let key = (try? storedReaderKey()) ?? nil, let announced = m.readerKeys[nodeID.signingKey],
              announced.key == key.keys.publicKey, !announced.forked,
              let announcement = try mapped({ try store.envelopes(ids: [announced.op]) }).first else { return writers }
        let acked = Dictionary(try mapped { try store.peers() }.map { ($0.node.signingKey, $0.acked) }, uniquingKeysWith: { a, _ in a })
        // Only what arrived after the announcement can be sealed to its key, when this home wrote
        // it; a home that imported it (a restore) may have stored a writer's later ops first.
        let writtenHere = try mapped { try store.setting(Self.announcedHereSetting) } == announcement.id.bytes
        var waiting: [Member] = []
        for w in writers {
            let author = w.node.signingKey
            if w.isRevoked || forked.contains(author) { waiting.append(w); continue }
            // The announcement may be another coordinator's op carrying this node's statement.
            if w.role == .coordinator, !forked.contains(announcement.author), let v = acked[author],
               v[announcement.author] >= announcement.seq, vector[author] >= v[author] { continue }
            // Reading whole chains cost 0.26 s per 2,000 of a writer's ops at every import.
            let ops = try mapped { writtenHere ? try store.envelopes(author: author, storedAfter: announcement.id) : try store.envelopes(author: author, after: 0) }
            let shown = ops.reversed().contains { e in
                guard e.kind == .sealed, e.seq <= vector[author], let b = try? SealedBody(decoding: e.body) else { return false }
                return b.openSessionKey(with: key.keys) != nil || b.openParentKey(with: key.keys) != nil
            }
            if !shown { waiting.append(w) }
        }
        return waiting
    }
}
