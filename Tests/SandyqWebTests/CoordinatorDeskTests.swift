import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqWeb

/// The coordinator's desk, driven through the routes without a socket: the conflicts screen and
/// the duplicates screen answer coordinators only, refuse a form without the session's token,
/// and really change the node. (The Host and Origin checks in front of every route are
/// DeskGuard's, driven over a socket by Tests/ui/desk_test.py.)
@Suite struct CoordinatorDeskTests {
    /// Two coordinators and a reporter in one project; the coordinators changed one case's city
    /// without seeing each other, then exchanged ops, so both hold the conflict.
    struct Project {
        let dir: TempDir
        let conflicted: CaseID
        let latin: CaseID

        init() throws {
            dir = try TempDir("desk")
            let (c, pid) = try NodeFixture.founder(dir, "c")
            let b = try NodeFixture.make(dir, "b"), r = try NodeFixture.make(dir, "r")
            try b.join(pid)
            try r.join(pid)
            _ = try c.addMember(b.nodeID, role: .coordinator)
            _ = try c.addMember(r.nodeID, role: .reporter)
            var doc = CaseDocument()
            doc.title = "Макс Бокаев — задержание"
            doc.city = "Алматы"
            var p = CaseDocument.Person(name: "Макс Бокаев")
            p.birthYear = 1972
            doc.persons = [p]
            conflicted = try c.addCase(doc)
            try Self.sync(c, to: b)
            let city = FieldPath(field: "city")
            try c.set(conflicted.description, fields: [(city, "Астана")])
            try b.set(conflicted.description, fields: [(city, "Шымкент")])
            // The same person again, in Latin letters, as a second volunteer recorded him.
            var other = CaseDocument()
            other.title = "Max Bokayev, Almaty"
            var q = CaseDocument.Person(name: "Max Bokayev")
            q.birthYear = 1972
            other.persons = [q]
            latin = try b.addCase(other)
            try Self.sync(b, to: c)
            try Self.sync(c, to: r)
        }

        static func sync(_ from: Node, to: Node) throws {
            let report = try to.importEnvelopes(try from.envelopes(missingFrom: try to.versionVector()))
            #expect(report.refused.isEmpty)
        }
    }

    /// A desk unlocked on one node's home, with one browser session.
    struct Browser {
        let desk: Desk
        let host: NodeHost
        let cookie: String
        let csrf: String

