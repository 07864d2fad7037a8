import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore

// Issue 13, "the seizure surface": what a seizer who holds the device's disk (and, for some
// attacks, the chance to hand it back) can do to a node, run against the real binary.

/// A coordinator C and a write-only reporter R admitted to C's project; R holds the
/// membership ops it needs to write.
struct ReporterPair {
    let work: DrillDir
    let c: DrillNode
    let r: DrillNode
    let project: String

    init() throws {
        work = try DrillDir()
        c = try DrillNode("C")
        r = try DrillNode("R", writeOnly: true)
        project = try #require(try c.object(["project", "create", "Учения"])["project"] as? String)
        try r.ok(["join", project])
        try c.ok(["member", "add", r.id, "--role", "reporter"])
        try carry(c, to: r, "C-to-R.sqb")
    }

    /// Exports what `to` lacks from `from` into a bundle and imports it there.
    func carry(_ from: DrillNode, to: DrillNode, _ file: String) throws {
        let path = work.file(file)
        try from.ok(["bundle", "export", "--to", to.id, "--out", path])
        let rows = try to.rows(["bundle", "import", path])
        #expect(rows.count == 1 && rows[0]["error"] == nil, "\(to.name) importing \(file): \(rows)")
    }
}

@Suite("The seizure surface (issue 13): write-only mode, argv, panic, the session list")
struct SeizureSurfaceTests {
    @Test("deleting the store's write-only setting does not turn a reporter into a reader of its next cases")
    func writeOnlySurvivesSettingDeletion() throws {
        let p = try ReporterPair()
        let r = p.r
        #expect(try r.status()["mode"] as? String == "write-only", "status --json shows the mode")
        #expect(try r.ok(["status"]).stdout.contains("write-only"), "status shows the mode")

        // The seizer edits the store while the device is out of its owner's hands: the row
        // that used to hold the mode goes, and every other setting row with it.
        let store = try OpStore(path: r.home.dbPath)
        try store.deleteSetting("writeonly")
        let project = try store.setting("project")
        try store.db.execute("DELETE FROM settings")
        if let project { try store.setSetting("project", project) }

        // Back with its owner, the reporter records a new case (from stdin, as on the field).
        let doc = #"{"title": "Записано после изъятия", "persons": [{"name": "Айгерим Тестова"}]}"#
        let added = try r.run(["case", "add", "--file", "-", "--json"] + [], stdin: .bytes(Array(doc.utf8)))
        #expect(added.code == 0, "\(added)")
        #expect(try r.status()["mode"] as? String == "write-only", "the mode lives in the key file")
        #expect(try r.cases() == 0, "the reporter must not read back the case recorded after the attack")

        // Checked with the library too: no op in R's store opens with R's own box key.
        let id = try r.identity()
        let envs = try OpStore(path: r.home.dbPath).allEnvelopes()
        let pid = try #require(ProjectID(string: p.project))
        let v = ProjectView(project: pid, envelopes: envs, reader: id.box, knownSessionKeys: [:])
        #expect(v.cases.isEmpty, "R's box key opens \(v.cases.count) case(s)")

        // The coordinator still reads it.
        try p.carry(r, to: p.c, "R-to-C.sqb")
        let titles = try p.c.rows(["case", "list"]).compactMap { $0["title"] as? String }
        #expect(titles == ["Записано после изъятия"], "\(titles)")
    }
}

extension DrillNode {
    func run(_ args: [String], stdin: CLI.Input) throws -> CLI.Result { try home.run(args, stdin: stdin) }
}
