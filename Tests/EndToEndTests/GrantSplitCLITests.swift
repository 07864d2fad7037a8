import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore

// The grant-size attack end to end: real `sandyq` processes for the coordinator, reporter and
// lawyer, and a reporter whose client (built on the project's library) writes 15,000 sealing
// sessions on a shared case into its own store. Its next bundle made the coordinator's
// `bundle import` build one grant op over 1 MiB and trap (exit 132), again at every retry.
// Full size only (about 30 s): run with SANDYQ_FULL_SIZE=1 (scripts/grants-full-size.sh).
@Suite("Grant ops split under the body limit, through the CLI")
struct GrantSplitCLITests {
    static let fullSize = ProcessInfo.processInfo.environment["SANDYQ_FULL_SIZE"] != nil

    static func status(_ h: Home) throws -> [String: Any] { try #require(try h.json(["status"]) as? [String: Any]) }

    @Test("a reporter's 15,000 sessions on a shared case: the coordinator's bundle import exits 0, and the lawyer reads",
          .enabled(if: fullSize, "set SANDYQ_FULL_SIZE=1"))
    func reporterFloodsSessions() throws {
        let c = try Home(), r = try Home(), l = try Home()
        for h in [c, r, l] { try h.initialize() }
        #expect(try c.run(["project", "create", "P"]).code == 0)
        let project = try #require(try Self.status(c)["project"] as? String)
        let rid = try #require(try Self.status(r)["nodeId"] as? String)
        let lid = try #require(try Self.status(l)["nodeId"] as? String)
        let cid = try #require(try Self.status(c)["nodeId"] as? String)
        for (h, id, role) in [(r, rid, "reporter"), (l, lid, "lawyer")] {
            #expect(try h.run(["join", project]).code == 0)
            #expect(try c.run(["member", "add", id, "--role", role]).code == 0)
        }
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-grants-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var n = 0
        func carry(_ from: Home, to: Home, _ id: String) throws -> CLI.Result {
            n += 1
            let file = dir + "/b\(n).sqb"
            let e = try from.run(["bundle", "export", "--to", id, "--out", file])
            try #require(e.code == 0, "export: \(e)")
            return try to.run(["bundle", "import", file])
        }
        #expect(try carry(c, to: r, rid).code == 0)
        #expect(try carry(c, to: l, lid).code == 0)
        let added = try #require(try r.json(["case", "add", "--title", "Дело с правками"]) as? [String: Any])
        let k = try #require(added["id"] as? String)
        #expect(try carry(r, to: c, cid).code == 0)
        #expect(try c.run(["case", "share", k, "--with", lid]).code == 0)
        #expect(try carry(c, to: r, rid).code == 0)

        // The adversary: the reporter's own key, its own store, 15,000 fresh sessions.
        let identity = try KeyFile.open(try #require(r.bytes(r.keyPath)), passphrase: SecureBytes(Array(Home.passphrase.utf8)))
        let store = try OpStore(path: r.dbPath)
        let pid = try #require(try store.project())
        let cbox = try #require(NodeID(string: cid)).boxKey
        let head = try store.chainHead(of: identity.signing.publicKey)
        let w = OpWriter(keys: identity.signing, project: pid, seq: head?.seq ?? 0, prev: head?.id ?? .zero, clock: HybridClock())
        let caseID = try CaseID(bytes: try #require(Hex.decode(k)))
        var envs: [Envelope] = [], last: OpID?, value = ""
        for i in 0..<15_000 {
            value = "правка \(i)"
            let m = Mutation.put(case: caseID, path: FieldPath(field: "notes"), value: value, supersedes: last.map { [$0] } ?? [])
            let env = w.sealed([m], readers: [cbox], wallMillis: UInt64(Date().timeIntervalSince1970 * 1000), scope: Random.bytes(8))
            envs.append(env); last = env.id
        }
        #expect(try store.importEnvelopes(envs, project: pid, verified: true).new == 15_000)

        let t0 = Date()
        let imported = try carry(r, to: c, cid)
        let seconds = Date().timeIntervalSince(t0)
        #expect(imported.code == 0, "the coordinator's import: \(imported.code)\n\(imported.stderr.prefix(300))")
        #expect(!imported.stderr.contains("Backtracing"))
        // A retry, as a mailbox would do: still fine, nothing granted twice.
        let ops = try Self.status(c)["ops"] as? Int
        #expect(try c.run(["bundle", "import", dir + "/b\(n).sqb"]).code == 0)
        #expect(try Self.status(c)["ops"] as? Int == ops)

        #expect(try carry(c, to: l, lid).code == 0)
        let shown = try #require(try l.json(["case", "show", k]) as? [String: Any])
        #expect((shown["document"] as? [String: Any])?["notes"] as? String == value, "the lawyer reads the reporter's last edit")
        print("grants (CLI): coordinator's export+import of 15,000 sessions and their grants took \(seconds) s")
    }
}
