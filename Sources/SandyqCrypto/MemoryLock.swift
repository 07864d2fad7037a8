#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the pages that hold secrets locked in RAM (never written to swap) and out of core
/// dumps. Secrets are small and share pages, so each page is counted: it is locked when its
/// first secret arrives and unlocked only when its last one leaves (unlocking per secret
/// would unlock a neighbour's page under it). Failure to lock (RLIMIT_MEMLOCK) is not an
/// error: the secret is still zeroed on release.
enum MemoryLock {
    static let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)
    nonisolated(unsafe) private static var counts: [UInt: Int] = [:]
    nonisolated(unsafe) private static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    private static func pages(_ p: UnsafeMutableRawPointer, _ n: Int) -> StrideTo<UInt> {
        let start = UInt(bitPattern: p) & ~UInt(pageSize - 1)
        let end = UInt(bitPattern: p) + UInt(max(n, 1))
        return stride(from: start, to: end, by: pageSize)
    }

    /// Locks the pages under `p ..< p+n`; false if the system refused.
    static func lock(_ p: UnsafeMutableRawPointer, _ n: Int) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var done: [UInt] = []
        for page in pages(p, n) {
            if counts[page, default: 0] == 0 {
                guard let raw = UnsafeMutableRawPointer(bitPattern: page), mlock(raw, pageSize) == 0 else {
                    for d in done { release(d) }
                    return false
                }
                #if os(Linux)
                _ = madvise(raw, pageSize, MADV_DONTDUMP)
                #endif
            }
            counts[page, default: 0] += 1
            done.append(page)
        }
        return true
    }

    /// Undoes `lock` for the same range. The caller zeroes the bytes first.
    static func unlock(_ p: UnsafeMutableRawPointer, _ n: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        for page in pages(p, n) { release(page) }
    }

    private static func release(_ page: UInt) {
        guard let c = counts[page] else { return }
        if c > 1 { counts[page] = c - 1; return }
        counts[page] = nil
        if let raw = UnsafeMutableRawPointer(bitPattern: page) {
            _ = munlock(raw, pageSize)
            #if os(Linux)
            _ = madvise(raw, pageSize, MADV_DODUMP)
            #endif
        }
    }

    /// Whether the page under `p` is counted as locked (for tests).
    static func holds(_ p: UnsafeRawPointer) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return counts[UInt(bitPattern: p) & ~UInt(pageSize - 1)] != nil
    }
}
