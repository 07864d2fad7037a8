import Foundation
import SandyqCore
import SandyqCrypto

/// UDP multicast for `serve --lan` and `sync --lan`: IPv4, TTL 1, on every interface that is
/// up and carries multicast. Beacons are sealed (LanBeacon); nothing here trusts them: a found
/// address is only a hint, and the key-pinned handshake decides who the peer is.
public enum LanDiscovery {
    /// Up, multicast-capable IPv4 interfaces, by address. Loopback carries no multicast on Linux
    /// unless configured to, and then it is included like any other.
    public static func interfaces() -> [in_addr] {
        var out: [in_addr] = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let i = p {
            defer { p = i.pointee.ifa_next }
            let flags = Int32(i.pointee.ifa_flags)
            guard let a = i.pointee.ifa_addr, a.pointee.sa_family == sa_family_t(AF_INET),
                  flags & Int32(IFF_UP) != 0, flags & Int32(IFF_MULTICAST) != 0 else { continue }
            let addr = a.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            if !out.contains(where: { $0.s_addr == addr.s_addr }) { out.append(addr) }
        }
        return out
    }

    static func inAddr(_ r: LanBeacon.Rendezvous) -> in_addr {
        var a = in_addr()
        _ = inet_pton(AF_INET, r.groupText, &a)
        return a
    }

    static func text(_ a: in_addr) -> String {
        var a = a
        var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
        return String(cString: buf)
    }

    /// Announces `beacon` until `shouldStop`, every 2 to 4 seconds (jittered, so the period is
    /// no signature either), with fresh padding and nonce each time.
    public static func announce(_ beacon: LanBeacon, networkKey: SymmetricKey, windowLength: UInt64 = LanBeacon.defaultWindow,
                                shouldStop: @Sendable () -> Bool, log: (String) -> Void = { _ in }) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { log("lan: cannot open a UDP socket"); return }
        defer { close(fd) }
        var ttl: UInt8 = 1, loop: UInt8 = 1
        setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_TTL, &ttl, 1)
        // Members on the same machine hear each other too.
        setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, &loop, 1)
        var warned = false
        while !shouldStop() {
            let w = LanBeacon.window(length: windowLength)
            let r = LanBeacon.rendezvous(networkKey: networkKey, window: w)
            let ifaces = interfaces()
            if ifaces.isEmpty && !warned { log("lan: no network interface carries multicast; announcing nothing until one does"); warned = true }
            for var i in ifaces {
                setsockopt(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, &i, socklen_t(MemoryLayout<in_addr>.size))
                let packet = beacon.seal(networkKey: networkKey, window: w, padding: Int(Random.uint64() % UInt64(LanBeacon.maxPadding + 1)))
                var to = sockaddr_in()
                to.sin_family = sa_family_t(AF_INET)
                to.sin_port = r.port.bigEndian
                to.sin_addr = inAddr(r)
                _ = packet.withUnsafeBytes { b in
                    withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    } }
                }
            }
            let pause = 2.0 + Double(Random.uint64() % 2001) / 1000
            let until = Date().addingTimeInterval(pause)
            while !shouldStop() && Date() < until { usleep(100_000) }
        }
    }

    /// A member heard on the LAN: its node and the address its server listens on.
    public struct Found: Sendable, Equatable {
        public let node: NodeID
        public let address: String
    }

    /// A UDP socket bound to one rendezvous and joined to its group on every interface; nil
    /// when no interface would join.
    static func joinedSocket(for r: LanBeacon.Rendezvous, on ifaces: [in_addr]) -> Int32? {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        // Bound to the group, so other traffic to the port is not delivered here.
        var at = sockaddr_in()
        at.sin_family = sa_family_t(AF_INET)
        at.sin_port = r.port.bigEndian
        at.sin_addr = inAddr(r)
        let bound = withUnsafePointer(to: &at) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }
        guard bound == 0 else { close(fd); return nil }
        var joined = false
        for i in ifaces {
            var m = ip_mreq(imr_multiaddr: inAddr(r), imr_interface: i)
            if setsockopt(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &m, socklen_t(MemoryLayout<ip_mreq>.size)) == 0 { joined = true }
        }
        guard joined else { close(fd); return nil }
        return fd
    }

    /// Listens for `seconds` and returns each node heard (its latest address), in the order
    /// first heard. The current window and its neighbours are heard (clocks a window apart),
    /// and the set follows the clock: a listen longer than a window still hears the next ones.
    public static func listen(networkKey: SymmetricKey, seconds: Double, windowLength: UInt64 = LanBeacon.defaultWindow,
                              ignoring me: SigningPublicKey? = nil) -> [Found] {
        let ifaces = interfaces()
        guard !ifaces.isEmpty else { return [] }
        // Rendezvous (as text) → its socket; nil where it could not be joined, so it is not retried every round.
        var sockets: [String: Int32?] = [:]
        defer { for case let fd? in sockets.values { close(fd) } }
        var windows: [UInt64] = []
        func follow() {
            let w = LanBeacon.window(length: windowLength)
            windows = [w, w &+ 1, w &- 1]
            for x in windows {
                let r = LanBeacon.rendezvous(networkKey: networkKey, window: x)
                if sockets[r.description] == nil { sockets[r.description] = .some(joinedSocket(for: r, on: ifaces)) }
            }
        }
        var found: [Found] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buf = [UInt8](repeating: 0, count: 2048)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { break }
            follow()
            let fds = sockets.values.compactMap { $0 }
            guard !fds.isEmpty else { break }
            var polls = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            // At most a second per round, so a new window's group is joined soon after it starts.
            let r = poll(&polls, nfds_t(polls.count), Int32(min(left, 1) * 1000) + 1)
            if r < 0 && errno == EINTR { continue }
            guard r >= 0 else { break }
            for p in polls where p.revents & Int16(POLLIN) != 0 {
                var from = sockaddr_in()
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                let n = buf.withUnsafeMutableBytes { b in
                    withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(p.fd, b.baseAddress, b.count, 0, $0, &len)
                    } }
                }
                guard n > 0, let beacon = LanBeacon.open(Array(buf[0..<n]), networkKey: networkKey, windows: windows),
                      beacon.node.signingKey != me else { continue }
                let address = "\(text(from.sin_addr)):\(beacon.port)"
                let f = Found(node: beacon.node, address: address)
                if let i = found.firstIndex(where: { $0.node == beacon.node }) { found[i] = f } else { found.append(f) }
            }
        }
        return found
    }
}
