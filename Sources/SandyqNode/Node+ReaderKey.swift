import SandyqCore
import SandyqCrypto
import SandyqStore

extension Node {
    static let readerKeySetting = "reader-key"
    static let readerKeyAD = Array("sandyq-reader-key".utf8)

    /// This node's reader key and its epoch, kept in the store under the storage key (so a
    /// rotation needs no passphrase); nil until the node first announces one.
    func storedReaderKey() throws(NodeError) -> (epoch: UInt32, keys: BoxKeyPair)? {
        guard let sealed = try mapped({ try store.setting(Self.readerKeySetting) }) else { return nil }
        guard let plain = try? StorageSeal(identity).open(sealed, associatedData: Self.readerKeyAD), plain.count == 4 + 32,
              let keys = try? BoxKeyPair(secretKey: SecureBytes(Array(plain[4...]))) else {
            throw NodeError(.corrupt, "the stored reader key does not open with this node's keys")
        }
        let epoch = plain[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (epoch, keys)
    }

    func storeReaderKey(epoch: UInt32, _ keys: BoxKeyPair) -> [UInt8] {
        var w = ByteWriter(capacity: 36)
        w.u32(epoch)
        w.raw(keys.secretKey.unsafeCopy)
        return StorageSeal(identity).seal(SecureBytes(w.bytes), associatedData: Self.readerKeyAD)
    }

    /// The announcement a coordinator's node owes: its reader key, when membership does not hold
    /// it yet. A node whose key membership does not know, at an epoch membership has already
    /// passed (restored from backup pieces, or its store lost the key), moves to a new key one
    /// epoch above the announced one, so it never forks its own epoch; so does a node whose row
    /// no longer opens. Nil when nothing is owed, or when no epoch is left above the announced
    /// one (only a copy of this node's key can have announced the last: it must be revoked).
    func readerKeyAnnouncement(_ m: Membership) throws(NodeError) -> (op: MembershipChange, sealed: [UInt8]?)? {
        guard let me = m.members[nodeID.signingKey], me.role == .coordinator, !me.isRevoked else { return nil }
        let announced = m.readerKeys[nodeID.signingKey]
        var held: (epoch: UInt32, keys: BoxKeyPair)?
        do { held = try storedReaderKey() } catch {
            // A damaged row must not stop a coordinator's work: it moves to a new key instead.
            warn?("\(error.message): this node announces a new reader key")
        }
        if let h = held, let a = announced, h.epoch == a.epoch, h.keys.publicKey == a.key { return nil }
        var sealed: [UInt8]?
        if held == nil || announced.map({ held!.epoch <= $0.epoch }) == true {
            let (epoch, overflow) = (announced?.epoch ?? 0).addingReportingOverflow(1)
            if overflow {
                warn?("another device announced this node's last reader-key epoch: its key was copied; revoke this device and admit a new one")
                return nil
            }
            let fresh = BoxKeyPair()
            sealed = storeReaderKey(epoch: epoch, fresh)
            held = (epoch, fresh)
        }
        let statement = ReaderKeyStatement(project: m.project, signer: identity.signing, epoch: held!.epoch, key: held!.keys.publicKey)
        return (.readerKey(statement), sealed)
    }

    /// Writes the announcement this coordinator owes, with the new key stored in the same
    /// transaction (so a crash leaves neither or both). Runs before a coordinator's first write
    /// in a process, and again after membership changes: the founder announces with its
    /// genesis, a coordinator admitted later with its first own change (a node that only reads
    /// seals nothing and is sealed to by its node id).
    func announceReaderKeyIfDue() throws(NodeError) {
        // Another process on this home may have written since: its ops move the chain head, and
        // its announcement may already be the one owed.
        if changedElsewhere() { catchUpWarmView() }
        let m = try storedMembership()
        // Not admitted yet (or restored and not synced): checked again once membership changes.
        guard m.members[nodeID.signingKey] != nil else { return }
        let rowBefore = try mapped { try store.setting(Self.readerKeySetting) }
        guard let due = try readerKeyAnnouncement(m) else {
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
        let env = w.membership(due.op)
        try commit([env], project: m.project) {
            // Two processes deciding at once would each store a key: the second must not replace
            // the first's, which its announcement made the one others seal to.
            guard try self.store.setting(Self.readerKeySetting) == rowBefore else {
                throw NodeError(.conflict, "another process on this home announced a reader key at the same moment; nothing was recorded: try again")
            }
            if let s = due.sealed { try self.store.setSetting(Self.readerKeySetting, s) }
        }
        readerKeyChecked = true
    }
}

extension Node {
    /// Every key this node opens key entries with: its reader key, then its node id's box key
    /// (what was sealed to it before it announced one, or by a writer that had not yet seen it).
    /// A row that does not open leaves the box key alone: `announceReaderKeyIfDue` replaces it.
    /// Any other store error is passed up: a view built without the reader key would miss all
    /// that was sealed to it, and a warm view or snapshot would keep that.
    public func openingKeys() throws(NodeError) -> [BoxKeyPair] {
        do {
            if let held = try storedReaderKey() { return [held.keys, identity.box] }
        } catch {
            guard error.kind == .corrupt else { throw error }
        }
        return [identity.box]
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
        return identity.box.publicKey
    }
}
