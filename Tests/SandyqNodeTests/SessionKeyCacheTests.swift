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
        #expect(rows.count == first.sessionKeys.count && !rows.isEmpty)
        // No key is stored in the clear.
        for (_, sealed) in rows {
            for k in first.sessionKeys.values { #expect(!contains(sealed, k.secret.unsafeCopy)) }
        }

        // The first view opened every session from its sealed box; a fresh node's view opens
        // none: each key comes from the cache (the digest alone could not tell the two apart).
        #expect(first.boxOpens == first.sessionKeys.count)
        let reopened = try NodeFixture.open(dir, "b")
        let warm = try reopened.view()
        #expect(warm.digest == first.digest)
        #expect(warm.boxOpens == 0)

        // A damaged row is skipped and that session alone is opened from its sealed box again.
        try reopened.store.db.execute("UPDATE session_keys SET sealed = zeroblob(72) WHERE rowid = 1")
        let again = try NodeFixture.open(dir, "b").view()
        #expect(again.digest == first.digest)
        #expect(again.boxOpens == 1)
    }

    func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        return (0...(hay.count - needle.count)).contains { Array(hay[$0..<$0 + needle.count]) == needle }
    }
}
