import Foundation
import SandyqCore
import SandyqCrypto

/// One announcement of `serve --lan` (Protocol/transports.md, "LAN discovery"): which member
/// serves on which TCP port, sealed under a key of the current time window. On the wire it is
/// a nonce and ciphertext of varying length, sent to a group and UDP port that change with the
/// window; all three come from the network key, so a watcher without it sees no fixed string
/// and no identifier that lasts past a window.
public struct LanBeacon: Sendable, Equatable {
    public static let version: UInt8 = 1
    /// Seconds per window; both sides must agree.
    public static let defaultWindow: UInt64 = 600
    static let plainLength = 1 + 2 + 32 + 32
    public static let maxPadding = 63
    public static let minPacket = AEAD.nonceLength + plainLength + AEAD.tagLength
    public static let maxPacket = minPacket + maxPadding

    public let node: NodeID
    /// The TCP port `serve` listens on; the address is the packet's source.
    public let port: UInt16

    public init(node: NodeID, port: UInt16) { self.node = node; self.port = port }

    /// Where one window's announcements go.
    public struct Rendezvous: Sendable, Equatable, CustomStringConvertible {
        /// 239.255.a.b: administratively scoped, so routers keep it on the LAN.
        public let group: (UInt8, UInt8, UInt8, UInt8)
        public let port: UInt16
        public var groupText: String { "\(group.0).\(group.1).\(group.2).\(group.3)" }
        public var description: String { "\(groupText):\(port)" }
        public static func == (a: Rendezvous, b: Rendezvous) -> Bool { a.groupText == b.groupText && a.port == b.port }
    }

    public static func window(at date: Date = Date(), length: UInt64 = defaultWindow) -> UInt64 {
        UInt64(max(0, date.timeIntervalSince1970)) / max(1, length)
    }

    /// BLAKE2b-256 keyed with the network key over "sandyq lan addr <window>".
    public static func rendezvous(networkKey: SymmetricKey, window: UInt64) -> Rendezvous {
        let d = networkKey.derive(context: "sandyq lan addr \(window)").unsafeCopy
        // d[0] % 255 keeps clear of 239.255.255.250 (SSDP), which every LAN already carries.
        let port = 49152 + (UInt16(d[2]) << 8 | UInt16(d[3])) % 16384
        return Rendezvous(group: (239, 255, d[0] % 255, d[1]), port: port)
    }

    static func key(networkKey: SymmetricKey, window: UInt64) -> SymmetricKey {
        networkKey.deriveKey(context: "sandyq lan key \(window)")
    }

    /// nonce[24] ‖ AEAD(version ‖ port ‖ signing key ‖ box key ‖ zero padding).
    public func seal(networkKey: SymmetricKey, window: UInt64, padding: Int, nonce: [UInt8] = AEAD.randomNonce()) -> [UInt8] {
        var w = ByteWriter(capacity: Self.plainLength + padding)
        w.u8(Self.version)
        w.u16(port)
        w.raw(node.signingKey.bytes)
        w.raw(node.boxKey.bytes)
        w.raw([UInt8](repeating: 0, count: min(max(0, padding), Self.maxPadding)))
        return nonce + AEAD.seal(w.bytes, key: Self.key(networkKey: networkKey, window: window), nonce: nonce)
    }

    /// The beacon, if `packet` opens under one of `windows`; nil for anything else.
    public static func open(_ packet: [UInt8], networkKey: SymmetricKey, windows: [UInt64]) -> LanBeacon? {
        guard packet.count >= minPacket, packet.count <= maxPacket else { return nil }
        let nonce = Array(packet[0..<AEAD.nonceLength]), body = Array(packet[AEAD.nonceLength...])
        for w in windows {
            guard let plain = try? AEAD.open(body, key: key(networkKey: networkKey, window: w), nonce: nonce) else { continue }
            guard plain.count >= plainLength, plain[0] == version,
                  let sk = try? SigningPublicKey(bytes: Array(plain[3..<35])),
                  let bk = try? BoxPublicKey(bytes: Array(plain[35..<67])) else { return nil }
            return LanBeacon(node: NodeID(signingKey: sk, boxKey: bk), port: UInt16(plain[1]) << 8 | UInt16(plain[2]))
        }
        return nil
    }
}
