import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync
@testable import SandyqNode
import Testing
import SandyqTestSupport

/// A field device receives only what it needs, and quarantined ops go no further.
@Suite("What a node hands each peer: reporters get membership only, quarantined ops go nowhere")
struct CarryRuleTests {
    @Test("a reporter's mailbox bundle carries membership ops and nothing of the project's cases; its store then holds only that and its own chain")
    func reporterGetsMembershipOnly() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true), l = try RoleKit.make(dir, "l")
        try RoleKit.admit(l, as: .lawyer, by: c)
        try r.join(try #require(try c.project()))
        _ = try c.addMember(r.nodeID, role: .reporter)
        for i in 0..<5 { _ = try c.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }
        _ = try r.importEnvelopes([])                                // nothing yet
        let stick = dir.sub("stick")
        try FileManager.default.createDirectory(atPath: stick, withIntermediateDirectories: true)
        _ = try c.syncMailbox(stick)
        _ = try r.syncMailbox(stick)
        let held = try r.store.allEnvelopes()
        let fromOthers = held.filter { $0.author != r.nodeID.signingKey }
        #expect(!fromOthers.isEmpty && fromOthers.allSatisfy { $0.kind == .membership },
                "the reporter holds \(fromOthers.filter { $0.kind != .membership }.count) sealed ops of others")
        #expect(try r.view().membership.role(of: r.nodeID.signingKey) == .reporter, "it still learns its admission")
        // It records, and its bundle back carries its own chain only.
        _ = try r.addCase(RoleKit.doc("Запись репортёра", person: "Свидетель"))
        #expect(try r.chainGaps().isEmpty, "holes by design are not reported on a reporter")
        _ = try r.syncMailbox(stick)
        let before = try c.store.opCount
        _ = try c.syncMailbox(stick)
        #expect(try c.store.opCount == before + 1)
        // A lawyer is not a field device: it gets what is sealed to it as before.
        #expect(try c.carryRule(to: [l.nodeID.signingKey]).restricts == false)
        let peers = try c.peers()
        let acked = try #require(peers.first { $0.node == r.nodeID }).acknowledged
        let owed = try c.envelopes(missingFrom: acked).filter { try c.carryRule(to: [r.nodeID.signingKey]).allows($0) }
        // Its acknowledgement is contiguous, so membership ops above the first sealed op it never
        // gets are offered again each time (Protocol/bundles.md, known gaps): nothing else is owed.
        let rHolds = Set(try r.store.allEnvelopes().map(\.id))
        #expect(owed.allSatisfy { $0.kind == .membership && rHolds.contains($0.id) }, "owed: \(owed.map { "\($0.kind) \($0.seq)" })")
    }

    @Test("a revoked member's quarantined ops are not passed on by a node that knows of the revocation")
    func quarantinedOpsStop() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let x = try RoleKit.make(dir, "x"), c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(x, as: .reporter, by: c)
        try RoleKit.admit(c2, as: .coordinator, by: c)
        _ = try c.revoke(x.nodeID, after: .seq(0))
        for i in 0..<3 { _ = try x.addCase(RoleKit.doc("Поток \(i)", person: "Икс")) }
        _ = try c.importEnvelopes(try x.envelopes(missingFrom: try c.versionVector()))
        #expect(try c.view().quarantined.count == 3)
        let out = dir.sub("c-to-c2.sqb")
        let e = try c.exportBundle(to: [c2.nodeID], out: out)
        _ = e
        _ = try c2.importBundle(out)
        #expect(try c2.store.envelopes(author: x.nodeID.signingKey, after: 0).isEmpty, "the quarantined flood travelled on")
        #expect(try c.peers().first { $0.node == c2.nodeID }?.undelivered == (try c.store.opCount) - 3, "the quarantined ops are not counted as owed")
    }

    @Test("over TCP too: a reporter syncing with a coordinator's serve gets membership ops only, and sends only its own chain")
    func reporterOverTCP() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true), c2 = try RoleKit.make(dir, "c2")
        let nk = try #require(try c.networkKey())
        try r.join(pid, networkKey: nk)
        _ = try c.addMember(r.nodeID, role: .reporter)
        try RoleKit.admit(c2, as: .coordinator, by: c)
        for i in 0..<4 { _ = try c.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }
        // C2's case reaches the reporter's store by hand (as an older build could have left it).
        _ = try c2.addCase(RoleKit.doc("Дело C2", person: "Второй"))
        _ = try r.importEnvelopes(try c2.envelopes(missingFrom: VersionVector()).filter { $0.author == c2.nodeID.signingKey })
        let served = try ServedHost(home: c.home)
        defer { served.stop() }
        let first = try r.sync(with: served.address, expecting: c.nodeID)
        #expect(first.sent == 0, "the reporter handed on C2's op: \(first.sent)")
        let before = try c.store.opCount
        _ = try r.addCase(RoleKit.doc("С поля", person: "Свидетель"))
        let s = try r.sync(with: served.address, expecting: c.nodeID)
        #expect(s.sent == 1, "the reporter handed on \(s.sent) ops; only its own one")
        let others = try r.store.allEnvelopes().filter { $0.author == c.nodeID.signingKey }
        #expect(!others.isEmpty && others.allSatisfy { $0.kind == .membership }, "sealed ops of C reached the reporter")
        #expect(try c.store.opCount == before + 1)
    }

    @Test("export judges stored bytes as the rule judges decoded ops: a reporter's, a lawyer's and a coordinator's bundles hold exactly the ops the rule allows")
    func encodedJudgementMatches() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r", writeOnly: true), l = try RoleKit.make(dir, "l")
        let x = try RoleKit.make(dir, "x"), c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(l, as: .lawyer, by: c)
        try RoleKit.admit(x, as: .reporter, by: c)
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try r.join(try #require(try c.project()))
        _ = try c.addMember(r.nodeID, role: .reporter)
        for i in 0..<3 { _ = try x.addCase(RoleKit.doc("До отзыва \(i)", person: "Икс")) }
        _ = try c.importEnvelopes(try x.envelopes(missingFrom: try c.versionVector()))
        // Revoked after its second op: its third and later ones are quarantined, the first two kept.
        _ = try c.revoke(x.nodeID, after: .seq(2))
        for i in 0..<2 { _ = try x.addCase(RoleKit.doc("После отзыва \(i)", person: "Икс")) }
        _ = try c.importEnvelopes(try x.envelopes(missingFrom: try c.versionVector()))
        for i in 0..<4 { _ = try c.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }
        _ = try c2.addCase(RoleKit.doc("Дело C2", person: "Второй"))
        _ = try c.importEnvelopes(try c2.envelopes(missingFrom: VersionVector()))
        let all = try c.store.allEnvelopes()
        for (name, to) in [("reporter", r), ("lawyer", l), ("coordinator", c2)] {
            let rule = try c.carryRule(to: [to.nodeID.signingKey])
            var passes: [CarryRule.AuthorPass] = []
            for env in all {
                let pass = rule.pass(for: env.author)
                passes.append(pass)
                let fromBytes = try env.encoded.withUnsafeBytes { try rule.allows(encoded: $0, pass: pass) }
                #expect(fromBytes == rule.allows(env), "\(name): op \(env.kind) \(env.seq) of \(env.author): bytes say \(fromBytes)")
            }
            let out = dir.sub("to-\(name).sqb")
            let e = try c.exportBundle(to: [to.nodeID], out: out, all: true)
            #expect(e.ops == all.filter(rule.allows).count, "\(name): \(e.ops) ops exported")
            let read = bundleEnvelopes(out, keys: to)
            #expect(read.map(\.id) == all.filter(rule.allows).sorted { ($0.author.bytes.lexicographicallyPrecedes($1.author.bytes)) || ($0.author == $1.author && $0.seq < $1.seq) }.map(\.id),
                    "\(name): the bundle holds other ops than the rule allows")
            if name == "reporter" { #expect(passes.contains(.membershipOnly)) }
            if name == "coordinator" { #expect(passes.contains(.each), "the revoked author is judged op by op") }
        }
    }
}

