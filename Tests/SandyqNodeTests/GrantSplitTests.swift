import Foundation
import Testing
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

// Session-key grants larger than one op body: a reporter who writes thousands of sealing
// sessions on a shared case, and a coordinator added to a project of thousands of cases.
// Before grants were split, either built one grant op over the 1 MiB body limit and every
// coordinator trapped (exit 132) on its next import, sync or `member add`.

enum GrantKit {
    static func now() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// The attack: `count` edits of one case's notes, each in a sealing session of its own,
    /// signed with the reporter's key and stored in its own store the way its node stores
    /// what it writes. Built on the library's OpWriter: a fresh scope per op is all it takes
    /// to open a fresh session. Returns the last value written.
    @discardableResult
    static func manySessions(by r: Node, on k: CaseID, count: Int, readers: [BoxPublicKey]) throws -> String {
        let pid = try #require(try r.project())
        let head = try r.store.chainHead(of: r.identity.signing.publicKey)
        let w = OpWriter(keys: r.identity.signing, project: pid, seq: head?.seq ?? 0, prev: head?.id ?? .zero,
                         clock: HybridClock(last: (try? r.view().maxClock) ?? 0))
        var last: OpID?
        var envs: [Envelope] = []
        envs.reserveCapacity(count)
        var value = ""
        for i in 0..<count {
            value = "правка \(i)"
            let m = Mutation.put(case: k, path: FieldPath(field: "notes"), value: value, supersedes: last.map { [$0] } ?? [])
            let env = w.sealed([m], readers: readers, wallMillis: now(), scope: Random.bytes(8))
            envs.append(env)
            last = env.id
        }
        let report = try r.store.importEnvelopes(envs, project: pid, verified: true)
        #expect(report.new == count)
        r.invalidateView()
        return value
    }

    /// Grant ops `author` holds that `reader` can open: (ops, grant mutations in them).
    static func grants(in n: Node, by author: Node, readableBy reader: BoxKeyPair) throws -> (ops: Int, grants: [[UInt8]], maxBody: Int) {
        var ops = 0, maxBody = 0
        var out: [[UInt8]] = []
        var keys: [[UInt8]: SymmetricKey] = [:]
        for e in try n.store.envelopes(author: author.identity.signing.publicKey, after: 0) where e.kind == .sealed {
            let body = try SealedBody(decoding: e.body)
            if let k = body.openSessionKey(with: reader) { keys[body.sessionID] = k }
            guard let k = keys[body.sessionID], let plain = try? body.open(with: k, header: e.header) else { continue }
            let p = try Payload(decoding: plain)
            let gs = p.mutations.compactMap { m -> [UInt8]? in
                if case let .grant(a, s, _) = m { return a.bytes + s }
                return nil
            }
            guard !gs.isEmpty else { continue }
            ops += 1
            maxBody = max(maxBody, e.body.count)
            out += gs
        }
        return (ops, out, maxBody)
    }
}

@Suite("Grants split across ops under the body limit")
struct GrantSplitTests {
    @Test("a reporter's 15,000 sealing sessions on a shared case: the coordinator imports, and the lawyer reads")
    func reporterFloodsSessions() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        let l = try RoleKit.make(dir, "l")
        try RoleKit.admit(r, as: .reporter, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        let k = try r.addCase(RoleKit.doc("Дело с правками", person: "Айгерим Правкина"))
        try NodeFixture.sync(r, to: c)
        try c.share(k.description, with: l.nodeID)
        try NodeFixture.syncBothWays(c, r)

        let count = 15_000
        let start = Date()
        let last = try GrantKit.manySessions(by: r, on: k, count: count, readers: [c.identity.box.publicKey])
        let crafted = Date().timeIntervalSince(start)

        // The real transport: a bundle from the reporter to the coordinator.
        let out = dir.sub("r-to-c.sqb")
        _ = try r.exportBundle(to: [c.nodeID], out: out)
        let t0 = Date()
        let imported = try c.importBundle(out)
        let importSeconds = Date().timeIntervalSince(t0)
        #expect(imported.report.new == count)

        let g = try GrantKit.grants(in: c, by: c, readableBy: l.identity.box)
        #expect(g.ops >= 2, "\(count) session keys cannot fit one op")
        #expect(g.maxBody <= Envelope.maxBodyLength)
        #expect(Set(g.grants).count == g.grants.count, "no session granted twice")
        #expect(g.grants.count >= count, "every session of the shared case is granted")

        // A second import or sync finds nothing left to grant.
        let before = try c.store.opCount
        try c.forwardSharedCaseKeys()
        #expect(try c.store.opCount == before)

        try NodeFixture.sync(c, to: l)
        #expect(try l.view().cases[k]?.value("notes") == last, "the lawyer reads the reporter's last edit")
        print("grants: crafted \(count) sessions in \(crafted) s; import+grant \(importSeconds) s; \(g.ops) grant ops, max body \(g.maxBody) B")
    }
}
