import SandyqCore
import SandyqCrypto
import SandyqStore

extension Node {
    /// A fresh random mark, set by each destroy: another process on the home that sees it change
    /// drops its warm view, which may hold keys only a destroyed key opened.
    static let readerKeysDestroyedSetting = "reader-keys-destroyed"

    /// Destroys this coordinator's retired reader keys once no writer may still seal to them
    /// (ops.md section 4, "Destroying the retired keys"): nobody is waited on
    /// (`writersWaitedOn`), the new key is announced, and nothing is due. First every held op
    /// whose key entries open only with a retired key gives its session key to the cache (the
    /// ops the view did not read, quarantined or awaiting admission, too), and those sessions
    /// that carried content and are not already granted to a kept key are granted to the new
    /// key (a self-grant), so a restore from pieces split later still reads them. Then, in one
    /// scrubbing transaction that checks nothing moved meanwhile: the retired rows, every
    /// cached parent whose entries open only with a retired key (it may derive a withdrawn
    /// session; its held sessions are cached one by one) and the view snapshot are deleted.
    /// Returns whether keys were destroyed.
    @discardableResult
    func destroyRetiredKeysIfShown() throws(NodeError) -> Bool {
        let retiredRows = try mapped { try store.settings(prefix: Self.retiredReaderKeyPrefix) }
        guard !retiredRows.isEmpty else { return false }
        if changedElsewhere() { catchUpWarmView() }
        // Read first: the destroy commits only if no other connection committed after this.
        let dataVersion = try mapped { try store.dataVersion() }
        let rowBefore = try mapped { try store.setting(Self.readerKeySetting) }
        let stamp = try mapped { try store.membershipStamp() }
        let through = try mapped { try store.lastRow() }
        let m = try storedMembership()
        guard let me = m.members[nodeID.signingKey], me.role == .coordinator, !me.isRevoked,
              try mapped({ try store.setting(Self.readerRetireDueSetting) }) == nil,
              try mapped({ try store.setting(Self.restoredSetting) }) == nil,
              // A withdrawal stored and not yet carried out: its ops are still here.
              try mapped({ try store.membershipUnapplied() }) == nil,
              let current = try storedReaderKey(), let announced = m.readerKeys[nodeID.signingKey],
              announced.key == current.keys.publicKey, !announced.forked,
              !(try mapped { try store.forks() }.contains { $0.author == nodeID.signingKey }),
              try writersWaitedOn(m).isEmpty else { return false }
        let retired = try retiredReaderKeys().map(\.keys)
        let kept = [current.keys, identity.box]
        // The view opens with every key still held and caches what it read.
        let v = try view()
        let known = cachedKeys()
        var sessions = known.sessions.merging(v.sessionKeys) { a, _ in a }
        var parents = known.parents.merging(v.parentKeys) { a, _ in a }
        let envs = try mapped { try store.allEnvelopes(throughRow: through) }
        // Sessions and parents whose entries open with a kept key (the new reader key, or the
        // node id's box key): these stay readable without the cache.
        var keptSessions = Set<SessionID>(), keptParents = Set<SessionID>()
        var content = Set<SessionID>(), held = Set<SessionID>()
        // Grants read with a kept key in ops that count, as the view reads them: a grant
        // counts only when its key is the session's (a seized writer's junk grant does not).
        var claims: [(session: SessionID, key: [UInt8])] = []
        // Every grant read, whatever opened it, offers its key to a session no entry opened here
        // (the ops of an author revoked or not yet admitted, which the view does not read); a key
        // counts once it opens an op of that session.
        var offered: [SessionID: [[UInt8]]] = [:]
        var unopened: [SessionID: [(Envelope, SealedBody)]] = [:]
        func read(_ e: Envelope, _ b: SealedBody, _ sid: SessionID, with k: SymmetricKey) -> Bool {
            guard let plain = try? b.open(with: k, header: e.header), let p = try? Payload(decoding: plain) else { return false }
            let counts = m.standing(author: e.author, op: e.id) == .accepted
            for mutation in p.mutations {
                if case let .grant(s, key) = mutation {
                    if counts && keptSessions.contains(sid) { claims.append((s, key)) }
                    offered[s, default: []].append(key)
                } else {
                    content.insert(sid)
                }
            }
            return true
        }
        for e in envs where e.kind == .sealed && m.withdrawn[e.id] == nil {
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            let sid = SessionID(author: e.author, body: b)
            held.insert(sid)
            if b.sealedKeys != nil, !keptSessions.contains(sid) {
                if b.openSessionKey(with: kept) != nil { keptSessions.insert(sid) }
                else if sessions[sid] == nil, let k = b.openSessionKey(with: retired) { sessions[sid] = k }
            }
            if let slot = b.parentSlot(author: e.author) {
                if b.parentKeys != nil, !keptParents.contains(slot) {
                    if b.openParentKey(with: kept) != nil { keptParents.insert(slot) }
                    else if parents[slot] == nil, let p = b.openParentKey(with: retired) { parents[slot] = p }
                }
                if keptParents.contains(slot) { keptSessions.insert(sid) }
                if sessions[sid] == nil, let p = parents[slot] { sessions[sid] = b.derivedKey(parent: p, author: e.author) }
            }
            if let k = sessions[sid] { _ = read(e, b, sid, with: k) } else { unopened[sid, default: []].append((e, b)) }
        }
        // Offered keys, to a fixpoint: a session a grant opens may hold grants in turn.
        var progress = true
        while progress {
            progress = false
            for (sid, ops) in unopened where sessions[sid] == nil {
                for key in offered[sid] ?? [] {
                    guard let k = try? SymmetricKey(SecureBytes(key)), let (e, b) = ops.first, read(e, b, sid, with: k) else { continue }
                    sessions[sid] = k
                    for (e, b) in ops.dropFirst() { _ = read(e, b, sid, with: k) }
                    progress = true
                    break
                }
            }
        }
        var granted = Set<SessionID>()
        for c in claims where sessions[c.session]?.secret.unsafeCopy == c.key { granted.insert(c.session) }
        let owed = sessions.filter { held.contains($0.key) && content.contains($0.key) && !keptSessions.contains($0.key) && !granted.contains($0.key) }
        // A session that carried grants alone and opens only with a retired key (an earlier
        // self-grant, another coordinator's grant): through its cached key the grants would
        // still give what a later withdrawal took. Its kept targets are cached one by one.
        let grantOnly = held.filter { !content.contains($0) && !keptSessions.contains($0) }
        // Every other held session's key is cached before anything is deleted; a cache that
        // cannot take them (another process committed meanwhile) stops the destroy until next time.
        let toCache = CachedKeys(sessions: sessions.filter { held.contains($0.key) && !grantOnly.contains($0.key) }, parents: [:])
        guard cacheKeys(toCache, except: cachedKeys(), ifDataVersion: dataVersion) else { return false }
        let mark = Self.keysDestroyedMark()
        func destroying(_ mine: Set<OpID>) -> () throws -> Void { {
            // Nothing this destroy read may have moved: no other connection committed since it
            // began (a withdrawal, a key another process stored or retired, membership, ops).
            let after = try self.store.envelopes(afterRow: through).envelopes
            guard try self.store.dataVersion() == dataVersion,
                  try self.store.setting(Self.readerKeySetting) == rowBefore,
                  try self.store.setting(Self.readerRetireDueSetting) == nil,
                  try self.store.settings(prefix: Self.retiredReaderKeyPrefix).map(\.key) == retiredRows.map(\.key),
                  try self.store.membershipStamp() == stamp,
                  after.allSatisfy({ mine.contains($0.id) }) else {
                throw NodeError(.conflict, "another process on this home changed the log or the keys while retired keys were being destroyed; nothing was destroyed: it is tried again at the next sync", code: Self.writeRacedCode)
            }
            // Read here, inside the transaction: rows cached up to now are judged too.
            let cached = self.cachedKeys()
            let forgotten = self.cacheTags(sessions: cached.sessions.keys.filter { grantOnly.contains($0) },
                                           parents: cached.parents.keys.filter { !keptParents.contains($0) })
            try self.store.forgetSessionKeys(tags: forgotten)
            try self.store.deleteSettings(prefix: Self.retiredReaderKeyPrefix)
            try self.store.deleteSettings(prefix: Self.snapshotPrefix)
            try self.store.setSetting(Self.readerKeysDestroyedSetting, mark)
            try self.store.markScrubPending()
        } }
        if owed.isEmpty {
            do { try store.atomically(destroying([])) } catch { throw NodeError.from(error) }
        } else {
            let w = try writer()
            let grants: [Envelope]
            do { grants = try selfGrant(to: current.keys.publicKey, keys: owed, with: w) } catch {
                activeWriter = nil
                throw error
            }
            try commit(grants, project: m.project, alongside: destroying(Set(grants.map(\.id))))
        }
        _ = try? store.finishScrub()
        invalidateView()
        keysDestroyedSeen = mark
        return true
    }

