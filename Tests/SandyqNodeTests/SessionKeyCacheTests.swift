import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqNode

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

        let reopened = try NodeFixture.open(dir, "b")
        #expect(try reopened.view().digest == first.digest)

        // A damaged row is skipped and that session is opened from its sealed box again.
        try reopened.store.db.execute("UPDATE session_keys SET sealed = zeroblob(72) WHERE rowid = 1")
        let again = try NodeFixture.open(dir, "b")
        #expect(try again.view().digest == first.digest)
    }

    func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        return (0...(hay.count - needle.count)).contains { Array(hay[$0..<$0 + needle.count]) == needle }
    }
}
