import SandyqCore
import SandyqCrypto
import SandyqStore

/// A reporter's own key (ops.md section 4, "A reporter's own key"). Nothing is sealed to a
/// reporter but by the reporter itself, so it seals its own entries to a key no other node needs
/// to know: kept in the `reader-key` row like a coordinator's, never announced, and replaced,
/// with no wait, as soon as a withdrawal reaches it.
extension Node {
    /// Set by a replacement: the reporter's next change grants its kept sessions to the new key.
    static let selfGrantOwedSetting = "self-grant-owed"

    /// Whether this node seals its own entries to a key of its own: a current reporter that reads
    /// what it records.
    func keepsSelfKey(_ m: Membership) -> Bool {
        guard !isWriteOnly, let me = m.members[nodeID.signingKey] else { return false }
        return me.role == .reporter && !me.isRevoked
    }

    /// Whether a withdrawal that names ops (`named`), and stubs `doomed` here, makes this node's
    /// own key due for replacement. A reporter's key opens only its own ops, and only those this
    /// home holds sealed: a restored home applies old withdrawals to ops it never got back, and
    /// its key (from pieces split after them) must open its kept ops as they arrive. By each op's
    /// real author, not the withdrawal's claim. A key it announced as a coordinator (demoted
    /// since) opens others' ops too: any withdrawal replaces it. Write-only or revoked since, a
    /// reporter that still holds a key replaces it all the same.
    func replacesSelfKey(_ m: Membership, doomed: [Envelope], named: Bool) -> Bool {
        guard m.members[nodeID.signingKey]?.role == .reporter,
              (try? store.setting(Self.readerKeySetting)) ?? nil != nil || keepsSelfKey(m) else { return false }
        if m.readerKeys[nodeID.signingKey] != nil { return named }
        return doomed.contains { $0.author == nodeID.signingKey }
    }

    /// Before a reporter's change (and a split of its pieces): a key of its own when it has none
    /// that opens, stored alone (no op: nobody else seals to it), and the self-grant a replacement
    /// owes. Two processes at once store one key: the row is read again inside the transaction.
    func prepareSelfKey(_ m: Membership) throws(NodeError) {
        guard keepsSelfKey(m) else { return }
        guard try mapped({ try store.setting(Self.restoredSetting) }) == nil else { return }
        let row = try mapped { try store.setting(Self.readerKeySetting) }
        // A damaged row opens nothing: what was sealed to it is lost to this node alone.
        if (try? storedReaderKey()) ?? nil == nil {
            let sealed = storeReaderKey(epoch: 1, BoxKeyPair())
            do {
                try store.atomically {
                    guard try self.store.setting(Self.readerKeySetting) == row else { return }
                    try self.store.setSetting(Self.readerKeySetting, sealed)
                }
            } catch { throw NodeError.from(error) }
        }
        try writeOwedSelfGrant(m)
    }

    /// The self-grant a replacement owes: every own session that carried content, whose key
    /// this node holds and whose entries open with no key it keeps, granted to its current key
    /// alone, so a lost key cache or a restore from pieces split later reads them.
    func writeOwedSelfGrant(_ m: Membership) throws(NodeError) {
        guard let owed = try mapped({ try store.setting(Self.selfGrantOwedSetting) }), !isWriteOnly else { return }
        let rowBefore = try mapped { try store.setting(Self.readerKeySetting) }
        guard let current = try storedReaderKey() else { return }
        let v = try view()
        let known = cachedKeys().sessions.merging(v.sessionKeys) { a, _ in a }
        let kept = [current.keys, identity.box]
        var opens = Set<SessionID>(), content = Set<SessionID>()
        for e in try mapped({ try store.envelopes(author: nodeID.signingKey, after: 0) }) where e.kind == .sealed {
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            let sid = SessionID(author: e.author, body: b)
            if b.openSessionKey(with: kept) != nil || b.openParentKey(with: kept) != nil { opens.insert(sid) }
            guard !content.contains(sid), let k = known[sid], let plain = try? b.open(with: k, header: e.header),
                  let p = try? Payload(decoding: plain) else { continue }
            if p.carriesContent { content.insert(sid) }
        }
        let keys = known.filter { content.contains($0.key) && !opens.contains($0.key) }
        let w = try writer()
        guard m.isAllowed(author: nodeID.signingKey, seq: w.seq + 1) else { return }
        let grants: [Envelope]
        do { grants = try selfGrant(to: current.keys.publicKey, keys: keys, with: w) } catch {
            activeWriter = nil
            throw error
        }
        try commit(grants, project: m.project) {
            guard try self.store.setting(Self.selfGrantOwedSetting) == owed,
                  try self.store.setting(Self.readerKeySetting) == rowBefore else {
                throw NodeError(.conflict, "another process on this home replaced this node's key at the same moment; nothing was recorded", code: Self.writeRacedCode)
            }
            try self.store.deleteSetting(Self.selfGrantOwedSetting)
        }
    }

