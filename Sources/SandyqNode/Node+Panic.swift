import Foundation
import SandyqStore

/// What `panic` did and what it left: the CLI prints it as is, so the person knows exactly
/// what a seizer still finds.
public struct PanicReport: Sendable, Encodable {
    public var home: String
    /// Whether a key file was there and is now overwritten and removed.
    public var keysDestroyed: Bool
    public var keyFileBytes: Int
    public var seconds: Double
    /// The serve and sync processes of this home that were running, and how each ended.
    public var processes: [HomeProcesses.Running]
    /// The store as a seizer reads it now, counted from the file; nil when there is none.
    public var store: StoreResidue?
    /// Any other file left in the home (names only).
    public var otherFiles: [String]
    /// Whether a running onion service's files (its key written out for tor) were removed.
    public var onionFilesRemoved = false
}

extension Node {
    /// Stops this home's running processes and destroys its keys: SIGTERM first (so they stop
    /// while the keys go), the key file next, then a bounded wait and SIGKILL for stragglers.
    public static func panic(home: String, bound: Double = 5) throws(NodeError) -> PanicReport {
        let signalled = HomeProcesses.terminateAll(home: home)
        let size = ((try? FileManager.default.attributesOfItem(atPath: keyPath(home)))?[.size] as? Int) ?? 0
        var destroyed = false, seconds = 0.0
        var failure: NodeError?
        do {
            seconds = try destroyKeys(home: home)
            destroyed = true
        } catch {
            failure = error
        }
        let processes = HomeProcesses.waitForExit(signalled, bound: bound)
        // A serve killed before it cleaned up leaves tor's copy of the onion key outside the home.
        let onion = OnionService.removeRuntimeDirectory(home: home)
        // What a desk had on disk for a moment (an upload arriving, a download's copy).
        ScratchDirectory.removeAll(home: home)
        if let failure, processes.isEmpty, !onion { throw failure }
        rmdir(HomeProcesses.directory(home))  // only when empty: nothing runs any more
        let known: Set<String> = [OpStore.fileName, OpStore.fileName + "-wal", OpStore.fileName + "-shm",
                                  (HomeProcesses.directory(home) as NSString).lastPathComponent]
        let others = ((try? FileManager.default.contentsOfDirectory(atPath: home)) ?? []).filter { !known.contains($0) }.sorted()
        return PanicReport(home: home, keysDestroyed: destroyed, keyFileBytes: destroyed ? size : 0, seconds: seconds,
                           processes: processes, store: StoreResidue.measure(path: databasePath(home)), otherFiles: others,
                           onionFilesRemoved: onion)
    }
}
