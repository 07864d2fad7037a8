import SandyqCrypto

/// Everything one reader can see of a project: a pure function of the set of ops it holds
/// and its own keys. The same set in any order, with any duplicates, gives the same digest.
public struct ProjectView: Sendable {
    public let project: ProjectID
    public internal(set) var membership: Membership
    public internal(set) var cases = CaseTable()
    public internal(set) var projectName = Register()
    public internal(set) var stats = Stats()
    /// Ops kept but excluded: revoked authors after their revocation point.
    public internal(set) var quarantined: [OpID] = []
    /// The greatest hybrid clock seen, so a new write sorts after everything read.
    public internal(set) var maxClock: UInt64 = 0

    public struct Stats: Sendable, Equatable {
        public var ops = 0
        public var membershipOps = 0
        public var readable = 0
        public var unreadable = 0
        public var awaitingAdmission = 0
        public var quarantined = 0
        public var refused = 0
    }

    /// Derives the view. `envelopes` must be signature-verified (the store only holds such).
    /// `knownSessionKeys` are keys this reader opened before (by author ‖ session id): they
    /// spare the sealed-box opens, and a wrong one only makes its ops fall back to a full read.
    /// `knownParentKeys` are parent keys opened before (by author ‖ parent id), likewise.
    public init(project: ProjectID, envelopes: [Envelope], reader: BoxKeyPair?,
                knownSessionKeys: [SessionID: SymmetricKey] = [:], knownParentKeys: [SessionID: SymmetricKey] = [:]) {
        self.init(project: project, envelopes: envelopes, readers: reader.map { [$0] } ?? [],
                  knownSessionKeys: knownSessionKeys, knownParentKeys: knownParentKeys)
    }

