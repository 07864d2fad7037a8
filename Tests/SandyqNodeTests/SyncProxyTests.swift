import Foundation
import SandyqCore
import SandyqTestSupport
import Testing

@testable import SandyqNode
@testable import SandyqSync

/// A SOCKS5 proxy on loopback that relays CONNECTs and counts them: what `sync --socks5`
/// (and `--via tor`, Tor's client port) goes through.
final class Socks5Relay: @unchecked Sendable {
    let listener: Listener
    var port: UInt16 { listener.port }
    private let lock = NSLock()
    private var _asked: [String] = []
    /// Each CONNECT's target, as the client named it.
    var asked: [String] { lock.lock(); defer { lock.unlock() }; return _asked }
    private let stopping = ServeFlag()

    init() throws {
        listener = try Listener(address: "127.0.0.1:0")
        let l = listener, stop = stopping
        Thread { [self] in
            while !stop.isSet {
                guard let c = try? l.accept(timeout: 0.2) else { continue }
                Thread { self.relay(c) }.start()
            }
        }.start()
    }

    func stop() { stopping.isSet = true }

    private func relay(_ c: Connection) {
        guard (try? c.readExactly(3)) == [5, 1, 0], (try? c.writeAll([5, 0])) != nil,
              let head = try? c.readExactly(4), head[3] == 3, let n = try? c.readExactly(1),
              let name = try? c.readExactly(Int(n[0])), let p = try? c.readExactly(2) else { c.close(); return }
        let target = String(decoding: name, as: UTF8.self) + ":\(Int(p[0]) << 8 | Int(p[1]))"
        lock.lock(); _asked.append(target); lock.unlock()
        guard let u = try? Connection.connect(to: target) else { try? c.writeAll([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]); c.close(); return }
        try? c.writeAll([5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
        Thread { Self.pump(c, u) }.start()
        Self.pump(u, c)
    }

    private static func pump(_ a: Connection, _ b: Connection) {
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        defer { a.close(); b.close() }
        while true {
            let n = buf.withUnsafeMutableBytes { recv(a.fd, $0.baseAddress!, $0.count, 0) }
            if n < 0, errno == EAGAIN || errno == EINTR { continue }
            guard n > 0, (try? b.writeAll(Array(buf[0..<n]))) != nil else { return }
        }
    }
}

/// `sync` through a SOCKS5 proxy: every connection of the sync (the ops session and the evidence
/// session after it) goes through the proxy, under the peer's name, and the nodes converge.
@Suite struct SyncProxyTests {
    @Test func everySessionOfASyncGoesThroughTheProxy() throws {
        let dir = try TempDir("socks")
        let (c, pid) = try NodeFixture.founder(dir, "c")
        let r = try NodeFixture.make(dir, "r")
        try r.join(pid)
        try r.setNetworkKey(try #require(try c.networkKey()))
        _ = try c.addMember(r.nodeID, role: .coordinator)
        var doc = CaseDocument()
        doc.title = "Тінту Ақтөбеде"
        _ = try c.addCase(doc)
        let served = try ServedHost(home: dir.sub("c"))
        defer { served.stop() }
        let proxy = try Socks5Relay()
        defer { proxy.stop() }
        let port = served.address.split(separator: ":").last.map(String.init) ?? ""
        let named = "localhost:\(port)"
        let s = try r.sync(with: named, expecting: c.nodeID, proxy: "127.0.0.1:\(proxy.port)")
        #expect(s.report.refused.isEmpty && s.report.new > 0)
        #expect(try r.view().cases.count == 1, "the case came through the proxy")
        // The ops session and the evidence session, each asked of the proxy by the peer's name.
        #expect(proxy.asked.count == 2 && Set(proxy.asked) == [named], "\(proxy.asked)")
        #expect(s.chunkError == nil)
    }
}
