import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqWeb

/// Rebuilding a lost computer's node from its paper backup pieces, through the desk's routes
/// on a home with no node: each wrong set of pieces named and nothing written; three of five
/// rebuild this very node under a new passphrase; the combined keys wait in memory only
/// until then, and a lock drops them.
@Suite struct RestorePagesTests {
    static func ru(_ key: String, _ args: [String: String] = [:]) -> String { Catalogue.shared.text(key, "ru", args) }
    static func html(_ s: String) -> String { BackupPagesTests.html(s) }

    /// A desk on a home with no node, logged in; the third value is where a redirect leads.
    struct Fresh {
        let session: DeskSession
        var desk: Desk { session.desk }
        var csrf: String { session.csrf }
        var app: some ApplicationProtocol { session.app }

        init(_ home: String) throws { session = try DeskSession(Desk(home: home, restoreParameters: .minimum)) }

        func get(_ client: some TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String, String?) {
            let (status, body, headers) = try await session.get(client, path)
            return (status, body, headers[.location])
        }

        func post(_ client: some TestClientProtocol, _ path: String, _ fields: [(String, String)], csrf: String?) async throws
            -> (HTTPResponse.Status, String, String?)
        {
            let (status, body, headers) = try await session.post(client, path, fields, csrf: csrf)
            return (status, body, headers[.location])
        }
    }

    /// Five paper pieces (any three) of the founder's node, and three of another project's founder.
    static func pieces(_ dir: TempDir) throws -> (node: NodeID, mine: [String], other: [String]) {
        let (c, _) = try NodeFixture.founder(dir, "c")
        let (o, _) = try NodeFixture.founder(dir, "o", project: "Другой проект")
        let mine = try c.splitBackup(threshold: 3, count: 5).map(\.text)
        let other = try o.splitBackup(threshold: 3, count: 3).map(\.text)
        return (c.nodeID, mine, other)
    }

    @Test func eachWrongSetOfPiecesIsNamedAndNothingIsWritten() async throws {
        let dir = try TempDir("restore")
        let (_, mine, other) = try Self.pieces(dir)
        let home = dir.sub("fresh")
        let f = try Fresh(home)
        // A mistyped letter in the middle of piece 2's first numbered line.
        var lines = mine[1].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var chars = Array(lines[1])
        chars[3] = chars[3] == "A" ? "B" : "A"
        lines[1] = String(chars)
        let mistyped = lines.joined(separator: "\n")
        try await f.app.test(.router) { client in
            let (u, unlock, _) = try await f.get(client, "/unlock")
            #expect(u == .ok && unlock.contains("href=\"/restore\"") && unlock.contains(Self.html(Self.ru("unlock.restore.link"))))
            let cases: [(String, String)] = [
                ("", Self.ru("restore.err.empty")),
                ("   \n", Self.ru("restore.err.empty")),
                ("это не часть", Self.ru("restore.err.unreadable", ["i": "1"])),
                (mine[0] + "\n" + mine[2], Self.ru("restore.err.tooFew", ["n": "2", "k": "3"])),
                ([mine[0], mine[0], mine[2]].joined(separator: "\n"), Self.ru("restore.err.duplicate")),
                ([mine[0], mine[2], other[1]].joined(separator: "\n"), Self.ru("restore.err.mixedNode")),
                ([mine[0], mistyped, mine[2]].joined(separator: "\n"), Self.ru("restore.err.mistyped", ["i": "2"])),
            ]
            for (typed, message) in cases {
                let (status, body, _) = try await f.post(client, "/restore", [("pieces", typed)], csrf: f.csrf)
                #expect(status == .unprocessableContent, "\(message): \(status)")
                #expect(body.contains("error-summary") && body.contains("href=\"#pieces\""), "\(message): no summary linking the box")
                #expect(body.contains(Self.html(message)), "\(message) missing")
            }
            // Without the session's token nothing is read.
            let (noToken, _, _) = try await f.post(client, "/restore", [("pieces", mine[0..<3].joined(separator: "\n"))], csrf: nil)
            #expect(noToken == .forbidden)
            let (s, _, to) = try await f.get(client, "/restore/passphrase")
            #expect(s == .seeOther && to == "/restore", "keys wait in memory after only wrong pieces")
        }
        #expect(!NodeHost.exists(home: home))
        #expect(f.desk.pendingRestore.withLock { $0.isEmpty })
    }