    /// `readers` are every key the reader opens entries with: its reader keys, newest first,
    /// then its node id's box key (what was sealed before it announced one). Empty: no reader.
    public init(project: ProjectID, envelopes: [Envelope], readers: [BoxKeyPair],
                knownSessionKeys: [SessionID: SymmetricKey] = [:], knownParentKeys: [SessionID: SymmetricKey] = [:]) {
        let reader: [BoxKeyPair]? = readers.isEmpty ? nil : readers
        self.project = project
        // Chain order per author, so the op that announces a session key is read first. The
        // store hands envelopes over in that order already, without duplicates: then the
        // dictionary and the sort (a tenth of a rebuild) are skipped.
        func before(_ a: Envelope, _ b: Envelope) -> Bool { (a.author, a.seq, a.id) < (b.author, b.seq, b.id) }
        let ordered: [Envelope]
        if envelopes.allSatisfy({ $0.project == project }), zip(envelopes, envelopes.dropFirst()).allSatisfy({ before($0, $1) }) {
            ordered = envelopes
        } else {
            var unique: [OpID: Envelope] = [:]
            for e in envelopes where e.project == project { unique[e.id] = e }
            ordered = unique.values.sorted(by: before)
        }
        var changes: [Membership.Change] = []
        for e in ordered where e.kind == .membership {
            if let c = try? MembershipChange(decoding: e.body) {
                changes.append(.init(op: e.id, author: e.author, seq: e.seq, change: c))
            }
        }
        // Chains of every author, for tracing what a revocation names back to its ancestors.
        var chains: [SigningPublicKey: [ChainLink]] = [:]
        if changes.contains(where: { if case .revoke = $0.change { true } else { false } }) {
            for e in ordered { chains[e.author, default: []].append(ChainLink(seq: e.seq, id: e.id, prev: e.prev)) }
        }
        membership = Membership.derive(project: project, changes: changes, chain: { [chains] in chains[$0] ?? [] })
        sawRevocation = !chains.isEmpty
        for (i, e) in ordered.enumerated() where i + 1 == ordered.count || ordered[i + 1].author != e.author { tips[e.author] = e.seq }
        stats.ops = ordered.count
        stats.membershipOps = changes.count
        for c in changes where c.op != membership.genesis && membership.standing(author: c.author, op: c.op) == .revoked {
            stats.quarantined += 1
            quarantined.append(c.op)
        }

        // The sealed ops this reader may read, in chain order. Bodies are decoded again where
        // they are used rather than held for the whole log, which would cost 100 MB at 100k ops.
        var readable: [Envelope] = []
        let withdrawn = membership.withdrawn
        for e in ordered where e.kind == .sealed {
            // A node drops a withdrawn op's bytes as soon as it holds the withdrawal; until then
            // (another process's import, say) it is still never read.
            if !withdrawn.isEmpty && withdrawn[e.id] != nil { continue }
            switch membership.standing(author: e.author, op: e.id) {
            case .notMember: stats.awaitingAdmission += 1; continue
            case .revoked: stats.quarantined += 1; quarantined.append(e.id); continue
            case .readOnlyRole: stats.refused += 1; continue
            case .accepted: break
            }
            readable.append(e)
        }
        // The costly, independent steps run on every core: each session's sealed-box entries
        // (one scalar multiplication per entry tried), then each body's decryption and decoding.
        // The pass after them applies in chain order exactly as a one-core read would.
        // A flag-2 op's entries give its parent's key instead, a flag-3 op's nothing: both derive
        // their session key from the parent slot, filled in chain order below. A parent is opened
        // only when one of its sessions is not already known: a member granted a batch's session
        // keys without its parent (added later) would otherwise try it on every rebuild.
        let heads: [(sid: SessionID, parent: SessionID?, entries: Bool)?] = Parallel.map(readable.count, minimum: 64) { i in
            let e = readable[i]
            guard reader != nil, let body = try? SealedBody(decoding: e.body), body.announcesSession else { return nil }
            return (SessionID(author: e.author, body: body), body.parentSlot(author: e.author), body.sealedKeys != nil || body.parentKeys != nil)
        }
        var neededParents = Set<SessionID>()
        for case let (sid, parent?, _)? in heads where knownSessionKeys[sid] == nil && knownParentKeys[parent] == nil {
            neededParents.insert(parent)
        }
        let withEntries = heads.indices.filter { heads[$0]?.entries == true }
        let opened: [(key: SymmetricKey?, opened: Bool)] = Parallel.map(withEntries.count, minimum: 64) { j in
            let i = withEntries[j]
            guard let reader, let head = heads[i], let body = try? SealedBody(decoding: readable[i].body) else { return (nil, false) }
            if let parent = head.parent {
                if let k = knownParentKeys[parent] { return (k, false) }
                return neededParents.contains(parent) ? (body.openParentKey(with: reader), true) : (nil, false)
            }
            if let k = knownSessionKeys[head.sid] { return (k, false) }
            return (body.openSessionKey(with: reader), true)
        }
        boxOpens = opened.count { $0.opened }
        var entryKeys: [(sid: SessionID, key: SymmetricKey)?] = Array(repeating: nil, count: readable.count)
        var next = 0
        for (i, head) in heads.enumerated() {
            guard let head else { continue }
            var key: SymmetricKey?
            if head.entries { key = opened[next].key; next += 1 }
            guard let parent = head.parent else { entryKeys[i] = key.map { (head.sid, $0) }; continue }
            // Rule 1 for parents: the first of the author's entries that opens fills the slot.
            if parentKeys[parent] == nil, let key { parentKeys[parent] = key }
            if head.entries, parentKeys[parent] == nil, !neededParents.contains(parent) { untriedParents.insert(parent) }
            if let k = knownSessionKeys[head.sid] {
                entryKeys[i] = (head.sid, k)
            } else if let p = parentKeys[parent] {
                entryKeys[i] = (head.sid, SealingParent.sessionKey(parent: p, author: head.sid.author, session: head.sid.local))
            }
        }
        var firstKeys: [SessionID: SymmetricKey] = [:]
        for case let (sid, k)? in entryKeys where firstKeys[sid] == nil { firstKeys[sid] = k }
        // A session whose first op the log no longer holds (withdrawn, its later ops kept) opens
        // with the key this reader cached from that op; a session with a first op keeps the rules above.
        let headed = knownSessionKeys.isEmpty ? [] : Set(heads.lazy.compactMap { $0?.sid })
        var pending: [(Envelope, SealedBody)] = []
        // Case edits from the fast path, applied per case on every core at the end: cases are
        // independent states and their merge does not depend on order.
        var deferred: [CaseID: [CaseEdit]] = [:]
        // In windows, so only a window's bodies and payloads are held at once.
        let window = 8192
        for start in stride(from: 0, to: readable.count, by: window) {
            let end = min(start + window, readable.count)
            let opened: [(body: SealedBody, read: (SymmetricKey, Payload)?)?] = Parallel.map(end - start) { j in
                let e = readable[start + j]
                guard reader != nil, let body = try? SealedBody(decoding: e.body) else { return nil }
                let sid = SessionID(author: e.author, body: body)
                guard let k = firstKeys[sid] ?? (headed.contains(sid) ? nil : knownSessionKeys[sid]), let plain = try? body.open(with: k, header: e.header),
                      let payload = try? Payload(decoding: plain) else { return (body, nil) }
                return (body, (k, payload))
            }
            for i in start..<end {
                let e = readable[i]
                guard let (body, ahead) = opened[i - start] else { stats.unreadable += 1; continue }
                let sid = SessionID(author: e.author, body: body)
                if let (entrySid, k) = entryKeys[i], sessionKeys[entrySid] == nil { sessionKeys[entrySid] = k }
                if sessionKeys[sid] == nil, !knownSessionKeys.isEmpty, !headed.contains(sid), let k = knownSessionKeys[sid] { sessionKeys[sid] = k }
                // Opened ahead with the very key a one-core read would try first: same result.
                if let (k, payload) = ahead, sessionKeys[sid] == k {
                    stats.readable += 1
                    apply(payload, op: e.id, author: e.author, deferringCasesTo: &deferred)
                    noteSession(sid, payload)
                } else if !read(e, body) {
                    pending.append((e, body))
                }
            }
            // Each window's case edits, case by case on every core.
            let edits = Array(deferred)
            deferred.removeAll(keepingCapacity: true)
            // Moved out of `cases` into slots each worker owns, so no state is copied on write.
            let slots = UnsafeMutablePointer<CaseState>.allocate(capacity: max(1, edits.count))
            for (i, e) in edits.enumerated() { (slots + i).initialize(to: cases.removeValue(forKey: e.key) ?? CaseState(id: e.key)) }
            _ = Parallel.map(edits.count, minimum: 64) { i in
                for e in edits[i].value { slots[i].apply(e.mutation, op: e.op, author: e.author, clock: e.clock) }
            }
            for (i, e) in edits.enumerated() { cases[e.key] = (slots + i).move() }
            slots.deallocate()
        }
        // Grants read in the first pass may unlock ops that came before them.
        readUntilSettled(&pending)
        stats.unreadable += pending.count
        for (e, body) in pending { unreadSessions.insert(SessionID(author: e.author, body: body)) }
        quarantined.sort()
    }

