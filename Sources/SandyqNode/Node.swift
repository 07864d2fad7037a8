import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// A node: its unlocked keys, its store, and the view it derives. The API the CLI and any UI use.
public final class Node: @unchecked Sendable {
    public let home: String
    public let identity: Identity
    public let store: OpStore
    private var cachedView: ProjectView?

    public var nodeID: NodeID { NodeID(signingKey: identity.signing.publicKey, boxKey: identity.box.publicKey) }

    public static func keyPath(_ home: String) -> String { home + "/" + KeyFile.fileName }
    public static func databasePath(_ home: String) -> String { home + "/" + OpStore.fileName }

    public static func exists(home: String) -> Bool { FileManager.default.fileExists(atPath: keyPath(home)) }

    /// Creates a node: fresh keys sealed under the passphrase, and an empty store.
    @discardableResult
    public static func initialize(home: String, passphrase: SecureBytes, parameters: PasswordKDFParameters) throws(NodeError) -> Node {
        if exists(home: home) {
            throw NodeError(.usage, "a node already exists in \(home); use another --home, or remove it first")
        }
        return try mapped {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let id = Identity()
            let sealed = try KeyFile.seal(id, passphrase: passphrase, parameters: parameters)
            let store = try OpStore(path: databasePath(home))
            try KeyFile.writeAtomically(sealed, to: keyPath(home))
            return Node(home: home, identity: id, store: store)
        }
    }

    /// Unlocks an existing node. A wrong passphrase changes nothing on disk.
    public static func open(home: String, passphrase: SecureBytes) throws(NodeError) -> Node {
        guard exists(home: home) else {
            throw NodeError(.notFound, "no node in \(home); run `sandyq init` first (or pass --home)")
        }
        return try mapped {
            let bytes = try readFile(keyPath(home))
            let id = try KeyFile.open(bytes, passphrase: passphrase)
            let store = try OpStore(path: databasePath(home))
            return Node(home: home, identity: id, store: store)
        }
    }

    init(home: String, identity: Identity, store: OpStore) {
        self.home = home
        self.identity = identity
        self.store = store
    }

