import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqWeb

/// The split key backup on the desk, through the routes: only a coordinator, only with the
/// session's token; each bad number named against its field; the pieces it hands out (a file,
/// and the paper text) combine into this node's keys; forgetting and locking drop them.
@Suite struct BackupPagesTests {
    typealias Browser = SharePagesTests.Browser

    static func ru(_ key: String, _ args: [String: String] = [:]) -> String { Catalogue.shared.text(key, "ru", args) }

    static func html(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The share text inside the print page's <pre>.
    static func pre(_ body: String) -> String? {
        guard let a = body.range(of: "<pre class=\"share-text\" id=\"share-text\">"), let b = body.range(of: "</pre>", range: a.upperBound..<body.endIndex)
        else { return nil }
        return String(body[a.upperBound..<b.lowerBound])
    }

    @Test func aReporterIsRefused() async throws {
        let p = try SharePagesTests.Project()
        let r = try Browser(p.dir, "r")
        try await r.app.test(.router) { client in
            let (s0, _) = try await r.get(client, "/backup")
            let (s1, _, _) = try await r.post(client, "/backup", [("shares", "5"), ("threshold", "3")], csrf: r.csrf)
            #expect(s0 == .forbidden && s1 == .forbidden)
        }
        #expect(r.desk.backupPieces.withLock { $0.isEmpty })
    }

    @Test func badNumbersAreNamedAgainstTheirFieldsAndMakeNothing() async throws {
        let p = try SharePagesTests.Project()
        let c = try Browser(p.dir, "c")
        try await c.app.test(.router) { client in
            let cases: [([(String, String)], [String])] = [
                ([("shares", ""), ("threshold", "")], [Self.ru("backup.err.shares.missing"), Self.ru("backup.err.threshold.missing")]),
                ([("shares", "1"), ("threshold", "2")], [Self.ru("backup.err.shares.range")]),
                ([("shares", "пять"), ("threshold", "3")], [Self.ru("backup.err.shares.range")]),
                ([("shares", "5"), ("threshold", "9")], [Self.ru("backup.err.threshold.range", ["n": "5"])]),
                ([("shares", "5"), ("threshold", "1")], [Self.ru("backup.err.threshold.range", ["n": "5"])]),
                ([("shares", "300"), ("threshold", "3")], [Self.ru("backup.err.shares.range")]),
            ]
            for (fields, messages) in cases {
                let (status, body, _) = try await c.post(client, "/backup", fields, csrf: c.csrf)
                #expect(status == .unprocessableContent, "\(fields): \(status)")
                #expect(body.contains("error-summary"), "\(fields): no summary")
                for m in messages { #expect(body.contains(Self.html(m)), "\(fields): \(m) missing") }
            }
            let (s, _) = try await c.get(client, "/backup/pieces")
            #expect(s == .seeOther, "pieces exist after only bad forms")
            let (noToken, _, _) = try await c.post(client, "/backup", [("shares", "5"), ("threshold", "3")], csrf: nil)
            #expect(noToken == .forbidden)
            let (s2, _) = try await c.get(client, "/backup/pieces")
            #expect(s2 == .seeOther, "a form without the token made pieces")
        }
    }

    @Test func threePiecesOfFiveRebuildThisNodeThenForgetAndLockDropThem() async throws {
        let p = try SharePagesTests.Project()
        let c = try Browser(p.dir, "c")
        try await c.app.test(.router) { client in
            let (made, _, _) = try await c.post(client, "/backup", [("shares", "5"), ("threshold", "3")], csrf: c.csrf)
            #expect(made == .seeOther)
            let (s, page) = try await c.get(client, "/backup/pieces")
            #expect(s == .ok && page.contains(Self.ru("backup.pieces.title")))
            for i in 1...5 { #expect(page.contains(Self.html(Self.ru("backup.piece", ["i": "\(i)", "n": "5"]))), "piece \(i) not listed") }
            // One piece as a file, two as paper text.
            let file = try await client.execute(uri: "/backup/file", method: .post,
                                                headers: [.cookie: c.cookie, .contentType: "application/x-www-form-urlencoded"],
                                                body: ByteBuffer(string: "csrf=\(c.csrf)&number=2")) { r in
                (r.status, r.headers[.contentDisposition] ?? "", Array(r.body.readableBytesView))
            }
            #expect(file.0 == .ok && file.1.contains("share-2-of-5.sqshare"), "\(file.0) \(file.1)")
            var texts: [String] = []
            for n in [1, 4] {
                let (ps, body, _) = try await c.post(client, "/backup/print", [("number", "\(n)")], csrf: c.csrf)
                let text = try #require(Self.pre(body), "piece \(n): no text")
                #expect(ps == .ok && text.hasPrefix("SANDYQ BACKUP SHARE \(n) OF 5, ANY 3"), "\(text.prefix(40))")
                #expect(body.contains("<svg"), "piece \(n): no QR code")
                texts.append(text)
            }
            let backup = try NodeHost.combineBackup([("file 2", file.2), ("paper 1", Array(texts[0].utf8)), ("paper 4", Array(texts[1].utf8))])
            #expect(backup.signingPublicKey == c.host.nodeID.signingKey, "the pieces rebuild another node's keys")
            // Two pieces are not enough.
            #expect(throws: NodeError.self) { try NodeHost.combineBackup([("file 2", file.2), ("paper 1", Array(texts[0].utf8))]) }

            let (fs, fbody, _) = try await c.post(client, "/backup/forget", [], csrf: c.csrf)
            #expect(fs == .ok && fbody.contains(Self.html(Self.ru("backup.forgotten"))))
            let (after, _, _) = try await c.post(client, "/backup/file", [("number", "2")], csrf: c.csrf)
            #expect(after == .seeOther, "a forgotten piece still downloads")
            _ = try await c.post(client, "/backup", [("shares", "3"), ("threshold", "2")], csrf: c.csrf)
        }
        #expect(c.desk.backupPieces.withLock { $0.values.map(\.count) } == [3], "the second set was not made")
        c.desk.lock()
        #expect(c.desk.backupPieces.withLock { $0.isEmpty }, "locking left pieces in memory")
    }

    @Test func theLastSetIsNamedAndOneOlderThanTheReaderKeyWarnsOnThePeoplePage() async throws {
        let p = try SharePagesTests.Project()
        let c = try Browser(p.dir, "c")
        let stale = "id=\"people-backup-stale\""
        // The part of the "current" sentence after its date, which changes by the minute.
        let current = try #require(Self.html(Self.ru("backup.status.current", ["when": "@", "k": "2", "n": "3"])).components(separatedBy: "@").last)
        try await c.app.test(.router) { client in
            let (_, none) = try await c.get(client, "/backup")
            #expect(none.contains(Self.html(Self.ru("backup.status.none"))))
            #expect(try await !c.get(client, "/people").1.contains(stale))
            _ = try await c.post(client, "/backup", [("shares", "3"), ("threshold", "2")], csrf: c.csrf)
            // A set becomes this node's only once every piece has left: two of three have not.
            _ = try await c.post(client, "/backup/file", [("number", "1")], csrf: c.csrf)
            _ = try await c.post(client, "/backup/print", [("number", "3")], csrf: c.csrf)
            #expect(try await c.get(client, "/backup").1.contains(Self.html(Self.ru("backup.status.none"))), "a set half handed out counts")
            _ = try await c.post(client, "/backup/file", [("number", "2")], csrf: c.csrf)
            let (_, made) = try await c.get(client, "/backup")
            #expect(made.contains(current) && !made.contains(Self.html(Self.ru("backup.status.none"))))

            // The key row is lost and the node announces its next epoch: the set no longer holds it.
            try c.host.withNode { n throws(NodeError) in
                try mapped { try n.store.deleteSetting(Node.readerKeySetting) }
                n.readerKeyChecked = false
                try n.announceReaderKeyIfDue()
            }
            let (_, people) = try await c.get(client, "/people")
            #expect(people.contains(stale) && people.contains(Self.html(Self.ru("people.backup.stale"))))
            let (_, old) = try await c.get(client, "/backup")
            #expect(old.contains(Self.html(Self.ru("backup.status.stale"))) && !old.contains(current))

            _ = try await c.post(client, "/backup", [("shares", "3"), ("threshold", "2")], csrf: c.csrf)
            for n in 1...3 { _ = try await c.post(client, "/backup/print", [("number", "\(n)")], csrf: c.csrf) }
            #expect(try await !c.get(client, "/people").1.contains(stale), "a new set did not clear the warning")
        }
    }
}
