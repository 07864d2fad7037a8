import SandyqCore
import SandyqCrypto

/// The node's own affairs: its project, network key, mode, health and log.
public struct AdminService: Sendable {
    let host: NodeHost

    public typealias ChainGap = Node.ChainGap
    public typealias LogEntry = Node.LogEntry

    public func createProject(name: String) throws(NodeError) -> ProjectID {
        try host.withNode { n throws(NodeError) in try n.createProject(name: name) }
    }

    public func join(_ project: ProjectID, networkKey: SymmetricKey? = nil) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.join(project, networkKey: networkKey) }
    }

    public func networkKey() throws(NodeError) -> SymmetricKey? {
        try host.withNode { n throws(NodeError) in try n.networkKey() }
    }

    /// The network key as members pass it on: 64 hex digits.
    public func networkKeyText() throws(NodeError) -> String {
        try host.withNode { n throws(NodeError) in try n.networkKeyText() }
    }

    public func setWriteOnly(_ on: Bool, passphrase: SecureBytes) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.setWriteOnly(on, passphrase: passphrase) }
    }

    /// Problems with the store and key file; empty when clean.
    public func check() throws(NodeError) -> [String] {
        try host.withNode { n throws(NodeError) in try n.check() }
    }

    /// What this node still holds of withdrawn content.
    public func checkWithdrawn() throws(NodeError) -> WithdrawnCheck {
        try host.withNode { n throws(NodeError) in try n.checkWithdrawn() }
    }

    public func chainGaps() throws(NodeError) -> [Node.ChainGap] {
        try host.withNode { n throws(NodeError) in try n.chainGaps() }
    }

    public func log() throws(NodeError) -> [Node.LogEntry] {
        try host.withNode { n throws(NodeError) in try n.log() }
    }

    /// What `status` reports of the store itself.
    public struct StoreFacts: Sendable {
        public let ops: Int
        public let schema: Int
    }

    public func storeFacts() throws(NodeError) -> StoreFacts {
        try host.withNode { n throws(NodeError) in
            try mapped { StoreFacts(ops: try n.store.opCount, schema: try n.store.schemaVersion()) }
        }
    }
}