/// Every op a bundle carries, in order, read with `node`'s keys.
private func bundleEnvelopes(_ path: String, keys node: Node) -> [Envelope] {
    guard let reader = try? BundleReader(path: path, keys: node.identity.box) else { return [] }
    var out: [Envelope] = []
    while let batch = try? reader.next() { out += batch }
    return out
}

@Suite("Export reads no more than it carries")
struct ExportCostTests {
    @Test("a bundle to one coordinator from a freshly opened node that holds no whole file builds no view (a holding statement needs one only to judge a file)")
    func exportToOneBuildsNoView() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), l = try RoleKit.make(dir, "l")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try RoleKit.admit(l, as: .lawyer, by: c)
        for i in 0..<5 { _ = try c.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }
        let fresh = try NodeFixture.open(dir, "c")
        for (i, to) in [c2, l].enumerated() {
            let e = try fresh.exportBundle(to: [to.nodeID], out: dir.sub("one-\(i).sqb"), all: true)
            #expect(e.ops == (try c.store.opCount) || to === l, "export \(i) carried \(e.ops) ops")
        }
        #expect(fresh.viewRebuilds == 0, "exporting to one peer built the view \(fresh.viewRebuilds) times")
    }

    @Test("a bundle of ops alone, imported by a freshly opened coordinator that holds no chunk, builds no view; one that carries a file's chunks is judged against the records")
    func importOfOpsBuildsNoView() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        for i in 0..<5 { _ = try c.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }
        _ = try c.exportBundle(to: [c2.nodeID], out: dir.sub("ops.sqb"), all: true)
        let fresh = try NodeFixture.open(dir, "c2")
        let ops = try fresh.importBundle(dir.sub("ops.sqb"))
        #expect(ops.report.new >= 5, "\(ops.report.new) new, \(ops.report.known) known")
        #expect(fresh.viewRebuilds == 0, "importing ops alone built the view \(fresh.viewRebuilds) times")

        // With a file: its chunks are stored, and the file checked whole, in the same import.
        let id = try c.addCase(RoleKit.doc("Дело с файлом", person: "Асель"))
        let file = dir.sub("photo.bin")
        try Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: file))
        _ = try c.attach(id.description, path: file)
        _ = try c.exportBundle(to: [c2.nodeID], out: dir.sub("file.sqb"), all: true)
        let withFile = try fresh.importBundle(dir.sub("file.sqb"))
        #expect(withFile.chunks.stored > 0 && withFile.chunks.verified.count == 1, "\(withFile.chunks)")
    }

    @Test("attack: a stored op cut short or of an unknown version, planted in the store, stops the export with a clear error; no bundle is left and the store keeps every row")
    func damagedStoredOpStopsExport() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        for i in 0..<3 { _ = try c.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }
        let rows = try c.store.opCount
        let damages: [([UInt8]) -> [UInt8]] = [{ Array($0.prefix(40)) }, { [0x07] + $0.dropFirst() }]
        for (i, damage) in damages.enumerated() {
            let fresh = try NodeFixture.open(dir, "c")
            let db = try Database(path: Node.databasePath(dir.sub("c")))
            let st = try db.prepare("SELECT rowid, envelope FROM ops ORDER BY rowid DESC LIMIT 1")
            try st.bind([])
            try #require(try st.step())
            let rowid = st.int(0), original = st.blob(1)
            try db.prepare("UPDATE ops SET envelope = ? WHERE rowid = ?").run([.blob(damage(original)), .int(rowid)])
            defer { try? db.prepare("UPDATE ops SET envelope = ? WHERE rowid = ?").run([.blob(original), .int(rowid)]) }
            let out = dir.sub("damaged-\(i).sqb")
            do throws(NodeError) {
                _ = try fresh.exportBundle(to: [c2.nodeID], out: out, all: true)
                Issue.record("damage \(i): the export went through")
            } catch {
                #expect(error.message.contains("not an envelope"), "damage \(i): \(error.message)")
            }
            #expect(!FileManager.default.fileExists(atPath: out), "damage \(i): a bundle was left")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".partial-") }
            #expect(left.isEmpty, "damage \(i): \(left)")
            #expect(try fresh.store.opCount == rows)
        }
    }
}
