import Foundation

/// Reaching a peer through a SOCKS5 proxy (RFC 1928, CONNECT, no authentication): Tor's client
/// port, or any proxy a censored network leaves open. The peer's name goes to the proxy as
/// typed, so a .onion address or a host name is resolved there and never by this machine's DNS.
/// The bytes are in Protocol/transports.md.
public enum Socks5 {
    /// Tor's client port on the same machine, what `--via tor` means.
    public static let torDefault = "127.0.0.1:9050"

    /// The greeting: version 5, one method offered, "no authentication".
    public static let greeting: [UInt8] = [5, 1, 0]

    /// The CONNECT request for `address` (HOST:PORT): an IPv4 or IPv6 literal as such, anything
    /// else as a domain name of at most 255 bytes.
    public static func request(_ address: String) throws(SyncError) -> [UInt8] {
        let (host, port) = try Connection.parse(address)
        var out: [UInt8] = [5, 1, 0]
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            out.append(1)
            out += withUnsafeBytes(of: v4) { Array($0) }
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            out.append(4)
            out += withUnsafeBytes(of: v6) { Array($0) }
        } else {
            let name = Array(host.utf8)
            guard !name.isEmpty, name.count <= 255 else { throw .usage("'\(host)' is too long a host name for a SOCKS5 proxy") }
            out += [3, UInt8(name.count)] + name
        }
        return out + [UInt8(port >> 8), UInt8(port & 0xff)]
    }

    /// The proxy's reply codes, in words.
    static func failure(_ code: UInt8) -> String {
        switch code {
        case 1: "general failure"
        case 2: "connection not allowed by its rules"
        case 3: "network unreachable"
        case 4: "host unreachable"
        case 5: "connection refused by the peer"
        case 6: "TTL expired (for Tor: the onion service did not answer)"
        case 7: "command not supported"
        case 8: "address type not supported"
        default: "reply code \(code)"
        }
    }

    /// Connects to the proxy, asks it for `address`, and returns the connection once the
    /// proxy says it is through; what follows is the peer's bytes, as over a direct socket.
    public static func connect(to address: String, via proxy: String, timeout: Double = 60) throws(SyncError) -> Connection {
        let ask = try request(address)
        let conn: Connection
        do { conn = try Connection.connect(to: proxy, timeout: timeout) } catch {
            throw .io("cannot reach the SOCKS5 proxy at \(proxy): \(error)")
        }
        do throws(SyncError) {
            try conn.writeAll(greeting)
            let chosen = try conn.readExactly(2)
            guard chosen[0] == 5 else { throw SyncError.io("\(proxy) is not a SOCKS5 proxy") }
            guard chosen[1] == 0 else { throw SyncError.io("the SOCKS5 proxy at \(proxy) wants authentication this node does not offer") }
            try conn.writeAll(ask)
            let head = try conn.readExactly(4)
            guard head[0] == 5 else { throw SyncError.io("\(proxy) answered outside SOCKS5") }
            guard head[1] == 0 else { throw SyncError.io("the SOCKS5 proxy at \(proxy) could not reach \(address): \(failure(head[1]))") }
            // The address the proxy bound, which nothing here needs: read past it.
            switch head[3] {
            case 1: _ = try conn.readExactly(4 + 2)
            case 4: _ = try conn.readExactly(16 + 2)
            case 3: _ = try conn.readExactly(Int(try conn.readExactly(1)[0]) + 2)
            default: throw SyncError.io("the SOCKS5 proxy at \(proxy) sent an unknown address type \(head[3])")
            }
            conn.setTimeout(seconds: 10)
            conn.peerAddress = address
            return conn
        } catch {
            conn.close()
            throw error
        }
    }
}
