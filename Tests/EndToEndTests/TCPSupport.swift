import Foundation
import Testing
import SandyqStore

// Helpers for the TCP end-to-end tests: nodes driven through the real `sandyq` binary (CLI and
// Home from CLI.swift), long-running processes (`serve`, a `sync` to be killed), and raw POSIX
// sockets for peers that misbehave on purpose. Every wait here is bounded.

struct TCPFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// One node home, driven by separate `sandyq` processes.
final class TCPNode: @unchecked Sendable {
    let name: String
    let home: Home
    private(set) var nodeId = ""

    init(_ name: String) throws {
        self.name = name
        home = try Home()
        let r = try run(["init", "--kdf", "interactive", "--json"])
        guard r.code == 0, let o = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let id = o["nodeId"] as? String else { throw TCPFailure("\(name): init failed: \(r)") }
        nodeId = id
    }

    /// Several fresh nodes, initialised in parallel (each init runs Argon2id).
    static func make(_ names: [String]) throws -> [TCPNode] {
        let results = TCPLocked<[Int: Result<TCPNode, any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: names.count) { i in
            let r = Result { try TCPNode(names[i]) }
            results.with { $0[i] = r }
        }
        return try names.indices.map { try results.value[$0]!.get() }
    }

    var path: String { home.path }
    static var environment: [String: String?] { ["SANDYQ_PASSPHRASE": Home.passphrase] }

    /// `sandyq args --home HOME`, bounded.
    func run(_ args: [String], timeout: TimeInterval = 60) throws -> CLI.Result {
        let r = try CLI.run(args + ["--home", home.path], env: Self.environment, timeout: timeout)
        if r.timedOut { throw TCPFailure("\(name): sandyq \(args.joined(separator: " ")) timed out") }
        return r
    }

    /// A command that must exit 0.
    @discardableResult
    func ok(_ args: [String]) throws -> CLI.Result {
        let r = try run(args)
        guard r.code == 0 else { throw TCPFailure("\(name): sandyq \(args.joined(separator: " ")): \(r)") }
        return r
    }

    /// A command that must exit 0 and print a JSON object.
    func json(_ args: [String]) throws -> [String: Any] {
        let r = try ok(args + ["--json"])
        guard let o = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            throw TCPFailure("\(name): sandyq \(args.joined(separator: " ")) --json printed no object: \(r)")
        }
        return o
    }

    func status() throws -> [String: Any] { try json(["status"]) }
    func digest() throws -> String { try status()["digest"] as? String ?? "none" }
    func opCount() throws -> Int { try status()["ops"] as? Int ?? -1 }

    /// `sync ADDRESS [--peer ID] --json`: the parsed summary, or the failed run.
    func sync(_ address: String, peer: String? = nil) throws -> (result: CLI.Result, summary: [String: Any]?) {
        var args = ["sync", address, "--json"]
        if let peer { args += ["--peer", peer] }
        let r = try run(args)
        let o = r.code == 0 ? (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] : nil
        return (r, o)
    }

    /// A sync that must succeed; returns its summary.
    @discardableResult
    func syncOK(_ address: String, peer: String? = nil, _ context: String = "") throws -> [String: Any] {
        let (r, o) = try sync(address, peer: peer)
        guard r.code == 0, let o else { throw TCPFailure("\(name): sync with \(address) \(context) failed: \(r)") }
        return o
    }
}

/// The ops in a node's store, read from its SQLite file (ops are ciphertext: no passphrase needed,
/// and no view to decrypt, which `status` would do).
func tcpStoredOps(_ node: TCPNode) throws -> Int { try OpStore(path: node.home.dbPath).opCount }

/// A value behind a lock.
final class TCPLocked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func with<R>(_ body: (inout T) throws -> R) rethrows -> R { lock.lock(); defer { lock.unlock() }; return try body(&v) }
}

/// Runs `body` for each element at once; rethrows the first failure after all have finished.
func tcpParallel<T, R>(_ items: [T], _ body: (T) throws -> R) throws -> [R] {
    let results = TCPLocked<[Int: Result<R, any Error>]>([:])
    withoutActuallyEscaping(body) { body in
        let call = TCPUnchecked(body), all = TCPUnchecked(items)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            let r = Result { try call.value(all.value[i]) }
            results.with { $0[i] = r }
        }
    }
    return try items.indices.map { try results.value[$0]!.get() }
}

struct TCPUnchecked<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

/// A `sandyq` process that runs in the background: a server, or a sync the test may kill.
final class TCPProcess: @unchecked Sendable {
    let process = Process()
    let scratch: String
    let label: String
    private var out: FileHandle?
    private var err: FileHandle?

    init(_ args: [String], label: String) throws {
        self.label = label
        let fm = FileManager.default
        scratch = fm.temporaryDirectory.path + "/sandyq-tcp-\(UUID().uuidString)"
        try fm.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        _ = fm.createFile(atPath: scratch + "/stdout", contents: nil)
        _ = fm.createFile(atPath: scratch + "/stderr", contents: nil)
        var env = CLI.baseEnvironment()
        for (k, v) in TCPNode.environment { env[k] = v }
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = args
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: scratch)
        out = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/stdout"))
        err = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/stderr"))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? out?.close(); try? err?.close()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { String(decoding: FileManager.default.contents(atPath: scratch + "/stdout") ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: scratch + "/stderr") ?? Data(), as: UTF8.self) }

