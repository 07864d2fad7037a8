import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// Loss risk: the ops and files one device alone is known to hold, and how that changes as
/// bundles carry them and answers come back.
@Suite(.serialized) struct LossRiskTests {
    @Test("new ops and a new file exist only here until a second coordinator answers; a reporter's unsent ops only on its laptop")
    func soleCopiesComeAndGo() throws {
        let dir = try TempDir()
        let (c, _) = try NodeFixture.founder(dir)
        let d = try RoleKit.make(dir, "d")
        try RoleKit.admit(d, as: .coordinator, by: c)
        let r = try RoleKit.make(dir, "r", writeOnly: true)
        try RoleKit.admit(r, as: .reporter, by: c)
        // Everyone holds the membership so far.
        for n in [d, r] {
            _ = try c.importBundle(try n.exportBundle(to: [c.nodeID], out: dir.file("\(n.nodeID.fingerprint).sqb")).files[0])
            _ = try n.importBundle(try c.exportBundle(to: [n.nodeID], out: dir.file("to-\(n.nodeID.fingerprint).sqb")).files[0])
        }
        let id = try c.addCase(RoleKit.doc("Только здесь", person: "Айгуль"))
        let e = try c.attach(id.description, path: try EvidenceTests.randomFile(dir, "scan.bin", size: 5000))
        var risk = try c.lossRisk()
        let mine = try #require(risk.atRisk.first { $0.author == c.nodeID.signingKey })
        #expect(mine.soleOps == 2 && mine.soleHolder?.isThisNode == true, "a case and an attach, on this device only: \(mine.soleOps)")
        #expect(risk.files.map(\.fid) == [e.fid] && risk.files.first?.here == true)

        // D takes them by stick and answers: both copies now exist twice.
        _ = try d.importBundle(try c.exportBundle(to: [d.nodeID], out: dir.file("c2d.sqb")).files[0])
        _ = try c.importBundle(try d.exportBundle(to: [c.nodeID], out: dir.file("d2c.sqb")).files[0])
        risk = try c.lossRisk()
        #expect(!risk.atRisk.contains { $0.author == c.nodeID.signingKey })
        #expect(risk.files.isEmpty, "D said it holds the file whole: \(risk.files.map(\.fid))")
        let replicas = try #require(risk.authors.first { $0.author == c.nodeID.signingKey }?.replicas)
        // The reporter holds C's membership ops only, so it is behind on C's chain.
        #expect(Set(replicas.map(\.node)) == [c.nodeID, d.nodeID, r.nodeID])
        #expect(replicas.filter { $0.behind == 0 }.map(\.node).sorted() == [c.nodeID, d.nodeID].sorted())
        #expect((replicas.first { $0.node == r.nodeID }?.behind ?? 0) >= 2)
        #expect(replicas.first { $0.node == d.nodeID }?.heardAtMillis != nil)

        // R records three cases and says so (its vector) before C holds them: only R has them.
        for i in 0..<3 { _ = try r.addCase(RoleKit.doc("С поля \(i)", person: "Свидетель \(i)")) }
        try c.store.acknowledge(try r.versionVector(), by: r.nodeID, at: 1_000)
        risk = try c.lossRisk()
        let field = try #require(risk.atRisk.first { $0.author == r.nodeID.signingKey })
        #expect(field.soleOps == 3 && field.soleHolder?.node == r.nodeID && field.soleHolder?.heardAtMillis == 1_000)
        #expect(field.role == .reporter)
        // The stick brings them: the risk is gone.
        _ = try c.importBundle(try r.exportBundle(to: [c.nodeID], out: dir.file("r2c.sqb")).files[0])
        risk = try c.lossRisk()
        #expect(!risk.atRisk.contains { $0.author == r.nodeID.signingKey })
    }
}
