import SandyqCore
import SandyqCrypto
import SandyqNode

/// Nodes on disk for tests: one home per node under a TempDir, keys sealed with the cheapest
/// KDF parameters.
public enum NodeFixture {
    public static let passphrase = "correct horse battery staple"

    public static func make(_ dir: TempDir, _ name: String, writeOnly: Bool = false) throws -> Node {
        try Node.initialize(home: dir.sub(name), passphrase: SecureBytes(Array(passphrase.utf8)), parameters: .minimum,
                            writeOnly: writeOnly)
    }

    public static func open(_ dir: TempDir, _ name: String) throws -> Node {
        try Node.open(home: dir.sub(name), passphrase: SecureBytes(Array(passphrase.utf8)))
    }

    /// A fresh coordinator node `name` that founded project `project`.
    public static func founder(_ dir: TempDir, _ name: String = "c", project: String = "Проект ролей") throws -> (Node, ProjectID) {
        let c = try make(dir, name)
        let pid = try c.createProject(name: project)
        return (c, pid)
    }
}
