import Foundation

/// A blocking TCP socket with send and receive timeouts. Owns the descriptor.
public final class Connection: @unchecked Sendable {
    // Reads happen on one thread and writes on another; the kernel allows that on one socket.
    let fd: Int32
    /// Through a proxy, the peer's address as asked for, not the proxy's.
    public internal(set) var peerAddress: String
    /// The peer's address without its port: what per-address limits count.
    public var peerHost: String {
        guard let colon = peerAddress.lastIndex(of: ":") else { return peerAddress }
        return String(peerAddress[..<colon])
    }
    public private(set) var bytesReceived = 0
    /// Written by the sending thread, read by the receiving one.
    public var bytesSent: Int { countLock.lock(); defer { countLock.unlock() }; return sent }
    private var sent = 0
    private let countLock = NSLock()
    /// `bytesSent` when a read last timed out: see `readExactly`.
    private var sentAtLastTimeout = 0
    private let lock = NSLock()
    private var closed = false

    init(fd: Int32, peerAddress: String) {
        self.fd = fd
        self.peerAddress = peerAddress
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(); Glibc.close(fd) }

    public func close() {
        lock.lock(); defer { lock.unlock() }
        // Shut down only: the other thread may still call send()/recv() on this fd; freeing the number here would let a new socket reuse it under that thread (deinit frees it).
        if !closed { closed = true; Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    public func setTimeout(seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects to HOST:PORT, directly or through the SOCKS5 proxy at `proxy`.
    public static func connect(to address: String, via proxy: String?, timeout: Double = 10) throws(SyncError) -> Connection {
        guard let proxy else { return try connect(to: address, timeout: timeout) }
        return try Socks5.connect(to: address, via: proxy)
    }

    /// Connects to HOST:PORT.
    public static func connect(to address: String, timeout: Double = 10) throws(SyncError) -> Connection {
        let (host, port) = try parse(address)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let first = res else {
            throw .io("cannot resolve \(host)")
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                let c = Connection(fd: fd, peerAddress: address)
                c.setTimeout(seconds: timeout)
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return c }
                // A signal (libFuzzer's alarm, a terminal's) interrupts the wait, not the connect,
                // which goes on: wait for it to finish instead of failing a sync for nothing.
                if errno == EINTR, finishInterruptedConnect(fd, timeout: timeout) { return c }
                lastError = String(cString: strerror(errno))
                c.close()
            }
            ai = a.pointee.ai_next
        }
        throw .io("cannot connect to \(address): \(lastError)")
    }

    /// Waits for a connect that EINTR interrupted; true once it is established. On false,
    /// errno says why.
    static func finishInterruptedConnect(_ fd: Int32, timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            let r = poll(&p, 1, left)
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { if r == 0 { errno = ETIMEDOUT }; return false }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 else { return false }
            if err != 0 { errno = err; return false }
            return true
        }
    }

    static func parse(_ address: String) throws(SyncError) -> (String, UInt16) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw .usage("'\(address)' is not HOST:PORT")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// Reads exactly `n` bytes. With a `deadline`, the whole read must finish by then, so a
    /// peer dribbling one byte at a time cannot hold a connection slot for long.
    public func readExactly(_ n: Int, deadline: Date? = nil) throws(SyncError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var off = 0
        while off < n {
            if let deadline {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { throw .io("timed out waiting for the peer") }
                setTimeout(seconds: max(0.001, left))
            }
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + off, n - off, 0) }
            if r == 0 { throw .io("peer closed the connection") }
            if r < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // A peer still reading what we send is alive, only busy (importing a large
                    // delta before it answers): wait on. Twenty peers pulling 200,000 ops at
                    // once were cut off here mid-import.
                    let nowSent = bytesSent
                    if deadline == nil, nowSent != sentAtLastTimeout { sentAtLastTimeout = nowSent; continue }
                    throw .io("timed out waiting for the peer")
                }
                throw .io("receive failed: \(String(cString: strerror(errno)))")
            }
            off += r
            bytesReceived += r
        }
        return out
    }

    /// Non-blocking mode, for the handshake gate's poll loop; blocking again once admitted.
    func setBlocking(_ blocking: Bool) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
    }

    /// Up to `max` bytes that have already arrived, without waiting: empty if none yet.
    /// Throws when the peer closed or the socket failed.
    func receiveAvailable(max: Int) throws(SyncError) -> [UInt8] {
        guard max > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: max)
        while true {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, max, Int32(MSG_DONTWAIT)) }
            if r > 0 { bytesReceived += r; return Array(out[0..<r]) }
            if r == 0 { throw .io("peer closed the connection") }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return [] }
            throw .io("receive failed: \(String(cString: strerror(errno)))")
        }
    }

    public func writeAll(_ bytes: [UInt8]) throws(SyncError) {
        var off = 0
        while off < bytes.count {
            let r = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if r < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .io("timed out sending to the peer") }
                throw .io("send failed: \(String(cString: strerror(errno)))")
            }
            off += r
            countLock.lock(); sent += r; countLock.unlock()
        }
    }
}

/// A listening socket.
public final class Listener: @unchecked Sendable {
    let fd: Int32
    public let port: UInt16

    public init(address: String) throws(SyncError) {
        let (host, port) = try Connection.parse(address)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let a = res else { throw .io("cannot resolve \(host)") }
        defer { freeaddrinfo(res) }
        let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
        guard fd >= 0 else { throw .io("cannot open a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw .io("cannot listen on \(address): \(why)")
        }
        // A deep queue: connections wait in the kernel only until the next poll round, and a
        // full queue drops a member's SYN for a second or more.
        guard listen(fd, 1024) == 0 else { Glibc.close(fd); throw .io("listen failed") }
        self.fd = fd
        var sa = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var bound = port
        withUnsafeMutablePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) }
            if p.pointee.ss_family == sa_family_t(AF_INET) {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { bound = UInt16(bigEndian: $0.pointee.sin_port) }
            } else if p.pointee.ss_family == sa_family_t(AF_INET6) {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { bound = UInt16(bigEndian: $0.pointee.sin6_port) }
            }
        }
        self.port = bound
    }

    /// Waits up to `timeout` seconds for a peer; nil on timeout (so the caller can check for shutdown).
    public func accept(timeout: Double) throws(SyncError) -> Connection? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, Int32(timeout * 1000))
        if r == 0 || (r < 0 && errno == EINTR) { return nil }
        guard r > 0 else { throw .io("poll failed") }
        return acceptReady()
    }

    /// Accepts one queued connection if there is one; nil otherwise (or on a transient error).
    func acceptReady() -> Connection? {
        var sa = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let c = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &len) } }
        guard c >= 0 else { lastAcceptError = errno; return nil }
        var host = [CChar](repeating: 0, count: 256), serv = [CChar](repeating: 0, count: 32)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getnameinfo($0, len, &host, 256, &serv, 32, NI_NUMERICHOST | NI_NUMERICSERV)
        } }
        return Connection(fd: c, peerAddress: "\(String(cString: host)):\(String(cString: serv))")
    }

    /// errno of the last failed `acceptReady` (EMFILE: out of descriptors).
    var lastAcceptError: Int32 = 0

    /// Non-blocking accepts, so the gate can drain the queue without waiting.
    func setNonBlocking() {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    deinit { Glibc.close(fd) }
}
