import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
@testable import SandyqNode

/// Two processes on one home (a desk left open while a command writes) take turns writing:
/// each op continues the chain the other left, and the home's own chain never forks.
@Suite("Node: two writers on one home")
struct OwnChainTwoProcessTests {
    @Test("a command's write between two of the desk's does not fork the node's own chain")
    func turnsDoNotFork() throws {
        let dir = try TempDir()
        let (desk, _) = try NodeFixture.founder(dir)
        _ = try desk.addCase(RoleKit.doc("Первое дело", person: "Ерлан Калиев"))
        let command = try NodeFixture.open(dir, "c")
        _ = try command.addCase(RoleKit.doc("Дело из командной строки", person: "Асель Сулейменова"))
        _ = try desk.addCase(RoleKit.doc("Второе дело", person: "Жанна Ахметова"))
        _ = try command.addCase(RoleKit.doc("Ещё одно", person: "Нурлан Бекетов"))
        _ = try desk.addCase(RoleKit.doc("Третье дело", person: "Айгуль Нурланова"))
        #expect(try desk.store.forks().isEmpty, "the home's own chain forked")
        #expect(try desk.view().cases.count == 5)
    }
}

extension OwnChainTwoProcessTests {
    @Test("attack on the race: a command writes while the desk has sealed its op and not yet stored it; the desk's op goes in after the command's, and the home's own chain does not fork")
    func aWriteMeanwhileDoesNotFork() throws {
        let dir = try TempDir()
        let (desk, _) = try NodeFixture.founder(dir)
        _ = try desk.addCase(RoleKit.doc("Первое дело", person: "Ерлан Калиев"))
        let command = try NodeFixture.open(dir, "c")
        var once = true
        desk.beforeWriteCommitForTests = {
            guard once else { return }
            once = false
            _ = try? command.addCase(RoleKit.doc("Дело из командной строки", person: "Асель Сулейменова"))
        }
        let id = try desk.addCase(RoleKit.doc("Дело со стола", person: "Жанна Ахметова"))
        #expect(!once, "the other process wrote")
        #expect(try desk.store.forks().isEmpty, "the home's own chain forked: it looks like a copied key")
        #expect(try desk.view().cases[id] != nil && desk.view().cases.count == 3)
    }

    @Test("attack on the race: a command imports a coordinator's new reader key while the desk has sealed its op to the old one; the desk seals again, to the new key")
    func aNewReaderKeyMeanwhileIsSealedTo() throws {
        let dir = try TempDir()
        let (f, r) = try ReaderKeyConfirmTests.withReporter(dir)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Двенадцатый"))
        _ = try f.withdraw(gone.description)
        let newKey = try #require(try f.storedReaderKey()).keys
        // The reporter's desk is open; a command on its home reads the coordinator's stick
        // while the desk is sealing a case.
        _ = try r.view()
        let command = try NodeFixture.open(dir, "r")
        var once = true
        r.beforeWriteCommitForTests = {
            guard once else { return }
            once = false
            try? NodeFixture.sync(f, to: command)
        }
        _ = try r.addCase(RoleKit.doc("Дело со стола репортёра", person: "Асель Сулейменова"))
        #expect(!once)
        let mine = try r.envelopes(missingFrom: try f.versionVector())
        #expect(!mine.isEmpty)
        #expect(mine.allSatisfy { ReaderKeyRetireTests.opens($0, with: newKey) }, "sealed to the retired key after the home held the new one")
    }
}

extension OwnChainTwoProcessTests {
    @Test("a withdrawal a command on the home applied retires the reader key at the open desk's next change, and that change is sealed to the new key")
    func aWithdrawalAppliedElsewhereRetiresAtTheDesksNextChange() throws {
        let dir = try TempDir()
        let (desk, c) = try ReaderKeyConfirmTests.withCoordinator(dir)
        let gone = try desk.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Тринадцатый"))
        try NodeFixture.syncBothWays(desk, c)
        let before = try #require(try desk.storedReaderKey())
        // The second coordinator withdraws; a command on the desk's home reads its stick.
        _ = try c.withdraw(gone.description)
        let command = try NodeFixture.open(dir, "c")
        try NodeFixture.sync(c, to: command)
        #expect(try command.checkWithdrawn().rotationDue)
        let known = try c.versionVector()
        _ = try desk.addCase(RoleKit.doc("Дело со стола", person: "Асель Сулейменова"))
        let after = try #require(try desk.storedReaderKey())
        #expect(after.epoch == before.epoch + 1, "the desk's change did not retire the key")
        let mine = try desk.envelopes(missingFrom: known).filter { $0.kind == .sealed }
        #expect(!mine.isEmpty && !mine.contains { ReaderKeyRetireTests.opens($0, with: before.keys) }, "sealed to the key the withdrawal retired")
        #expect(try desk.store.forks().isEmpty)
    }
}

extension OwnChainTwoProcessTests {
    @Test("another coordinator withdraws the case this node wrote last; this node's next op continues its chain after the withdrawn op's stub instead of taking its seq again, a fork every peer reads as a copied key")
    func aWithdrawnHeadIsNotWrittenOver() throws {
        let dir = try TempDir()
        let (f, c) = try ReaderKeyConfirmTests.withCoordinator(dir)
        let gone = try f.addCase(RoleKit.doc("Дело к отзыву", person: "Свидетель Четырнадцатый"))
        let head = try #require(try f.store.chainHead(of: f.nodeID.signingKey))
        try NodeFixture.syncBothWays(f, c)
        _ = try c.withdraw(gone.description)
        try NodeFixture.sync(c, to: f)
        #expect(try f.envelopes(missingFrom: VersionVector()).allSatisfy { $0.id != head.id }, "the withdrawn head is a stub here")
        _ = try f.addCase(RoleKit.doc("Следующее дело", person: "Асель Сулейменова"))
        #expect(try f.store.forks().isEmpty, "this node's own chain forked at its withdrawn head")
        #expect(try f.store.chainHead(of: f.nodeID.signingKey).map { $0.seq > head.seq } == true)
        // And the peer takes the next op as a continuation, not a fork.
        try NodeFixture.sync(f, to: c)
        #expect(try c.store.forks().isEmpty)
    }

    @Test("attack on the race: a desk writes while a command's sync forwards a shared case's new keys to the lawyer; the sync does not fail, and the lawyer reads the edit")
    func aWriteDuringForwardingAfterASync() throws {
        let dir = try TempDir()
        let (c, c2, l, id) = try WithheldIdentityTests.project(dir)
        try c2.set(id, fields: [(FieldPath(field: "city"), "Шымкент")])
        let desk = try NodeFixture.open(dir, "c")
        _ = try desk.view()
        var once = true
        c.beforeOwnCommitForTests = {
            guard once else { return }
            once = false
            _ = try? desk.addCase(RoleKit.doc("Дело со стола", person: "Жанна Ахметова"))
        }
        try NodeFixture.sync(c2, to: c)
        #expect(!once, "the desk wrote while the grant was sealed")
        #expect(try c.store.forks().isEmpty)
        try NodeFixture.sync(c, to: l)
        #expect(try l.view().cases.values.contains { $0.value("city") == "Шымкент" }, "the lawyer reads the edit")
    }
}

