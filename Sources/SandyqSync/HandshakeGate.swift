import Foundation
import SandyqCore
import SandyqCrypto

/// Where a server's connections wait until their handshake is done. One thread runs it with
/// poll(2): a connection here costs a descriptor and a few hundred bytes, no thread and no
/// member slot, so strangers that connect and say nothing, or say garbage, or replay a
/// message 1, never stand between a member and a slot. Only a connection whose message 3
/// proves an allowed key leaves as `admitted`.
///
/// Bounds: `Limits.perAddress` connections per source address once they are `grace` seconds
/// old (the oldest of that address goes first), `Limits.pending` in all (the oldest of the
/// address with most goes first), a first byte within `firstByte` seconds and the whole
/// handshake within `handshake`. The grace is for members who share an address with a
/// flood (one NAT, or every client of an onion service arriving from the local Tor daemon):
/// without it, a flood that reconnects as fast as it is closed pushes out a member's new
/// connection before its message 1 arrives.
public final class HandshakeGate: @unchecked Sendable {
    public struct Limits: Sendable {
        public var pending = 512
        public var perAddress = 8
        public var firstByte = 5.0
        public var handshake = PeerSession.handshakeTimeout
        /// A connection younger than this is not closed to make room for its own address.
        public var grace = 1.0
        public init() {}
    }

    public enum Event {
        case admitted(Connection, Handshake.Session)
        case refused(peer: String, reason: String, received: Int, sent: Int)
    }

    private struct Pending {
        let conn: Connection
        let host: String
        let since: Double
        /// Made when message 1 is complete: its ephemeral key costs a scalar multiplication
        /// that garbage and silence should not.
        var handshake: ServerHandshake?
        var buffer: [UInt8] = []
        var awaitingMessage3 = false
        /// The length of the message being read: 73 until message 1's first 73 bytes say
        /// more (version 2's padding), then message 3's.
        var need = Handshake.message1Length
    }

    public let limits: Limits
    let listener: Listener
    let identity: SigningKeyPair
    let networkKey: SymmetricKey
    let replay: ReplayCache
    private var pending: [Int32: Pending] = [:]
    private var byHost: [String: [Int32]] = [:]

    public init(listener: Listener, identity: SigningKeyPair, networkKey: SymmetricKey, replay: ReplayCache, limits: Limits = Limits()) {
        self.listener = listener
        self.identity = identity
        self.networkKey = networkKey
        self.replay = replay
        self.limits = limits
        listener.setNonBlocking()
    }

    /// Connections now in the handshake.
    public var waiting: Int { pending.count }

