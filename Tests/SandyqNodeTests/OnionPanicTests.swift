import Foundation
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// A `serve --onion` killed before it cleaned up leaves tor's copy of the onion key in its
/// runtime directory, outside the home: `panic` finds it from the home's path and removes it.
/// (tor itself runs in scripts/onion-e2e.sh.)
@Suite struct OnionPanicTests {
    @Test func panicRemovesAKilledServesOnionFiles() throws {
        let dir = try TempDir("onion")
        _ = try NodeFixture.founder(dir, "c")
        let home = dir.sub("c")
        let rt = OnionService.runtimeDirectory(home: home)
        #expect(!rt.hasPrefix(home))
        try FileManager.default.createDirectory(atPath: rt + "/hs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        #expect(FileManager.default.createFile(atPath: rt + "/hs/hs_ed25519_secret_key", contents: Data(repeating: 7, count: 96)))
        let report = try Node.panic(home: home)
        #expect(report.onionFilesRemoved && !FileManager.default.fileExists(atPath: rt))
        // Another home's directory is its own.
        #expect(OnionService.runtimeDirectory(home: dir.sub("other")) != rt)
    }
}
