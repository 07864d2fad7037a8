import Foundation

/// A private directory for plaintext a process must put on disk for a moment: a file arriving
/// from the desk's browser, a copy of an attached file on its way to it. It lives in the home,
/// not in `$TMPDIR`, so panic and a duress unlock take it with the store; and it holds an
/// exclusive `flock` on itself while its process uses it, so the next open of the home removes
/// what a killed process left (a lock that can be taken belongs to a process that is gone).
public final class ScratchDirectory: @unchecked Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    public static func root(_ home: String) -> String { home + "/scratch" }

    /// A new directory under the home's scratch root, mode 0700, locked until `remove()`.
    public static func make(home: String) throws(NodeError) -> ScratchDirectory {
        let base = root(home)
        if mkdir(base, 0o700) != 0 && errno != EEXIST { throw NodeError(.failure, "cannot create \(base): \(String(cString: strerror(errno)))", code: "store.io") }
        chmod(base, 0o700)
        // A sweep between mkdir and flock can take a fresh directory: then try another.
        for _ in 0..<3 {
            let path = base + "/" + UUID().uuidString.lowercased()
            guard mkdir(path, 0o700) == 0 else { continue }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            var a = stat(), b = stat()
            if flock(fd, LOCK_EX | LOCK_NB) == 0, fstat(fd, &a) == 0, stat(path, &b) == 0, a.st_ino == b.st_ino {
                return ScratchDirectory(path: path, fd: fd)
            }
            close(fd)
        }
        throw NodeError(.failure, "cannot create a private directory in \(base)", code: "store.io")
    }

    /// Removes the directory and everything in it, then lets go of the lock.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
        close(fd)
    }

    /// Removes what processes that are gone left behind; what a running one holds stays.
    public static func sweep(home: String) {
        let base = root(home)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
            let path = base + "/" + name
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else {
                // Not a directory of ours (a file, a link): nothing a process holds.
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { try? FileManager.default.removeItem(atPath: path) }
            close(fd)
        }
    }

    /// Removes the whole root, held or not: panic and a duress unlock, once the home's
    /// processes are told to stop.
    public static func removeAll(home: String) {
        try? FileManager.default.removeItem(atPath: root(home))
    }
}
