import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqSync
@testable import SandyqWeb

/// LAN discovery on the sync centre, with real multicast on this machine's network (members on
/// one computer hear each other through multicast loopback): the serve switch with its box
/// ticked is found by a member without an address; the "find members" button tells when nobody
/// announces, then finds a member's `serve --lan` and syncs with it.
@Suite(.enabled(if: !LanDiscovery.interfaces().isEmpty, "no network interface here carries multicast"))
struct SyncLanTests {
    static func ru(_ k: String, _ a: [String: String] = [:]) -> String { Catalogue.shared.text(k, "ru", a) }
    static func html(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;") }

    @Test func theServeSwitchWithItsBoxTickedIsFoundWithoutAnAddress() throws {
        let p = try SyncCentreTests.Pair()
        p.desk.startServing(host: p.host, listen: "0.0.0.0:0", lan: true)
        let job = try #require(p.desk.serving())
        for _ in 0..<500 where job.snapshot().port == nil { usleep(10_000) }
        let port = try #require(job.snapshot().port)
        #expect(job.snapshot().lan)
        let found = try p.reporter.exchange.discover(seconds: 6)
        #expect(found.map(\.node) == [p.host.nodeID], "\(found)")
        let at = try #require(found.first)
        #expect(at.address.hasSuffix(":\(port)"))
        let s = try p.reporter.exchange.sync(with: at.address, expecting: p.host.nodeID)
        #expect(s.sent > 0 && s.report.refused.isEmpty)
        p.desk.stopServing()
        #expect(p.stops(port))
    }

    @Test func findMembersSaysWhenNobodyAnnouncesThenSyncsWithOneThatDoes() async throws {
        let dir = try TempDir("synclan")
        let (c, pid) = try NodeFixture.founder(dir, "c")
        let r = try NodeFixture.make(dir, "r")
        try r.join(pid)
        try r.setNetworkKey(try #require(try c.networkKey()))
        _ = try c.addMember(r.nodeID, role: .reporter)
        _ = try r.importEnvelopes(try c.envelopes(missingFrom: try r.versionVector()))
        var doc = CaseDocument()
        doc.title = "Жиналыс Таразда"
        _ = try r.addCase(doc)
        let reporter = try NodeHost.open(home: dir.sub("r"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)))
        let b = try SharePagesTests.Browser(dir, "c")

        try await b.app.test(.router) { client in
            func finished() async throws -> String {
                for _ in 0..<600 {
                    let (_, body) = try await b.get(client, "/sync")
                    if !body.contains("data-usb-poll") { return body }
                    try await Task.sleep(for: .milliseconds(50))
                }
                Issue.record("the search did not end")
                return ""
            }
            let (s1, _, _) = try await b.post(client, "/sync/lan", [], csrf: b.csrf)
            #expect(s1 == .seeOther)
            let none = try await finished()
            #expect(none.contains(Self.html(Self.ru("sync.lan.failed"))) && none.contains(Self.html(Self.ru("sync.lan.none"))), "no word that nobody was found")

            let stop = ServeFlag()
            let served = Thread {
                try? reporter.exchange.serve(listen: "0.0.0.0:0", shouldStop: { stop.isSet }, log: { _ in },
                                             lanWindow: ExchangeService.defaultLanWindow)
            }
            served.start()
            defer { stop.isSet = true }
            let before = try b.host.view().cases.count
            let (s2, _, _) = try await b.post(client, "/sync/lan", [], csrf: b.csrf)
            #expect(s2 == .seeOther)
            let found = try await finished()
            #expect(found.contains(Self.html(Self.ru("sync.lan.found", ["n": "1"]))), "the reporter was not found")
            #expect(try b.host.view().cases.count == before + 1, "the reporter's case did not come")
        }
    }
}
