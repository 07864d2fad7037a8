import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

// PeerSession over real loopback sockets (Listener / Connection), with two temporary OpStores.
// A founds the project (genesis + the add of B, made by SandyqCore's OpWriter) and writes sealed
// ops; B writes its own sealed ops. Misbehaving peers are driven by hand with ClientHandshake,
// FrameCipher and Connection, so every byte they put on the wire is known.

/// Two members, a project, a network key and the ops each of them wrote.
struct PSFixture: @unchecked Sendable {
    let a = SigningKeyPair(), aBox = BoxKeyPair()
    let b = SigningKeyPair(), bBox = BoxKeyPair()
    let networkKey = SymmetricKey()
    let project: ProjectID
    /// A's chain: genesis, add B, then sealed ops.
    let aOps: [Envelope]
    /// B's chain: sealed ops only.
    let bOps: [Envelope]

    var aNode: NodeID { NodeID(signingKey: a.publicKey, boxKey: aBox.publicKey) }
    var bNode: NodeID { NodeID(signingKey: b.publicKey, boxKey: bBox.publicKey) }

    init(aSealed: Int, bSealed: Int, valueSize: Int = 64) {
        let aNode = NodeID(signingKey: a.publicKey, boxKey: aBox.publicKey)
        let bNode = NodeID(signingKey: b.publicKey, boxKey: bBox.publicKey)
        let nonce = Random.bytes(16)
        project = ProjectID.derive(founder: aNode, nonce: nonce)
        let readers = [aBox.publicKey, bBox.publicKey]
        var wall: UInt64 = 1_700_000_000_000

        let wa = OpWriter(keys: a, project: project, seq: 0, prev: .zero, clock: HybridClock())
        var ea = [wa.membership(.genesis(founder: aNode, nonce: nonce)), wa.membership(.add(member: bNode, role: .coordinator))]
        let shared = CaseID.random()
        for i in 0..<aSealed {
            wall += 1000
            let c = i == 0 ? shared : CaseID.random()
            ea.append(wa.sealed([.put(case: c, path: FieldPath(field: "title"), value: "A \(i) " + psText(valueSize), supersedes: [])],
                                readers: readers, wallMillis: wall))
        }
        aOps = ea

        let wb = OpWriter(keys: b, project: project, seq: 0, prev: .zero, clock: HybridClock())
        var eb: [Envelope] = []
        for i in 0..<bSealed {
            wall += 1000
            eb.append(wb.sealed([.put(case: shared, path: FieldPath(field: "city"), value: "B \(i) " + psText(valueSize), supersedes: [])],
                                readers: readers, wallMillis: wall))
        }
        bOps = eb
    }
}

/// Printable text of about `n` bytes, Cyrillic and ASCII, as case records are.
func psText(_ n: Int) -> String {
    let alphabet = Array("абвгдежзийклмнопрстуфхцчшщыэюяәғқңөұүһі ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,")
    var s = ""
    while s.utf8.count < n { s.append(alphabet.randomElement()!) }
    return s
}

/// A temp directory with one store per side, removed when the value goes away.
final class PSStores: @unchecked Sendable {
    let dir = FileManager.default.temporaryDirectory.path + "/sandyq-peersession-\(UUID().uuidString)"
    var aPath: String { dir + "/a.db" }
    var bPath: String { dir + "/b.db" }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    init(_ f: PSFixture, aHolds: [Envelope], bHolds: [Envelope]) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let sa = try OpStore(path: aPath), sb = try OpStore(path: bPath)
        try sa.setProject(f.project); try sb.setProject(f.project)
        if !aHolds.isEmpty { #expect(try sa.importEnvelopes(aHolds, project: f.project).new == aHolds.count) }
        if !bHolds.isEmpty { #expect(try sb.importEnvelopes(bHolds, project: f.project).new == bHolds.count) }
    }

    func count(_ path: String) throws -> Int { try OpStore(path: path).opCount }
    func vector(_ path: String) throws -> VersionVector { try OpStore(path: path).versionVector() }
    func ids(_ path: String) throws -> Set<OpID> { Set(try OpStore(path: path).allEnvelopes().map(\.id)) }
}

/// One server-side session on its own thread, accepted from a fresh loopback listener.
final class PSServer: @unchecked Sendable {
    let listener: Listener
    private let finished = DispatchSemaphore(value: 0)
    private(set) var result: Result<PeerSession.Summary, SyncError>?
    private(set) var bytesSent = -1
    private(set) var bytesReceived = -1

