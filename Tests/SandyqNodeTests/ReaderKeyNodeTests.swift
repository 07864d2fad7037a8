import Foundation
import Synchronization
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

/// Who announces a reader key, when, and what a node does when the key it holds is not the one
/// announced (ops.md section 4, "Reader key"; store.md, "The reader key").
@Suite("Node: coordinators announce their reader keys")
struct ReaderKeyNodeTests {
    static func announcements(_ n: Node, of member: Node) throws -> [ReaderKeyStatement] {
        try n.store.membershipEnvelopes().compactMap { e in
            guard case let .readerKey(s)? = try? MembershipChange(decoding: e.body), s.member == member.nodeID.signingKey else { return nil }
            return s
        }
    }

    @Test("the founder announces with its genesis; a later coordinator with its first write, once; reporters and lawyers do not")
    func whoAnnouncesWhen() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let held = try #require(try f.storedReaderKey())
        #expect(try f.view().membership.readerKeys[f.nodeID.signingKey] == ReaderKey(
            epoch: 1, key: held.keys.publicKey, op: try #require(try f.store.envelopes(author: f.nodeID.signingKey, after: 1).first).id, forked: false))

        let c = try RoleKit.make(dir, "c2"), r = try RoleKit.make(dir, "r"), l = try RoleKit.make(dir, "l")
        try RoleKit.admit(c, as: .coordinator, by: f)
        try RoleKit.admit(r, as: .reporter, by: f)
        try RoleKit.admit(l, as: .lawyer, by: f)
        #expect(try c.storedReaderKey() == nil, "no key before its first write")
        for i in 0..<3 { _ = try c.addCase(RoleKit.doc("Дело \(i)", person: "Человек \(i)")) }
        _ = try r.addCase(RoleKit.doc("Дело репортёра", person: "Свидетель"))
        #expect(try Self.announcements(c, of: c).count == 1, "announced once, not per write")
        // A fresh process on the same home finds it announced and writes no second one.
        let again = try NodeFixture.open(dir, "c2")
        _ = try again.addCase(RoleKit.doc("Дело после", person: "Человек"))
        #expect(try Self.announcements(again, of: c).count == 1)

