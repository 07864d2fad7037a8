import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// A loopback TCP forwarder that cuts one connection (the `cut`-th, from 1) once the client
/// has sent `after` bytes through it: a network that drops mid-file.
final class CuttingProxy: @unchecked Sendable {
    let port: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var accepted = 0
    private(set) var cutDone = false

    init(to upstream: UInt16, cut: Int, after: Int) throws {
        let lfd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var one: Int32 = 1
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(lfd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0, listen(lfd, 16) == 0 else { throw NodeError(.failure, "proxy: cannot listen") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(lfd, $0, &len) } }
        listenFD = lfd
        port = UInt16(bigEndian: addr.sin_port)
        let fd = lfd
        Thread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                guard c >= 0 else { return }
                let u = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var to = sockaddr_in()
                to.sin_family = sa_family_t(AF_INET)
                to.sin_addr.s_addr = inet_addr("127.0.0.1")
                to.sin_port = upstream.bigEndian
                let r = withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(u, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                guard r == 0 else { close(c); close(u); continue }
                lock.lock(); accepted += 1; let n = accepted; lock.unlock()
                let limit = n == cut ? after : Int.max
                Thread { self.pump(from: c, to: u, limit: limit) }.start()
                Thread { self.pump(from: u, to: c, limit: .max) }.start()
            }
        }.start()
    }

    private func pump(from a: Int32, to b: Int32, limit: Int) {
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        var total = 0
        defer { shutdown(a, Int32(SHUT_RDWR)); shutdown(b, Int32(SHUT_RDWR)) }
        while true {
            let n = buf.withUnsafeMutableBytes { recv(a, $0.baseAddress!, min($0.count, limit - total), 0) }
            guard n > 0 else { return }
            var off = 0
            while off < n {
                let w = buf.withUnsafeBytes { send(b, $0.baseAddress! + off, n - off, Int32(MSG_NOSIGNAL)) }
                guard w > 0 else { return }
                off += w
            }
            total += n
            if total >= limit {
                lock.lock(); cutDone = true; lock.unlock()
                return
            }
        }
    }

    func stop() { shutdown(listenFD, Int32(SHUT_RDWR)); close(listenFD) }
}

/// Evidence chunks over TCP: a session of their own after the ops, by need, resumed after a cut.
@Suite(.serialized) struct EvidenceTCPTests {
    @Test("a reporter's file reaches the coordinator over TCP, cut mid-file and resumed; the answer lets the reporter let go")
    func cutAndResume() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        try RoleKit.admit(r, as: .reporter, by: c)
        try r.setNetworkKey(try #require(try c.networkKey()))
        let id = try r.addCase(RoleKit.doc("Дело", person: "Бауыржан"))
        let p = try EvidenceTests.randomFile(dir, "hearing.mp4", size: 6 * (1 << 20) + 9)
        let e = try r.attach(id.description, path: p)
        let served = try ServedHost(home: c.home)
        defer { served.stop() }
        let port = UInt16(served.address.split(separator: ":").last!)!
        // The second connection is the chunk session: cut it after about 2.5 MiB from the reporter.
        let proxy = try CuttingProxy(to: port, cut: 2, after: 5 << 19)
        defer { proxy.stop() }
        let first = try r.sync(with: "127.0.0.1:\(proxy.port)", expecting: c.nodeID)
        #expect(first.sent > 0)
        #expect(first.chunkError != nil, "the cut must show")
        #expect(proxy.cutDone)
        let fid = Hex.decode(e.fid)!
        // The server may still be storing what reached it before the cut: wait until it settles.
        var landed: [Int] = []
        for _ in 0..<50 {
            usleep(100_000)
            let now = try served.host.withNode { n throws(NodeError) in try mapped { try n.store.chunkIndexes(fid: fid) } }
            if now == landed && !now.isEmpty { break }
            landed = now
        }
        #expect(landed.count >= 1 && landed.count < 7, "what arrived before the cut is kept: \(landed)")
        // Again, straight: only what is missing moves.
        let second = try r.sync(with: served.address, expecting: c.nodeID)
        #expect(second.chunkError == nil)
        #expect(second.chunks?.sent == 7 - landed.count)
        let out = dir.sub("out")
        let x = try served.host.evidence.export(to: out)
        #expect(x.failures.isEmpty && x.written.count == 1)
        #expect(try EvidenceTests.bytes(out + "/hearing.mp4") == (try EvidenceTests.bytes(p)))
        // The coordinator's last word in that session said it checked the file.
        #expect(try r.heldFiles().first?.acknowledgedByCoordinator == true)
        #expect(try r.releaseAcknowledged().map(\.fid) == [e.fid])
        // Nothing is owed either way now.
        let third = try r.sync(with: served.address, expecting: c.nodeID)
        #expect(third.chunks?.sent == 0 && third.chunks?.received == 0)
    }

