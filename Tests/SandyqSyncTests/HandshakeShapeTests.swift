import Foundation
import Testing
import SandyqCore
import SandyqCrypto
@testable import SandyqSync

/// What a DPI box sees of handshake version 2 (handshake.md "Known gaps" 6): over many
/// handshakes, no message has a fixed length and no byte of message 1 a fixed value; frame
/// lengths are masked. What it can still see is asserted too, so a change is noticed.
@Suite struct HandshakeShapeTests {
    let nk = SymmetricKey()
    let now: UInt64 = 1_767_225_600_000

    /// One in-memory handshake: the three messages and both sessions.
    func handshake(version: UInt8 = 2) throws -> (m1: [UInt8], m2: [UInt8], m3: [UInt8], client: Handshake.Session, server: Handshake.Session) {
        var c = ClientHandshake(identity: SigningKeyPair(), networkKey: nk, version: version)
        var s = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
        let m1 = c.message1(nowMillis: now)
        let m2 = try s.receive1(m1, nowMillis: now) { _ in true }
        #expect(c.message2Length(prefix: Array(m2.prefix(32))) == m2.count)
        let (m3, cs) = try c.receive2(m2) { _ in true }
        #expect(s.message3Length == m3.count)
        return (m1, m2, m3, cs, try s.receive3(m3) { _ in true })
    }

    @Test func message1HasNoFixedLengthAndNoFixedByte() {
        var lengths = Set<Int>()
        var values = [Set<UInt8>](repeating: [], count: Handshake.message1Length)
        var topBitSet = 0
        for _ in 0..<500 {
            var c = ClientHandshake(identity: SigningKeyPair(), networkKey: nk)
            let m1 = c.message1(nowMillis: now)
            #expect(Handshake.message1Length(prefix: Array(m1.prefix(73)), networkKey: nk) == m1.count)
            lengths.insert(m1.count)
            for i in 0..<Handshake.message1Length { values[i].insert(m1[i]) }
            if m1[31] & 0x80 != 0 { topBitSet += 1 }
        }
        print("500 message 1s: \(lengths.count) distinct lengths (\(lengths.min()!)...\(lengths.max()!)); "
            + "fewest distinct values at one of bytes 0..<73: \(values.map(\.count).min()!)")
        #expect(lengths.count >= 50, "only \(lengths.count) distinct message-1 lengths in 500")
        #expect(lengths.isSubset(of: Set(73...(73 + Handshake.maxPadding))))
        // 500 uniform bytes take about 220 of 256 values; a fixed or clock-like byte takes a few.
        for (i, v) in values.enumerated() where i != 31 {
            #expect(v.count >= 150, "byte \(i) of message 1 took only \(v.count) values in 500")
        }
        // What is left: E_c is raw X25519, whose byte 31 never has its top bit set (no Elligator).
        #expect(topBitSet == 0 && values[31].count >= 100, "byte 31: top bit set \(topBitSet) times, \(values[31].count) values")
    }

    @Test func messages2And3AndFrameLengthsVary() throws {
        var l2 = Set<Int>(), l3 = Set<Int>(), prefix0 = Set<UInt8>(), firstBytes2 = Set<UInt8>()
        for _ in 0..<200 {
            let h = try handshake()
            l2.insert(h.m2.count); l3.insert(h.m3.count); firstBytes2.insert(h.m2[0])
            // The same 100-byte message: its ciphertext length is always 116, its prefix never the same.
            var a = FrameCipher(sending: h.client), b = FrameCipher(receiving: h.server)
            let frame = a.seal([1] + [UInt8](repeating: 0, count: 99))
            prefix0.insert(frame[0])
            #expect(b.length(Array(frame.prefix(4))) == 116)
            #expect(try b.open(Array(frame.dropFirst(4))) == [1] + [UInt8](repeating: 0, count: 99))
        }
        print("200 handshakes: \(l2.count) distinct message-2 lengths, \(l3.count) message-3 lengths, "
            + "\(prefix0.count) distinct first bytes of the same frame")
        #expect(l2.count >= 40 && l3.count >= 40, "message 2: \(l2.count) lengths, message 3: \(l3.count)")
        #expect(l2.isSubset(of: Set(144...(144 + 127))) && l3.isSubset(of: Set(112...(112 + 127))))
        #expect(prefix0.count >= 100, "a frame's first byte took \(prefix0.count) values in 200 sessions")
        #expect(firstBytes2.count >= 100)
    }

