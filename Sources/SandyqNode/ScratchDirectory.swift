import Foundation
import SandyqCrypto
import Synchronization

/// A private directory for plaintext a process must put on disk for a moment: a file arriving
/// from the desk's browser, a copy of an attached file on its way to it, the desk browser's
/// profile. Never in `$TMPDIR`, which panic does not know: in the user's runtime directory
/// (`$XDG_RUNTIME_DIR`, memory only, private to the user) when it has room, else in the home,
/// so panic and a duress unlock find it from the home's path alone. Each directory holds an
/// exclusive `flock` on itself while its process uses it, so the next open of the home removes
/// what a killed process left (a lock that can be taken belongs to a process that is gone).
public final class ScratchDirectory: @unchecked Sendable {
    public let path: String
    /// -1 once removed: a second `remove()` must not close a number another file now holds.
    private let fd: Mutex<Int32>

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = Mutex(fd)
    }

    /// Directories this process holds: panic and a duress unlock in this process spare them
    /// (the desk's own browser would show errors, a tell under duress), and remove them as
    /// the process ends them.
    private static let held = Mutex<Set<String>>([])

    /// The root in the home.
    public static func root(_ home: String) -> String { home + "/scratch" }

    /// The root in memory, when the user has a runtime directory: one per home, found again
    /// from the home's path alone.
    ///
    /// `$XDG_RUNTIME_DIR`, else `/run/user/<uid>` (panic run from a script without the
    /// variable still finds it), and only when it is this user's own private directory: a
    /// shared one could hold another user's link where the root goes. The home's real path
    /// names it, however the home was reached.
    public static func runtimeRoot(_ home: String) -> String? {
        let set = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] ?? ""
        let run = set.hasPrefix("/") ? set : "/run/user/\(getuid())"
        var st = stat()
        guard lstat(run, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == getuid(), st.st_mode & 0o077 == 0,
              access(run, W_OK) == 0 else { return nil }
        var path = (home as NSString).standardizingPath
        if let real = realpath(home, nil) {
            path = String(cString: real)
            free(real)
        }
        return run + "/sandyq-scratch-" + Hex.encode(Array(Hash.blake2b(Array(path.utf8), length: 16).prefix(8)))
    }

    /// A directory (not a link) this user owns: the only kind a sweep lists or empties.
    static func isOwnDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && st.st_uid == getuid()
    }

    static func roots(_ home: String) -> [String] { [runtimeRoot(home), root(home)].compactMap { $0 } }

    /// A new directory, mode 0700, locked until `remove()`: in memory when the runtime root
    /// has room for `size` bytes and some to spare, else in the home.
    public static func make(home: String, size: Int = 0) throws(NodeError) -> ScratchDirectory {
        if let run = runtimeRoot(home), let d = try? make(in: run, room: size) { return d }
        return try make(in: root(home), room: nil)
    }

    private static func make(in base: String, room: Int?) throws(NodeError) -> ScratchDirectory {
        if mkdir(base, 0o700) != 0 && errno != EEXIST { throw NodeError(.failure, "cannot create \(base): \(String(cString: strerror(errno)))", code: "store.io") }
        // Ours alone: a directory (not a link another user planted), owned by this user, private.
        var st = stat()
        guard lstat(base, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == getuid(), chmod(base, 0o700) == 0 else {
            throw NodeError(.failure, "\(base) is not a private directory of this user", code: "store.io")
        }
        if let room {
            var fs = statvfs()
            guard statvfs(base, &fs) == 0, Int(fs.f_bavail) * Int(fs.f_frsize) > room + (64 << 20) else {
                throw NodeError(.failure, "no room in \(base)", code: "store.io")
            }
        }
        // A sweep between mkdir and flock can take a fresh directory: then try another.
        for _ in 0..<3 {
            let path = base + "/" + UUID().uuidString.lowercased()
            guard mkdir(path, 0o700) == 0 else { continue }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            var a = stat(), b = stat()
            if flock(fd, LOCK_EX | LOCK_NB) == 0, fstat(fd, &a) == 0, stat(path, &b) == 0, a.st_ino == b.st_ino {
                held.withLock { _ = $0.insert(path) }
                return ScratchDirectory(path: path, fd: fd)
            }
            close(fd)
        }
        throw NodeError(.failure, "cannot create a private directory in \(base)", code: "store.io")
    }

    /// Removes the directory and everything in it, then lets go of the lock.
    public func remove() {
        let open = fd.withLock { fd in defer { fd = -1 }; return fd }
        guard open >= 0 else { return }
        try? FileManager.default.removeItem(atPath: path)
        close(open)
        _ = Self.held.withLock { $0.remove(path) }
    }

    /// Removes what processes that are gone left behind; what a running one holds stays.
    public static func sweep(home: String) {
        for base in roots(home) where isOwnDirectory(base) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
                let path = base + "/" + name
                let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
                guard fd >= 0 else {
                    // A file or a link is nothing a process holds; any other failure (no file
                    // descriptors left, say) says nothing, so the entry stays.
                    if errno == ENOTDIR || errno == ELOOP { try? FileManager.default.removeItem(atPath: path) }
                    continue
                }
                if flock(fd, LOCK_EX | LOCK_NB) == 0 { try? FileManager.default.removeItem(atPath: path) }
                close(fd)
            }
        }
    }

    /// Removes everything in both roots, held or not, but what this process itself holds:
    /// panic and a duress unlock, once the home's processes are told to stop.
    public static func removeAll(home: String) {
        let mine = held.withLock { $0 }
        for base in roots(home) where isOwnDirectory(base) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where !mine.contains(base + "/" + name) {
                try? FileManager.default.removeItem(atPath: base + "/" + name)
            }
            rmdir(base)  // only when empty
        }
    }
}
