import SandyqStore

extension Node {
    /// Runs once after every import (bundle, mailbox, TCP, local commit): brings a cached view
    /// up to the log instead of dropping it, so a long-running node stays warm.
    func viewAfterImport(_ report: ImportReport) {
        guard report.new > 0 else { return }
        activeWriter = nil
        // A write-only node's view shows what it wrote only until the log is read again.
        guard let w = warm, !isWriteOnly else { warm = nil; return }
        warm = nil
        let known = cachedSessionKeys()
        guard let next = try? caughtUp(w, known: known) else { return }
        warm = next
        cacheSessionKeys(next.view.sessionKeys, except: known)
        saveSnapshotIfDue()
    }
}
