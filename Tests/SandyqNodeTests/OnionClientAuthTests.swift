import Foundation
import SandyqCore
import SandyqCrypto
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// Tor's client authorisation for `serve --onion --onion-members-only`: the vector of
/// Protocol/transports.md ("Onion: members only"), computed there with an X25519 written from
/// RFC 7748 and hashlib's BLAKE2b, not with libsodium.
@Suite struct OnionClientAuthTests {
    static func pair(_ byte: UInt8) throws -> BoxKeyPair { try BoxKeyPair(secretKey: SecureBytes([UInt8](repeating: byte, count: 32))) }

    @Test("the documented vector: server and member derive the same key pair, and tor's two lines are the documented ones")
    func documentedVector() throws {
        let server = try Self.pair(0x11), member = try Self.pair(0x22)
        #expect(Hex.encode(server.publicKey.bytes) == "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13")
        #expect(Hex.encode(member.publicKey.bytes) == "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20")
        let onServer = try OnionService.clientAuthKeys(mine: server, peer: member.publicKey)
        let onMember = try OnionService.clientAuthKeys(mine: member, peer: server.publicKey)
        #expect(Hex.encode(onMember.secretKey.unsafeCopy) == "41e1add8137ebaff6f665eddf143f7787fe60dcb74550a5709d2ecd1576d9b17")
        #expect(Hex.encode(onMember.publicKey.bytes) == "1c2723dfd40ab72613141ffc20ef5980a14d7d32604aa322b4591722b795fc75")
        #expect(onServer.publicKey == onMember.publicKey)
        #expect(OnionService.authorizedClientLine(onServer.publicKey) == "descriptor:x25519:DQTSHX6UBK3SMEYUD76CB32ZQCQU27JSMBFKGIVULELSFN4V7R2Q")
        let onion = String(repeating: "a", count: 56) + ".onion:7447"
        #expect(OnionService.clientAuthLine(service: try #require(OnionService.serviceName(onion)), keys: onMember)
                == String(repeating: "a", count: 56) + ":descriptor:x25519:IHQ23WATP25P633GL3O7CQ7XPB76MDOLORKQUVYJ2LWNCV3NTMLQ")
    }

    @Test("another member, or the same member with another server, gets another key")
    func keysArePerPair() throws {
        let server = try Self.pair(0x11), member = try Self.pair(0x22), other = try Self.pair(0x33), server2 = try Self.pair(0x44)
        let k = try OnionService.clientAuthKeys(mine: member, peer: server.publicKey).publicKey
        #expect(k != (try OnionService.clientAuthKeys(mine: other, peer: server.publicKey).publicKey))
        #expect(k != (try OnionService.clientAuthKeys(mine: member, peer: server2.publicKey).publicKey))
        #expect(k != member.publicKey, "tor was given the member's own box key")
    }

    @Test("authorized_clients: one file per current member, none for a revoked member nor for this node; with no member at all, refused (tor would answer anyone)")
    func authorizedClientsFollowMembership() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let b = try RoleKit.make(dir, "b"), r = try RoleKit.make(dir, "r"), gone = try RoleKit.make(dir, "gone")
        let server = c.nodeID
        let host = NodeHost(c)
        let hs = dir.file("hs")
        try FileManager.default.createDirectory(atPath: hs, withIntermediateDirectories: false)
        #expect(throws: NodeError.self) { _ = try OnionService.writeAuthorizedClients(host: host, into: hs) }
        #expect(!FileManager.default.fileExists(atPath: hs + "/authorized_clients"), "files were written for a project with no member")
        try host.withNode { n throws(NodeError) in
            _ = try n.addMember(b.nodeID, role: .coordinator)
            _ = try n.addMember(r.nodeID, role: .reporter)
            _ = try n.addMember(gone.nodeID, role: .reporter)
            _ = try n.revoke(gone.nodeID)
        }
        #expect(try OnionService.writeAuthorizedClients(host: host, into: hs) == 2)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: hs + "/authorized_clients"))
        #expect(names == [b.nodeID.fingerprint + ".auth", r.nodeID.fingerprint + ".auth"])
        for m in [b, r] {
            let text = try String(contentsOfFile: hs + "/authorized_clients/" + m.nodeID.fingerprint + ".auth", encoding: .utf8)
            let own = try OnionService.clientAuthKeys(mine: m.identity.box, peer: server.boxKey)
            #expect(text == OnionService.authorizedClientLine(own.publicKey) + "\n", "the server wrote a key the member does not derive")
        }
    }
}