    @Test func version1IsStillAnsweredAndItsFramesStayClear() throws {
        let h = try handshake(version: 1)
        #expect(h.m1.count == 73 && h.m1[0] == 1 && h.m2.count == 144 && h.m3.count == 112)
        #expect(h.client.sendLength == nil && h.server.receiveLength == nil)
        var a = FrameCipher(sending: h.client)
        #expect(Array(a.seal([1]).prefix(4)) == [0, 0, 0, 17], "version 1's frame length is in clear")
    }

    /// A version-2 message 1 whose padding arrives 0.3 s after its first 73 bytes still gets
    /// through the gate, and a version-1 client still gets admitted.
    @Test func theGateWaitsForLatePaddingAndAdmitsVersion1() throws {
        let gate = try HandshakeGateTests.Running(HandshakeGate.Limits())
        defer { gate.stop() }
        var padded = ClientHandshake(identity: gate.member, networkKey: gate.networkKey)
        var m1 = padded.message1(nowMillis: PeerSession.nowMillis())
        while m1.count < 74 {
            padded = ClientHandshake(identity: gate.member, networkKey: gate.networkKey)
            m1 = padded.message1(nowMillis: PeerSession.nowMillis())
        }
        for version: UInt8 in [2, 1] {
            var hs = version == 2 ? padded : ClientHandshake(identity: gate.member, networkKey: gate.networkKey, version: 1)
            let first = version == 2 ? m1 : hs.message1(nowMillis: PeerSession.nowMillis())
            let c = try Connection.connect(to: "127.0.0.1:\(gate.listener.port)")
            defer { c.close() }
            try c.writeAll(Array(first.prefix(73)))
            usleep(300_000)
            try c.writeAll(Array(first.dropFirst(73)))
            let m2 = try hs.readMessage2(from: c, deadline: Date(timeIntervalSinceNow: 5))
            let (m3, session) = try hs.receive2(m2) { _ in true }
            try c.writeAll(m3)
            let admitted = gate.waitFor { gate.events.admissions.count == (version == 2 ? 1 : 2) }
            #expect(admitted, "version \(version): refusals \(gate.events.refusals.map(\.reason))")
            #expect((session.sendLength == nil) == (version == 1))
        }
        #expect(gate.events.refusals.isEmpty, "\(gate.events.refusals.map(\.reason))")
    }

    /// A version-1 client (an old node) still syncs with a version-2 server, both ways.
    @Test func aVersion1ClientStillSyncs() throws {
        let f = PSFixture(aSealed: 20, bSealed: 10)
        let stores = try PSStores(f, aHolds: f.aOps, bHolds: f.bOps)
        let server = try PSServer()
        server.start(f, storePath: stores.aPath) { $0 == f.b.publicKey }
        let conn = try Connection.connect(to: server.address)
        let client = try PeerSession.client(conn: conn, identity: f.b, networkKey: f.networkKey, storePath: stores.bPath,
                                            project: f.project, handshakeVersion: 1) { $0 == f.a.publicKey }
        conn.close()
        let s = try #require(server.wait(), "server did not finish").get()
        #expect(client.report.new == f.aOps.count && s.report.new == f.bOps.count)
        let all = Set(f.aOps.map(\.id)).union(f.bOps.map(\.id))
        #expect(try stores.ids(stores.aPath) == all)
        #expect(try stores.ids(stores.bPath) == all)
    }
}
