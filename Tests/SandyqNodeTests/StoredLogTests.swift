import Foundation
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import Testing
import SandyqTestSupport

/// Homes and a bundle written by envelope version 1, kept on disk as written on 2026-12-04
/// (Tests/fixtures/v1-log). When the op format changes, what users already hold must still
/// open, import and read the same. `SANDYQ_WRITE_STORED_LOG=1` writes them again: only while
/// version 1 is the format this code writes.
@Suite("A stored version-1 log still opens, imports and reads the same")
struct StoredLogTests {
    static let fixture = PackagePaths.root.appendingPathComponent("Tests/fixtures/v1-log").path

    struct Expected: Codable, Equatable {
        var founderDigest: String
        var founderOps: Int
        var founderTitles: [String]
        var quarantined: Int
        var lawyerDigest: String
        var lawyerTitles: [String]
    }

    static let titles = ["Дело Жанболата Мамая", "Задержание в Таразе", "Ахмет Жумабаев: арест", "Қарағандыдағы тінту", "Дело Алмы Нурсултановой"]
    static let shared = ["Дело Жанболата Мамая", "Задержание в Таразе"]

    /// The project the fixture holds: a founder, a second coordinator, a lawyer with two cases
    /// shared, and a reporter revoked after its second op, whose third is quarantined.
    static func write(to out: String) throws {
        let dir = try TempDir()
        var e: Expected
        do {
            let (c, _) = try RoleKit.founder(dir)
            let c2 = try RoleKit.make(dir, "c2"), l = try RoleKit.make(dir, "l"), x = try RoleKit.make(dir, "x")
            try RoleKit.admit(c2, as: .coordinator, by: c)
            try RoleKit.admit(l, as: .lawyer, by: c)
            try RoleKit.admit(x, as: .reporter, by: c)
            var refs: [String: CaseID] = [:]
            for (i, t) in titles.prefix(3).enumerated() {
                refs[t] = try c.addCase(RoleKit.doc(t, person: ["Жанболат Мамай", "Дәурен Омаров", "Ахмет Жумабаев"][i]))
            }
            _ = try c2.addCase(RoleKit.doc(titles[4], person: "Алма Нурсултанова", city: "Астана"))
            _ = try c.importEnvelopes(try c2.envelopes(missingFrom: try c.versionVector()))
            _ = try x.addCase(RoleKit.doc(titles[3], person: "Бақыт Серікұлы", city: "Қарағанды"))
            _ = try x.addCase(RoleKit.doc("Второе от репортёра", person: "Свидетель"))
            _ = try c.importEnvelopes(try x.envelopes(missingFrom: try c.versionVector()))
            _ = try c.revoke(x.nodeID, after: .seq(1))
            for t in shared { try c.share(refs[t]!.description, with: l.nodeID) }
            let bundle = dir.sub("founder-to-lawyer.sqb")
            _ = try c.exportBundle(to: [l.nodeID], out: bundle, all: true)
            let v = try c.view()
            e = Expected(founderDigest: v.digest, founderOps: try c.store.opCount,
                         founderTitles: v.orderedCases.compactMap { $0.value("title") }.sorted(),
                         quarantined: v.quarantined.count, lawyerDigest: "", lawyerTitles: [])
            try? FileManager.default.removeItem(atPath: out)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: bundle, toPath: out + "/founder-to-lawyer.sqb")
        }
        // Closed nodes: their stores are whole files now.
        for name in ["c", "l"] { try FileManager.default.copyItem(atPath: dir.sub(name), toPath: out + "/" + name) }
        let scratch = try TempDir()
        try FileManager.default.copyItem(atPath: out + "/l", toPath: scratch.sub("l"))
        let l = try NodeFixture.open(scratch, "l")
        _ = try l.importBundle(out + "/founder-to-lawyer.sqb")
        let lv = try l.view()
        e.lawyerDigest = lv.digest
        e.lawyerTitles = lv.orderedCases.compactMap { $0.value("title") }.sorted()
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(e).write(to: URL(fileURLWithPath: out + "/expected.json"))
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json")))
    }

    /// Written once per process when asked, however many tests run at once (a static is initialised once).
    static let rewrite: Result<Void, any Error>? =
        ProcessInfo.processInfo.environment["SANDYQ_WRITE_STORED_LOG"] == "1" ? Result { try write(to: fixture) } : nil

    /// A copy of the fixture: opening a home migrates and writes it, and the repository's copy stays as written.
    static func copy() throws -> TempDir {
        try rewrite?.get()
        let dir = try TempDir()
        for item in ["c", "l", "founder-to-lawyer.sqb"] {
            try FileManager.default.copyItem(atPath: fixture + "/" + item, toPath: dir.sub(item))
        }
        return dir
    }

    @Test("the founder's home of version-1 ops opens and reads as written: cases, the quarantined op, the view's digest")
    func founderHomeReads() throws {
        let dir = try Self.copy()
        let e = try Self.expected()
        let c = try NodeFixture.open(dir, "c")
        let v = try c.view()
        #expect(Set(e.founderTitles) == Set(Self.titles), "the fixture holds \(e.founderTitles)")
        #expect(v.orderedCases.compactMap { $0.value("title") }.sorted() == e.founderTitles)
        #expect(v.quarantined.count == 1 && e.quarantined == 1, "quarantined: \(v.quarantined.count)")
        #expect(try c.store.opCount == e.founderOps)
        #expect(v.digest == e.founderDigest, "the same log reads as another view")
        #expect(try c.chainGaps().isEmpty)
    }

    @Test("the founder's version-1 bundle imports into the lawyer's home: the two shared cases, nothing else, the same digest")
    func bundleImports() throws {
        let dir = try Self.copy()
        let e = try Self.expected()
        let l = try NodeFixture.open(dir, "l")
        let r = try l.importBundle(dir.sub("founder-to-lawyer.sqb"))
        #expect(r.intact && r.report.refused.isEmpty, "refused: \(r.report.refused.count)")
        let v = try l.view()
        #expect(v.orderedCases.compactMap { $0.value("title") }.sorted() == Self.shared.sorted())
        #expect(e.lawyerTitles == Self.shared.sorted())
        #expect(v.digest == e.lawyerDigest)
    }

    @Test("the founder's version-1 log carries on: it exports to a new node, which reads the same cases")
    func carriesOn() throws {
        let dir = try Self.copy()
        let c = try NodeFixture.open(dir, "c")
        let n = try RoleKit.make(dir, "n")
        try RoleKit.admit(n, as: .coordinator, by: c)
        _ = try c.addCase(RoleKit.doc("После смены формата", person: "Новый"))
        let out = dir.sub("to-n.sqb")
        _ = try c.exportBundle(to: [n.nodeID], out: out, all: true)
        _ = try n.importBundle(out)
        let titles = Set(try n.view().orderedCases.compactMap { $0.value("title") })
        #expect(titles == Set(Self.titles + ["После смены формата"]), "\(titles.sorted())")
    }
}
