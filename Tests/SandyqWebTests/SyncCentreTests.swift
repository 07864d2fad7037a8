import Foundation
import Testing
import SandyqTestSupport

@testable import SandyqNode
@testable import SandyqWeb

/// The sync centre's server: `serve` run by the desk on the desk's own host, with real sockets.
/// It answers members, tells the page what each session did, and stops when the desk locks or
/// the key file goes (a panic from another process), so no key outlives the unlock in a thread.
@Suite struct SyncCentreTests {
    /// A coordinator's desk, unlocked, and a reporter able to sync with it.
    struct Pair {
        let dir: TempDir
        let desk: Desk
        let host: NodeHost
        let reporter: NodeHost

        init() throws {
            dir = try TempDir("syncc")
            let (c, pid) = try NodeFixture.founder(dir, "c")
            let r = try NodeFixture.make(dir, "r")
            try r.join(pid)
            try r.setNetworkKey(try #require(try c.networkKey()))
            _ = try c.addMember(r.nodeID, role: .reporter)
            let admitted = try r.importEnvelopes(try c.envelopes(missingFrom: try r.versionVector()))
            #expect(admitted.refused.isEmpty)
            var doc = CaseDocument()
            doc.title = "Задержание в Алматы"
            doc.city = "Алматы"
            _ = try r.addCase(doc)
            let pass = SecureBytes(Array(NodeFixture.passphrase.utf8))
            host = try NodeHost.open(home: dir.sub("c"), passphrase: pass)
            reporter = try NodeHost.open(home: dir.sub("r"), passphrase: pass)
            desk = Desk(home: dir.sub("c"))
            desk.unlocked(host)
        }

        /// Starts the desk's server on a free loopback port and waits until it is bound.
        func serve() throws -> Int {
            desk.startServing(host: host, listen: "127.0.0.1:0")
            let job = try #require(desk.serving())
            for _ in 0..<500 where job.snapshot().port == nil { usleep(10_000) }
            return try #require(job.snapshot().port)
        }

        func stops(_ port: Int) -> Bool {
            for _ in 0..<300 {
                if desk.serving()?.snapshot().running == false, !SyncCentreTests.listening(port) { return true }
                usleep(10_000)
            }
            return false
        }
    }

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    @Test func aMemberSyncsWithTheDesksServerAndThePageHearsOfIt() throws {
        let p = try Pair()
        let port = try p.serve()
        let before = try p.host.view().cases.count
        let s = try p.reporter.exchange.sync(with: "127.0.0.1:\(port)")
        #expect(s.sent > 0 && s.report.refused.isEmpty)
        #expect(try p.host.view().cases.count == before + 1, "the desk's own host holds the reporter's case")
        var sessions: [ExchangeService.ServedSession] = []
        for _ in 0..<300 {
            sessions = (p.desk.serving()?.snapshot().sessions ?? []).map(\.1)
            if !sessions.isEmpty { break }
            usleep(10_000)
        }
        let one = try #require(sessions.first)
        #expect(one.peer == p.reporter.nodeID && !one.failed)
        #expect(one.received == s.sent, "the page tells what the session brought")
        p.desk.stopServing()
        #expect(p.stops(port))
    }

    @Test func lockingTheDeskStopsItsServer() throws {
        let p = try Pair()
        let port = try p.serve()
        #expect(Self.listening(port))
        p.desk.lock()
        #expect(p.stops(port), "the server outlived the lock, with the keys in its thread")
        #expect(throws: NodeError.self) { try p.reporter.exchange.sync(with: "127.0.0.1:\(port)") }
    }

    @Test func theServerStopsWhenTheKeyFileGoes() throws {
        let p = try Pair()
        let port = try p.serve()
        // As `sandyq panic` in another process leaves it: no key file.
        try FileManager.default.removeItem(atPath: NodeHost.keyPath(p.dir.sub("c")))
        #expect(p.stops(port))
    }

    @Test func aSecondStartWhileRunningKeepsTheFirstServer() throws {
        let p = try Pair()
        let port = try p.serve()
        let first = try #require(p.desk.serving())
        p.desk.startServing(host: p.host, listen: "127.0.0.1:0")
        #expect(p.desk.serving() === first && first.snapshot().port == port)
        p.desk.stopServing()
        #expect(p.stops(port))
    }

    @Test func aPortInUseIsToldNotHidden() throws {
        let p = try Pair()
        let port = try p.serve()
        let other = Desk(home: p.dir.sub("c"))
        other.unlocked(p.host)
        other.startServing(host: p.host, listen: "127.0.0.1:\(port)")
        let job = try #require(other.serving())
        for _ in 0..<300 where job.snapshot().running { usleep(10_000) }
        #expect(job.snapshot().failure != nil && !job.snapshot().running)
        p.desk.stopServing()
        #expect(p.stops(port))
    }

    @Test func addressesAreCheckedBeforeAnyConnection() {
        for good in ["127.0.0.1:7447", "example.org:1", "[::1]:7447", "10.0.0.2:65535"] {
            #expect(SyncPages.validAddress(good), "\(good)")
        }
        for bad in ["", "127.0.0.1", "127.0.0.1:", ":7447", "127.0.0.1:0", "127.0.0.1:65536", "a b:1", "http://x:1", "1.2.3.4:x"] {
            #expect(!SyncPages.validAddress(bad), "\(bad)")
        }
    }
}