    @Test("a lawyer pulls the files of its shared cases only, and a relay pulls every file as ciphertext")
    func lawyerAndRelayPull() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: c)
        let relay = try RoleKit.make(dir, "relay")
        try RoleKit.admit(relay, as: .relay, by: c)
        for n in [l, relay] { try n.setNetworkKey(try #require(try c.networkKey())) }
        let shared = try c.addCase(RoleKit.doc("Общее", person: "Айгуль"))
        let other = try c.addCase(RoleKit.doc("Чужое", person: "Данияр"))
        try c.share(shared.description, with: l.nodeID)
        let a = try c.attach(shared.description, path: try EvidenceTests.randomFile(dir, "a.bin", size: (1 << 20) + 1))
        let b = try c.attach(other.description, path: try EvidenceTests.randomFile(dir, "b.bin", size: 100))
        let served = try ServedHost(home: c.home)
        defer { served.stop() }
        let s = try l.sync(with: served.address, expecting: c.nodeID)
        #expect(s.chunks?.received == 2, "\(String(describing: s.chunks)) \(s.chunkError ?? "")")
        #expect(try l.store.chunkIndexes(fid: Hex.decode(b.fid)!).isEmpty, "an unshared file reached the lawyer")
        #expect(try l.evidence().map(\.fid) == [a.fid] && l.evidence().allSatisfy(\.complete))
        let rs = try relay.sync(with: served.address, expecting: c.nodeID)
        #expect(rs.chunks?.received == 3)
        #expect(try relay.heldFiles().count == 2 && relay.evidence().isEmpty)
    }

    /// A modified client on our own library: it answers a chunk session with chunks of a file
    /// the server never asked for (ids and counts show in any seized store).
    final class Planter: ChunkPeer, @unchecked Sendable {
        let planted: [[UInt8]]
        init(_ planted: [[UInt8]]) { self.planted = planted }
        func statement() throws(SyncError) -> [UInt8] { [] }
        func accept(statement: [UInt8]) {}
        func wants() throws(SyncError) -> ChunkWants { ChunkWants() }
        func gives(for wants: ChunkWants) throws(SyncError) -> [(fid: [UInt8], index: Int)] { planted.indices.map { ([UInt8](repeating: 7, count: 16), $0) } }
        func chunk(fid: [UInt8], index: Int) throws(SyncError) -> [UInt8]? { planted[index] }
        func receive(chunk: [UInt8]) throws(SyncError) {}
        func finishReceiving() throws(SyncError) {}
    }

    @Test("attack: a member pushes chunks nobody asked for; the server drops them unread")
    func unaskedChunksAreDropped() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let d = try RoleKit.make(dir, "d")
        try RoleKit.admit(d, as: .coordinator, by: c)
        let pid = try c.requireProject()
        let fid = [UInt8](repeating: 7, count: 16)
        let planted = (0..<3).map { i in
            EvidenceChunk.seal(Random.bytes(1000), key: SymmetricKey(), project: pid, fileID: fid, index: UInt32(i), count: 3).encoded()
        }
        let served = try ServedHost(home: c.home)
        defer { served.stop() }
        let conn = try Connection.connect(to: served.address)
        defer { conn.close() }
        let s = try PeerSession.clientChunks(conn: conn, identity: d.identity.signing, networkKey: try #require(try c.networkKey()),
                                             project: pid, peer: { _ in Planter(planted) }, refusal: { _ in nil })
        #expect(s.sent == 3, "the planter did send them")
        let held = try served.host.withNode { n throws(NodeError) in try mapped { try n.store.chunkIndexes(fid: fid, includingPending: true) } }
        #expect(held.isEmpty, "a chunk nobody asked for was stored: \(held)")
    }
}
