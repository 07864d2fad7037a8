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
        let (f, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: f)
        _ = try r.addCase(RoleKit.doc("Дело репортёра", person: "Ерлан Калиев"))
        try NodeFixture.syncBothWays(f, r)
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