    /// Replaces a reporter's own key once a withdrawal reached it (the due mark): every own held
    /// op's session key is cached first (so what it keeps still reads), then, in one scrubbing
    /// transaction that checks nothing moved meanwhile, a fresh key takes the row, every cached
    /// parent and grant-only session of its own that only the old key opened is forgotten, and
    /// the view snapshot is deleted. Writes no op: it runs inside an import. Returns whether it
    /// replaced the key.
    @discardableResult
    func replaceSelfKeyIfDue() throws(NodeError) -> Bool {
        guard let due = try mapped({ try store.setting(Self.readerRetireDueSetting) }),
              (try? storedMembership())?.members[nodeID.signingKey]?.role == .reporter else { return false }
        if changedElsewhere() { catchUpWarmView() }
        let dataVersion = try mapped { try store.dataVersion() }
        let rowBefore = try mapped { try store.setting(Self.readerKeySetting) }
        let stamp = try mapped { try store.membershipStamp() }
        let m = try storedMembership()
        guard m.members[nodeID.signingKey]?.role == .reporter, try mapped({ try store.membershipUnapplied() }) == nil else { return false }
        // Write-only (switched since) or revoked: the key goes, and nothing is read back or granted.
        let reads = keepsSelfKey(m)
        let heldKey = (try? storedReaderKey()) ?? nil
        let old = heldKey.map { [$0.keys] } ?? []
        let retired = try retiredReaderKeys().map(\.keys)
        let me = nodeID.signingKey
        // The view opens with the old key and caches what it read.
        let v = try view()
        let known = cachedKeys()
        var sessions = known.sessions.merging(v.sessionKeys) { a, _ in a }
        var parents = known.parents.merging(v.parentKeys) { a, _ in a }
        let kept = [identity.box]
        var keptSessions = Set<SessionID>(), keptParents = Set<SessionID>(), content = Set<SessionID>(), held = Set<SessionID>()
        for e in try mapped({ try store.envelopes(author: me, after: 0) }) where e.kind == .sealed && m.withdrawn[e.id] == nil {
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            let sid = SessionID(author: e.author, body: b)
            held.insert(sid)
            if b.sealedKeys != nil, !keptSessions.contains(sid) {
                if b.openSessionKey(with: kept) != nil { keptSessions.insert(sid) }
                else if sessions[sid] == nil, let k = b.openSessionKey(with: old + retired) { sessions[sid] = k }
            }
            if let slot = b.parentSlot(author: e.author) {
                if b.parentKeys != nil, !keptParents.contains(slot) {
                    if b.openParentKey(with: kept) != nil { keptParents.insert(slot) }
                    else if parents[slot] == nil, let p = b.openParentKey(with: old + retired) { parents[slot] = p }
                }
                if keptParents.contains(slot) { keptSessions.insert(sid) }
                if sessions[sid] == nil, let p = parents[slot] { sessions[sid] = b.derivedKey(parent: p, author: e.author) }
            }
            if let k = sessions[sid], let plain = try? b.open(with: k, header: e.header), let p = try? Payload(decoding: plain),
               p.carriesContent { content.insert(sid) }
        }
        // A session of grants alone that the old key opened (an earlier self-grant): its cached
        // key would hand out, through its grants, what a later withdrawal took.
        let grantOnly = held.filter { !content.contains($0) && !keptSessions.contains($0) }
        let toCache = CachedKeys(sessions: reads ? sessions.filter { held.contains($0.key) && !grantOnly.contains($0.key) } : [:], parents: [:])
        guard cacheKeys(toCache, except: cachedKeys(), ifDataVersion: dataVersion) else { return false }
        let epoch = (heldKey?.epoch ?? 0).addingReportingOverflow(1)
        let sealed = storeReaderKey(epoch: epoch.overflow ? 1 : epoch.partialValue, BoxKeyPair())
        let mark = Self.keysDestroyedMark()
        do {
            try store.atomically {
                guard try self.store.dataVersion() == dataVersion,
                      try self.store.setting(Self.readerKeySetting) == rowBefore,
                      try self.store.setting(Self.readerRetireDueSetting) == due,
                      try self.store.membershipStamp() == stamp else {
                    throw NodeError(.conflict, "another process on this home changed the log or the keys while this node's key was replaced; nothing was replaced: it is tried again at the next sync", code: Self.writeRacedCode)
                }
                let cached = self.cachedKeys()
                let ownParents = cached.parents.keys.filter { $0.author == me && !keptParents.contains($0) }
                try self.store.forgetSessionKeys(tags: self.cacheTags(sessions: cached.sessions.keys.filter { grantOnly.contains($0) }, parents: ownParents))
                try self.store.setSetting(Self.readerKeySetting, sealed)
                try self.store.deleteSettings(prefix: Self.retiredReaderKeyPrefix)
                try self.store.deleteSettings(prefix: Self.snapshotPrefix)
                try self.store.setSetting(Self.readerKeysDestroyedSetting, mark)
                if reads { try self.store.setSetting(Self.selfGrantOwedSetting, Random.bytes(16)) }
                try self.store.deleteSetting(Self.readerRetireDueSetting)
                try self.store.markScrubPending()
            }
        } catch { throw NodeError.from(error) }
        _ = try? store.finishScrub()
        invalidateView()
        keysDestroyedSeen = mark
        return true
    }

    /// `replaceSelfKeyIfDue` where a failure must not fail what called it (an import, an open).
    func replaceSelfKeyQuietly() {
        do { try replaceSelfKeyIfDue() } catch {
            warn?("this node's own key is not yet replaced after a withdrawal (\(error.message)); it is tried again at the next sync or start")
        }
    }
}