    @Test func threePiecesOfFiveRebuildThisNodeUnderANewPassphrase() async throws {
        let dir = try TempDir("restore")
        let (node, mine, _) = try Self.pieces(dir)
        let home = dir.sub("fresh")
        let f = try Fresh(home)
        try await f.app.test(.router) { client in
            // Pieces 5, 2 and 4, pasted with blank lines and stray spaces between them, and posted
            // as a browser posts a text box: every line ending in CR LF.
            let typed = ("\n" + [mine[4], mine[1], mine[3]].joined(separator: "\n\n  \n")).replacingOccurrences(of: "\n", with: "\r\n")
            let (checked, _, to) = try await f.post(client, "/restore", [("pieces", typed)], csrf: f.csrf)
            #expect(checked == .seeOther && to == "/restore/passphrase")
            let (s, page, _) = try await f.get(client, "/restore/passphrase")
            #expect(s == .ok && page.contains(Self.html(Self.ru("restore.passphrase.lead", ["node": node.fingerprint]))))
            for (fields, field, message) in [
                ([("passphrase", ""), ("confirm", "")], "passphrase", Self.ru("restore.err.passphrase.empty")),
                ([("passphrase", "корот"), ("confirm", "корот")], "passphrase", Self.ru("restore.err.passphrase.short", ["n": "8"])),
                ([("passphrase", "степь и горы"), ("confirm", "степь и море")], "confirm", Self.ru("restore.err.confirm")),
            ] {
                let (status, body, _) = try await f.post(client, "/restore/passphrase", fields, csrf: f.csrf)
                #expect(status == .unprocessableContent && body.contains("href=\"#\(field)\"") && body.contains(Self.html(message)), "\(message)")
            }
            #expect(!NodeHost.exists(home: home), "a refused passphrase wrote a key file")
            let (done, _, next) = try await f.post(client, "/restore/passphrase", [("passphrase", "степь и горы"), ("confirm", "степь и горы")], csrf: f.csrf)
            #expect(done == .seeOther && next == "/restore/done")
            let (d, donePage, _) = try await f.get(client, "/restore/done")
            #expect(d == .ok && donePage.contains(Self.html(Self.ru("restore.done.warn"))) && donePage.contains("href=\"/sync\""))
            // Once the node exists, the restore pages lead to the unlock page.
            for path in ["/restore", "/restore/passphrase"] {
                let (r, _, where_) = try await f.get(client, path)
                #expect(r == .seeOther && where_ == "/unlock", "\(path): \(r)")
            }
        }
        let host = try #require(f.desk.use())
        #expect(host.nodeID == node)
        #expect(f.desk.pendingRestore.withLock { $0.isEmpty }, "the keys stayed in memory after the restore")
        f.desk.lock()
        // The new passphrase opens the rebuilt node; it writes nothing until a sync shows it admitted.
        let reopened = try NodeHost.open(home: home, passphrase: SecureBytes(Array("степь и горы".utf8)))
        #expect(reopened.nodeID == node)
    }

    @Test func aLockDropsTheCombinedKeys() async throws {
        let dir = try TempDir("restore")
        let (_, mine, _) = try Self.pieces(dir)
        let f = try Fresh(dir.sub("fresh"))
        try await f.app.test(.router) { client in
            let (checked, _, _) = try await f.post(client, "/restore", [("pieces", mine[0..<3].joined(separator: "\n"))], csrf: f.csrf)
            #expect(checked == .seeOther)
            #expect(f.desk.pendingRestore.withLock { $0.count } == 1)
            f.desk.lock()
            #expect(f.desk.pendingRestore.withLock { $0.isEmpty })
            let (s, _, to) = try await f.get(client, "/restore/passphrase")
            #expect(s == .seeOther && to == "/restore")
        }
    }
}
