import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqWeb

/// Sharing cases with a lawyer from the desk, driven through the routes without a socket: from the
/// people page (several cases, checkboxes) and from a case's page (one lawyer, radios). Only a
/// coordinator may, only with the session's token, only with a current lawyer; a share lands in
/// the case's `sharedWith` and reaches the lawyer's node. Also two bad inputs of the people and
/// monitoring pages.
@Suite struct SharePagesTests {
    /// A coordinator, a lawyer and a reporter in one project; two cases, shared with nobody.
    struct Project {
        let dir: TempDir
        let first: CaseID
        let second: CaseID
        let lawyer: NodeID
        let reporter: NodeID

        init() throws {
            dir = try TempDir("share")
            let (c, pid) = try NodeFixture.founder(dir, "c")
            let l = try NodeFixture.make(dir, "l"), r = try NodeFixture.make(dir, "r")
            try l.join(pid)
            try r.join(pid)
            _ = try c.addMember(l.nodeID, role: .lawyer)
            _ = try c.addMember(r.nodeID, role: .reporter)
            lawyer = l.nodeID
            reporter = r.nodeID
            var doc = CaseDocument()
            doc.title = "Мұхтар Жәкішев — қамау"
            doc.persons = [CaseDocument.Person(name: "Мұхтар Жәкішев")]
            first = try c.addCase(doc)
            var other = CaseDocument()
            other.title = "Обыск в Таразе"
            second = try c.addCase(other)
            for n in [l, r] { try Self.sync(c, to: n) }
        }

        static func sync(_ from: Node, to: Node) throws {
            let report = try to.importEnvelopes(try from.envelopes(missingFrom: try to.versionVector()))
            #expect(report.refused.isEmpty)
        }
    }

    /// A desk unlocked on one node's home, with one browser session.
    struct Browser {
        let session: DeskSession
        let host: NodeHost
        var desk: Desk { session.desk }
        var cookie: String { session.cookie }
        var csrf: String { session.csrf }