        _ = try NodeFixture.sync(c, to: f)
        _ = try NodeFixture.sync(r, to: f)
        let keys = try f.view().membership.readerKeys
        #expect(keys[c.nodeID.signingKey]?.key == (try #require(try c.storedReaderKey())).keys.publicKey)
        #expect(keys[r.nodeID.signingKey] == nil && keys[l.nodeID.signingKey] == nil, "only coordinators announce in this build")
        // A reporter keeps a key of its own that it never announces; a lawyer none yet.
        #expect(try r.storedReaderKey() != nil && l.storedReaderKey() == nil)
        _ = pid
    }

    @Test("a node whose key row is gone or damaged moves to the next epoch instead of forking its own")
    func lostOrDamagedKeyMovesOn() throws {
        let dir = try TempDir()
        let (f, _) = try RoleKit.founder(dir)
        let first = try #require(try f.storedReaderKey())
        try f.store.deleteSetting(Node.readerKeySetting)
        _ = try NodeFixture.open(dir, "c").addCase(RoleKit.doc("Дело", person: "Человек"))
        let reopened = try NodeFixture.open(dir, "c")
        let second = try #require(try reopened.storedReaderKey())
        #expect(second.epoch == 2 && second.keys.publicKey != first.keys.publicKey)
        var announced = try #require(try reopened.view().membership.readerKeys[f.nodeID.signingKey])
        #expect(announced.epoch == 2 && announced.key == second.keys.publicKey && !announced.forked)

        // A damaged row: a warning, and the next epoch.
        var row = try #require(try reopened.store.setting(Node.readerKeySetting))
        row[row.count - 1] ^= 1
        try reopened.store.setSetting(Node.readerKeySetting, row)
        let damaged = try NodeFixture.open(dir, "c")
        let warnings = Mutex<[String]>([])
        damaged.warn = { w in warnings.withLock { $0.append(w) } }
        _ = try damaged.addCase(RoleKit.doc("Дело два", person: "Человек"))
        #expect(warnings.withLock { $0 }.contains { $0.contains("reader key") }, "\(warnings.withLock { $0 })")
        announced = try #require(try damaged.view().membership.readerKeys[f.nodeID.signingKey])
        let third = try #require(try damaged.storedReaderKey())
        #expect(announced.epoch == 3 && announced.key == third.keys.publicKey)
    }

    @Test("a process that wrote before another announced does not fork its chain, nor announce twice")
    func anotherProcessAnnouncedFirst() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        let x = try RoleKit.make(dir, "x"), y = try RoleKit.make(dir, "y")
        try x.join(pid)
        try y.join(pid)
        // A desk left open: it added a member (its writer now holds the chain head) and read
        // membership since (a page showing the people).
        _ = try c.addMember(x.nodeID, role: .reporter)
        _ = try c.storedMembership()
        // Commands on the same home add another member, then make the first change: it
        // announces the key.
        let command = try NodeFixture.open(dir, "c2")
        _ = try command.addMember(y.nodeID, role: .reporter)
        _ = try command.addCase(RoleKit.doc("Дело команды", person: "Человек"))
        // Back on the desk, a change that reads nothing first (a case add reads the view, which
        // would catch up anyway).
        _ = try c.write([.projectName("Коалиция")])
        #expect(try c.forks().isEmpty, "the desk wrote at a seq the command had used")
        #expect(try Self.announcements(c, of: c).count == 1)
        let mine = try c.store.envelopes(author: c.nodeID.signingKey, after: 0).map(\.seq)
        #expect(mine == Array(1...UInt64(mine.count)))
    }

    @Test("a process that tried to write before its admission announces once admitted")
    func announcesAfterAdmissionInTheSameProcess() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2")
        try c.join(pid)
        #expect(throws: NodeError.self) { _ = try c.addCase(RoleKit.doc("Рано", person: "Человек")) }
        _ = try f.addMember(c.nodeID, role: .coordinator)
        _ = try NodeFixture.sync(f, to: c)
        _ = try c.addCase(RoleKit.doc("Дело", person: "Человек"))
        #expect(try Self.announcements(c, of: c).count == 1)
        #expect(try c.view().membership.readerKeys[c.nodeID.signingKey]?.epoch == 1)
    }

    @Test("a reporter promoted to coordinator while its process runs announces at its next write")
    func promotedInTheSameProcess() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: f)
        _ = try r.addCase(RoleKit.doc("Дело репортёра", person: "Человек"))
        #expect(try Self.announcements(r, of: r).isEmpty)
        // A second add of the same device with a more capable role (the CLI refuses a second
        // add; another coordinator's concurrent one, or an older build's, is how it happens).
        let head = try #require(try f.store.chainHead(of: f.nodeID.signingKey))
        let w = OpWriter(keys: f.identity.signing, project: pid, seq: head.seq, prev: head.id, clock: HybridClock())
        _ = try f.importEnvelopes([w.membership(.add(member: r.nodeID, role: .coordinator))])
        _ = try NodeFixture.sync(f, to: r)
        #expect(try r.storedMembership().role(of: r.nodeID.signingKey) == .coordinator)
        _ = try r.addCase(RoleKit.doc("Дело координатора", person: "Человек"))
        #expect(try Self.announcements(r, of: r).count == 1)
    }

    @Test("the key row and its announcement land in one transaction: a refused write stores neither")
    func rowAndOpTogether() throws {
        let dir = try TempDir()
        let (f, pid) = try RoleKit.founder(dir)
        let c = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c, as: .coordinator, by: f)
        let ops = try c.store.opCount
        // The store refuses the transaction (a trigger stands in for a full disk).
        try c.store.db.execute("CREATE TEMP TRIGGER refuse BEFORE INSERT ON ops BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        #expect(throws: NodeError.self) { _ = try c.addCase(RoleKit.doc("Дело", person: "Человек")) }
        #expect(try c.store.opCount == ops)
        #expect(try c.storedReaderKey() == nil, "a key stored without its announcement would be announced again under another epoch")
        _ = pid
    }
}