    var address: String { "127.0.0.1:\(listener.port)" }

    init() throws { listener = try Listener(address: "127.0.0.1:0") }

    func start(_ f: PSFixture, storePath: String, replay: ReplayCache = ReplayCache(),
               allowed: @escaping @Sendable (SigningPublicKey) -> Bool) {
        let identity = f.a, nk = f.networkKey, project = f.project
        Thread { [self] in
            defer { finished.signal() }
            do throws(SyncError) {
                guard let conn = try listener.accept(timeout: 10) else { result = .failure(.io("test: nobody connected")); return }
                defer { bytesSent = conn.bytesSent; bytesReceived = conn.bytesReceived; conn.close() }
                do throws(SyncError) {
                    result = .success(try PeerSession.server(conn: conn, identity: identity, networkKey: nk, storePath: storePath,
                                                             project: project, replay: replay, allowed: allowed))
                } catch { result = .failure(error) }
            } catch { result = .failure(error) }
        }.start()
    }

    /// The server's outcome, or nil if it did not finish within `seconds`.
    func wait(_ seconds: Double = 15) -> Result<PeerSession.Summary, SyncError>? {
        finished.wait(timeout: .now() + seconds) == .success ? result : nil
    }
}

extension Result where Failure == SyncError {
    var error: SyncError? { if case let .failure(e) = self { e } else { nil } }
    var value: Success? { if case let .success(v) = self { v } else { nil } }
}

/// A client that completes the handshake by hand, then holds the session keys to write frames itself.
struct PSRawClient {
    let conn: Connection
    var send: FrameCipher
    var receive: FrameCipher
    let session: Handshake.Session

    init(to address: String, _ f: PSFixture) throws {
        conn = try Connection.connect(to: address, timeout: 10)
        var hs = ClientHandshake(identity: f.b, networkKey: f.networkKey)
        try conn.writeAll(hs.message1(nowMillis: UInt64(Date().timeIntervalSince1970 * 1000)))
        let m2 = try hs.readMessage2(from: conn, deadline: Date(timeIntervalSinceNow: 10))
        let (m3, s) = try hs.receive2(m2) { $0 == f.a.publicKey }
        try conn.writeAll(m3)
        session = s
        send = FrameCipher(sending: s)
        receive = FrameCipher(receiving: s)
    }

    mutating func frame(_ type: PeerSession.Message, _ body: [UInt8]) -> [UInt8] { send.seal([type.rawValue] + body) }

    static func opsBody(_ envs: [Envelope]) -> [UInt8] {
        var w = ByteWriter()
        w.varint(UInt64(envs.count))
        for e in envs { w.blob(e.encoded) }
        return w.bytes
    }
}

@Suite struct PeerSessionTests {
    @Test func fullExchangeMovesOpsBothWaysAndCountsThem() throws {
        // Over 1000 ops from A, so its side streams more than one batch.
        let f = PSFixture(aSealed: 1_150, bSealed: 40)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }

        let conn = try Connection.connect(to: server.address)
        let client = try PeerSession.client(conn: conn, identity: f.b, networkKey: f.networkKey, storePath: stores.bPath,
                                            project: f.project) { $0 == f.a.publicKey }
        conn.close()
        let s = try #require(try #require(server.wait(), "server did not finish").get())

        #expect(client.peer == f.a.publicKey)
        #expect(s.peer == f.b.publicKey)
        #expect(client.sent == f.bOps.count)
        #expect(client.report.new == f.aOps.count)
        #expect(client.report.known == 0 && client.report.refused.isEmpty)
        #expect(s.sent == f.aOps.count)
        #expect(s.report.new == f.bOps.count)
        #expect(s.report.known == 0 && s.report.refused.isEmpty)
        // The bytes one side counted out are the bytes the other counted in, handshake included.
        #expect(client.bytesSent == s.bytesReceived)
        #expect(client.bytesReceived == s.bytesSent)
        #expect(client.bytesReceived > f.aOps.reduce(0) { $0 + $1.encoded.count })

        let all = Set(f.aOps.map(\.id)).union(f.bOps.map(\.id))
        #expect(try stores.ids(stores.aPath) == all)
        #expect(try stores.ids(stores.bPath) == all)
        let va = try stores.vector(stores.aPath), vb = try stores.vector(stores.bPath)
        #expect(va == vb)
        #expect(va[f.a.publicKey] == UInt64(f.aOps.count) && va[f.b.publicKey] == UInt64(f.bOps.count))
        // Each side learns what the other holds once it imported everything.
        #expect(client.peerVector == va)
        #expect(s.peerVector == vb)