    /// Waits up to `seconds` for the process to end; true if it did.
    @discardableResult
    func waitExit(_ seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    /// SIGKILL now, then reap.
    func killHard() {
        if process.isRunning { kill(pid, SIGKILL) }
        waitExit(10)
    }

    var exitedBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }
    var exitCode: Int32 { process.terminationStatus }
}

/// `sandyq serve --listen 127.0.0.1:0 --port-file F` for one node. Stop it in a defer.
final class TCPServer: @unchecked Sendable {
    let node: TCPNode
    let proc: TCPProcess
    let port: UInt16
    private var stopped = false

    var address: String { "127.0.0.1:\(port)" }
    var log: String { proc.stderr }

    init(_ node: TCPNode, maxPeers: Int? = nil, extra: [String] = []) throws {
        self.node = node
        let portFile = FileManager.default.temporaryDirectory.path + "/sandyq-port-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: portFile) }
        var args = ["serve", "--home", node.path, "--listen", "127.0.0.1:0", "--port-file", portFile]
        if let maxPeers { args += ["--max-peers", String(maxPeers)] }
        args += extra
        proc = try TCPProcess(args, label: "\(node.name) serve")
        let deadline = Date().addingTimeInterval(20)
        var found: UInt16?
        while found == nil && Date() < deadline && proc.process.isRunning {
            if let s = try? String(contentsOfFile: portFile, encoding: .utf8),
               let p = UInt16(s.trimmingCharacters(in: .whitespacesAndNewlines)), p != 0 { found = p } else { usleep(10_000) }
        }
        guard let found else {
            proc.killHard()
            throw TCPFailure("\(node.name): serve wrote no port file within 20 s; stderr: \(proc.stderr)")
        }
        port = found
    }

    /// Lines of the server log that report one connection's outcome.
    var connectionLines: [String] { log.split(separator: "\n").map(String.init).filter { $0.contains(" peer ") } }

    /// Waits (bounded) until at least `count` connection lines are logged; returns them all.
    func waitForConnectionLines(_ count: Int, seconds: Double = 15) -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        var lines = connectionLines
        while lines.count < count && Date() < deadline { usleep(20_000); lines = connectionLines }
        return lines
    }

    /// Waits (bounded) for a log line containing `needle`.
    func waitForLine(containing needle: String, seconds: Double = 15) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let l = log.split(separator: "\n").first(where: { $0.contains(needle) }) { return String(l) }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    /// SIGTERM, then a bounded wait; SIGKILL if it does not stop. Returns whether it stopped cleanly (exit 0).
    @discardableResult
    func stop() -> Bool {
        guard !stopped else { return true }
        stopped = true
        guard proc.process.isRunning else { return false }
        kill(proc.pid, SIGTERM)
        if proc.waitExit(15) { return proc.exitCode == 0 && proc.process.terminationReason == .exit }
        proc.killHard()
        return false
    }

    /// SIGKILL, no cleanup.
    func killHard() { stopped = true; proc.killHard() }
}

/// The "received N bytes, sent M" a server logs when a connection ends badly.
func tcpLoggedBytes(_ line: String) -> (received: Int, sent: Int)? {
    guard let r = line.range(of: "(received ") else { return nil }
    let tail = line[r.upperBound...]
    let nums = tail.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    guard nums.count >= 2 else { return nil }
    return (nums[0], nums[1])
}

// MARK: raw sockets

/// A plain TCP client on 127.0.0.1, for peers that misbehave.
final class TCPRawSocket: @unchecked Sendable {
    let fd: Int32
    private let lock = NSLock()
    private var closed = false

    init(fd: Int32) { self.fd = fd }

    convenience init(connectTo port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TCPFailure("socket failed") }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }
        guard r == 0 else { Glibc.close(fd); throw TCPFailure("connect to \(port) failed: \(String(cString: strerror(errno)))") }
        self.init(fd: fd)
    }

    deinit { close() }

    /// This end's port, as the server logs it.
    var localPort: UInt16 {
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: sa.sin_port)
    }

    func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let r = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if r < 0 { if errno == EINTR { continue }; throw TCPFailure("send failed: \(String(cString: strerror(errno)))") }
            off += r
        }
    }

    /// Whatever arrives within `seconds`, and whether the peer closed (EOF or reset) meanwhile.
    func drain(seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        var got: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return (got, false) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let pr = poll(&p, 1, Int32(max(1, min(left, 1) * 1000)))
            if pr < 0 { if errno == EINTR { continue }; return (got, true) }
            if pr == 0 { continue }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 65536, 0) }
            if n > 0 { got += buf[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            return (got, true)
        }
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    func close() {
        lock.lock(); defer { lock.unlock() }
        if !closed { closed = true; Glibc.shutdown(fd, Int32(SHUT_RDWR)); Glibc.close(fd) }
    }
}

