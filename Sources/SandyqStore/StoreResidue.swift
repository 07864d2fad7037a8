import Foundation
import SandyqCore

/// What a store still shows to whoever holds it without any key: the figures `panic` prints
/// so the person knows exactly what stays on the disk. Counted from the file, not assumed.
public struct StoreResidue: Sendable, Encodable {
    public struct Peer: Sendable, Encodable {
        public var node: String
        public var address: String?
    }

    /// Bytes of the store and its -wal and -shm files.
    public var bytes: Int = 0
    public var ops = 0
    /// Ops whose body is membership, readable in full: members' keys and roles.
    public var membershipOps = 0
    public var authors = 0
    public var forks = 0
    public var peers: [Peer] = []
    public var outboxBundles = 0
    public var importedBundles = 0
    /// Rows of the session key cache: sealed under the storage key, so only their number shows.
    public var cachedSessionKeys = 0
    /// Settings rows by the name before any ':' (a store before schema 7 had "lastsent:<peer>" rows).
    public var settings: [String: Int] = [:]
    /// Whether the project id is among the settings (it names the project the node was in).
    public var project: String?
    /// Tables this build did not expect or could not read, so a count above may be missing.
    public var unreadable: [String] = []

    /// Opens `path` without migrating it and counts. Nil when there is no store.
    public static func measure(path: String) -> StoreResidue? {
        let fm = FileManager.default
        guard fm.fileExists(atPath: path), let db = try? Database(path: path) else { return nil }
        var r = StoreResidue()
        for suffix in ["", "-wal", "-shm"] {
            r.bytes += ((try? fm.attributesOfItem(atPath: path + suffix))?[.size] as? Int) ?? 0
        }
        func count(_ sql: String, _ table: String) -> Int {
            do {
                let s = try db.prepare(sql)
                try s.bind([])
                return try s.step() ? Int(s.int(0)) : 0
            } catch {
                if !r.unreadable.contains(table) { r.unreadable.append(table) }
                return 0
            }
        }
        r.ops = count("SELECT count(*) FROM ops", "ops")
        r.membershipOps = count("SELECT count(*) FROM ops WHERE kind != 1", "ops")
        r.authors = count("SELECT count(DISTINCT author) FROM ops", "ops")
        r.forks = count("SELECT count(*) FROM forks", "forks")
        r.outboxBundles = count("SELECT count(*) FROM outbox", "outbox")
        r.importedBundles = count("SELECT count(*) FROM imported_bundles", "imported_bundles")
        r.cachedSessionKeys = count("SELECT count(*) FROM session_keys", "session_keys")
        do {
            let s = try db.prepare("SELECT node, address FROM peers ORDER BY node")
            try s.bind([])
            while try s.step() { r.peers.append(Peer(node: s.text(0), address: s.isNull(1) ? nil : s.text(1))) }
        } catch { r.unreadable.append("peers") }
        do {
            let s = try db.prepare("SELECT key, value FROM settings")
            try s.bind([])
            while try s.step() {
                let key = s.text(0)
                let name = key.split(separator: ":", maxSplits: 1).first.map(String.init) ?? key
                r.settings[name, default: 0] += 1
                if key == "project" { r.project = (try? ProjectID(bytes: s.blob(1)))?.description }
            }
        } catch { r.unreadable.append("settings") }
        return r
    }
}