    /// `destroyRetiredKeysIfShown` where a failure must not fail what called it (an import, an
    /// open): said, and tried again at the next one.
    func destroyRetiredKeysQuietly() {
        do { try destroyRetiredKeysIfShown() } catch {
            warn?("the retired reader keys are not yet destroyed (\(error.message)); it is tried again at the next sync or start")
        }
    }

    /// A fresh `reader-keys-destroyed` value: random, so another process sees each destroy; then
    /// when, so pieces split before it read as holding a destroyed key (`backupPiecesStatus`).
    static func keysDestroyedMark() -> [UInt8] {
        var w = ByteWriter(capacity: 24)
        w.raw(Random.bytes(16))
        w.u64(wallMillis())
        return w.bytes
    }

    /// When this home last destroyed retired keys (wall ms); nil if never.
    func keysDestroyedAt() -> UInt64? {
        guard let mark = (try? store.setting(Self.readerKeysDestroyedSetting)) ?? nil, mark.count == 24 else { return nil }
        return mark[16...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// Whether another process destroyed retired keys since this one last looked: its warm view
    /// may hold keys that only they opened, which a snapshot it wrote would keep.
    func forgetViewIfKeysDestroyed() {
        let mark = (try? store.setting(Self.readerKeysDestroyedSetting)) ?? nil
        if mark != keysDestroyedSeen { warm = nil }
        keysDestroyedSeen = mark
    }
}

extension Node.CachedKeys {
    init(sessions: [SessionID: SymmetricKey], parents: [SessionID: SymmetricKey]) {
        self.init()
        self.sessions = sessions
        self.parents = parents
    }
}
