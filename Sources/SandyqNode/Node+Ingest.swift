import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

extension Node {
    /// Where the ops of one ingest come from.
    enum IngestSource {
        /// Ops this node just signed: stored unscreened and unverified, `alongside` in the same
        /// transaction; a refusal is an error.
        case own([Envelope], project: ProjectID, alongside: (() throws -> Void)?, keepingView: Bool = false)
        /// A peer's ops in hand.
        case envelopes([Envelope])
        /// An import that reads or receives the ops itself (a bundle's batches, a TCP session on
        /// its own store connection): run with the screen, and once more with the ids to take
        /// again when the first pass brought admissions.
        case run((_ screen: @escaping @Sendable (Envelope) -> CoreError?, _ retry: Set<OpID>?) throws(NodeError) -> ImportReport)
        /// Ops a session already imported and screened on its own connection (the server side).
        case imported(ImportReport)
    }

    /// Who sent the ops, as far as its transport proved it, and the vector it declared.
    enum IngestPeer {
        /// A bundle's signed header: `delivered` is the bundle's id when it arrived intact,
        /// `importedThere` the ids of the bundles the sender says it imported.
        case bundle(sender: NodeID, vector: VersionVector, delivered: BundleID?, importedThere: [BundleID], created: UInt64)
        /// A TCP session's authenticated key.
        case session(key: SigningPublicKey, vector: VersionVector)
    }

    /// The one way ops enter this node: import (with the in-stream admission retry), then the
    /// bookkeeping every transport shares: membership and writer caches, the view, the ack
    /// ledger and forwarding keys. `peer` is asked after the import, since a TCP session
    /// learns who its peer is as it runs.
    @discardableResult
    func ingest(_ source: IngestSource, peer: () -> IngestPeer? = { nil }) throws(NodeError) -> ImportReport {
        let report: ImportReport
        var own = false, keepView = false
        switch source {
        case let .own(envs, project, alongside, keepingView):
            own = true
            keepView = keepingView
            report = try storeOwn(envs, project: project, alongside: alongside)
        case let .envelopes(envs):
            let pid = try requireProject()
            report = try importAdmittingInStream { screen, retry throws(NodeError) in
                let batch = retry.map { ids in envs.filter { ids.contains($0.id) } } ?? envs
                return try mapped { try store.importEnvelopes(batch, project: pid, screen: screen) }
            }
        case let .run(run):
            report = try importAdmittingInStream(run)
        case let .imported(r):
            report = r
        }
        forgetMembership(ifChangedBy: report)
        // A withdrawal takes effect as it lands, before the view or any forwarding sees the ops;
        // one a revocation lifts is undone as that lands. A revoked member's ops can decide
        // which of its withdrawals are genuine, so they count too.
        let revokedWrote = report.new > 0 && report.newMembership == 0
            && (try? storedMembership()).map { m in report.newAuthors.contains { m.members[$0]?.isRevoked == true } } == true
        if report.newMembership > 0 || revokedWrote { try applyWithdrawals() }
        // Membership ops an earlier import stored and did not carry out (its scrub failed: a full
        // disk, a lock held too long; or the process stopped): retried here, as at every open.
        else if (try? store.membershipUnapplied()) != nil { applyUnappliedWithdrawals() }
        // A scrub another reader held up (a serve session streaming, a desk page) finishes at the
        // next import or write that finds the home quiet; long-lived processes reopen rarely.
        else { finishPendingScrub() }
        if !own && report.new > 0 { try clearRestoredIfAdmitted() }
        // A peer may have handed back this node's own ops: the writer rereads its chain head.
        if !own && report.new > 0 { activeWriter = nil }
        if !keepView { viewAfterImport(report) }
        var acknowledged = false
        if let peer = peer() { try acknowledge(peer, report: report); acknowledged = true }
        if !own && report.new > 0 { try forwardRetryingRace() }
        // What arrived (a writer's op sealed to the new key, an acknowledgement) may end the
        // wait on the retired reader keys.
        if !own && (report.new > 0 || acknowledged) { destroyRetiredKeysQuietly() }
        // A reporter replaces its own key as soon as a withdrawal reached it: nobody waits.
        if !own { replaceSelfKeyQuietly() }
        return report
    }

    /// Forwarding after an import writes this node's own ops, after the import landed: another
    /// process on the home writing meanwhile makes that commit lose the race, storing nothing of
    /// it, and the import must not then read as failed. It is sealed again; after three losses
    /// the grants wait for the next import or open (`resumeGrants`).
    func forwardRetryingRace() throws(NodeError) {
        var tries = 0
        while true {
            do { return try forwardSharedCaseKeys() } catch where error.code == Self.writeRacedCode {
                activeWriter = nil
                tries += 1
                if tries >= 3 { return }
            }
        }
    }

    /// Drops the cached membership when an import can have changed it: a membership op, or
    /// an op of a revoked member (its chain decides which of its ops still count).
    func forgetMembership(ifChangedBy report: ImportReport) {
        guard let m = cachedMembership else { return }
        if report.newMembership > 0 || report.newAuthors.contains(where: { m.members[$0]?.isRevoked == true }) {
            cachedMembership = nil
        }
    }

    private func storeOwn(_ envs: [Envelope], project: ProjectID, alongside: (() throws -> Void)?) throws(NodeError) -> ImportReport {
        let r: ImportReport
        do {
            r = try store.atomically {
                let r = try store.importEnvelopes(envs, project: project, verified: true)
                if r.refused.isEmpty { try alongside?() }
                return r
            }
        } catch {
            activeWriter = nil
            throw NodeError.from(error)
        }
        guard r.refused.isEmpty else {
            activeWriter = nil
            throw NodeError(.failure, "own op refused: \(r.refused[0].reason)")
        }
        return r
    }

    /// The ack ledger, keyed by node id on both transports.
    private func acknowledge(_ peer: IngestPeer, report: ImportReport) throws(NodeError) {
        switch peer {
        case let .bundle(sender, vector, delivered, importedThere, created):
            // Checked after the ops landed, since the bundle may carry the sender's own admission.
            // A stranger (say, someone who read a seized store) signs its own header validly: it
            // must not become a peer, or the mailbox would write it the whole log.
            guard sender != nodeID, try isCurrentMember(sender) else { return }
            try mapped {
                try store.acknowledge(vector, by: sender, created: created)
                // Only an intact bundle counts as delivered: a damaged one must be sent again.
                if let delivered { try store.recordImportedBundle(delivered) }
                try noteDelivered(importedThere, by: sender)
                // The sender thought we lacked these ops: it should hear back what we hold.
                if report.new + report.known > 0 { try store.setOwesAck(to: sender) }
            }
        case let .session(key, vector):
            // The member with this key, else the node pinned or recorded (at `join`) for it.
            // Membership ops alone say who the peer is: rebuilding the whole view here made a
            // one-op sync into a 100,000-op replica take seconds.
            var id = try storedMembership().members[key]?.node
            if id == nil { id = try mapped { try store.peers() }.first(where: { $0.node.signingKey == key })?.node }
            guard let id else { return }
            try mapped { try store.acknowledge(vector, by: id) }
        }
    }
}