        init(_ project: Project, _ name: String) throws {
            host = try NodeHost.open(home: project.dir.sub(name), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)))
            desk = Desk(home: project.dir.sub(name))
            desk.unlocked(host)
            let token = try #require(desk.loginToken)
            let s = try #require(desk.login(token: token))
            cookie = "\(Pages.cookie)=\(s.id)"
            csrf = s.csrf
        }

        var app: some ApplicationProtocol {
            let router = Router(context: BasicRequestContext.self)
            Routes(desk: desk).register(on: router)
            return Application(router: router)
        }

        func get(_ client: some TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String) {
            try await client.execute(uri: path, method: .get, headers: [.cookie: cookie, .acceptLanguage: "ru"]) { ($0.status, String(buffer: $0.body)) }
        }

        /// A form post; `csrf: nil` leaves the token out.
        func post(_ client: some TestClientProtocol, _ path: String, _ fields: [(String, String)], csrf: String?) async throws
            -> (HTTPResponse.Status, String, String?)
        {
            let all = (csrf.map { [("csrf", $0)] } ?? []) + fields
            let body = all.map { "\($0.0)=\(Form.encode($0.1))" }.joined(separator: "&")
            return try await client.execute(uri: path, method: .post,
                                            headers: [.cookie: cookie, .acceptLanguage: "ru", .contentType: "application/x-www-form-urlencoded"],
                                            body: ByteBuffer(string: body)) { ($0.status, String(buffer: $0.body), $0.headers[.location]) }
        }
    }

    static func ru(_ key: String) -> String { Catalogue.shared.text(key, "ru") }

    @Test func otherRolesAreRefusedAndChangeNothing() async throws {
        let project = try Project()
        let reporter = try Browser(project, "r")
        let before = try reporter.host.exchange.versionVector()
        let a = project.conflicted.description, b = project.latin.description
        try await reporter.app.test(.router) { client in
            for path in ["/conflicts", "/merge", "/merge/\(a)/\(b)"] {
                let (status, body) = try await reporter.get(client, path)
                #expect(status == .forbidden, "\(path): \(status)")
                #expect(body.contains(Self.ru("coord.refused.title")) && !body.contains("Шымкент"), "\(path)")
            }
            let (s1, _, _) = try await reporter.post(client, "/conflicts", [("case", a), ("field", "city"), ("choice", "new"), ("value", "Тараз")],
                                                     csrf: reporter.csrf)
            let (s2, _, _) = try await reporter.post(client, "/merge/\(a)/\(b)", [("keep", a)], csrf: reporter.csrf)
            #expect(s1 == .forbidden && s2 == .forbidden)
        }
        #expect(try reporter.host.exchange.versionVector() == before, "a refused form wrote an op")
    }

    @Test func aFormWithoutTheSessionsTokenIsRefused() async throws {
        let project = try Project()
        let c = try Browser(project, "c")
        let a = project.conflicted.description, b = project.latin.description
        let before = try c.host.exchange.versionVector()
        try await c.app.test(.router) { client in
            for token in [nil, (c.csrf.hasPrefix("0") ? "1" : "0") + c.csrf.dropFirst()] as [String?] {
                let (s1, _, _) = try await c.post(client, "/conflicts", [("case", a), ("field", "city"), ("choice", "new"), ("value", "Тараз")],
                                                  csrf: token)
                let (s2, _, _) = try await c.post(client, "/merge/\(a)/\(b)", [("keep", a)], csrf: token)
                #expect(s1 == .forbidden && s2 == .forbidden)
            }
        }
        #expect(try c.host.exchange.versionVector() == before, "a form without its token wrote an op")
        #expect(try c.host.cases.conflicts().count == 1)
    }

    @Test func aConflictIsShownByCaseAndResolvedFromThePage() async throws {
        let project = try Project()
        let c = try Browser(project, "c")
        let id = project.conflicted.description
        let writes = try #require(try c.host.cases.conflicts().first?.1.first?.writes)
        #expect(Set(writes.map(\.value)) == ["Астана", "Шымкент"])
        let seen = writes.map(\.op.description).joined(separator: ",")
        let chosen = try #require(writes.first { $0.value == "Шымкент" })
        try await c.app.test(.router) { client in
            let (status, page) = try await c.get(client, "/conflicts")
            #expect(status == .ok)
            for text in ["Астана", "Шымкент", "Макс Бокаев — задержание", Self.ru("role.coordinator"), Self.ru("conflicts.device.this"),
                         Self.ru("conflicts.device.other"), "value=\"\(chosen.op)\"", "name=\"seen\" value=\"\(seen)\""] {
                #expect(page.contains(text), "the page lacks \(text)")
            }
            // Nothing chosen, then a new value left empty: the form again with its error, and nothing written.
            let (s1, p1, _) = try await c.post(client, "/conflicts", [("case", id), ("field", "city"), ("seen", seen)], csrf: c.csrf)
            #expect(s1 == .unprocessableContent && p1.contains(Self.ru("conflicts.err.choose")) && p1.contains("error-summary"))
            let (s2, p2, _) = try await c.post(client, "/conflicts", [("case", id), ("field", "city"), ("seen", seen), ("choice", "new"), ("value", " ")],
                                               csrf: c.csrf)
            #expect(s2 == .unprocessableContent && p2.contains(Self.ru("conflicts.err.empty")))
            #expect(try c.host.cases.conflicts().count == 1)
            // A field that is not the case's: not found.
            let (s3, _, _) = try await c.post(client, "/conflicts", [("case", id), ("field", "nope"), ("seen", seen), ("choice", chosen.op.description)],
                                              csrf: c.csrf)
            #expect(s3 == .notFound)
            // Keeping one of the values: one write superseding both.
            let (s4, _, location) = try await c.post(client, "/conflicts",
                                                     [("case", id), ("field", "city"), ("seen", seen), ("choice", chosen.op.description)], csrf: c.csrf)
            #expect(s4 == .seeOther)
            #expect(try c.host.cases.conflicts().isEmpty)
            let reg = try #require(try c.host.cases.state(id).register(FieldPath(field: "city")))
            #expect(reg.survivors.map(\.value) == ["Шымкент"] && Set(reg.survivors[0].supersedes) == Set(writes.map(\.op)))
            let (s5, done) = try await c.get(client, try #require(location))
            #expect(s5 == .ok && done.contains(Self.ru("conflicts.done.title")) && done.contains(Self.ru("conflicts.none")))
        }
    }

    @Test func aNewValueResolvesAndIsCheckedLikeAnEdit() async throws {
        let project = try Project()
        let c = try Browser(project, "c")
        let id = project.conflicted.description
        let seen = try #require(try c.host.cases.conflicts().first?.1.first?.writes).map(\.op.description).joined(separator: ",")
        try await c.app.test(.router) { client in
            let (status, _, _) = try await c.post(client, "/conflicts",
                                                  [("case", id), ("field", "city"), ("seen", seen), ("choice", "new"), ("value", "Қарағанды")],
                                                  csrf: c.csrf)
            #expect(status == .seeOther)
        }
        #expect(try c.host.cases.state(id).value("city") == "Қарағанды")
        #expect(try c.host.cases.conflicts().isEmpty)
    }

    /// A value written after the page was drawn is not among those the form supersedes: it stays,
    /// in conflict with the choice, and the page says so.
    @Test func aValueThatArrivesMeanwhileIsNotLost() async throws {
        let project = try Project()
        let c = try Browser(project, "c")
        let id = project.conflicted.description
        let city = FieldPath(field: "city")
        let writes = try #require(try c.host.cases.conflicts().first?.1.first?.writes)
        let chosen = try #require(writes.first { $0.value == "Астана" })
        // Another write that saw neither value, as one arriving from a third device would.
        try c.host.cases.set(id, superseding: [(path: city, value: "Тараз", seen: [])])
        try await c.app.test(.router) { client in
            let (status, _, location) = try await c.post(client, "/conflicts",
                                                         [("case", id), ("field", "city"), ("seen", writes.map(\.op.description).joined(separator: ",")),
                                                          ("choice", chosen.op.description)], csrf: c.csrf)
            #expect(status == .seeOther)
            let (_, page) = try await c.get(client, try #require(location))
            #expect(page.contains(Self.ru("conflicts.done.still")))
        }
        let survivors = try #require(try c.host.cases.state(id).register(city)).survivors
        #expect(Set(survivors.map(\.value)) == ["Астана", "Тараз"])
    }

    @Test func aLikelyDuplicateIsComparedAndMerged() async throws {
        let project = try Project()
        let c = try Browser(project, "c")
        let a = project.conflicted.description, b = project.latin.description
        let pair = try #require(try c.host.search.duplicatePairs().first)
        #expect(Set([pair.first.caseId, pair.second.caseId]) == [a, b])
        try await c.app.test(.router) { client in
            let (s1, list) = try await c.get(client, "/merge")
            #expect(s1 == .ok && list.contains("Max Bokayev") && list.contains("Макс Бокаев"))
            #expect(list.contains(Catalogue.shared.text("merge.reason.year", "ru", ["year": "1972"])))
            let href = "/merge/\(pair.first.caseId)/\(pair.second.caseId)"
            #expect(list.contains("href=\"\(href)\""))
            let (s2, compare) = try await c.get(client, href)
            #expect(s2 == .ok && compare.contains("Max Bokayev, Almaty") && compare.contains("name=\"keep\" value=\"\(a)\""))
            #expect(compare.contains(Catalogue.shared.text("merge.reason.year", "ru", ["year": "1972"])))
            // No choice: the question again with its error; a case that is not one of the two: the same.
            for keep in [[], [("keep", (a.hasPrefix("0") ? "1" : "0") + a.dropFirst())]] as [[(String, String)]] {
                let (s, p, _) = try await c.post(client, href, keep, csrf: c.csrf)
                #expect(s == .unprocessableContent && p.contains(Self.ru("merge.err.choose")))
            }
            #expect(try c.host.cases.state(b).mergedTarget == nil)
            let (s3, done, _) = try await c.post(client, href, [("keep", a)], csrf: c.csrf)
            #expect(s3 == .ok && done.contains(Self.ru("merge.done.title")) && done.contains("href=\"/cases/\(a)\""))
            // The pair is gone from the list, and asking to merge it again says why not.
            let (_, after) = try await c.get(client, "/merge")
            #expect(after.contains(Self.ru("merge.none")))
            let (s4, _, _) = try await c.post(client, href, [("keep", a)], csrf: c.csrf)
            #expect(s4 == .notFound)
        }
        #expect(try c.host.cases.state(b).mergedTarget == a)
        let kept = try c.host.cases.state(a)
        let names = kept.elements("persons").compactMap { kept.value("persons", $0, "name") }
        #expect(names.contains("Макс Бокаев"))
    }
}
