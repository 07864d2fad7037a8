import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// A view caches the session keys it opened, sealed under the node's storage key, so the next
/// rebuild skips their sealed-box opens; the cache can only speed a view up, never change it.
@Suite struct SessionKeyCacheTests {
    func doc(_ title: String) -> CaseDocument { var d = CaseDocument(); d.title = title; d.city = "Алматы"; return d }

    @Test func aRebuildReadsTheSameFromTheCacheAndSurvivesADamagedRow() throws {
        let dir = try TempDir()
        let a = try NodeFixture.make(dir, "a"), b = try NodeFixture.make(dir, "b")
        _ = try a.createProject(name: "Кэш")
        try b.join(try a.project()!)
        _ = try a.addMember(b.nodeID, role: .coordinator)
        _ = try a.importCases((0..<12).map { doc("Дело \($0)") })
        try NodeFixture.sync(a, to: b)
        let first = try b.view()
        #expect(first.cases.count == 12)
        let rows = try b.store.sealedSessionKeys()
        #expect(rows.count == first.sessionKeys.count + first.parentKeys.count && !first.parentKeys.isEmpty)
        // No key is stored in the clear.
        for (_, sealed) in rows {
            for k in first.sessionKeys.values { #expect(!contains(sealed, k.secret.unsafeCopy)) }
        }

        // The first view opened a sealed box per write batch (a parent), not per session: the
        // founder's name (sealed before b joined, so b's box fails), the grant to b, the 12 cases.
        // A fresh node's view opens none: each key comes from the cache (the digest alone could
        // not tell the two apart).
        #expect(first.boxOpens == 3 && first.parentKeys.count == 2 && first.sessionKeys.count == 14)
        let reopened = try NodeFixture.open(dir, "b")
        let warm = try reopened.view()
        #expect(warm.digest == first.digest)
        #expect(warm.boxOpens == 0)

        // Damaged rows are skipped, and the keys they held come from the sealed boxes again:
        // a session derived from a cached parent opens nothing more, a lost parent its own box.
        let parentRow = try #require(try reopened.store.sealedSessionKeys().first { $0.sealed.count == 113 })
        try reopened.store.db.prepare("UPDATE session_keys SET sealed = zeroblob(72) WHERE sealed != ?").run([.blob(parentRow.sealed)])
        let again = try NodeFixture.open(dir, "b").view()
        #expect(again.digest == first.digest)
        #expect(again.boxOpens == 2, "the other parent, and the founder's that does not open for b")
        try reopened.store.db.execute("UPDATE session_keys SET sealed = zeroblob(72)")
        let cold = try NodeFixture.open(dir, "b").view()
        #expect(cold.digest == first.digest && cold.boxOpens == 3)
    }

    /// A view that skipped a parent (every session of it known from the cache) must not leave a
    /// later session of that parent unread: absorbing it gives way to a rebuild, which opens the parent.
    @Test func aSkippedParentIsOpenedWhenANewSessionNamesIt() throws {
        let dir = try TempDir()
        let a = try NodeFixture.make(dir, "a"), b = try NodeFixture.make(dir, "b")
        _ = try a.createProject(name: "Пакет")
        try b.join(try a.project()!)
        _ = try a.addMember(b.nodeID, role: .coordinator)
        // One batch of two cases; b receives the first case's op alone first.
        let ids = try a.importCases([doc("Первое дело"), doc("Второе дело")])
        let ops = try a.store.allEnvelopes().filter { $0.kind == .sealed }
        let last = try #require(ops.last)
        let firstOp = try #require(ops.dropLast().last)
        let carrier = try SealedBody(decoding: firstOp.body), lastBody = try SealedBody(decoding: last.body)
        #expect(carrier.parentKeys != nil && carrier.parentID == lastBody.parentID,
                "the first case's op carries the parent the second derives from")
        _ = try b.importEnvelopes(try a.store.allEnvelopes().filter { $0.seq < last.seq })
        #expect(try b.view().cases.count == 1 && firstOp.seq < last.seq)
        // b loses its parent rows (a damaged cache), not its session rows.
        let rows = try b.store.sealedSessionKeys()
        for r in rows where r.sealed.count == 113 {
            try b.store.db.prepare("UPDATE session_keys SET sealed = zeroblob(72) WHERE tag = ?").run([.blob(r.tag)])
        }
        let reopened = try NodeFixture.open(dir, "b")
        let skipped = try reopened.view()
        #expect(skipped.cases.count == 1 && skipped.boxOpens == 0, "every session is known from the cache: no parent is opened")
        // a's second case is a new session of the same batch: its op names the parent only.
        let second = ids[1]
        let body = try SealedBody(decoding: last.body)
        #expect(body.parentID != nil && body.parentKeys == nil, "a session of the same batch (flag 3)")
        try NodeFixture.sync(a, to: reopened)
        let after = try reopened.view()
        #expect(after.cases[second] != nil, "the new session of a skipped parent is read")
        #expect(after.digest == (try a.view().digest))
    }

    func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        return (0...(hay.count - needle.count)).contains { Array(hay[$0..<$0 + needle.count]) == needle }
    }
}
