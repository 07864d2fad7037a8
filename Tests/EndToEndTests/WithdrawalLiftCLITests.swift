import Foundation
import Testing
import SandyqCore

/// A coordinator's laptop is seized and the seizer withdraws a case with the stock binary.
/// Coordinator B obeys before anyone knows; the founder revokes the seized device. Each
/// command is a separate `sandyq` process and every exchange a bundle file: B lifts the
/// withdrawal when the revocation reaches it, its next bundle tells the founder what it lacks,
/// and the founder's next bundle gives the case back (Protocol/ops.md section 4, limit 2).
@Suite("A seized key's withdrawal, lifted, end to end as separate processes")
struct WithdrawalLiftCLITests {
    @Test("S (seized) withdraws a case, B obeys; C revokes S; two bundles later B reads the case again")
    func seizedWithdrawalLifted() throws {
        let work = try DrillDir()
        let c = try DrillNode("C"), s = try DrillNode("S"), b = try DrillNode("B")
        _ = try c.object(["project", "create", "Дела — изъятие и отзыв"])
        func admit(_ n: DrillNode) throws {
            let invitation = work.file("\(n.name).invitation"), reply = work.file("\(n.name).reply")
            _ = try c.object(["invite", "--role", "coordinator", "--out", invitation])
            let j = try n.object(["join", "--invite", invitation, "--out", reply])
            _ = try c.object(["member", "add", "--request", reply, "--sas", try #require(j["sas"] as? String)])
        }
        var k = 0
        func carry(_ from: DrillNode, _ to: DrillNode) throws {
            k += 1
            let path = work.file("\(from.name)-to-\(to.name)-\(k).sqb")
            _ = try from.object(["bundle", "export", "--to", to.id, "--out", path])
            let rows = try to.rows(["bundle", "import", path])
            #expect(rows.count == 1 && rows[0]["error"] == nil, "\(to.name) importing \(path): \(rows)")
        }
        try admit(s)
        try admit(b)
        _ = try c.object(["case", "add", "--title", "Дело Мухтара", "--person", "Мухтар Ж."])
        let id = try #require(try c.caseIDs().first)
        let photo = work.file("protocol.txt")
        try Data("Протокол допроса Мухтара Ж. — страница 1\n".utf8).write(to: URL(fileURLWithPath: photo))
        try c.ok(["case", "attach", id, photo])
        try carry(c, s)
        try carry(c, b)
        try carry(b, c)
        #expect(try b.caseIDs() == [id])
        func files(_ n: DrillNode) throws -> [[String: Any]] { try #require(try n.json(["evidence", "list", id]) as? [[String: Any]]) }
        #expect(try files(b).first?["complete"] as? Bool == true, "B holds the file")

        // The seizer, on S's unlocked laptop; B receives it before anyone knows.
        _ = try s.object(["case", "withdraw", id, "--reason", "—"])
        try carry(s, b)
        #expect(try b.caseIDs().isEmpty, "B obeyed")

        // C, told of the seizure, revokes S; it never saw the withdrawal.
        try c.ok(["member", "revoke", s.id])
        try carry(c, b)
        let check = try b.object(["check", "--withdrawn"])
        #expect((check["check"] as? [String: Any])?["opsNamed"] as? Int == 0, "the withdrawal no longer counts on B: \(check)")
        try carry(b, c)
        try carry(c, b)
        #expect(try b.caseIDs() == [id], "the case is back on B")
        let shown = try b.object(["case", "show", id])
        #expect("\(shown)".contains("Мухтар"), "\(shown)")
        let back = try files(b)
        #expect(back.count == 1 && back.first?["complete"] as? Bool == true, "and so is its file, every chunk: \(back)")
    }
}
