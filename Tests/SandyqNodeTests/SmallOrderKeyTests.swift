import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// A member whose node id carries a box key of small order (Protocol/ops.md, "Keys of small
/// order"): libsodium seals nothing to it. Before, a writer sealed an entry of zeros to it without
/// a word; a build that checks the sealing result would instead stop every write to the project.
@Suite("Node: a member's box key of small order")
struct SmallOrderKeyTests {
    static let small = SmallOrderKeys.order8

    @Test("member add refuses such a node id and says why")
    func memberAddRefuses() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let odd = NodeID(signingKey: SigningKeyPair().publicKey, boxKey: Self.small)
        let parsed = try #require(NodeID(string: odd.description), "the id still parses: the format is unchanged")
        let error = try #require(throws: NodeError.self) { _ = try f.addMember(parsed, role: .lawyer) }
        #expect(error.kind == .refused && error.message.contains("small order"))
        #expect(try f.view().membership.members[odd.signingKey] == nil)
        // The same key in a join reply: not a reply at all, so the desk and `member add --request`
        // say the reply is bad before any digits are compared.
        let reply = JoinRequest(nonce: [UInt8](repeating: 7, count: 16), node: odd).text
        #expect(JoinRequest(text: reply) == nil)
        #expect(JoinRequest(text: JoinRequest(nonce: [UInt8](repeating: 7, count: 16), node: f.nodeID).text) != nil)
    }

    @Test("a modified coordinator adds one anyway: every write and bundle still seals to the others, and to it nothing")
    func writesLeaveItOut() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), l = try RoleKit.make(dir, "l")
        try RoleKit.admit(c2, as: .coordinator, by: f)
        try RoleKit.admit(l, as: .lawyer, by: f)
        // C2's client skips addMember's check and writes the add itself, for a coordinator.
        let odd = NodeID(signingKey: SigningKeyPair().publicKey, boxKey: Self.small)
        let add = try c2.writer().membership(.add(member: odd, role: .coordinator))
        try c2.commit([add], project: try #require(try c2.project()))
        try NodeFixture.sync(c2, to: f)
        #expect(try f.view().membership.members[odd.signingKey]?.role == .coordinator, "the add stands: only sealing changes")

        let id = try f.addCase(RoleKit.doc("Дело после", person: "Свидетель"))
        let op = try #require(try f.store.envelopes(author: f.nodeID.signingKey, after: 0).last)
        let body = try SealedBody(decoding: op.body)
        let entries = try #require(body.parentKeys ?? body.sealedKeys, "the case's first op carries its key entries")
        #expect(entries.count == 2, "F and C2 read it; the odd key gets no entry (it got 80 bytes of key and zeros)")
        #expect(!entries.contains { $0.dropFirst(32).allSatisfy { $0 == 0 } })
        // The next edit, a batch of its own, starts a session whose entries leave it out too.
        try f.set(id.description, fields: [(FieldPath(field: "notes"), "Вторая правка")])
        let next = try SealedBody(decoding: try #require(try f.store.envelopes(author: f.nodeID.signingKey, after: 0).last).body)
        let nextEntries = try #require(next.parentKeys ?? next.sealedKeys, "a new batch carries its own key entries")
        #expect(next.sessionID != body.sessionID && nextEntries.count == 2)
        try NodeFixture.sync(f, to: c2)
        #expect(try c2.view().cases[id]?.value("title") == "Дело после")

        // A bundle to the lawyer and the odd member: the lawyer opens it.
        let out = try f.exportBundle(to: [l.nodeID, odd], out: dir.sub("to-both.sqb"))
        let got = try l.importBundle(try #require(out.files.first))
        #expect(got.report.new > 0, "the bundle opened for the lawyer")
        // To the odd member alone: refused, not a file that opens for no one.
        let alone = try #require(throws: NodeError.self) { _ = try f.exportBundle(to: [odd], out: dir.sub("to-odd.sqb")) }
        #expect(alone.kind == .refused && alone.message.contains("small order"))
        #expect(!FileManager.default.fileExists(atPath: dir.sub("to-odd.sqb")))
    }

    @Test("a modified coordinator adds a lawyer with one and shares a case with it: every coordinator keeps importing and writing")
    func sharingWithItFailsNothing() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: f)
        let odd = NodeID(signingKey: SigningKeyPair().publicKey, boxKey: Self.small)
        let add = try c2.writer().membership(.add(member: odd, role: .lawyer))
        try c2.commit([add], project: try #require(try c2.project()))
        let id = try c2.addCase(RoleKit.doc("Дело для юриста", person: "Свидетель"))
        // Sharing forwards the case's keys: nothing can be granted to the odd key, and that is no error.
        try c2.share(id.description, with: odd)
        // F forwards shared keys after every import: the import must not fail on it.
        try NodeFixture.sync(c2, to: f)
        #expect(try f.view().cases[id]?.elements("sharedWith").count == 1)
        _ = try f.addCase(RoleKit.doc("Дело после", person: "Человек"))
        #expect(try f.store.grantDebts().isEmpty && c2.store.grantDebts().isEmpty)
    }
}
