import Foundation
import Testing
import SandyqTestSupport
import SandyqCrypto
@testable import SandyqNode

/// The plaintext a desk puts on disk for a moment (an upload arriving, a download's copy) lives
/// in the home's scratch directory: what a killed process left goes at the next open, and panic
/// and a duress unlock take all of it.
@Suite struct ScratchDirectoryTests {
    static let secret = Array("Нурлан Нургалиев, показания".utf8)

    /// A directory left by a process that is gone (nobody holds its lock), with a file in it.
    static func leftBehind(_ home: String) throws -> String {
        let d = ScratchDirectory.root(home) + "/" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: d + "/copy", contents: Data(secret)))
        return d
    }

    @Test func theNextOpenRemovesWhatAKilledProcessLeftAndKeepsWhatARunningOneHolds() throws {
        let dir = try TempDir("scratch")
        _ = try NodeFixture.founder(dir, "c")
        let home = dir.sub("c")
        let held = try ScratchDirectory.make(home: home)
        defer { held.remove() }
        #expect(held.path.hasPrefix(home + "/"))
        #expect(FileManager.default.createFile(atPath: held.path + "/copy", contents: Data(Self.secret)))
        let mode = try FileManager.default.attributesOfItem(atPath: held.path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let dead = try Self.leftBehind(home)
        let planted = ScratchDirectory.root(home) + "/planted"
        #expect(FileManager.default.createFile(atPath: planted, contents: Data(Self.secret)))

        _ = try NodeFixture.open(dir, "c")
        #expect(!FileManager.default.fileExists(atPath: dead), "a killed process's copy outlived the next open")
        #expect(!FileManager.default.fileExists(atPath: planted))
        #expect(FileManager.default.fileExists(atPath: held.path + "/copy"), "a running process lost its file")
        held.remove()
        #expect(!FileManager.default.fileExists(atPath: held.path))
    }

    @Test func panicRemovesEveryScratchFile() throws {
        let dir = try TempDir("scratchpanic")
        _ = try NodeFixture.founder(dir, "c")
        let home = dir.sub("c")
        let held = try ScratchDirectory.make(home: home)
        defer { held.remove() }
        _ = try Self.leftBehind(home)
        let report = try Node.panic(home: home)
        #expect(!FileManager.default.fileExists(atPath: ScratchDirectory.root(home)))
        #expect(!report.otherFiles.contains("scratch"))
    }

    @Test func aDuressUnlockRemovesEveryScratchFile() throws {
        let dir = try TempDir("scratchduress")
        let home = dir.sub("d")
        let real = SecureBytes(Array("the real passphrase, long enough".utf8))
        let duress = SecureBytes(Array("под принуждением".utf8))
        _ = try Node.initialize(home: home, passphrase: real, parameters: .minimum, duress: duress)
        let held = try ScratchDirectory.make(home: home)
        defer { held.remove() }
        _ = try Self.leftBehind(home)
        _ = try Node.open(home: home, passphrase: duress)
        #expect(!FileManager.default.fileExists(atPath: ScratchDirectory.root(home)))
    }
}
