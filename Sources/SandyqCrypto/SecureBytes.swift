internal import CSodium

/// Secret bytes: locked in memory where the system allows (never swapped, left out of
/// core dumps), zeroed when released, compared in constant time, never printed.
public final class SecureBytes: @unchecked Sendable, Equatable, CustomStringConvertible {
    // Immutable after init, so sharing across threads is safe.
    private let storage: UnsafeMutableRawBufferPointer
    public let count: Int
    /// Whether its pages are locked (RLIMIT_MEMLOCK may refuse it).
    private let locked: Bool

    private init(allocating count: Int) {
        Sodium.ensure()
        storage = .allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        self.count = count
        locked = MemoryLock.lock(storage.baseAddress!, storage.count)
    }

    /// Whether this secret's pages are locked in memory.
    public var isLocked: Bool { locked }

    /// `count` fresh random bytes.
    public convenience init(randomCount count: Int) {
        self.init(allocating: count)
        if count > 0 { randombytes_buf(storage.baseAddress!, count) }
    }

    /// Copies `bytes`; the caller should zero its own copy if it can.
    public convenience init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        self.init(allocating: bytes.count)
        storage.copyBytes(from: bytes)
    }

    /// Fills a fresh buffer through `body`, which writes exactly `count` bytes.
    convenience init(count: Int, fill body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.init(allocating: count)
        try body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    deinit {
        sodium_memzero(storage.baseAddress!, storage.count)
        if locked { MemoryLock.unlock(storage.baseAddress!, storage.count) }
        storage.deallocate()
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    func withUnsafePointer<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafePointer(storage.baseAddress!.assumingMemoryBound(to: UInt8.self)))
    }

    /// A plain copy, for writing into an encrypted container. Zero it after use where possible.
    public var unsafeCopy: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.count == 0 { return true }
        return lhs.withUnsafeBytes { a in
            rhs.withUnsafeBytes { b in
                sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
            }
        }
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
}

extension Array where Element == UInt8 {
    /// Overwrites a plain byte array that held secret material.
    public mutating func zeroize() {
        withUnsafeMutableBytes { if $0.count > 0 { sodium_memzero($0.baseAddress!, $0.count) } }
    }
}

extension Hasher {
    /// Keys and ids are random bytes: feeding them eight at a time is as good as one at a
    /// time and several times cheaper (per-byte hashing was a tenth of an import).
    public mutating func combineWords(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { p in
            var i = 0
            while i + 8 <= p.count { combine(p.loadUnaligned(fromByteOffset: i, as: UInt64.self)); i += 8 }
            while i < p.count { combine(p[i]); i += 1 }
            combine(p.count)
        }
    }
}
