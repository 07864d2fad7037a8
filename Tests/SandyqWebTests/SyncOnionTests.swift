import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqWeb

/// Tor on the sync centre. The serve switch's onion box runs the system's tor (started offline
/// here: it makes the service without a network) for as long as the server runs; locking the desk
/// stops both and removes tor's private directory, the written-out key with it. An onion address
/// typed without the Tor box is named against its field before any connection.
@Suite struct SyncOnionTests {
    static let torInstalled = ["/usr/bin/tor", "/usr/sbin/tor", "/usr/local/bin/tor"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: torInstalled, "tor is not installed (scripts/bootstrap.sh installs it)"))
    func theOnionBoxRunsTorWhileServingAndLockingEndsIt() throws {
        let dir = try TempDir("synconion")
        _ = try NodeFixture.founder(dir, "c")
        let host = try NodeHost.open(home: dir.sub("c"), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)))
        let desk = Desk(home: dir.sub("c"), torOptions: ["DisableNetwork 1"])
        desk.unlocked(host)
        desk.startServing(host: host, listen: "127.0.0.1:0", onion: true)
        let job = try #require(desk.serving())
        for _ in 0..<600 where job.snapshot().onionAddress == nil && job.snapshot().onionFailure == nil { usleep(100_000) }
        let s = job.snapshot()
        let address = try #require(s.onionAddress, "no onion address: \(s.onionFailure?.message ?? "still starting")")
        let port = try #require(s.port)
        #expect(address.range(of: "^[a-z2-7]{56}\\.onion:\(port)$", options: .regularExpression) != nil, "\(address)")
        let runtime = OnionService.runtimeDirectory(home: dir.sub("c"))
        #expect(FileManager.default.fileExists(atPath: runtime + "/hs/hs_ed25519_secret_key"))
        desk.lock()
        for _ in 0..<400 where job.snapshot().running || FileManager.default.fileExists(atPath: runtime) { usleep(50_000) }
        #expect(!job.snapshot().running, "the server outlived the lock")
        #expect(!FileManager.default.fileExists(atPath: runtime), "tor's directory, with the key, outlived the lock")
    }

    @Test func anOnionAddressWithoutTheTorBoxIsNamedBeforeAnyConnection() async throws {
        let p = try SharePagesTests.Project()
        let c = try SharePagesTests.Browser(p.dir, "c")
        let onion = String(repeating: "a", count: 56) + ".onion:7447"
        try await c.app.test(.router) { client in
            let (status, body, _) = try await c.post(client, "/sync/peer", [("address", onion), ("node", "")], csrf: c.csrf)
            #expect(status == .unprocessableContent)
            #expect(body.contains(Catalogue.shared.text("sync.err.onionNeedsTor", "ru").replacingOccurrences(of: "&", with: "&amp;")), "no error against the field")
        }
        #expect(SyncPages.jobs.withLock { $0.isEmpty } || SyncPages.jobs.withLock { $0.values.allSatisfy { $0.address != onion } }, "a sync started anyway")
    }
}
