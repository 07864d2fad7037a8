import Foundation
import SandyqCore
import SandyqCrypto
import SandyqTestSupport
import Testing
@testable import SandyqSync

/// LAN discovery's beacon (Protocol/transports.md, "LAN discovery") against the vectors that
/// scripts/vectors/gen_lan_vectors.py computes from the spec alone, then as a property: every
/// beacon opens in its own window and its neighbours, and nowhere else.
@Suite struct LanBeaconTests {
    static let directory = Vectors.folder("lan")
    static let names: [String] = Vectors.names(in: directory)

    static func fields(_ name: String) throws -> [String: String] {
        try Vectors.header(String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8), name)
    }

    static func key(_ f: [String: String]) throws -> SymmetricKey {
        try SymmetricKey(SecureBytes(Vectors.hex(try #require(f["network_key"]))))
    }

    @Test func everyAreaAndOutcomeIsCovered() throws {
        var seen: [String: Set<String>] = [:]
        for n in Self.names { let f = try Self.fields(n); seen[f["area"] ?? "", default: []].insert(f["expect"] ?? "") }
        #expect(seen == ["beacon": ["ok", "authentication_failed", "unsupported_version", "malformed", "truncated"], "rendezvous": ["ok"]],
                "\(seen)")
        #expect(Self.names.count >= 14)
    }

    @Test(arguments: names)
    func vector(_ name: String) throws {
        let f = try Self.fields(name)
        let key = try Self.key(f)
        let window = try #require(UInt64(f["window"] ?? ""))
        switch f["area"] {
        case "rendezvous":
            let r = LanBeacon.rendezvous(networkKey: key, window: window)
            #expect(r.groupText == f["group"] && "\(r.port)" == f["port"], "\(name): \(r)")
        case "beacon":
            let packet = try Vectors.hex(try #require(f["packet"]))
            let windows = try #require(f["open_windows"]).split(separator: ",").compactMap { UInt64($0) }
            let opened = LanBeacon.open(packet, networkKey: key, windows: windows)
            guard f["expect"] == "ok" else { #expect(opened == nil, "\(name): refused beacon opened"); return }
            let b = try #require(opened, "\(name): did not open")
            #expect(b.node.signingKey.bytes == (try Vectors.hex(try #require(f["node_signing"]))), "\(name)")
            #expect(b.node.boxKey.bytes == (try Vectors.hex(try #require(f["node_box"]))), "\(name)")
            #expect("\(b.port)" == f["tcp_port"], "\(name)")
            // Sealing the same beacon with the vector's nonce and padding gives the same bytes.
            if name == "beacon_ok.txt" {
                #expect(b.seal(networkKey: key, window: window, padding: 17, nonce: Array(packet[0..<24])) == packet)
            }
        default:
            Issue.record("\(name): unknown area")
        }
    }

    @Test func aBeaconOpensInItsWindowAndNeighboursOnly() throws {
        let key = SymmetricKey(), other = SymmetricKey()
        let node = NodeID(signingKey: SigningKeyPair().publicKey, boxKey: BoxKeyPair().publicKey)
        var rng = SplitMix64(seed: 19)
        for _ in 0..<200 {
            let w = rng.next() % 1_000_000 + 2, pad = Int(rng.next() % 64), port = UInt16(truncatingIfNeeded: rng.next())
            let p = LanBeacon(node: node, port: port).seal(networkKey: key, window: w, padding: pad)
            #expect(p.count == LanBeacon.minPacket + pad)
            #expect(LanBeacon.open(p, networkKey: key, windows: [w - 1, w, w + 1]) == LanBeacon(node: node, port: port))
            #expect(LanBeacon.open(p, networkKey: key, windows: [w + 1, w + 2, w - 1]) == nil)
            #expect(LanBeacon.open(p, networkKey: other, windows: [w]) == nil)
            var bent = p
            bent[Int(rng.next() % UInt64(p.count))] ^= 1 << UInt8(rng.next() % 8)
            #expect(LanBeacon.open(bent, networkKey: key, windows: [w]) == nil)
        }
    }

    /// Two seals of one beacon share no byte: nothing on the wire to recognise it by.
    @Test func twoSealsOfOneBeaconShareNothing() throws {
        let key = SymmetricKey()
        let node = NodeID(signingKey: SigningKeyPair().publicKey, boxKey: BoxKeyPair().publicKey)
        let b = LanBeacon(node: node, port: 7447)
        let a = b.seal(networkKey: key, window: 5, padding: 0), c = b.seal(networkKey: key, window: 5, padding: 0)
        let runs = Set((0..<(a.count - 5)).map { Array(a[$0..<($0 + 6)]) })
        #expect(!(0..<(c.count - 5)).contains { runs.contains(Array(c[$0..<($0 + 6)])) })
        // Neighbouring windows go to different places.
        let places = Set((0..<50).map { LanBeacon.rendezvous(networkKey: key, window: UInt64($0)).description })
        #expect(places.count >= 49)
    }
}

/// The listener on a real network interface (multicast loopback carries it to this process).
@Suite(.enabled(if: !LanDiscovery.interfaces().isEmpty, "no network interface here carries multicast"))
struct LanListenTests {
    /// An announcer that starts two windows after the listener: heard only if the listener
    /// joins each new window's group as the clock moves (a fixed set of three windows missed it,
    /// and lan-e2e's 2 s windows failed now and then).
    @Test func aListenLongerThanAWindowHearsTheLaterWindows() throws {
        let key = SymmetricKey()
        let node = NodeID(signingKey: SigningKeyPair().publicKey, boxKey: BoxKeyPair().publicKey)
        let stop = Flag()
        Thread {
            usleep(2_500_000)
            LanDiscovery.announce(LanBeacon(node: node, port: 7447), networkKey: key, windowLength: 1, shouldStop: { stop.isSet })
        }.start()
        defer { stop.set() }
        let heard = LanDiscovery.listen(networkKey: key, seconds: 7, windowLength: 1)
        #expect(heard.map(\.node) == [node], "\(heard)")
        #expect(heard.first?.address.hasSuffix(":7447") == true)
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }
}
