import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
import SandyqCore
@testable import SandyqNode
@testable import SandyqWeb

/// What the desk leaves in the browser, which a seizer reads without any passphrase: its
/// history (addresses and page titles) and its saved form entries. None may name a case.
@Suite struct BrowserTraceTests {
    static let name = "Нурлан Нургалиев"

    static func title(_ html: String) -> String {
        guard let a = html.range(of: "<title>"), let b = html.range(of: "</title>", range: a.upperBound..<html.endIndex) else { return "" }
        return String(html[a.upperBound..<b.lowerBound])
    }

    /// Every page of a case, its dossier and its forms: the history keeps each page's title.
    @Test func noPageTitleNamesTheCase() async throws {
        let dir = try TempDir("browsertitle")
        let (c, _) = try NodeFixture.founder(dir, "c")
        var doc = CaseDocument()
        doc.title = Self.name
        let id = try c.addCase(doc).description
        let b = try SharePagesTests.Browser(dir, "c")
        try await b.app.test(.router) { client in
            // These must answer, or the check proves nothing; the others are checked when they do.
            let required = ["/cases/\(id)", "/cases/\(id)/dossier", "/cases/\(id)/dossier?print=1", "/cases/\(id)/edit",
                            "/cases/\(id)/add/persons", "/cases/\(id)/withdraw", "/cases"]
            for path in required + ["/cases/\(id)/attach", "/cases/\(id)/share"] {
                let (status, html) = try await b.get(client, path)
                if required.contains(path) { #expect(status == .ok, "\(path): \(status)") }
                guard status == .ok else { continue }
                let t = Self.title(html)
                #expect(!t.isEmpty, "\(path) has no title")
                #expect(!t.contains("Нурлан"), "\(path): \(t)")
            }
            let (_, page) = try await b.get(client, "/cases/\(id)")
            #expect(page.contains(Self.name), "the case page itself still shows the case")
        }
    }

    /// A search typed into the list is posted, not put in the address: the history keeps
    /// addresses. The page shows the results after a redirect to the bare list, and keeps
    /// them only in the desk's memory, until the lock.
    @Test func aSearchLeavesNoNameInTheAddress() async throws {
        let dir = try TempDir("browsersearch")
        let (c, _) = try NodeFixture.founder(dir, "c")
        var doc = CaseDocument()
        doc.title = Self.name
        _ = try c.addCase(doc)
        var other = CaseDocument()
        other.title = "Обыск в Таразе"
        _ = try c.addCase(other)
        let b = try SharePagesTests.Browser(dir, "c")
        try await b.app.test(.router) { client in
            let (_, list) = try await b.get(client, "/cases")
            let form = try #require(list.range(of: "<form[^>]*id=\"case-search\"[^>]*>", options: .regularExpression).map { String(list[$0]) })
            #expect(form.contains("method=\"post\""), "\(form)")
            #expect(list.contains("name=\"csrf\""))

            let (status, _, headers) = try await b.session.post(client, "/cases", [("q", "Нургалиев")], csrf: b.csrf)
            #expect(status == .seeOther)
            let to = headers[.location] ?? ""
            #expect(to == "/cases", "redirected to \(to)")
            let (_, shown) = try await b.get(client, to)
            #expect(shown.contains(Self.name) && !shown.contains("Обыск в Таразе"), "the posted search does not hold")
            #expect(shown.contains("value=\"Нургалиев\""))

            let (refused, _, _) = try await b.session.post(client, "/cases", [("q", "Нургалиев")], csrf: nil)
            #expect(refused != .seeOther)

            b.desk.lock()
            b.desk.unlocked(b.host)
            let (_, after) = try await b.get(client, "/cases")
            #expect(after.contains("Обыск в Таразе") && !after.contains("value=\"Нургалиев\""), "a search outlived the lock")
        }
    }

    /// A tag is its own key: the link to remove it carries a token that stands for it in this
    /// session, not its text, and the token means nothing after the lock.
    @Test func aTagIsNotInTheAddress() async throws {
        let dir = try TempDir("browsertag")
        let (c, _) = try NodeFixture.founder(dir, "c")
        var doc = CaseDocument()
        doc.title = "Обыск"
        let id = try c.addCase(doc)
        let tag = "семья Нургалиевых"
        _ = try c.write([.add(case: id, collection: "tags", element: tag)])
        let b = try SharePagesTests.Browser(dir, "c")
        try await b.app.test(.router) { client in
            let (_, page) = try await b.get(client, "/cases/\(id)")
            let href = try #require(page.range(of: "/cases/\(id)/remove\\?c=tags&amp;e=[^\"]+", options: .regularExpression).map { String(page[$0]) })
                .replacingOccurrences(of: "&amp;", with: "&")
            #expect(!href.contains(Form.encode(tag)) && !href.removingPercentEncoding!.contains("Нургалиев"), "\(href)")
            let (status, confirm) = try await b.get(client, href)
            #expect(status == .ok && confirm.contains(tag), "the token does not lead to the tag: \(status)")
            b.desk.lock()
            b.desk.unlocked(b.host)
            let (after, _) = try await b.get(client, href)
            #expect(after == .notFound, "a token outlived the lock: \(after)")
        }
    }

    /// Every form the desk serves asks the browser not to save what is typed into it: a form
    /// entry saved by the browser outlives every lock and panic.
    @Test func everyFormAsksTheBrowserNotToSaveIt() throws {
        var checked = 0
        for (name, bytes) in Templates.sources {
            let text = String(decoding: bytes, as: UTF8.self)
            var rest = text[...]
            while let r = rest.range(of: "<form") {
                let end = rest[r.upperBound...].firstIndex(of: ">") ?? rest.endIndex
                let tag = rest[r.lowerBound..<end]
                #expect(tag.contains("autocomplete=\"off\""), "\(name): \(tag)")
                checked += 1
                rest = rest[end...]
            }
        }
        #expect(checked > 20)
    }
}
