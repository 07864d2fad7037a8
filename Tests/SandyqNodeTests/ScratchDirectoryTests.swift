import Foundation
import Testing
import SandyqTestSupport
import SandyqCrypto
@testable import SandyqNode

/// The plaintext a desk puts on disk for a moment (an upload arriving, a download's copy, its
/// browser's profile) lives in the home's scratch directory, or the user's runtime directory:
/// what a killed process left goes at the next open, and panic and a duress unlock take all of
/// it but what the calling process itself still holds.
@Suite struct ScratchDirectoryTests {
    static let secret = Array("Нурлан Нургалиев, показания".utf8)

    /// A directory left in every root by a process that is gone (nobody holds its lock).
    static func leftBehind(_ home: String) throws -> [String] {
        try ScratchDirectory.roots(home).map { base in
            let d = base + "/" + UUID().uuidString.lowercased()
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: d + "/copy", contents: Data(secret)))
            return d
        }
    }

    static func exists(_ paths: [String]) -> [String] { paths.filter { FileManager.default.fileExists(atPath: $0) } }

    @Test func theNextOpenRemovesWhatAKilledProcessLeftAndKeepsWhatARunningOneHolds() throws {
        let dir = try TempDir("scratch")
        _ = try NodeFixture.founder(dir, "c")
        let home = dir.sub("c")
        let held = try ScratchDirectory.make(home: home)
        defer { held.remove() }
        #expect(ScratchDirectory.roots(home).contains { held.path.hasPrefix($0 + "/") })
        #expect(FileManager.default.createFile(atPath: held.path + "/copy", contents: Data(Self.secret)))
        let mode = try FileManager.default.attributesOfItem(atPath: held.path)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let dead = try Self.leftBehind(home)
        let planted = ScratchDirectory.root(home) + "/planted"
        #expect(FileManager.default.createFile(atPath: planted, contents: Data(Self.secret)))

        _ = try NodeFixture.open(dir, "c")
        #expect(Self.exists(dead).isEmpty, "a killed process's copy outlived the next open")
        #expect(!FileManager.default.fileExists(atPath: planted))
        #expect(FileManager.default.fileExists(atPath: held.path + "/copy"), "a running process lost its file")
        held.remove()
        #expect(!FileManager.default.fileExists(atPath: held.path))
    }

    /// A second `remove()` (a caller's defer after its own call) must not close the number
    /// the first freed, which the next file opened in the process (another thread's store) takes.
    @Test func aSecondRemoveClosesNothingElse() throws {
        let dir = try TempDir("scratchtwice")
        _ = try NodeFixture.founder(dir, "c")
        let held = try ScratchDirectory.make(home: dir.sub("c"))
        held.remove()
        let other = open(dir.sub("c") + "/other", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(other >= 0)
        defer { close(other) }
        held.remove()
        #expect(fcntl(other, F_GETFD) >= 0, "the second remove closed a descriptor another file held")
    }

    @Test func panicRemovesEveryScratchFileButTheCallersOwn() throws {
        let dir = try TempDir("scratchpanic")
        _ = try NodeFixture.founder(dir, "c")
        let home = dir.sub("c")
        let held = try ScratchDirectory.make(home: home)
        defer { held.remove() }
        let dead = try Self.leftBehind(home)
        _ = try Node.panic(home: home)
        #expect(Self.exists(dead).isEmpty)
        #expect(FileManager.default.fileExists(atPath: held.path), "the calling process's own directory (its browser's profile) went from under it")
    }

    @Test func aDuressUnlockRemovesEveryScratchFileButTheCallersOwn() throws {
        let dir = try TempDir("scratchduress")
        let home = dir.sub("d")
        let real = SecureBytes(Array("the real passphrase, long enough".utf8))
        let duress = SecureBytes(Array("под принуждением".utf8))
        _ = try Node.initialize(home: home, passphrase: real, parameters: .minimum, duress: duress)
        let held = try ScratchDirectory.make(home: home)
        defer { held.remove() }
        let dead = try Self.leftBehind(home)
        _ = try Node.open(home: home, passphrase: duress)
        #expect(Self.exists(dead).isEmpty)
        #expect(FileManager.default.fileExists(atPath: held.path))
    }

    /// A link where a root goes (another user's, in a shared directory) is neither used nor followed.
    @Test func aRootThatIsALinkIsRefused() throws {
        let dir = try TempDir("scratchlink")
        let home = dir.sub("h")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.sub("elsewhere"), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: dir.sub("elsewhere") + "/notes.txt", contents: Data(Self.secret)))
        try FileManager.default.createSymbolicLink(atPath: ScratchDirectory.root(home), withDestinationPath: dir.sub("elsewhere"))
        #expect(throws: NodeError.self) { _ = try ScratchDirectory.make(home: home, size: Int.max / 2) }
        // Nor does a sweep or panic empty what the link points to.
        ScratchDirectory.sweep(home: home)
        ScratchDirectory.removeAll(home: home)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("elsewhere")) == ["notes.txt"])
    }
}
