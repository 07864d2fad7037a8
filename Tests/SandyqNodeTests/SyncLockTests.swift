import Foundation
import Synchronization
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// A TCP listener on 127.0.0.1 that accepts one connection and then says nothing, so a
/// client waits for message 2 until its handshake timeout.
final class SilentPeer: @unchecked Sendable {
    let listener: Int32
    private let listenerOpen = Mutex(true)
    let port: UInt16
    let accepted = DispatchSemaphore(value: 0)
    private let held = Mutex<Int32>(-1)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, 4) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        try #require(bound, "cannot listen on 127.0.0.1")
        listener = fd
        port = UInt16(bigEndian: addr.sin_port)
        Thread { [self] in
            let fd = accept(listener, nil, nil)
            held.withLock { $0 = fd }
            accepted.signal()
        }.start()
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Closes the held connection: the client's wait for message 2 ends at once.
    func close() {
        held.withLock { fd in
            if fd >= 0 { _ = Glibc.close(fd) }
            fd = -1
        }
        // Called twice (the test and its defer): a second close would hit whatever file (another
        // test's SQLite store, in this process) took the number since.
        listenerOpen.withLock { open in
            if open { _ = Glibc.close(listener) }
            open = false
        }
    }
}

@Suite("TCP sync and the host's lock")
struct SyncLockTests {
    @Test("a sync stalled on its peer leaves the host free: case list and case add finish while it waits")
    func stalledSyncHoldsNoLock() throws {
        let dir = try TempDir()
        let host = try NodeHost.initialize(home: dir.sub("c"), passphrase: RoleKit.secret(RoleKit.passphrase), parameters: .minimum)
        _ = try host.admin.createProject(name: "Занятый узел")
        _ = try host.cases.add(RoleKit.doc("Первое дело", person: "Первый"))
        let peer = try SilentPeer()
        defer { peer.close() }

        let outcome = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                _ = try host.exchange.sync(with: peer.address)
                outcome.withLock { $0 = "synced" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
            done.signal()
        }.start()
        try #require(peer.accepted.wait(timeout: .now() + 10) == .success, "the sync never connected")
        // The client has sent message 1 and waits up to 10 s for message 2.
        usleep(300_000)

        let start = ProcessInfo.processInfo.systemUptime
        let before = try host.cases.list().count
        _ = try host.cases.add(RoleKit.doc("Второе дело", person: "Второй"))
        let after = try host.cases.list().count
        let took = ProcessInfo.processInfo.systemUptime - start
        let syncStillWaiting = outcome.withLock { $0 } == nil

        #expect(syncStillWaiting, "the sync ended before the host's other calls did: \(outcome.withLock { $0 } ?? "-")")
        #expect(took < 2, "case list and add waited \(took) s for a sync stalled on its peer")
        #expect(before == 1 && after == 2)

        peer.close()
        try #require(done.wait(timeout: .now() + 15) == .success, "the sync did not end once its peer closed")
        let said = outcome.withLock { $0 } ?? ""
        #expect(said.contains("did not answer the handshake"), "\(said)")
        // The host still reads after a failed session.
        #expect(try host.cases.list().count == 2)
    }

    @Test("syncs and case writes on one host at once: all finish, and the view is the one the log gives")
    func syncsBesideWrites() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let t = try RoleKit.make(dir, "t")
        try RoleKit.admit(t, as: .coordinator, by: c)
        try t.join(pid, networkKey: try #require(try c.networkKey()))
        for i in 0..<20 { _ = try c.addCase(RoleKit.doc("Дело C-\(i)", person: "Человек C-\(i)")) }
        let served = try ServedHost(home: c.home)
        defer { served.stop() }
        let host = try NodeHost.open(home: t.home, passphrase: RoleKit.secret(RoleKit.passphrase))
        let before = try host.cases.list().count
        let founder = c.nodeID

        let writes = 10
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            do {
                if worker == 0 {
                    for _ in 0..<3 { _ = try host.exchange.sync(with: served.address, expecting: founder) }
                } else {
                    for i in 0..<writes { _ = try host.cases.add(RoleKit.doc("Дело T-\(i)", person: "Человек T-\(i)")) }
                }
            } catch {
                failures.withLock { $0.append("worker \(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let warm = try host.view()
        let fresh = try NodeHost.open(home: t.home, passphrase: RoleKit.secret(RoleKit.passphrase)).view()
        #expect(warm.digest == fresh.digest, "the warm view after syncs beside writes is not the log's")
        #expect(fresh.cases.count == before + 20 + writes)
        #expect(try host.admin.chainGaps().isEmpty)
    }

    @Test("a sync stalled after the handshake, its server busy, leaves the host free; it completes once the server moves")
    func syncStalledMidSessionHoldsNoLock() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let t = try RoleKit.make(dir, "t")
        try RoleKit.admit(t, as: .coordinator, by: c)
        try t.join(pid, networkKey: try #require(try c.networkKey()))
        for i in 0..<5 { _ = try c.addCase(RoleKit.doc("Дело C-\(i)", person: "Человек C-\(i)")) }
        let founder = c.nodeID
        let served = try ServedHost(home: c.home)
        defer { served.stop() }
        let host = try NodeHost.open(home: t.home, passphrase: RoleKit.secret(RoleKit.passphrase))

        // The server's lock, held here: its gate admits the client, then its session thread waits
        // for the lock before it sends its first frame, so the client waits mid-session.
        let release = DispatchSemaphore(value: 0), holding = DispatchSemaphore(value: 0)
        Thread {
            served.host.withNode { _ in
                holding.signal()
                release.wait()
            }
        }.start()
        holding.wait()
        var released = false
        defer { if !released { release.signal() } }

        let outcome = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                let s = try host.exchange.sync(with: served.address, expecting: founder)
                outcome.withLock { $0 = "received \(s.report.new)" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
            done.signal()
        }.start()
        usleep(500_000)

        let start = ProcessInfo.processInfo.systemUptime
        let before = try host.cases.list().count
        _ = try host.cases.add(RoleKit.doc("Дело T", person: "Человек T"))
        let took = ProcessInfo.processInfo.systemUptime - start
        let syncStillWaiting = outcome.withLock { $0 } == nil
        #expect(syncStillWaiting, "the sync ended while its server was held: \(outcome.withLock { $0 } ?? "-")")
        #expect(took < 2, "case list and add waited \(took) s for a sync stalled mid-session")

        release.signal()
        released = true
        try #require(done.wait(timeout: .now() + 30) == .success, "the sync did not end once its server moved")
        #expect(outcome.withLock { $0 } == "received 5", "\(outcome.withLock { $0 } ?? "-")")
        #expect(try host.cases.list().count == before + 1 + 5)
    }
}
