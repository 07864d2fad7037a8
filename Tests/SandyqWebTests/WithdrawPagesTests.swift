import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
import SandyqCore
import SandyqReports
@testable import SandyqNode
@testable import SandyqWeb

/// Refusals through the desk's router, in Russian: a refusal the page did not foresee still
/// reaches the person in their language, not in the node's English words.
@Suite struct WithdrawPagesTests {
    static func ru(_ key: String, _ args: [String: String] = [:]) -> String { Catalogue.shared.text(key, "ru", args) }

    /// A second tab posts the same withdrawal after the first one went through: the node refuses
    /// (nothing of the case is left), and the page says the case is gone, in Russian, not the
    /// node's English words.
    @Test func aSecondWithdrawalOfTheSameCaseSaysItIsGone() async throws {
        let dir = try TempDir("withdrawpages")
        let (c, _) = try NodeFixture.founder(dir, "c")
        var doc = CaseDocument()
        doc.title = "Нурлан Нургалиев"
        let id = try c.addCase(doc).description
        let b = try SharePagesTests.Browser(dir, "c")
        let form = [("reason", "Свидетель отозвал согласие"), ("understood", "yes"), ("collection", ""), ("element", "")]
        try await b.app.test(.router) { client in
            let (s1, done, _) = try await b.post(client, "/cases/\(id)/withdraw", form, csrf: b.csrf)
            #expect(s1 == .ok)
            #expect(done.contains(Self.ru("withdraw.done.title")))

            var english = ""
            do throws(NodeError) { _ = try b.host.cases.withdraw(id, reason: "again"); Issue.record("withdrawn twice") } catch { english = error.message }
            #expect(!english.isEmpty)
            let (s2, again, _) = try await b.post(client, "/cases/\(id)/withdraw", form, csrf: b.csrf)
            #expect(s2 == .notFound)
            #expect(again.contains(Self.ru("withdraw.gone.body")))
            #expect(!again.contains(ReportHTML.esc(english)))
        }
    }

    /// A record written after a withdrawal that writes the withdrawn person, or the withdrawn
    /// case, again: the page says which part shows again and what to do, in Russian.
    @Test func aRecordThatBringsWithdrawnContentBackIsNamed() async throws {
        let dir = try TempDir("withdrawpages")
        let (c, _) = try NodeFixture.founder(dir, "c")
        var doc = CaseDocument()
        doc.title = "Нурлан Нургалиев"
        doc.persons = [.init(name: "Асель Каримова")]
        let id = try c.addCase(doc)
        let person = try #require(try c.view().cases[id]?.elements("persons").first)
        _ = try c.withdraw(id.description, collection: "persons", element: person, reason: "угроза")
        try c.write([.put(case: id, path: FieldPath(collection: "persons", element: person, field: "name"), value: "Асель", supersedes: [])])
        let b = try SharePagesTests.Browser(dir, "c")
        try await b.app.test(.router) { client in
            let (status, page) = try await b.get(client, "/withdrawn")
            #expect(status == .ok)
            #expect(page.contains(ReportHTML.esc(Self.ru("withdrawn.here.returnedElement", ["n": "1", "elements": "\(id.short) \(Self.ru("case.persons")): \(person)"]))), "\(page)")
            // The page links the person's withdrawal page, which offers it though the case page
            // lists no such person (a field came back, not the person's add).
            let link = "/cases/\(id)/withdraw?c=persons&e=\(person)"
            #expect(page.contains("href=\"\(ReportHTML.esc(link))\""), "no link to withdraw the person again: \(page)")
            let (s2, form) = try await b.get(client, link)
            #expect(s2 == .ok && form.contains("name=\"element\" value=\"\(person)\""), "\(s2)")
            let fields = [("reason", "Позднее дополнение"), ("understood", "yes"), ("collection", "persons"), ("element", person)]
            let (s3, _, _) = try await b.post(client, "/cases/\(id)/withdraw", fields, csrf: b.csrf)
            #expect(s3 == .ok)
        }
        let after = try b.host.admin.checkWithdrawn()
        #expect(after.clean && after.opsUnnamed == 0, "\(after)")
        // The whole case, then a late edit of it: the page links the case's withdrawal page.
        _ = try c.withdraw(id.description, reason: "целиком")
        try c.write([.put(case: id, path: FieldPath(field: "city"), value: "Тараз", supersedes: [])])
        let b2 = try SharePagesTests.Browser(dir, "c")
        try await b2.app.test(.router) { client in
            let (_, page) = try await b2.get(client, "/withdrawn")
            #expect(page.contains(ReportHTML.esc(Self.ru("withdrawn.here.returned", ["n": "1", "cases": id.short]))), "\(page)")
            #expect(page.contains("href=\"/cases/\(id)/withdraw\""), "no link to withdraw the case again: \(page)")
            let (s4, form) = try await b2.get(client, "/cases/\(id)/withdraw")
            #expect(s4 == .ok && form.contains("id=\"withdraw-confirm\""), "\(s4)")
            // A collection without an element is no part, and not the whole case either.
            let (s5, empty) = try await b2.get(client, "/cases/\(id)/withdraw?c=persons&e=")
            #expect(s5 == .notFound && !empty.contains("withdraw-confirm"), "\(s5)")
        }
        // A tag withdrawn by the CLI and added again: named, but no link, which would put its
        // text in the browser's history and lead to a page that refuses it.
        _ = try c.withdraw(id.description, withMerged: true, reason: "снова")
        let other = try c.addCase(doc)
        try c.write([.add(case: other, collection: "tags", element: "срочно")])
        _ = try c.withdraw(other.description, collection: "tags", element: "срочно", reason: "метка")
        try c.write([.add(case: other, collection: "tags", element: "срочно")])
        let b3 = try SharePagesTests.Browser(dir, "c")
        try await b3.app.test(.router) { client in
            let (_, page) = try await b3.get(client, "/withdrawn")
            let said = Self.ru("withdrawn.here.returnedElement", ["n": "1", "elements": "\(other.short) \(Self.ru("case.tags")): срочно"])
            #expect(page.contains(ReportHTML.esc(said)), "the tag is named: \(page)")
            #expect(!page.contains("c=tags"), "a link carries the tag: \(page)")
        }
    }

