import SandyqCrypto

extension ProjectView {
    /// Applies ops stored after everything this view has read, giving exactly the view a
    /// rebuild over all of them would (same digest, stats and keys). Returns false where only a
    /// rebuild is sound: a membership op other than a reader key, any revocation, an op that is not above its author's
    /// highest applied seq (a fork, a filled gap), or a key that may open ops read before
    /// without it. After false the view is no longer meaningful: derive it anew.
    public mutating func absorb(_ envelopes: [Envelope], reader: BoxKeyPair?,
                                knownSessionKeys: [SessionID: SymmetricKey] = [:],
                                knownParentKeys: [SessionID: SymmetricKey] = [:]) -> Bool {
        absorb(envelopes, readers: reader.map { [$0] } ?? [], knownSessionKeys: knownSessionKeys, knownParentKeys: knownParentKeys)
    }

    /// As above, with every key the reader opens entries with (see `init(readers:)`).
    public mutating func absorb(_ envelopes: [Envelope], readers: [BoxKeyPair],
                                knownSessionKeys: [SessionID: SymmetricKey] = [:],
                                knownParentKeys: [SessionID: SymmetricKey] = [:]) -> Bool {
        let reader: [BoxKeyPair]? = readers.isEmpty ? nil : readers
        guard !sawRevocation else { return false }
        var unique: [OpID: Envelope] = [:]
        for e in envelopes where e.project == project { unique[e.id] = e }
        let ordered = unique.values.sorted { ($0.author, $0.seq, $0.id) < ($1.author, $1.seq, $1.id) }
        // Copies share storage until written: what was known before this batch.
        let keysBefore = sessionKeys, grantsBefore = grantedKeys, unreadBefore = unreadSessions
        var pending: [(Envelope, SealedBody)] = []
        for e in ordered {
            guard e.seq > tips[e.author] ?? 0 else { return false }
            if e.kind == .membership {
                // A reader-key announcement (a coordinator's first write) changes no member or
                // standing: taken in place. Any other membership op, or one a revocation
                // quarantines, needs a rebuild.
                guard case let .readerKey(s)? = try? MembershipChange(decoding: e.body),
                      membership.standing(author: e.author, op: e.id) != .revoked else { return false }
                tips[e.author] = e.seq
                stats.ops += 1
                stats.membershipOps += 1
                membership.absorbReaderKey(s, op: e.id, author: e.author)
                continue
            }
            guard e.kind == .sealed else { return false }
            tips[e.author] = e.seq
            stats.ops += 1
            switch membership.standing(author: e.author, op: e.id) {
            case .notMember: stats.awaitingAdmission += 1; continue
            case .readOnlyRole: stats.refused += 1; continue
            case .revoked: return false
            case .accepted: break
            }
            guard let reader, let body = try? SealedBody(decoding: e.body) else { stats.unreadable += 1; continue }
            let sid = SessionID(author: e.author, body: body)
            if let slot = body.parentSlot(author: e.author) {
                if body.parentKeys != nil, parentKeys[slot] == nil {
                    let k: SymmetricKey?
                    if let known = knownParentKeys[slot] { k = known } else { k = body.openParentKey(with: reader); boxOpens += 1 }
                    if let k { parentKeys[slot] = k; untriedParents.remove(slot) }
                }
                if sessionKeys[sid] == nil {
                    if let known = knownSessionKeys[sid] {
                        sessionKeys[sid] = known
                    } else if let p = parentKeys[slot] {
                        sessionKeys[sid] = body.derivedKey(parent: p, author: e.author)
                    } else if untriedParents.contains(slot) {
                        return false
                    }
                }
            } else if body.sealedKeys != nil, sessionKeys[sid] == nil {
                let k: SymmetricKey?
                if let known = knownSessionKeys[sid] { k = known } else { k = body.openSessionKey(with: reader); boxOpens += 1 }
                if let k { sessionKeys[sid] = k }
            }
            let held = sessionKeys[sid]
            if read(e, body) {
                // Opened with a granted key where another was held: a rebuild may hold other grants.
                if let held, sessionKeys[sid] != held { return false }
            } else {
                pending.append((e, body))
            }
        }
        // Grants in this batch may open ops before them, as in a rebuild's second pass.
        readUntilSettled(&pending)
        for (e, body) in pending {
            let sid = SessionID(author: e.author, body: body)
            // A session with a key that does not open this op: which grants a rebuild would have
            // kept for it depends on an order this view no longer has.
            if sessionKeys[sid] != nil || grantedKeys[sid] != nil { return false }
            stats.unreadable += 1
            unreadSessions.insert(sid)
        }
        // A key learned now may open ops of that session that stayed unread before.
        for sid in unreadBefore where sessionKeys[sid] != keysBefore[sid] || grantedKeys[sid]?.count != grantsBefore[sid]?.count {
            return false
        }
        return true
    }
}

extension ProjectView {
    /// Reads what `pending` holds again until a pass opens nothing more: a grant read late
    /// may open ops that came before it. What stays unread is left in `pending`.
    mutating func readUntilSettled(_ pending: inout [(Envelope, SealedBody)]) {
        var progressed = true
        while progressed && !pending.isEmpty {
            progressed = false
            pending = pending.filter { e, body in
                if read(e, body) { progressed = true; return false }
                return true
            }
        }
    }
}
