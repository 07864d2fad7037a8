import Foundation
import Testing
import SandyqCore
import SandyqCrypto
@testable import SandyqSync

/// The handshake gate on real loopback sockets: what it closes, when, and that a member's
/// handshake gets through while strangers crowd it.
@Suite(.serialized) struct HandshakeGateTests {
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var refused: [(peer: String, reason: String)] = []
        private var admitted: [(Connection, Handshake.Session)] = []
        func add(_ events: [HandshakeGate.Event]) {
            lock.lock(); defer { lock.unlock() }
            for e in events {
                switch e {
                case let .refused(peer, reason, _, _): refused.append((peer, reason))
                case let .admitted(c, s): admitted.append((c, s))
                }
            }
        }
        var refusals: [(peer: String, reason: String)] { lock.lock(); defer { lock.unlock() }; return refused }
        var admissions: [(Connection, Handshake.Session)] { lock.lock(); defer { lock.unlock() }; return admitted }
    }

    /// A gate run on its own thread until `stop`, allowing `member` only.
    final class Running: @unchecked Sendable {
        let listener: Listener
        let networkKey = SymmetricKey()
        let server = SigningKeyPair()
        let member = SigningKeyPair()
        let events = Collected()
        private let stopFlag = NSLock()
        private var stopped = false
        private let done = DispatchSemaphore(value: 0)

        init(_ limits: HandshakeGate.Limits) throws {
            listener = try Listener(address: "127.0.0.1:0")
            let gate = HandshakeGate(listener: listener, identity: server, networkKey: networkKey, replay: ReplayCache(), limits: limits)
            let allowedKey = member.publicKey
            Thread { [self] in
                let end = Date().addingTimeInterval(60)
                while !isStopped && Date() < end { events.add(gate.step(timeout: 0.05) { $0 == allowedKey }) }
                gate.closeAll()
                done.signal()
            }.start()
        }

        var isStopped: Bool { stopFlag.lock(); defer { stopFlag.unlock() }; return stopped }
        func stop() { stopFlag.lock(); stopped = true; stopFlag.unlock(); _ = done.wait(timeout: .now() + 10) }

        func waitFor(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
            let end = Date().addingTimeInterval(seconds)
            while !condition() && Date() < end { usleep(10_000) }
            return condition()
        }

        /// A full client handshake as `identity`; the session, or the error.
        func handshake(as identity: SigningKeyPair) -> Result<Handshake.Session, SyncError> {
            Result { () throws(SyncError) -> Handshake.Session in
                let c = try Connection.connect(to: "127.0.0.1:\(listener.port)")
                defer { c.close() }
                var hs = ClientHandshake(identity: identity, networkKey: networkKey)
                try c.writeAll(hs.message1(nowMillis: PeerSession.nowMillis()))
                let m2 = try hs.readMessage2(from: c, deadline: Date(timeIntervalSinceNow: 5))
                let (m3, session): ([UInt8], Handshake.Session)
                do { (m3, session) = try hs.receive2(m2) { $0 == server.publicKey ? nil : "not the server" } } catch {
                    throw .protocolViolation("\(error)")
                }
                try c.writeAll(m3)
                return session
            }
        }
    }

    func silent(_ port: UInt16, _ n: Int) throws -> [Connection] {
        try (0..<n).map { _ in try Connection.connect(to: "127.0.0.1:\(port)") }
    }

    @Test func aSilentSocketIsClosedAfterTheFirstByteDeadline() throws {
        var limits = HandshakeGate.Limits()
        limits.firstByte = 0.3
        let gate = try Running(limits)
        defer { gate.stop() }
        let start = Date()
        let idle = try silent(gate.listener.port, 1)
        #expect(gate.waitFor { !gate.events.refusals.isEmpty })
        let took = Date().timeIntervalSince(start)
        #expect(gate.events.refusals.first?.reason.contains("sent nothing") == true, "\(gate.events.refusals)")
        #expect(took < 5, "closed after \(took) s")
        #expect(throws: SyncError.self) { _ = try idle[0].readExactly(1, deadline: Date(timeIntervalSinceNow: 2)) }
    }

    @Test func aDribblingClientIsClosedAtTheHandshakeDeadline() throws {
        var limits = HandshakeGate.Limits()
        limits.handshake = 0.6
        let gate = try Running(limits)
        defer { gate.stop() }
        let c = try silent(gate.listener.port, 1)[0]
        // One byte of message 1 every 100 ms: each read succeeds, the whole never arrives in time.
        for _ in 0..<12 { try? c.writeAll([1]); usleep(100_000) }
        #expect(gate.waitFor { !gate.events.refusals.isEmpty })
        #expect(gate.events.refusals.first?.reason.contains("handshake not finished") == true, "\(gate.events.refusals)")
    }

    @Test func oneAddressCannotHoldMoreThanItsShare() throws {
        var limits = HandshakeGate.Limits()
        limits.perAddress = 3
        limits.grace = 0.2
        let gate = try Running(limits)
        defer { gate.stop() }
        let conns = try silent(gate.listener.port, 5)
        #expect(gate.waitFor { gate.events.refusals.count >= 2 })
        let reasons = gate.events.refusals.map(\.reason)
        #expect(reasons.count == 2 && reasons.allSatisfy { $0.contains("more than 3 connections") }, "\(reasons)")
        // The two oldest went.
        let oldest = Set(conns.prefix(2).map { $0.localPortForTests })
        #expect(Set(gate.events.refusals.map { UInt16($0.peer.split(separator: ":").last ?? "") ?? 0 }) == oldest)
    }

    /// A member behind the same address as a crowd (one NAT, or an onion service's clients,
    /// who all arrive from the local Tor daemon) whose message 1 is slow to come: twenty
    /// connections arriving after it must not push it out before its grace is over.
    @Test(arguments: [0.3, 0.0]) func aSlowMemberSharingTheCrowdsAddressKeepsItsPlace(delay: Double) throws {
        var limits = HandshakeGate.Limits()
        limits.perAddress = 3
        limits.grace = 2
        let gate = try Running(limits)
        defer { gate.stop() }
        let c = try Connection.connect(to: "127.0.0.1:\(gate.listener.port)")
        defer { c.close() }
        let crowd = try silent(gate.listener.port, 20)
        defer { for x in crowd { x.close() } }
        usleep(UInt32(delay * 1_000_000))
        var hs = ClientHandshake(identity: gate.member, networkKey: gate.networkKey)
        let result = Result { () throws(SyncError) -> Void in
            try c.writeAll(hs.message1(nowMillis: PeerSession.nowMillis()))
            let m2 = try hs.readMessage2(from: c, deadline: Date(timeIntervalSinceNow: 5))
            let m3: [UInt8]
            do { (m3, _) = try hs.receive2(m2) { _ in nil } } catch { throw .protocolViolation("\(error)") }
            try c.writeAll(m3)
        }
        if case let .failure(e) = result { Issue.record("the member was pushed out: \(e); refusals \(gate.events.refusals.map(\.reason))") }
        #expect(gate.waitFor { gate.events.admissions.count == 1 }, "refusals: \(gate.events.refusals.map(\.reason))")
        // Once the grace is over, the crowd is cut back to the address's share.
        #expect(gate.waitFor { gate.events.refusals.count >= 17 }, "only \(gate.events.refusals.count) of the crowd closed")
    }

    @Test func aMemberGetsThroughAWaitingRoomFullOfSilence() throws {
        var limits = HandshakeGate.Limits()
        limits.pending = 16
        limits.perAddress = 64
        let gate = try Running(limits)
        defer { gate.stop() }
        let crowd = try silent(gate.listener.port, 40)
        #expect(gate.waitFor { gate.events.refusals.count >= 24 })
        let r = gate.handshake(as: gate.member)
        guard case let .success(session) = r else { Issue.record("the member's handshake failed: \(r)"); return }
        #expect(gate.waitFor { gate.events.admissions.count == 1 })
        #expect(gate.events.admissions.first?.1.peer == gate.member.publicKey)
        #expect(session.peer == gate.server.publicKey)
        _ = crowd
    }

    @Test func aNonMembersMessage3IsRefusedAndNeverAdmitted() throws {
        let gate = try Running(HandshakeGate.Limits())
        defer { gate.stop() }
        _ = gate.handshake(as: SigningKeyPair())
        #expect(gate.waitFor { !gate.events.refusals.isEmpty })
        #expect(gate.events.refusals.first?.reason.contains("not a member") == true, "\(gate.events.refusals)")
        #expect(gate.events.admissions.isEmpty)
    }
}

extension Connection {
    var localPortForTests: UInt16 {
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: sa.sin_port)
    }
}
