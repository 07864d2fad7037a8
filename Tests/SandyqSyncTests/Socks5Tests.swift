import Foundation
import Testing
@testable import SandyqSync

/// The SOCKS5 client against a scripted proxy on loopback: the exact bytes it sends
/// (Protocol/transports.md), the peer's name left for the proxy to resolve, and every refusal
/// named rather than taken for a connection. (A real proxy, microsocks, carries whole syncs in
/// scripts/socks-e2e.sh.)
@Suite struct Socks5Tests {
    /// The request bytes of Protocol/transports.md, section 2.
    @Test func requestBytesAreTheDocumentedOnes() throws {
        func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(Socks5.greeting) == "050100")
        #expect(hex(try Socks5.request("127.0.0.1:7447")) == "050100017f0000011d17")
        #expect(hex(try Socks5.request("[::1]:7447")) == "05010004" + String(repeating: "00", count: 15) + "01" + "1d17")
        let onion = "duskgytldkxiuqc6.onion"
        #expect(hex(try Socks5.request("\(onion):80")) == "0501000316" + hex(Array(onion.utf8)) + "0050")
        #expect(throws: SyncError.self) { try Socks5.request(String(repeating: "a", count: 256) + ":1") }
        #expect(throws: SyncError.self) { try Socks5.request("no-port") }
    }

    /// A proxy that reads the greeting and the request, answers as told, then echoes.
    final class Proxy: @unchecked Sendable {
        let listener: Listener
        var port: UInt16 { listener.port }
        private let lock = NSLock()
        private var _seen: [UInt8] = []
        var seen: [UInt8] { lock.lock(); defer { lock.unlock() }; return _seen }

        init(method: [UInt8] = [5, 0], reply: [UInt8] = [5, 0, 0, 1, 10, 0, 0, 9, 0x1d, 0x17]) throws {
            listener = try Listener(address: "127.0.0.1:0")
            let l = listener
            Thread { [self] in
                guard let c = try? l.accept(timeout: 5) else { return }
                defer { c.close() }
                guard let hello = try? c.readExactly(3) else { return }
                record(hello)
                try? c.writeAll(method)
                guard method == [5, 0], let head = try? c.readExactly(5) else { return }
                let rest = (try? c.readExactly(head[3] == 3 ? Int(head[4]) + 2 : (head[3] == 1 ? 3 + 2 : 15 + 2))) ?? []
                record(head + rest)
                try? c.writeAll(reply)
                while let b = try? c.readExactly(1) { try? c.writeAll(b) }
            }.start()
        }

        private func record(_ b: [UInt8]) { lock.lock(); _seen += b; lock.unlock() }
    }

    @Test func aGrantedConnectionCarriesThePeersBytesUnderThePeersName() throws {
        let proxy = try Proxy()
        let name = "peer.example.onion:7447"
        let c = try Socks5.connect(to: name, via: "127.0.0.1:\(proxy.port)")
        defer { c.close() }
        #expect(c.peerAddress == name)
        try c.writeAll([1, 2, 3])
        #expect(try c.readExactly(3) == [1, 2, 3])
        // The name went to the proxy as typed: this machine resolved nothing.
        #expect(proxy.seen == Socks5.greeting + (try Socks5.request(name)))
    }

    @Test func everyRefusalIsNamed() throws {
        let cases: [(Proxy, String)] = [
            (try Proxy(reply: [5, 5, 0, 1, 0, 0, 0, 0, 0, 0]), "connection refused by the peer"),
            (try Proxy(reply: [5, 6, 0, 1, 0, 0, 0, 0, 0, 0]), "onion service did not answer"),
            (try Proxy(method: [5, 0xff]), "wants authentication"),
            (try Proxy(method: [0x48, 0x54]), "is not a SOCKS5 proxy"),
            (try Proxy(reply: [5, 0, 0, 9]), "unknown address type"),
        ]
        for (proxy, words) in cases {
            do {
                let c = try Socks5.connect(to: "peer.example.onion:7447", via: "127.0.0.1:\(proxy.port)")
                c.close()
                Issue.record("connected through a proxy that said no (\(words))")
            } catch {
                #expect(error.description.contains(words), "\(error)")
            }
        }
    }

    @Test func aProxyNobodyRunsIsNamedAsTheProxy() throws {
        var closed: Listener? = try Listener(address: "127.0.0.1:0")
        let port = closed?.port ?? 0
        closed = nil  // its socket closes with it
        do {
            _ = try Connection.connect(to: "peer.example.onion:7447", via: "127.0.0.1:\(port)")
            Issue.record("connected through a proxy nobody runs")
        } catch {
            #expect(error.description.contains("cannot reach the SOCKS5 proxy at 127.0.0.1:\(port)"), "\(error)")
        }
    }
}