        // A second session finds nothing to move.
        let again = try PSServer()
        again.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }
        let c2 = try Connection.connect(to: again.address)
        let client2 = try PeerSession.client(conn: c2, identity: f.b, networkKey: f.networkKey, storePath: stores.bPath,
                                             project: f.project) { $0 == f.a.publicKey }
        c2.close()
        let s2 = try #require(try #require(again.wait(), "server did not finish").get())
        #expect(client2.sent == 0 && client2.report.new == 0 && client2.report.known == 0)
        #expect(s2.sent == 0 && s2.report.new == 0)
        #expect(try stores.count(stores.aPath) == all.count)
    }

    @Test func wrongNetworkKeyGetsNoAnswer() throws {
        let f = PSFixture(aSealed: 3, bSealed: 3)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { _ in true }

        let conn = try Connection.connect(to: server.address)
        defer { conn.close() }
        var clientError: SyncError?
        do {
            _ = try PeerSession.client(conn: conn, identity: f.b, networkKey: SymmetricKey(), storePath: stores.bPath,
                                       project: f.project) { _ in true }
        } catch { clientError = error }

        let r = try #require(server.wait(), "server did not finish")
        #expect(r.error == .protocolViolation(SyncError.badNetworkKey.description), "server: \(r)")
        #expect(server.bytesSent == 0, "the server answered a stranger with \(server.bytesSent) bytes")
        #expect(server.bytesReceived == Handshake.message1Length)
        #expect(conn.bytesReceived == 0)
        guard case let .protocolViolation(why)? = clientError else { Issue.record("client: \(String(describing: clientError))"); return }
        #expect(why.contains("did not answer"), "\(why)")
        #expect(try stores.count(stores.aPath) == f.aOps.count)
        #expect(try stores.count(stores.bPath) == f.bOps.count)
    }

    @Test func clientWhoseKeyIsNotAllowedIsRefusedAfterMessage2() throws {
        let f = PSFixture(aSealed: 3, bSealed: 3)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { _ in false }

        let conn = try Connection.connect(to: server.address)
        defer { conn.close() }
        var clientError: SyncError?
        do {
            _ = try PeerSession.client(conn: conn, identity: f.b, networkKey: f.networkKey, storePath: stores.bPath,
                                       project: f.project) { $0 == f.a.publicKey }
        } catch { clientError = error }
        #expect(clientError != nil, "the refused client thought it synced")

        let r = try #require(server.wait(), "server did not finish")
        guard case let .protocolViolation(why)? = r.error else { Issue.record("server: \(r)"); return }
        #expect(why.contains("not a member"), "\(why)")
        // Message 2 and nothing more: no vector, no ops.
        #expect((Handshake.message2Length...Handshake.message2Length + Handshake.maxPadding).contains(server.bytesSent))
        #expect(try stores.ids(stores.aPath) == Set(f.aOps.map(\.id)))
        #expect(try stores.ids(stores.bPath) == Set(f.bOps.map(\.id)))
    }

    @Test func serverWhoseKeyIsNotAllowedIsRefusedByTheClient() throws {
        let f = PSFixture(aSealed: 3, bSealed: 3)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { _ in true }

        let conn = try Connection.connect(to: server.address)
        var clientError: SyncError?
        do {
            _ = try PeerSession.client(conn: conn, identity: f.b, networkKey: f.networkKey, storePath: stores.bPath,
                                       project: f.project) { _ in false }
        } catch { clientError = error }
        conn.close()
        guard case let .protocolViolation(why)? = clientError else { Issue.record("client: \(String(describing: clientError))"); return }
        #expect(why.contains("server's key is not a member"), "\(why)")
        #expect((Handshake.message1Length...Handshake.message1Length + Handshake.maxPadding).contains(conn.bytesSent),
                "the client went on past message 1")

        let r = try #require(server.wait(), "server did not finish")
        #expect(r.error != nil, "server: \(r)")
        #expect(try stores.count(stores.aPath) == f.aOps.count)
        #expect(try stores.count(stores.bPath) == f.bOps.count)
    }

    @Test func oversizedFrameLengthIsAProtocolViolation() throws {
        let f = PSFixture(aSealed: 3, bSealed: 3)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        for length: UInt32 in [64 << 20, UInt32(FrameCipher.maxFrame) + 1, 0] {
            let server = try PSServer()
            server.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }
            let raw = try PSRawClient(to: server.address, f)
            var w = ByteWriter()
            w.u32(length)
            // Masked as the session says (version 2), followed by a few bytes, as an attacker streaming a huge frame would.
            try raw.conn.writeAll(zip(w.bytes, raw.send.lengthMask()).map { $0 ^ $1 } + [UInt8](repeating: 0xAB, count: 64))

            let r = try #require(server.wait(), "server did not finish after frame length \(length)")
            guard case let .protocolViolation(why)? = r.error else { Issue.record("length \(length): server: \(r)"); raw.conn.close(); continue }
            #expect(why.contains("frame length \(length)"), "\(why)")
            // The server sent its vector frame at most, never any ops.
            #expect(server.bytesSent < Handshake.message2Length + Handshake.maxPadding + 200, "server sent \(server.bytesSent) bytes")
            raw.conn.close()
        }
        #expect(try stores.count(stores.aPath) == f.aOps.count)
    }

    @Test func disconnectMidBatchKeepsTheBatchesBefore() throws {
        let f = PSFixture(aSealed: 3, bSealed: 30)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: [])
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }

        var raw = try PSRawClient(to: server.address, f)
        let first = Array(f.bOps[0..<10]), second = Array(f.bOps[10..<20]), third = Array(f.bOps[20..<30])
        try raw.conn.writeAll(raw.frame(.vector, VersionVector().encoded()))
        try raw.conn.writeAll(raw.frame(.ops, PSRawClient.opsBody(first)))
        try raw.conn.writeAll(raw.frame(.ops, PSRawClient.opsBody(second)))
        let cut = raw.frame(.ops, PSRawClient.opsBody(third))
        try raw.conn.writeAll(Array(cut[0..<(cut.count / 2)]))
        // Let the first two frames land before the connection goes away.
        usleep(200_000)
        raw.conn.close()

        let r = try #require(server.wait(), "server did not finish")
        #expect(r.error != nil, "a session cut mid-frame ended as a success: \(r)")
        let held = try stores.ids(stores.aPath)
        let expected = Set(f.aOps.map(\.id)).union(first.map(\.id)).union(second.map(\.id))
        #expect(held == expected, "held \(held.count), expected \(expected.count)")
        #expect(try stores.vector(stores.aPath)[f.b.publicKey] == 20)
    }

    @Test func garbledFrameEndsTheSessionAndKeepsEarlierBatches() throws {
        let f = PSFixture(aSealed: 3, bSealed: 10)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: [])
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }

        var raw = try PSRawClient(to: server.address, f)
        defer { raw.conn.close() }
        try raw.conn.writeAll(raw.frame(.vector, VersionVector().encoded()))
        try raw.conn.writeAll(raw.frame(.ops, PSRawClient.opsBody(Array(f.bOps[0..<5]))))
        var bad = raw.frame(.ops, PSRawClient.opsBody(Array(f.bOps[5..<10])))
        bad[bad.count - 3] ^= 0x40
        try raw.conn.writeAll(bad)

        let r = try #require(server.wait(), "server did not finish")
        #expect(r.error == .protocolViolation("frame failed authentication"), "server: \(r)")
        #expect(try stores.vector(stores.aPath)[f.b.publicKey] == 5)
    }

    /// A member that skips its vector and sends only done + finalVector must not hang the server.
    @Test func peerThatNeverSendsItsVectorDoesNotHangTheServer() throws {
        let f = PSFixture(aSealed: 3, bSealed: 3)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: [])
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }

        var raw = try PSRawClient(to: server.address, f)
        defer { raw.conn.close() }
        var w = ByteWriter(); w.varint(0)
        try raw.conn.writeAll(raw.frame(.done, w.bytes))
        try raw.conn.writeAll(raw.frame(.finalVector, VersionVector().encoded()))
        // The connection stays open: only the server's own logic can end the session.
        let r = server.wait(5)
        #expect(r != nil, "the server's session hung after done + finalVector without a vector (its sender waits for the vector forever)")
        if case let .success(s)? = r { #expect(s.sent == 0, "ops went to a peer whose vector never came: \(s.sent)") }
    }
}
