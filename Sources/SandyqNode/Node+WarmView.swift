import SandyqCore
import SandyqCrypto
import SandyqStore

/// A view with how far into the log it has read: the store's rows up to `through`, and
/// this node's own ops applied as it wrote them (`alsoApplied`), which may sit above it.
struct WarmView {
    var view: ProjectView
    var through: Int64
    var alsoApplied: Set<OpID> = []
    /// Ops in the view that the stored snapshot lacks: a new one is written when enough are.
    var sinceSnapshot: Int
}

extension Node {
    /// Applies the ops stored after the view's mark, or rebuilds where that is not sound.
    /// `known` (the session key cache, costly to unseal in full) is read only for a rebuild:
    /// ops above the mark are few, and mostly of sessions the view holds.
    /// With `rebuilding` false, nil where only a rebuild would do: the next read rebuilds, so a
    /// command that reads no more (a member add, an import) does not pay for one.
    /// `w` is taken, not copied, where the caller lets go of it: a view still held elsewhere
    /// would be copied, every case of it, by the first op applied.
    func caughtUp(_ w: consuming WarmView, rebuilding: Bool = true, known: () -> CachedKeys) throws(NodeError) -> WarmView? {
        let (envs, through) = try mapped { try store.envelopes(afterRow: w.through) }
        guard !envs.isEmpty else { return w }
        let fresh = envs.filter { !w.alsoApplied.contains($0.id) }
        var v = w.view
        w.view = ProjectView(project: v.project, envelopes: [], reader: nil)  // so `v` is not copied on write
        guard v.absorb(fresh, readers: try openingKeys()) else {
            return rebuilding ? try rebuiltView(v.project, known: known()) : nil
        }
        return WarmView(view: v, through: through, sinceSnapshot: w.sinceSnapshot + fresh.count)
    }

    // MARK: snapshot

    /// Settings rows `viewsnapshot:0000`, `:0001`, …: the snapshot sealed in parts of
    /// `snapshotPart` bytes, each bound to its place and to the number of parts. In parts so a
    /// 25 MB snapshot is never held three times over (plaintext, ciphertext, nonce ‖ ciphertext).
    static let snapshotPrefix = "viewsnapshot:"
    static let snapshotPart = 1 << 20
    static let snapshotAD = Array("view-snapshot-v1:".utf8)

    static func snapshotKey(_ i: Int) -> String {
        let n = String(i)
        return snapshotPrefix + String(repeating: "0", count: max(0, 4 - n.count)) + n
    }

    static func snapshotPartAD(_ pid: ProjectID, part i: Int, of n: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.raw(snapshotAD); w.raw(pid.bytes); w.u32(UInt32(i)); w.u32(UInt32(n))
        return w.bytes
    }

    /// Restores the view from the stored snapshot, if every part opens, it decodes and it
    /// belongs to this log: the rows it covers must still count and end as they did. Nil means rebuild.
    func restoredView(_ pid: ProjectID) -> WarmView? {
        func opened() -> [UInt8]? {
            guard let parts = try? store.settings(prefix: Self.snapshotPrefix), !parts.isEmpty, parts.count <= Int(UInt32.max) else { return nil }
            let seal = StorageSeal(identity)
            guard parts.enumerated().allSatisfy({ $0.element.key == Self.snapshotKey($0.offset) }) else { return nil }
            // The parts open on every core: opening them is a third of a command that reads one case.
            var opened = Parallel.map(parts.count, minimum: 2) { i in
                try? seal.open(parts[i].value, associatedData: Self.snapshotPartAD(pid, part: i, of: parts.count))
            }
            defer { for i in opened.indices { opened[i]?.zeroize() } }
            guard opened.allSatisfy({ $0 != nil }) else { return nil }
            var plain: [UInt8] = []
            plain.reserveCapacity(opened.reduce(0) { $0 + ($1?.count ?? 0) })
            for part in opened { plain += part! }
            return plain
        }
        guard var plain = opened() else { return nil }
        defer { plain.zeroize() }
        var r = ByteReader(plain)
        guard let through = try? r.u64(), let count = try? r.u64(), let id = try? r.blob(max: OpID.length),
              through <= UInt64(Int64.max), let mark = try? store.logMark(throughRow: Int64(through)),
              mark.count == Int64(count), (mark.id?.bytes ?? []) == id,
              let membership = try? snapshotMembership(pid),
              let v = try? ProjectView(project: pid, snapshot: plain, at: r.offset, membership: membership)
        else { return nil }
        return WarmView(view: v, through: Int64(through), sinceSnapshot: 0)
    }

    /// Membership as a rebuild derives it when no revocation was seen (a snapshot is never
    /// taken after one); a membership op stored after the snapshot makes the catch-up rebuild.
    func snapshotMembership(_ pid: ProjectID) throws -> Membership {
        var changes: [Membership.Change] = []
        let envs = try store.membershipEnvelopes().filter { $0.project == pid }
            .sorted { ($0.author, $0.seq, $0.id) < ($1.author, $1.seq, $1.id) }
        for e in envs {
            if let c = try? MembershipChange(decoding: e.body) { changes.append(.init(op: e.id, author: e.author, seq: e.seq, change: c)) }
        }
        return Membership.derive(project: pid, changes: changes, chain: { _ in [] })
    }

    /// Writes a snapshot when the log is large and the stored one lags by enough ops. Never on
    /// a write-only node: its view may show what it wrote, which its unlocker must not read.
    /// Best effort, like the session key cache; the parts are replaced in one transaction.
    func saveSnapshotIfDue() {
        guard var w = warm, !isWriteOnly, w.alsoApplied.isEmpty, w.view.stats.ops >= snapshotMinimumOps,
              w.sinceSnapshot >= min(snapshotRefresh, snapshotMinimumOps),
              let mark = try? store.logMark(throughRow: w.through) else { return }
        var head = ByteWriter(capacity: 64)
        head.u64(UInt64(w.through)); head.u64(UInt64(mark.count)); head.blob(mark.id?.bytes ?? [])
        guard var plain = w.view.snapshot(after: head.bytes) else { return }
        defer { plain.zeroize() }
        let seal = StorageSeal(identity)
        let pid = w.view.project
        let n = (plain.count + Self.snapshotPart - 1) / Self.snapshotPart
        struct Moved: Error {}
        let seen = seenDataVersion
        let stored: Void? = try? store.atomically {
            // Under the write lock: another process that committed since this view last looked
            // (say, a withdrawal, which deletes the snapshot) means it may hold what that dropped.
            if try store.dataVersion() != seen { throw Moved() }
            try store.deleteSettings(prefix: Self.snapshotPrefix)
            for i in 0..<n {
                var part = Array(plain[(i * Self.snapshotPart)..<min(plain.count, (i + 1) * Self.snapshotPart)])
                defer { part.zeroize() }
                try store.setSetting(Self.snapshotKey(i), seal.seal(part, associatedData: Self.snapshotPartAD(pid, part: i, of: n)))
            }
        }
        guard stored != nil else { return }
        w.sinceSnapshot = 0
        warm = w
    }
}