    /// Session announcements this view opened from their sealed boxes (one scalar multiplication
    /// per entry tried) because `knownSessionKeys` lacked them: what the cache saves, observable.
    public internal(set) var boxOpens = 0

    /// Session content keys this reader holds, by author ‖ session id.
    public internal(set) var sessionKeys: [SessionID: SymmetricKey] = [:]

    /// Parent keys this reader holds, by author ‖ parent id: a later op may derive from them.
    public internal(set) var parentKeys: [SessionID: SymmetricKey] = [:]

    /// Parents whose entries were not opened because every session of theirs was known: a new
    /// session deriving from one needs a rebuild, which opens it.
    var untriedParents: Set<SessionID> = []

    /// Which sessions carried each case's ops: what `case share` must grant.
    public internal(set) var caseSessions: [CaseID: Set<SessionID>] = [:]

    /// Keys offered by grants and not yet proven by opening an op: a member could grant a
    /// wrong key for someone else's session, so none is trusted until it opens one.
    var grantedKeys: [SessionID: [SymmetricKey]] = [:]

    /// Each author's highest seq applied: an op above it extends the chain, as a rebuild reads it.
    var tips: [SigningPublicKey: UInt64] = [:]
    /// Whether any revocation was seen: standing then depends on each op's place in its chain.
    var sawRevocation = false
    /// Sessions with ops this reader could not open: a key learned later may open them.
    var unreadSessions: Set<SessionID> = []

    mutating func read(_ e: Envelope, _ body: SealedBody) -> Bool {
        let sid = SessionID(author: e.author, body: body)
        var candidates = grantedKeys[sid] ?? []
        if let k = sessionKeys[sid] { candidates.insert(k, at: 0) }
        var opened: (SymmetricKey, [UInt8])?
        for k in candidates {
            if let plain = try? body.open(with: k, header: e.header) { opened = (k, plain); break }
        }
        guard let (key, plain) = opened, let payload = try? Payload(decoding: plain) else { return false }
        if sessionKeys[sid] != key { sessionKeys[sid] = key }
        stats.readable += 1
        apply(payload, op: e.id, author: e.author)
        noteSession(sid, payload)
        return true
    }