    /// After a withdrawal the coordinator keeps its old key for what writers sent before they
    /// heard: the page says an old stick still opens with this device and names the writers it
    /// waits for, in Russian, until each has written with the new key; then that it destroyed it.
    @Test func theOldKeyAndTheWritersItWaitsForAreNamed() async throws {
        let dir = try TempDir("withdrawpages")
        let (c, _) = try NodeFixture.founder(dir, "c")
        let r = try NodeFixture.make(dir, "r")
        try r.join(try #require(try c.project()))
        _ = try c.addMember(r.nodeID, role: .reporter)
        try CoordinatorDeskTests.Project.sync(c, to: r)
        var doc = CaseDocument()
        doc.title = "Дело к отзыву"
        doc.persons = [.init(name: "Асель Каримова")]
        let id = try c.addCase(doc)
        _ = try c.withdraw(id.description, reason: "угроза")
        let reporter = "\(Self.ru("role.reporter")) \(r.nodeID.fingerprint)"
        let b = try SharePagesTests.Browser(dir, "c")
        try await b.app.test(.router) { client in
            let (status, page) = try await b.get(client, "/withdrawn")
            #expect(status == .ok)
            #expect(page.contains(ReportHTML.esc(Self.ru("withdrawn.oldKey.waiting", ["devices": reporter]))), "\(page)")
            // Not "no key": the old one opens an old stick.
            #expect(page.contains(ReportHTML.esc(Self.ru("withdrawn.here.cleanOldKey"))) && !page.contains(ReportHTML.esc(Self.ru("withdrawn.here.clean"))), "\(page)")
            #expect(page.contains(ReportHTML.esc(Self.ru("withdrawn.newKey"))) && page.contains(ReportHTML.esc(Self.ru("withdrawn.newKey.waiting"))), "\(page)")
        }
        // The reporter hears of the new key and writes with it.
        try CoordinatorDeskTests.Project.sync(c, to: r)
        var later = CaseDocument()
        later.title = "Новое дело"
        _ = try r.addCase(later)
        try CoordinatorDeskTests.Project.sync(r, to: c)
        let b2 = try SharePagesTests.Browser(dir, "c")
        try await b2.app.test(.router) { client in
            let (_, page) = try await b2.get(client, "/withdrawn")
            // Its sync ended the wait: the old key is destroyed, and the page says the old stick
            // no longer opens here.
            #expect(page.contains(ReportHTML.esc(Self.ru("withdrawn.oldKey.destroyed"))), "\(page)")
            #expect(page.contains(ReportHTML.esc(Self.ru("withdrawn.here.clean"))) && !page.contains(ReportHTML.esc(Self.ru("withdrawn.here.cleanOldKey"))), "\(page)")
            #expect(!page.contains(ReportHTML.esc(Self.ru("withdrawn.newKey.waiting"))), "\(page)")
        }
    }

    /// Where the code says what to act on (the file, the stick, a restore not synced, a device not
    /// admitted), the words say it; other refusals go by their kind.
    @Test func aRefusalIsWordedByWhatToActOn() {
        let cases: [(NodeError, String)] = [
            (NodeError(.corrupt, "malformed file: x", code: "media.malformed"), "node.reason.media"),
            (NodeError(.failure, "cannot write", code: "sync.io"), "node.reason.io"),
            (NodeError(.failure, "cannot write", code: "store.io"), "node.reason.io"),
            (NodeError(.refused, "rebuilt", code: "node.restored-not-synced"), "node.reason.restored"),
            (NodeError(.refused, "not a member", code: "node.not-admitted"), "node.reason.notAdmitted"),
            (NodeError(.refused, "role"), "node.reason.refused"),
            (NodeError(.corrupt, "bad store", code: "store.corrupt"), "node.reason.corrupt"),
        ]
        for (e, key) in cases { #expect(Pages.reasonKey(e) == key, "\(e.code)") }
    }

    /// Every kind of node refusal has its own words in every language, none of them the node's.
    @Test func everyRefusalIsCatalogued() throws {
        let kinds: [NodeError.Kind] = [.usage, .wrongPassphrase, .corrupt, .notFound, .notForMe, .conflict, .refused, .failure]
        for lang in Catalogue.languages {
            let texts = kinds.map { Catalogue.shared.text(Pages.reasonKey($0), lang) }
            #expect(Set(texts).count == kinds.count, "\(lang): two kinds share words")
            for (k, t) in zip(kinds, texts) { #expect(Catalogue.shared.tables[lang]?[Pages.reasonKey(k)] == t, "\(lang) lacks \(k)") }
        }
    }

    /// A seized reporter whose key signed two histories: the desk cannot pick the genuine last
    /// record, and says so in Russian with the command that can.
    @Test func aForkedDeviceIsNotRevokedAndThePageSaysWhy() async throws {
        let dir = try TempDir("seizedfork")
        let (c, pid) = try NodeFixture.founder(dir, "c")
        let r = try NodeFixture.make(dir, "r")
        try r.join(pid)
        _ = try c.addMember(r.nodeID, role: .reporter)
        try SharePagesTests.Project.sync(c, to: r)
        var doc = CaseDocument()
        doc.title = "Обыск в Таразе"
        _ = try r.addCase(doc)
        _ = try r.addCase(doc)
        try SharePagesTests.Project.sync(r, to: c)
        let first = try #require(try r.store.envelopes(author: r.nodeID.signingKey, after: 0).first)
        let fork = try OpWriter(keys: r.identity.signing, project: pid, seq: 1, prev: first.id, clock: HybridClock())
            .sealed([.projectName("захвачено")], readers: [c.nodeID.boxKey], wallMillis: 1)
        _ = try c.importEnvelopes([fork])
        let b = try SharePagesTests.Browser(dir, "c")
        let device = r.nodeID
        try await b.app.test(.router) { client in
            let (status, page, _) = try await b.post(client, "/seized", [("device", device.description), ("confirm", "yes")], csrf: b.csrf)
            #expect(status == .conflict)
            #expect(page.contains(ReportHTML.esc(Self.ru("seized.failed.forked", ["command": "sandyq member revoke \(device) --after OPID"]))))
            #expect(!page.contains("its key was copied"))
        }
        #expect(try b.host.view().membership.members[device.signingKey]?.isRevoked == false)
    }
}
