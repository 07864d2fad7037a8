import Foundation

/// What a process holding unlocked keys does first. A core file of a crashed `sandyq`
/// holds the Ed25519 seed, the X25519 secret, the storage key and case text: a seized
/// machine's crash folder (or systemd-coredump, which ignores RLIMIT_CORE for piped
/// handlers) would keep them. Non-dumpable also stops other processes of the same user
/// from ptrace-attaching or reading /proc/PID/mem.
public enum ProcessHardening {
    /// Linux prctl(2) options (linux/prctl.h); the C macros do not import.
    static let prGetDumpable: Int32 = 3
    static let prSetDumpable: Int32 = 4

    /// prctl is variadic in glibc, which Swift does not call: take it as a five-integer
    /// function, its kernel signature (integer arguments travel in registers alike).
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let prctl: Prctl? = dlsym(nil, "prctl").map { unsafeBitCast($0, to: Prctl.self) }

    /// Makes the process non-dumpable, forbids core files, and sets the umask to 077 so
    /// every file and folder it creates is owner-only whatever the caller's umask.
    /// Returns the problems it met (none on Linux): the caller may warn, not fail.
    @discardableResult
    public static func apply() -> [String] {
        var problems: [String] = []
        if let prctl {
            if prctl(prSetDumpable, 0, 0, 0, 0) != 0 { problems.append("prctl(PR_SET_DUMPABLE, 0): \(String(cString: strerror(errno)))") }
        } else {
            problems.append("prctl not found: core dumps are only limited by RLIMIT_CORE")
        }
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        if setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none) != 0 {
            problems.append("setrlimit(RLIMIT_CORE, 0): \(String(cString: strerror(errno)))")
        }
        umask(0o077)
        // Past a file-size limit, a write should fail with EFBIG and be reported, not kill
        // the process half-way through replacing a file.
        signal(SIGXFSZ, SIG_IGN)
        return problems
    }

    /// The state `apply` should have left, as the kernel reports it.
    public struct State: Sendable, Codable, Equatable {
        public var dumpable: Int32
        public var coreLimitSoft: UInt64
        public var coreLimitHard: UInt64
        public var umask: UInt32
    }

    public static func current() -> State {
        let d = prctl.map { $0(prGetDumpable, 0, 0, 0, 0) } ?? -1
        var rl = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &rl)
        // umask can only be read by setting it: set, then put it back.
        let m = Glibc.umask(0o077)
        Glibc.umask(m)
        return State(dumpable: d, coreLimitSoft: UInt64(rl.rlim_cur), coreLimitHard: UInt64(rl.rlim_max), umask: UInt32(m))
    }
}
