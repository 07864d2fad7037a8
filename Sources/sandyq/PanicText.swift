import Foundation
import SandyqNode

/// `panic`'s message: what is destroyed, what was stopped, and what stays on the disk.
enum PanicText {
    static func render(_ r: PanicReport) -> String {
        var out: [String] = []
        if r.keysDestroyed {
            out.append(String(format: "Keys destroyed in %.3f s. The data in %@ can no longer be read.", r.seconds, r.home))
            out.append("Destroyed: \(r.home)/identity.key (\(r.keyFileBytes) bytes: the signing key, the box key, the storage key), overwritten with random bytes and removed.")
            out.append("  Whoever takes this disk can no longer open what this node could: case text and names sealed to it, the network key, the cached session keys. (A coordinator's key still opens the same ops elsewhere.)")
        } else {
            out.append("No key file in \(r.home): it was already destroyed.")
        }
        if r.processes.isEmpty {
            out.append("No sandyq serve or sync was running for this home.")
        } else {
            for p in r.processes {
                out.append(p.stoppedBy == "still running"
                    ? "NOT STOPPED: \(p.command) (pid \(p.pid)) ignored SIGTERM and SIGKILL; it still holds the keys in memory. Power the machine off."
                    : "Stopped \(p.command) (pid \(p.pid)) with \(p.stoppedBy).")
            }
        }
        guard let s = r.store else {
            out.append("No store in \(r.home): nothing else remains there.")
            return out.joined(separator: "\n")
        }
        out.append("Still on disk in \(r.home)/sandyq.db (\(s.bytes) bytes with its -wal and -shm), readable without any key:")
        if let p = s.project { out.append("  the project id \(p)") }
        out.append("  \(s.ops) ops by \(s.authors) authors: their public keys, sequence numbers and sizes (bodies stay sealed)")
        out.append("  \(s.membershipOps) membership ops in the clear: every member's keys and role, and revocations")
        if s.peers.isEmpty {
            out.append("  no peers")
        } else {
            let withAddress = s.peers.filter { $0.address != nil }
            out.append("  \(s.peers.count) peers (node ids), \(withAddress.count) with an address: "
                + (withAddress.isEmpty ? "none" : withAddress.compactMap(\.address).joined(separator: ", ")))
        }
        if s.forks > 0 { out.append("  \(s.forks) recorded forks") }
        out.append("  \(s.outboxBundles) mailbox bundles written and \(s.importedBundles) bundle ids imported")
        out.append("  \(s.cachedSessionKeys) cached session keys, sealed under the destroyed storage key (only their number shows)")
        let settings = s.settings.sorted { $0.key < $1.key }.map { $0.value == 1 ? $0.key : "\($0.key) ×\($0.value)" }
        out.append("  \(s.settings.values.reduce(0, +)) settings: \(settings.joined(separator: ", "))")
        if !s.unreadable.isEmpty { out.append("  (could not count: \(s.unreadable.joined(separator: ", ")))") }
        if !r.otherFiles.isEmpty { out.append("Other files left in \(r.home): \(r.otherFiles.joined(separator: ", "))") }
        out.append("To remove the store too: delete \(r.home) (on flash or SSD its blocks may survive). Other nodes still count this node as a member until a coordinator revokes it.")
        return out.joined(separator: "\n")
    }
}
