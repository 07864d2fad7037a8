import Foundation

/// The long-running `sandyq` processes of one home (serve, sync), so `panic` can stop them.
/// Each holds an exclusive `flock` on its own file in `<home>/running/` for as long as it
/// runs: a file whose lock can be taken belongs to a process that is gone, whatever its pid
/// now names, so panic never signals a stranger that reused the pid.
public enum HomeProcesses {
    public static func directory(_ home: String) -> String { home + "/running" }

    /// A registration; `close()` (or process exit) ends it.
    public final class Registration: @unchecked Sendable {
        let fd: Int32
        let path: String
        init(fd: Int32, path: String) { self.fd = fd; self.path = path }
        public func close() {
            unlink(path)
            Glibc.close(fd)
        }
    }

    /// Records this process under `home` as running `command`. Nil when the home cannot be
    /// written (a read-only stick): the command still runs, panic just cannot find it.
    public static func register(home: String, command: String) -> Registration? {
        let dir = directory(home)
        if mkdir(dir, 0o700) != 0 && errno != EEXIST { return nil }
        chmod(dir, 0o700)
        let pid = getpid()
        let path = dir + "/\(pid).pid"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        fchmod(fd, 0o600)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { Glibc.close(fd); return nil }
        let line = "\(pid) \(command)\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        return Registration(fd: fd, path: path)
    }

    public struct Running: Sendable, Encodable {
        public var pid: Int32
        public var command: String
        /// How it ended: "SIGTERM", "SIGKILL", or "still running" (it could not be stopped).
        public var stoppedBy: String
    }

    /// Processes still holding their lock, with the files they hold; stale files are removed.
    static func live(_ home: String) -> [(pid: Int32, command: String, path: String)] {
        let dir = directory(home)
        var out: [(Int32, String, String)] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where name.hasSuffix(".pid") {
            let path = dir + "/" + name
            guard isLocked(path) else { unlink(path); continue }
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let parts = text.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            // Never the caller: the desk's own panic page runs in a registered process.
            guard let pid = parts.first.flatMap({ Int32($0) }), pid > 1, pid != getpid() else { continue }
            out.append((pid, parts.count > 1 ? parts[1] : "sandyq", path))
        }
        return out
    }

    /// Whether some process holds the file's lock (its owner is alive).
    static func isLocked(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { flock(fd, LOCK_UN); return false }
        return errno == EWOULDBLOCK
    }

    /// Sends SIGTERM to every live process of `home`; returns them for `waitForExit`.
    public static func terminateAll(home: String) -> [(pid: Int32, command: String, path: String)] {
        let found = live(home)
        for p in found { kill(p.pid, SIGTERM) }
        return found
    }

    /// Waits up to `bound` seconds for each to release its lock, then SIGKILLs the rest and
    /// waits up to `bound` again.
    public static func waitForExit(_ procs: [(pid: Int32, command: String, path: String)], bound: Double = 5) -> [Running] {
        func wait(_ ps: [(pid: Int32, command: String, path: String)]) -> [(pid: Int32, command: String, path: String)] {
            let deadline = Date().addingTimeInterval(bound)
            var left = ps
            while !left.isEmpty && Date() < deadline {
                left = left.filter { isLocked($0.path) }
                if !left.isEmpty { usleep(20_000) }
            }
            return left.filter { isLocked($0.path) }
        }
        let afterTerm = wait(procs)
        for p in afterTerm { kill(p.pid, SIGKILL) }
        let afterKill = wait(afterTerm)
        var out: [Running] = []
        for p in procs {
            let how = afterKill.contains { $0.pid == p.pid } ? "still running" : afterTerm.contains { $0.pid == p.pid } ? "SIGKILL" : "SIGTERM"
            if how != "still running" { unlink(p.path) }
            out.append(Running(pid: p.pid, command: p.command, stoppedBy: how))
        }
        return out
    }
}
