import Foundation
import SandyqCore
import SandyqCrypto
import SandyqTestSupport
import Testing

@testable import SandyqNode
@testable import SandyqSync

/// `sync --lan` against a planted beacon. A beacon opens for anyone holding the network key,
/// and a revoked member still holds it until the key is changed; so a heard node is synced with
/// only if a plain `sync ADDRESS` would accept it. (The whole path, two network namespaces and a
/// packet capture, is scripts/lan-e2e.sh.)
@Suite struct LanDiscoveryTests {
    @Test func onlyNodesASyncWouldAcceptAreKeptFromWhatIsHeard() throws {
        let dir = try TempDir("lan")
        let (c, pid) = try NodeFixture.founder(dir, "c")
        let r = try NodeFixture.make(dir, "r"), x = try NodeFixture.make(dir, "x")
        for n in [r, x] { try n.join(pid); _ = try c.addMember(n.nodeID, role: .reporter) }
        _ = try c.revoke(x.nodeID)
        let stranger = NodeID(signingKey: SigningKeyPair().publicKey, boxKey: BoxKeyPair().publicKey)
        // The reporter's signing key with a box key of the attacker's: readers would seal to it.
        let boxSwapped = NodeID(signingKey: r.nodeID.signingKey, boxKey: BoxKeyPair().publicKey)
        let heard = [
            LanDiscovery.Found(node: x.nodeID, address: "10.0.0.9:7447"),
            LanDiscovery.Found(node: stranger, address: "10.0.0.8:7447"),
            LanDiscovery.Found(node: boxSwapped, address: "10.0.0.7:7447"),
            LanDiscovery.Found(node: c.nodeID, address: "10.0.0.1:7447"),
            LanDiscovery.Found(node: r.nodeID, address: "10.0.0.2:7447"),
        ]
        #expect(try c.lanAcceptable(heard).map(\.node) == [r.nodeID], "the revoked, the stranger, the box swap and itself are dropped")
        // Before its first sync the reporter knows no membership: its inviter is the one it accepts.
        let j = try NodeFixture.make(dir, "j")
        let inv = try c.invite(role: .reporter)
        _ = try j.accept(inv)
        #expect(try j.lanAcceptable(heard).map(\.node) == [c.nodeID], "a joining node accepts its inviter only")
    }
}
