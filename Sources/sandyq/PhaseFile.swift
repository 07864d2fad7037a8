import Foundation

/// A test hook for the crash drill (RELIABILITY.md, "Crash safety"). With SANDYQ_PHASE_FILE
/// set, the CLI appends one line per phase it reaches, `PHASE SECONDS` (CLOCK_MONOTONIC):
///
/// - `unlocked`: the key file is open and the store is open;
/// - `write`: the command starts the call that changes the store or writes a file (for
///   `sync`, the whole session with the peer);
/// - `done`: that call has returned, its changes committed; output and exit remain.
///
/// After a SIGKILL, the file's last line is the last phase the process reached, so the drill
/// classifies a kill without guessing from timing. Each line is one `write(2)` with
/// O_APPEND: nothing is buffered in the process to be lost by the kill. It holds no secret,
/// only phase names and clock readings. Unset, nothing is written.
enum PhaseFile {
    static let path: String? = {
        guard let p = ProcessInfo.processInfo.environment["SANDYQ_PHASE_FILE"], !p.isEmpty else { return nil }
        return p
    }()

    static func mark(_ phase: String) {
        guard let path else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let line = "\(phase) \(ts.tv_sec).\(String(ts.tv_nsec / 1000).leftPadded(to: 6))\n"
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }  // a test hook: never a reason for the command to fail
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Runs the store-changing part of a command between `write` and `done`.
    static func writing<R>(_ body: () throws -> R) rethrows -> R {
        mark("write")
        let r = try body()
        mark("done")
        return r
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