    mutating func noteSession(_ sid: SessionID, _ payload: Payload) {
        // Coordinators only: sharing the case with a lawyer must not grant this session.
        if CaseSchema.onlyWithheld(payload.mutations) { return }
        for m in payload.mutations {
            switch m {
            case let .put(c, _, _, _), let .add(c, _, _), let .remove(c, _, _, _): caseSessions[c, default: []].insert(sid)
            case .projectName, .grant, .withdrawalNote, .withdrawnCases, .withdrawnElement: break
            }
        }
    }

    /// Adds an op this node just wrote and can read, without rebuilding the whole view.
    public mutating func applyLocal(_ payload: Payload, envelope: Envelope, session: SealingSession) {
        let sid = SessionID(author: envelope.author, session: session)
        sessionKeys[sid] = session.key
        if let p = session.parent { parentKeys[SessionID(author: envelope.author, unchecked: p.id)] = p.key }
        tips[envelope.author] = max(tips[envelope.author] ?? 0, envelope.seq)
        stats.ops += 1
        stats.readable += 1
        apply(payload, op: envelope.id, author: envelope.author)
        noteSession(sid, payload)
    }

    struct CaseEdit {
        let mutation: Mutation
        let op: OpID
        let author: SigningPublicKey
        let clock: UInt64
    }

    mutating func apply(_ payload: Payload, op: OpID, author: SigningPublicKey) {
        var none: [CaseID: [CaseEdit]]? = nil
        apply(payload, op: op, author: author, deferring: &none)
    }

    mutating func apply(_ payload: Payload, op: OpID, author: SigningPublicKey, deferringCasesTo deferred: inout [CaseID: [CaseEdit]]) {
        var some: [CaseID: [CaseEdit]]? = deferred
        deferred = [:]
        apply(payload, op: op, author: author, deferring: &some)
        deferred = some!
    }

    /// With `deferring`, case edits are collected there instead of applied.
    private mutating func apply(_ payload: Payload, op: OpID, author: SigningPublicKey, deferring: inout [CaseID: [CaseEdit]]?) {
        maxClock = max(maxClock, payload.clock)
        for m in payload.mutations {
            let c: CaseID
            switch m {
            case let .put(id, _, _, _), let .add(id, _, _), let .remove(id, _, _, _): c = id
            case let .projectName(name):
                // Renames are rare: every write survives and the latest clock shows.
                projectName.insert(Write(op: op, author: author, clock: payload.clock, value: name, supersedes: []))
                continue
            case let .grant(session, key):
                if let k = try? SymmetricKey(SecureBytes(key)), sessionKeys[session] == nil {
                    grantedKeys[session, default: []].append(k)
                }
                continue
            case .withdrawalNote, .withdrawnCases, .withdrawnElement:
                // Read where it is shown (Node.withdrawalRecords), not kept in the view.
                continue
            }
            if deferring != nil {
                deferring![c, default: []].append(CaseEdit(mutation: m, op: op, author: author, clock: payload.clock))
            } else {
                cases[c, default: CaseState(id: c)].apply(m, op: op, author: author, clock: payload.clock)
            }
        }
    }

    /// BLAKE2b-256 over the canonical form of every case and the project name.
    public var digest: String {
        var w = ByteWriter(capacity: 1 << 16)
        w.raw(project.bytes)
        for s in projectName.survivors { w.raw(s.op.bytes); w.string(s.value) }
        for c in cases.values.sorted(by: { $0.id < $1.id }) { c.canonical(into: &w) }
        return Hex.encode(Hash.blake2b(w.bytes))
    }

    /// Cases in a stable order: oldest first, then by id.
    public var orderedCases: [CaseState] {
        cases.values.sorted { ($0.firstClock, $0.id) < ($1.firstClock, $1.id) }
    }

    /// Finds a case by id prefix or by its `ref` field.
    public func resolve(_ ref: String) throws(CoreError) -> CaseID {
        let needle = ref.lowercased()
        var hits = cases.keys.filter { $0.description.hasPrefix(needle) && needle.count >= 4 }
        if hits.isEmpty { hits = cases.values.filter { $0.value("ref") == ref }.map(\.id) }
        if hits.count == 1 { return hits[0] }
        if hits.isEmpty { throw .unknownCase(ref) }
        throw .ambiguousCase(ref)
    }
}
