import Foundation

/// A fresh directory under the system temp dir, removed when the value goes away (made
/// writable first, for tests that take the write bit away to force a failure).
public final class TempDir: Sendable {
    public let path: String

    public init(_ label: String = "test") throws {
        path = FileManager.default.temporaryDirectory.path + "/sandyq-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        _ = chmod(path, 0o700)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// The same, for a node's home.
    public func sub(_ name: String) -> String { file(name) }
}