    /// One round: waits up to `timeout` seconds for something to happen, then accepts what
    /// is queued, reads what arrived, advances each handshake and ends the overdue ones.
    /// `allowed` decides whether a client's proven key may sync.
    public func step(timeout: Double, allowed: (SigningPublicKey) -> Bool) -> [Event] {
        var events: [Event] = []
        let fds = Array(pending.keys)
        var polls = [pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)]
        polls += fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let r = poll(&polls, nfds_t(polls.count), Int32(max(0, timeout) * 1000))
        if r > 0 {
            for (i, p) in polls.enumerated().dropFirst() where p.revents != 0 {
                advance(fds[i - 1], allowed: allowed, &events)
            }
            if polls[0].revents != 0 { acceptQueued(allowed: allowed, &events) }
        }
        expire(&events)
        trimAddresses(allowed: allowed, &events)
        return events
    }

    /// Closes every connection still in the handshake (the server is stopping).
    public func closeAll() {
        for p in pending.values { p.conn.close() }
        pending.removeAll(); byHost.removeAll()
    }

    // MARK: internals

    private func now() -> Double { ProcessInfo.processInfo.systemUptime }

    private func acceptQueued(allowed: (SigningPublicKey) -> Bool, _ events: inout [Event]) {
        // Bounded, so a connect storm cannot starve the reads of connections already here.
        for _ in 0..<256 {
            guard let conn = listener.acceptReady() else {
                let e = listener.lastAcceptError
                if e == EMFILE || e == ENFILE { evictBusiest(because: "the server is out of descriptors", allowed: allowed, &events) }
                return
            }
            conn.setBlocking(false)
            let host = conn.peerHost
            if (byHost[host]?.count ?? 0) >= limits.perAddress {
                evict(from: host, perAddressReason(host), olderThan: limits.grace, allowed: allowed, &events)
            }
            if pending.count >= limits.pending {
                evictBusiest(because: "\(limits.pending) connections in the handshake", allowed: allowed, &events)
            }
            pending[conn.fd] = Pending(conn: conn, host: host, since: now())
            byHost[host, default: []].append(conn.fd)
            // A client sends message 1 right after connecting: it is often here already.
            advance(conn.fd, allowed: allowed, &events)
        }
    }

    /// Makes room in the address holding the most.
    private func evictBusiest(because why: String, allowed: (SigningPublicKey) -> Bool, _ events: inout [Event]) {
        guard let host = byHost.max(by: { $0.value.count < $1.value.count })?.key else { return }
        evict(from: host, "\(why), \(host) the most", olderThan: 0, allowed: allowed, &events)
    }

    private func perAddressReason(_ host: String) -> String {
        "more than \(limits.perAddress) connections from \(host) in the handshake"
    }

    /// Brings each address back to its share once the grace of its extra connections is over.
    private func trimAddresses(allowed: (SigningPublicKey) -> Bool, _ events: inout [Event]) {
        for (host, fds) in byHost where fds.count > limits.perAddress {
            evict(from: host, perAddressReason(host), olderThan: limits.grace, count: fds.count - limits.perAddress, allowed: allowed, &events)
        }
    }

    /// Makes room for `count` more from `host`. First its connections whose next message has
    /// already arrived move on (a member's message 3 is often waiting: closing it would
    /// fail a member who did nothing wrong). Then those that got least far go — silent
    /// before part of a message 1 before awaiting message 3 — the oldest of each first.
    /// Only connections at least `minAge` seconds old are candidates.
    private func evict(from host: String, _ why: String, olderThan minAge: Double, count: Int = 1,
                       allowed: (SigningPublicKey) -> Bool, _ events: inout [Event]) {
        let t = now()
        func oldEnough(_ fd: Int32) -> Bool { pending[fd].map { t - $0.since >= minAge } ?? false }
        // Nothing old enough: no reads, so a crowd of young connections costs no syscalls here.
        guard (byHost[host] ?? []).contains(where: oldEnough) else { return }
        let before = byHost[host]?.count ?? 0
        for fd in byHost[host] ?? [] { advance(fd, allowed: allowed, &events) }
        let needed = count - (before - (byHost[host]?.count ?? 0))
        guard needed > 0 else { return }
        func progress(_ fd: Int32) -> Int {
            guard let p = pending[fd] else { return 3 }
            return p.awaitingMessage3 ? 2 : (p.conn.bytesReceived > 0 ? 1 : 0)
        }
        // byHost keeps arrival order, and a stable sort keeps it within each progress.
        let victims = (byHost[host] ?? []).filter(oldEnough).enumerated()
            .sorted { (progress($0.element), $0.offset) < (progress($1.element), $1.offset) }
            .prefix(needed).map(\.element)
        for fd in victims { refuse(fd, "\(why): the oldest of those that got least far is closed", &events) }
    }

    private func advance(_ fd: Int32, allowed: (SigningPublicKey) -> Bool, _ events: inout [Event]) {
        guard var p = pending[fd] else { return }
        do {
            // Never read past the message: what follows message 3 is the session's first frame.
            let got = try p.conn.receiveAvailable(max: p.need - p.buffer.count)
            p.buffer += got
        } catch {
            return refuse(fd, error.description, &events)
        }
        if !p.awaitingMessage3, p.buffer.count == Handshake.message1Length, p.need == Handshake.message1Length {
            p.need = Handshake.message1Length(prefix: p.buffer, networkKey: networkKey)
            // Its padding may be here already.
            if p.need > p.buffer.count {
                do { p.buffer += try p.conn.receiveAvailable(max: p.need - p.buffer.count) } catch {
                    return refuse(fd, error.description, &events)
                }
            }
        }
        guard p.buffer.count == p.need else { pending[fd] = p; return }
        let message = p.buffer
        p.buffer = []
        if !p.awaitingMessage3 {
            var hs = ServerHandshake(identity: identity, networkKey: networkKey)
            let m2: [UInt8]
            do {
                m2 = try hs.receive1(message, nowMillis: PeerSession.nowMillis(), replay: replay)
            } catch { return refuse(fd, error.description, &events) }
            p.handshake = hs
            do { try p.conn.writeAll(m2) } catch { return refuse(fd, error.description, &events) }
            p.awaitingMessage3 = true
            p.need = hs.message3Length
            pending[fd] = p
            return
        }
        let session: Handshake.Session
        guard let hs = p.handshake else { return refuse(fd, SyncError.authenticationFailed.description, &events) }
        do { session = try hs.receive3(message, allowed: allowed) } catch { return refuse(fd, error.description, &events) }
        remove(fd)
        p.conn.setBlocking(true)
        events.append(.admitted(p.conn, session))
    }

    private func expire(_ events: inout [Event]) {
        let t = now()
        for (fd, p) in pending {
            let age = t - p.since
            if p.conn.bytesReceived == 0 && age > limits.firstByte {
                refuse(fd, "sent nothing within \(Self.seconds(limits.firstByte)) s", &events)
            } else if age > limits.handshake {
                refuse(fd, "handshake not finished within \(Self.seconds(limits.handshake)) s", &events)
            }
        }
    }

    private static func seconds(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(s) }

    private func refuse(_ fd: Int32, _ reason: String, _ events: inout [Event]) {
        guard let p = pending[fd] else { return }
        remove(fd)
        p.conn.close()
        events.append(.refused(peer: p.conn.peerAddress, reason: reason, received: p.conn.bytesReceived, sent: p.conn.bytesSent))
    }

    private func remove(_ fd: Int32) {
        guard let p = pending.removeValue(forKey: fd) else { return }
        byHost[p.host]?.removeAll { $0 == fd }
        if byHost[p.host]?.isEmpty == true { byHost[p.host] = nil }
    }
}
