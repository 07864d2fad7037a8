import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore
import Synchronization

/// The one owner of a node: its identity, store, cached view and membership, behind one lock.
/// Callers on any thread reach the node through the host's services; each call holds the lock
/// only while it runs, so two threads never use the node (or its SQLite connection) at once.
public final class NodeHost: Sendable {
    private let node: Mutex<Node>
    /// Fixed for the node's life: read without the lock.
    public let home: String
    public let nodeID: NodeID

    init(_ node: sending Node) {
        home = node.home
        nodeID = node.nodeID
        self.node = Mutex(node)
    }

    /// Unlocks an existing node (see `Node.open`).
    public static func open(home: String, passphrase: SecureBytes) throws(NodeError) -> NodeHost {
        NodeHost(try Node.open(home: home, passphrase: passphrase))
    }

    /// Creates a node (see `Node.initialize`).
    @discardableResult
    public static func initialize(home: String, passphrase: SecureBytes, parameters: PasswordKDFParameters,
                                  duress: SecureBytes? = nil, writeOnly: Bool = false) throws(NodeError) -> NodeHost {
        NodeHost(try Node.initialize(home: home, passphrase: passphrase, parameters: parameters, duress: duress, writeOnly: writeOnly))
    }

    public static func exists(home: String) -> Bool { Node.exists(home: home) }
    public static func keyPath(_ home: String) -> String { Node.keyPath(home) }

    /// Destroys the keys in `home` and reports what is left (see `Node.panic`); needs no unlock.
    public static func panic(home: String) throws(NodeError) -> PanicReport { try Node.panic(home: home) }

    public static func writePrivateFile(_ text: String, to path: String) throws(NodeError) {
        try Node.writePrivateFile(text, to: path)
    }

    /// A network key as members pass it on (64 hex digits).
    public static func parseNetworkKey(_ s: String) throws(NodeError) -> SymmetricKey { try Node.parseNetworkKey(s) }

    /// Runs `body` with the node, under the lock. What it returns must not hold the node.
    func withNode<R, E: Error>(_ body: (inout sending Node) throws(E) -> sending R) throws(E) -> sending R {
        try node.withLock(body)
    }

    public var cases: CaseService { CaseService(host: self) }
    public var members: MemberService { MemberService(host: self) }
    public var exchange: ExchangeService { ExchangeService(host: self) }
    public var search: SearchService { SearchService(host: self) }
    public var reports: ReportService { ReportService(host: self) }
    public var admin: AdminService { AdminService(host: self) }

    // MARK: what every service reads

    /// Told, before the node seals new work, what the people using it must know first.
    public func setWarning(_ warn: @escaping @Sendable (String) -> Void) {
        withNode { n in n.warn = warn }
    }

    public var isWriteOnly: Bool { withNode { n in n.isWriteOnly } }

    public func project() throws(NodeError) -> ProjectID? { try withNode { n throws(NodeError) in try n.project() } }

    /// The view this node can read.
    public func view() throws(NodeError) -> ProjectView { try withNode { n throws(NodeError) in try n.view() } }
}
