import SandyqCore
import SandyqStore
import SandyqSync

/// What the benchmark reads and times below the services, so that it never holds the store.
extension NodeHost {
    /// Every op held, in the store's order.
    public func allEnvelopes() throws(NodeError) -> [Envelope] {
        try withNode { n throws(NodeError) in try mapped { try n.store.allEnvelopes() } }
    }

    public func opCount() throws(NodeError) -> Int {
        try withNode { n throws(NodeError) in try mapped { try n.store.opCount } }
    }

    /// Ops stored and the sum of their envelopes' lengths, as the store holds them.
    public func storedEnvelopeTotals() throws(NodeError) -> (ops: Int, bytes: Int) {
        try withNode { n throws(NodeError) in
            try mapped {
                let s = try n.store.db.prepare("SELECT count(*), sum(length(envelope)) FROM ops")
                _ = try s.step()
                return (Int(s.int(0)), Int(s.int(1)))
            }
        }
    }

    /// A view derived from `envelopes` with this node's keys, bypassing the cached view and
    /// the stored session keys: what a cold derivation costs.
    public func deriveView(from envelopes: [Envelope]) throws(NodeError) -> ProjectView {
        try withNode { n throws(NodeError) in
            ProjectView(project: try n.requireProject(), envelopes: envelopes, readers: try n.openingKeys())
        }
    }

    /// A bundle's ops into the store alone (decrypt, verify, chain checks, insert), with no
    /// import screen, acknowledgement or view: the floor an import stands on.
    public func importAtStoreLevel(bundle path: String) throws(NodeError) -> ImportReport {
        try withNode { n throws(NodeError) in
            let pid = try n.requireProject()
            return try mapped {
                let reader = try BundleReader(path: path, keys: n.identity.box)
                return try n.store.importBatches(project: pid, prefetch: true) { () throws(SyncError) -> [Envelope]? in try reader.next() }
            }
        }
    }

    /// Records that `peer` holds `vector`, as its next bundle or session would.
    public func acknowledge(_ vector: VersionVector, by peer: NodeID) throws(NodeError) {
        try withNode { n throws(NodeError) in try mapped { try n.store.acknowledge(vector, by: peer) } }
    }

    /// Drops the session keys earlier views cached in `home`'s store, so the next view opens
    /// every sealed box again: the cold case the cache saves.
    public static func dropCachedSessionKeys(home: String) throws(NodeError) {
        try mapped { try Database(path: Node.databasePath(home)).execute("DELETE FROM session_keys") }
    }
}
