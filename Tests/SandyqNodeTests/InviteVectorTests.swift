import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqNode

/// Protocol/vectors/invite/*.txt (scripts/vectors/gen_invite_vectors.py): invitations, join
/// replies and the six-digit code, computed outside the Swift code from membership.md.
@Suite struct InviteVectorTests {
    static let directory = Vectors.folder("invite")

    static let names: [String] = Vectors.names(in: directory)

    static func fields(_ name: String) throws -> [String: String] {
        try Vectors.header(String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8), name)
    }

    static func bytes(_ f: [String: String], _ key: String, _ name: String) throws -> [UInt8] {
        try #require(f[key].flatMap(Hex.decode), "\(name): \(key)")
    }

    static func node(_ f: [String: String], _ prefix: String, _ name: String) throws -> NodeID {
        NodeID(signingKey: try SigningPublicKey(bytes: try bytes(f, prefix + "_signing", name)),
               boxKey: try BoxPublicKey(bytes: try bytes(f, prefix + "_box", name)))
    }

    @Test func everyAreaAndOutcomeIsCovered() throws {
        var seen: [String: Set<String>] = [:]
        for n in Self.names {
            let f = try Self.fields(n)
            seen[f["area"] ?? "", default: []].insert(f["expect"] ?? "")
        }
        #expect(seen["invite"] == ["ok", "malformed", "truncated", "unsupported_version"], "\(seen)")
        #expect(seen["reply"] == ["ok", "malformed", "truncated", "unsupported_version"], "\(seen)")
        #expect(seen["sas"] == ["ok"], "\(seen)")
        #expect(Self.names.count >= 20, "\(Self.names)")
    }

    @Test(arguments: names)
    func vector(_ name: String) throws {
        let f = try Self.fields(name)
        let expect = try #require(f["expect"])
        switch f["area"] {
        case "invite":
            let text = try #require(f["text"])
            guard expect == "ok" else {
                #expect(Invitation(text: text) == nil, "\(name): \(expect) parsed as an invitation")
                #expect(Invitation(text: text + "\n") == nil, "\(name): with a newline")
                return
            }
            let inv = try #require(Invitation(text: text), "\(name): not parsed")
            #expect(inv.project.bytes == (try Self.bytes(f, "project", name)), "\(name)")
            #expect(inv.networkKey.secret.unsafeCopy == (try Self.bytes(f, "network_key", name)), "\(name)")
            #expect(inv.inviter == (try Self.node(f, "inviter", name)), "\(name)")
            #expect(inv.role.code == UInt8(f["role"] ?? ""), "\(name)")
            #expect(inv.nonce == (try Self.bytes(f, "nonce", name)), "\(name)")
            #expect(inv.text == f["canonical"], "\(name): written back differently")
            // Surrounding whitespace, as a file or a paste holds it, is trimmed.
            #expect(Invitation(text: "  \(text)\n")?.text == f["canonical"], "\(name)")
        case "reply":
            let text = try #require(f["text"])
            guard expect == "ok" else {
                #expect(JoinRequest(text: text) == nil, "\(name): \(expect) parsed as a join reply")
                return
            }
            let req = try #require(JoinRequest(text: text), "\(name): not parsed")
            #expect(req.nonce == (try Self.bytes(f, "nonce", name)), "\(name)")
            #expect(req.node == (try Self.node(f, "joiner", name)), "\(name)")
            #expect(req.text == f["canonical"], "\(name): written back differently")
        case "sas":
            #expect(expect == "ok")
            let key = try SymmetricKey(SecureBytes(try Self.bytes(f, "network_key", name)))
            let digits = JoinRequest.authenticationString(
                nonce: try Self.bytes(f, "nonce", name), inviter: try Self.node(f, "inviter", name),
                joiner: try Self.node(f, "joiner", name), networkKey: key)
            #expect(digits == f["sas"], "\(name): \(digits)")
        default:
            Issue.record("\(name): unknown area \(f["area"] ?? "-")")
        }
    }
}