/// A listening socket on 127.0.0.1:0.
final class TCPRawListener: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TCPFailure("socket failed") }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = 0
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let fd = self.fd
        let b = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }
        guard b == 0, listen(fd, 8) == 0 else { Glibc.close(fd); throw TCPFailure("bind/listen failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: sa.sin_port)
    }

    deinit { Glibc.close(fd) }

    func accept(seconds: Double) -> TCPRawSocket? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return nil }
        let c = Glibc.accept(fd, nil, nil)
        return c >= 0 ? TCPRawSocket(fd: c) : nil
    }
}

/// A one-connection TCP proxy that records what the client sent first.
final class TCPRecordingProxy: @unchecked Sendable {
    let listener: TCPRawListener
    let upstreamPort: UInt16
    let clientBytes = TCPLocked<[UInt8]>([])
    let serverBytes = TCPLocked<[UInt8]>([])
    private let done = DispatchSemaphore(value: 0)

    var port: UInt16 { listener.port }

    init(to upstreamPort: UInt16) throws {
        listener = try TCPRawListener()
        self.upstreamPort = upstreamPort
        Thread { [self] in
            defer { done.signal() }
            guard let down = listener.accept(seconds: 30), let up = try? TCPRawSocket(connectTo: upstreamPort) else { return }
            let pumps = DispatchGroup()
            for (from, to, record) in [(down, up, clientBytes), (up, down, serverBytes)] {
                pumps.enter()
                Thread {
                    defer { pumps.leave() }
                    var buf = [UInt8](repeating: 0, count: 65536)
                    while true {
                        let n = buf.withUnsafeMutableBytes { recv(from.fd, $0.baseAddress!, 65536, 0) }
                        if n < 0 && errno == EINTR { continue }
                        if n <= 0 { to.shutdownWrite(); return }
                        record.with { $0 += buf[0..<n] }
                        if (try? to.send(Array(buf[0..<n]))) == nil { return }
                    }
                }.start()
            }
            _ = pumps.wait(timeout: .now() + 60)
            down.close(); up.close()
        }.start()
    }

    /// Waits (bounded) for the proxied connection to end.
    func wait(seconds: Double = 30) -> Bool { done.wait(timeout: .now() + seconds) == .success }
}

func tcpRandomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255) } }

// MARK: floods

/// A TCP client socket on loopback from a chosen source address (127.0.0.2 is another host as
/// far as the server's per-address accounting goes), with a 1 s connect timeout.
func tcpConnect(port: UInt16, from source: String) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var tv = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = inet_addr(source)
    let b = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    } }
    var sa = sockaddr_in()
    sa.sin_family = sa_family_t(AF_INET)
    sa.sin_port = port.bigEndian
    sa.sin_addr.s_addr = inet_addr("127.0.0.1")
    let r = b == 0 ? withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    } } : -1
    guard r == 0 else { Glibc.close(fd); return nil }
    return fd
}

/// An attacker that keeps `sockets` connections open to a server from one source address and
/// opens a new one whenever the server closes one: silent sockets, or each connection sends
/// `payload()` once (garbage, a replayed message 1, a fresh valid one) and then stays silent.
/// Bounded: it stops on `stop()` or after `seconds`.
final class TCPFlood: @unchecked Sendable {
    let port: UInt16
    let source: String
    let sockets: Int
    let payload: @Sendable () -> [UInt8]
    let connects = TCPLocked(0)
    let answeredBytes = TCPLocked(0)
    private let stopFlag = TCPLocked(false)
    private let done = DispatchSemaphore(value: 0)

    init(port: UInt16, from source: String, sockets: Int, seconds: Double = 120,
         payload: @escaping @Sendable () -> [UInt8] = { [] }) {
        self.port = port; self.source = source; self.sockets = sockets; self.payload = payload
        Thread { [self] in
            defer { done.signal() }
            let end = Date().addingTimeInterval(seconds)
            var fds: [Int32] = []
            defer { for fd in fds { Glibc.close(fd) } }
            var buf = [UInt8](repeating: 0, count: 4096)
            while !stopFlag.value && Date() < end {
                while fds.count < self.sockets && !stopFlag.value && Date() < end {
                    guard let fd = tcpConnect(port: self.port, from: self.source) else { usleep(2_000); break }
                    let p = self.payload()
                    if !p.isEmpty { _ = p.withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, p.count, Int32(MSG_NOSIGNAL)) } }
                    fds.append(fd)
                    connects.with { $0 += 1 }
                }
                var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                guard poll(&polls, nfds_t(polls.count), 20) > 0 else { continue }
                var keep: [Int32] = []
                for p in polls {
                    if p.revents == 0 { keep.append(p.fd); continue }
                    let n = buf.withUnsafeMutableBytes { recv(p.fd, $0.baseAddress!, 4096, Int32(MSG_DONTWAIT)) }
                    if n > 0 { answeredBytes.with { $0 += n }; keep.append(p.fd) } else { Glibc.close(p.fd) }
                }
                fds = keep
            }
        }.start()
    }

    func stop() { stopFlag.with { $0 = true }; _ = done.wait(timeout: .now() + 10) }
}