    static func readFile(_ path: String) throws(StoreError) -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else { throw .io("cannot read \(path)") }
        return [UInt8](d)
    }

    // MARK: project

    public func project() throws(NodeError) -> ProjectID? { try mapped { try store.project() } }

    func requireProject() throws(NodeError) -> ProjectID {
        guard let p = try project() else {
            throw NodeError(.usage, "this node belongs to no project yet: run `sandyq project create NAME` or `sandyq join PROJECT-ID`")
        }
        return p
    }

    /// Founds a project: a genesis op, then its name sealed to the founder.
    public func createProject(name: String) throws(NodeError) -> ProjectID {
        if let p = try project() { throw NodeError(.usage, "this node already belongs to project \(p)") }
        let nonce = Random.bytes(16)
        let pid = ProjectID.derive(founder: nodeID, nonce: nonce)
        try mapped { try store.setProject(pid) }
        let w = OpWriter(keys: identity.signing, project: pid, seq: 0, prev: .zero, clock: HybridClock())
        let genesis = w.membership(.genesis(founder: nodeID, nonce: nonce))
        let named = w.sealed([.projectName(name)], readers: [identity.box.publicKey], wallMillis: Self.wallMillis())
        try commit([genesis, named], project: pid)
        try setNetworkKey(SymmetricKey())
        return pid
    }

    public func join(_ project: ProjectID, networkKey: SymmetricKey? = nil) throws(NodeError) {
        if let p = try self.project(), p != project {
            throw NodeError(.usage, "this node already belongs to project \(p)")
        }
        try mapped { try store.setProject(project) }
        if let networkKey { try setNetworkKey(networkKey) }
    }

    public func addMember(_ member: NodeID, role: Role) throws(NodeError) -> Envelope {
        let v = try view()
        guard v.membership.isAllowed(author: nodeID.signingKey, seq: (try writer().seq) + 1, manage: true) else {
            throw NodeError(.refused, "only a coordinator can add members")
        }
        if v.membership.members[member.signingKey] != nil {
            throw NodeError(.usage, "\(member.fingerprint) is already a member")
        }
        let env = try writer().membership(.add(member: member, role: role))
        try commit([env], project: v.project)
        if role == .coordinator {
            // A new coordinator reads the project's past: hand it every session key this node holds.
            let grants = v.sessionKeys.sorted { $0.key.lexicographicallyPrecedes($1.key) }.compactMap { k, key -> Mutation? in
                guard let author = try? SigningPublicKey(bytes: Array(k[0..<32])) else { return nil }
                return .grant(author: author, session: Array(k[32...]), key: key.secret.unsafeCopy)
            }
            if !grants.isEmpty {
                let w = try writer()
                let g = w.sealed(grants, readers: [member.boxKey], wallMillis: Self.wallMillis())
                try commit([g], project: v.project)
            }
        }
        return env
    }

    // MARK: writing

    static func wallMillis() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    private var activeWriter: OpWriter?

    func writer() throws(NodeError) -> OpWriter {
        if let w = activeWriter { return w }
        let pid = try requireProject()
        let head = try mapped { try store.chainHead(of: identity.signing.publicKey) }
        let clock = HybridClock(last: (try? view().maxClock) ?? 0)
        let w = OpWriter(keys: identity.signing, project: pid, seq: head?.seq ?? 0, prev: head?.id ?? .zero, clock: clock)
        activeWriter = w
        return w
    }

    /// The box keys a new op is sealed to: every coordinator, and this node.
    func readers(_ v: ProjectView) -> [BoxPublicKey] {
        Array(Set(v.membership.coordinators.map(\.boxKey) + [identity.box.publicKey]))
    }

    /// Seals, signs and stores one op carrying `mutations`.
    @discardableResult
    public func write(_ mutations: [Mutation]) throws(NodeError) -> Envelope {
        try write(batch: [mutations])[0]
    }

    /// Seals and signs one op per element of `batch` and stores them all in one transaction.
    @discardableResult
    public func write(batch: [[Mutation]]) throws(NodeError) -> [Envelope] {
        var v = try view()
        let w = try writer()
        guard v.membership.isAllowed(author: nodeID.signingKey, seq: w.seq + 1) else {
            if v.membership.members[nodeID.signingKey] == nil {
                throw NodeError(.refused, "this node is not a member of the project yet: give a coordinator its id (\(nodeID)) to `sandyq member add`, then sync")
            }
            throw NodeError(.refused, "this node's role does not allow writing")
        }
        let to = readers(v)
        var made: [(envelope: Envelope, payload: Payload, session: SealingSession)] = []
        for ms in batch { made.append(w.sealedWithPayload(ms, readers: to, wallMillis: Self.wallMillis())) }
        try commit(made.map(\.envelope), project: v.project)
        for m in made { v.applyLocal(m.payload, envelope: m.envelope, session: m.session) }
        cachedView = v
        return made.map(\.envelope)
    }

    func commit(_ envs: [Envelope], project: ProjectID) throws(NodeError) {
        let r: ImportReport
        do { r = try store.importEnvelopes(envs, project: project) } catch {
            activeWriter = nil
            throw NodeError.from(error)
        }
        guard r.refused.isEmpty else {
            activeWriter = nil
            throw NodeError(.failure, "own op refused: \(r.refused[0].reason)")
        }
        cachedView = nil
    }

    // MARK: reading

    /// The view this node can read, derived from every op it holds.
    public func view() throws(NodeError) -> ProjectView {
        if let v = cachedView { return v }
        let pid = try requireProject()
        let envs = try mapped { try store.allEnvelopes() }
        let v = ProjectView(project: pid, envelopes: envs, reader: identity.box)
        cachedView = v
        return v
    }

    public func caseState(_ ref: String) throws(NodeError) -> CaseState {
        let v = try view()
        let id = try mapped { try v.resolve(ref) }
        return v.cases[id]!
    }

    // MARK: exchange (the transports call these)

    public func versionVector() throws(NodeError) -> VersionVector { try mapped { try store.versionVector() } }

    public func envelopes(missingFrom known: VersionVector) throws(NodeError) -> [Envelope] {
        try mapped { try store.envelopes(missingFrom: known) }
    }

    /// Verifies and stores ops from a peer, atomically; importing them again changes nothing.
    public func importEnvelopes(_ envs: [Envelope]) throws(NodeError) -> ImportReport {
        let pid = try requireProject()
        let r = try mapped { try store.importEnvelopes(envs, project: pid) }
        if r.new > 0 { cachedView = nil; activeWriter = nil }
        return r
    }

    /// Drops derived state after the store changed underneath it.
    func invalidateView() {
        cachedView = nil
        activeWriter = nil
    }

    // MARK: health

    /// Problems with the store and key file; empty when clean.
    public func check() throws(NodeError) -> [String] {
        var problems = try mapped { try store.integrityProblems() }
        if let p = try project() {
            let foreign = try mapped { try store.allEnvelopes().filter { $0.project != p }.count }
            if foreign > 0 { problems.append("\(foreign) ops of another project in the store") }
        }
        return problems
    }
}