        init(_ dir: TempDir, _ name: String) throws {
            host = try NodeHost.open(home: dir.sub(name), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)))
            let desk = Desk(home: dir.sub(name))
            desk.unlocked(host)
            session = try DeskSession(desk)
        }

        var app: some ApplicationProtocol { session.app }

        func get(_ client: some TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String) {
            let (status, body, _) = try await session.get(client, path)
            return (status, body)
        }

        /// A form post; `csrf: nil` leaves the token out. The third value is the content type.
        func post(_ client: some TestClientProtocol, _ path: String, _ fields: [(String, String)], csrf: String?) async throws
            -> (HTTPResponse.Status, String, String?)
        {
            let (status, body, headers) = try await session.post(client, path, fields, csrf: csrf)
            return (status, body, headers[.contentType])
        }

        func sharedWith(_ id: CaseID) throws -> [String] { try host.cases.state(id.description).elements("sharedWith") }
    }

    static func ru(_ key: String, _ args: [String: String] = [:]) -> String { Catalogue.shared.text(key, "ru", args) }
    static func hex(_ n: NodeID) -> String { Hex.encode(n.signingKey.bytes) }

    @Test func aReporterIsRefusedAndNothingIsShared() async throws {
        let p = try Project()
        let r = try Browser(p.dir, "r")
        let before = try r.host.exchange.versionVector()
        let l = Self.hex(p.lawyer), id = p.first.description
        try await r.app.test(.router) { client in
            for path in ["/people/share?lawyer=\(l)", "/cases/\(id)/share"] {
                let (status, body) = try await r.get(client, path)
                #expect(status == .forbidden && body.contains(Self.ru("coord.refused.title")), "\(path): \(status)")
            }
            let (s1, _, _) = try await r.post(client, "/people/share", [("lawyer", l), ("case-\(id)", "1")], csrf: r.csrf)
            let (s2, _, _) = try await r.post(client, "/cases/\(id)/share", [("lawyer", l)], csrf: r.csrf)
            #expect(s1 == .forbidden && s2 == .forbidden)
        }
        #expect(try r.host.exchange.versionVector() == before, "a refused share wrote an op")
    }

    @Test func aFormWithoutTheSessionsTokenIsRefused() async throws {
        let p = try Project()
        let c = try Browser(p.dir, "c")
        let before = try c.host.exchange.versionVector()
        let l = Self.hex(p.lawyer), id = p.first.description
        try await c.app.test(.router) { client in
            for token in [nil, (c.csrf.hasPrefix("0") ? "1" : "0") + c.csrf.dropFirst()] as [String?] {
                let (s1, _, _) = try await c.post(client, "/people/share", [("lawyer", l), ("case-\(id)", "1")], csrf: token)
                let (s2, _, _) = try await c.post(client, "/cases/\(id)/share", [("lawyer", l)], csrf: token)
                #expect(s1 == .forbidden && s2 == .forbidden)
            }
        }
        #expect(try c.host.exchange.versionVector() == before, "a form without its token wrote an op")
        #expect(try c.sharedWith(p.first).isEmpty)
    }

    @Test func noCaseChosenIsAnErrorSummaryAndSharesNothing() async throws {
        let p = try Project()
        let c = try Browser(p.dir, "c")
        let before = try c.host.exchange.versionVector()
        try await c.app.test(.router) { client in
            // A field that names no case counts as nothing chosen.
            for fields in [[], [("case-0123", "1")]] as [[(String, String)]] {
                let (status, page, _) = try await c.post(client, "/people/share", [("lawyer", Self.hex(p.lawyer))] + fields, csrf: c.csrf)
                #expect(status == .unprocessableContent)
                #expect(page.contains("error-summary") && page.contains(Self.ru("share.cases.missing")) && page.contains("href=\"#cases\""))
                #expect(page.contains("id=\"cases\"") && page.contains("name=\"case-\(p.first)\""), "the form again, its first box linked")
            }
            let (status, page, _) = try await c.post(client, "/cases/\(p.first)/share", [], csrf: c.csrf)
            #expect(status == .unprocessableContent && page.contains(Self.ru("share.lawyer.missing")) && page.contains("href=\"#lawyer\""))
        }
        #expect(try c.host.exchange.versionVector() == before, "an empty choice wrote an op")
    }

    /// From the people page: the count and the link, the checkboxes, the share, and the lawyer's node reads the case.
    @Test func casesSharedFromThePeoplePageReachTheLawyer() async throws {
        let p = try Project()
        let l = Self.hex(p.lawyer)
        do {
            let c = try Browser(p.dir, "c")
            try await c.app.test(.router) { client in
                let (s0, people) = try await c.get(client, "/people")
                #expect(s0 == .ok && people.contains("href=\"/people/share?lawyer=\(l)\"") && people.contains(Self.ru("share.people.count", ["n": "0"])))
                let (s1, page) = try await c.get(client, "/people/share?lawyer=\(p.lawyer.fingerprint)")
                #expect(s1 == .ok && page.contains(Self.ru("share.cases.title", ["fp": p.lawyer.fingerprint])))
                #expect(page.contains("Мұхтар Жәкішев — қамау") && page.contains("name=\"case-\(p.first)\"") && page.contains("name=\"case-\(p.second)\""))
                let (s2, done, _) = try await c.post(client, "/people/share", [("lawyer", l), ("case-\(p.first)", "1")], csrf: c.csrf)
                #expect(s2 == .ok && done.contains(Self.ru("share.done.body", ["n": "1", "fp": p.lawyer.fingerprint])))
                #expect(done.contains("Мұхтар Жәкішев — қамау") && done.contains(Self.ru("share.done.next")))
                // Shared now: listed as such, no longer a box; the people page counts it.
                let (_, again) = try await c.get(client, "/people/share?lawyer=\(l)")
                #expect(!again.contains("name=\"case-\(p.first)\"") && again.contains(Self.ru("share.cases.already")) && again.contains("name=\"case-\(p.second)\""))
                let (_, after) = try await c.get(client, "/people")
                #expect(after.contains(Self.ru("share.people.count", ["n": "1"])))
            }
            #expect(try c.sharedWith(p.first) == [l])
            #expect(try c.sharedWith(p.second).isEmpty)
        }
        // The lawyer's node, after one exchange, reads the shared case and not the other.
        let c = try NodeFixture.open(p.dir, "c"), lawyer = try NodeFixture.open(p.dir, "l")
        try Project.sync(c, to: lawyer)
        let cases = try lawyer.view().cases
        #expect(cases[p.first]?.value("title") == "Мұхтар Жәкішев — қамау")
        #expect(cases[p.second] == nil)
    }

    /// From a case's page: who holds it, the link, one lawyer chosen by radio.
    @Test func aCaseIsSharedFromItsPage() async throws {
        let p = try Project()
        let c = try Browser(p.dir, "c")
        let l = Self.hex(p.lawyer), id = p.second.description
        try await c.app.test(.router) { client in
            let (s0, page) = try await c.get(client, "/cases/\(id)")
            #expect(s0 == .ok && page.contains(Self.ru("share.case.nobody")) && page.contains("href=\"/cases/\(id)/share\""))
            let (s1, ask) = try await c.get(client, "/cases/\(id)/share")
            #expect(s1 == .ok && ask.contains("type=\"radio\" id=\"lawyer\" name=\"lawyer\" value=\"\(l)\"") && ask.contains("Обыск в Таразе"))
            let (s2, done, _) = try await c.post(client, "/cases/\(id)/share", [("lawyer", l)], csrf: c.csrf)
            #expect(s2 == .ok && done.contains(Self.ru("share.done.body", ["n": "1", "fp": p.lawyer.fingerprint])))
            let (_, shown) = try await c.get(client, "/cases/\(id)")
            #expect(shown.contains(Self.ru("share.case.with", ["who": "\(Self.ru("role.lawyer")) \(p.lawyer.fingerprint)"])))
            let (_, none) = try await c.get(client, "/cases/\(id)/share")
            #expect(none.contains(Self.ru("share.lawyer.allHave")) && !none.contains("type=\"radio\""))
        }
        #expect(try c.sharedWith(p.second) == [l])
    }

    /// Only a current lawyer: an unknown key, a reporter's, and a cut-off one are refused with a page.
    @Test func aLawyerWhoIsNotOneIsRefused() async throws {
        let p = try Project()
        let c = try Browser(p.dir, "c")
        let before = try c.host.exchange.versionVector()
        let id = p.first.description
        let bad = [Self.hex(p.reporter), String(Self.hex(p.lawyer).dropLast(2)), "нет", ""]
        try await c.app.test(.router) { client in
            for who in bad {
                let (s1, page) = try await c.get(client, "/people/share?lawyer=\(Form.encode(who))")
                #expect(s1 == .notFound && page.contains(Self.ru("share.unknown.title")), "GET \(who): \(s1)")
                let (s2, _, _) = try await c.post(client, "/people/share", [("lawyer", who), ("case-\(id)", "1")], csrf: c.csrf)
                #expect(s2 == .notFound, "POST \(who): \(s2)")
            }
            let (s3, page, _) = try await c.post(client, "/cases/\(id)/share", [("lawyer", Self.hex(p.reporter))], csrf: c.csrf)
            #expect(s3 == .notFound && page.contains(Self.ru("share.unknown.title")))
            let (s4, _) = try await c.get(client, "/cases/0123456789abcdef0123456789abcdef/share")
            #expect(s4 == .notFound)
        }
        #expect(try c.host.exchange.versionVector() == before, "a refused lawyer was given a share")
    }

    /// A revoked lawyer is no longer offered nor accepted; the case page still names who holds the case.
    @Test func aRevokedLawyerIsNoLongerOffered() async throws {
        let p = try Project()
        let l = Self.hex(p.lawyer), id = p.first.description
        do {
            let c = try NodeFixture.open(p.dir, "c")
            try c.share(id, with: p.lawyer)
            _ = try c.revoke(p.lawyer)
        }
        let c = try Browser(p.dir, "c")
        try await c.app.test(.router) { client in
            let (s1, _) = try await c.get(client, "/people/share?lawyer=\(l)")
            #expect(s1 == .notFound)
            let (_, people) = try await c.get(client, "/people")
            #expect(!people.contains("/people/share?lawyer="), "a revoked lawyer's row links the share page")
            let (s2, page) = try await c.get(client, "/cases/\(id)")
            #expect(s2 == .ok && page.contains("\(Self.ru("role.lawyer")) \(p.lawyer.fingerprint) (\(Self.ru("people.revoked")))"))
            #expect(page.contains(Self.ru("share.lawyers.none")) && !page.contains("href=\"/cases/\(id)/share\""))
            let (s3, _, _) = try await c.post(client, "/cases/\(p.second)/share", [("lawyer", l)], csrf: c.csrf)
            #expect(s3 == .notFound)
        }
    }

    /// A project without a lawyer: the case page and the question say so plainly, with no form.
    @Test func withoutLawyersThePagesSaySo() async throws {
        let dir = try TempDir("share-none")
        let id: CaseID
        do {
            let (c, _) = try NodeFixture.founder(dir, "c")
            var doc = CaseDocument()
            doc.title = "Обыск в Таразе"
            id = try c.addCase(doc)
        }
        let c = try Browser(dir, "c")
        try await c.app.test(.router) { client in
            let (_, page) = try await c.get(client, "/cases/\(id)")
            #expect(page.contains(Self.ru("share.case.nobody")) && page.contains(Self.ru("share.lawyers.none")))
            #expect(!page.contains("href=\"/cases/\(id)/share\""))
            let (status, ask) = try await c.get(client, "/cases/\(id)/share")
            #expect(status == .ok && ask.contains(Self.ru("share.lawyers.none")) && ask.contains("href=\"/people/invite\"") && !ask.contains("<form method=\"post\" action=\"/cases/"))
        }
    }

    /// A garbled invitation posted for download: a page saying so, no file, nothing written.
    @Test func aGarbledInvitationIsNotOfferedAsAFile() async throws {
        let p = try Project()
        let c = try Browser(p.dir, "c")
        let good = try c.host.members.invite(role: .lawyer).text
        let before = try c.host.exchange.versionVector()
        try await c.app.test(.router) { client in
            for code in [String(good.dropLast(3)), "sqi-не-приглашение", ""] {
                let (status, page, type) = try await c.post(client, "/people/invite/file", [("code", code)], csrf: c.csrf)
                #expect(status == .badRequest && (type ?? "").hasPrefix("text/html"), "\(code.prefix(12)): \(status) \(type ?? "")")
                #expect(page.contains(Self.ru("invite.file.bad.title")) && !page.contains(good))
            }
            let (status, _, _) = try await c.post(client, "/people/invite/file", [], csrf: c.csrf)
            #expect(status == .badRequest)
            // The same form with the real code gives the file: the test above can fail.
            let (ok, file, type) = try await c.post(client, "/people/invite/file", [("code", good)], csrf: c.csrf)
            #expect(ok == .ok && file.trimmingCharacters(in: .whitespacesAndNewlines) == good && (type ?? "").hasPrefix("text/plain"))
        }
        #expect(try c.host.exchange.versionVector() == before, "a garbled invitation wrote an op")
    }

    @Test func anUnknownMonitoringFileIsNotFound() async throws {
        let p = try Project()
        let c = try Browser(p.dir, "c")
        try await c.app.test(.router) { client in
            for file in ["report.exe", "..%2Fkeys", "report.html.bak"] {
                let (status, page) = try await c.get(client, "/monitoring/\(file)")
                #expect(status == .notFound && page.contains(Self.ru("notfound.title")), "\(file): \(status)")
            }
            let (ok, _) = try await c.get(client, "/monitoring/report.md")
            #expect(ok == .ok)
        }
    }
}
