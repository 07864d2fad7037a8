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
    public static func initialize(home: String, passphrase: SecureBytes, parameters: PasswordKDFParameters,
                                  duress: SecureBytes? = nil, writeOnly: Bool = false) throws(NodeError) -> Node {
        if let duress, duress == passphrase {
            throw NodeError(.usage, "the duress passphrase must differ from the passphrase")
        }
        if exists(home: home) {
            throw NodeError(.usage, "a node already exists in \(home); use another --home, or remove it first")
        }
        return try mapped {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // An existing folder keeps its mode through createDirectory: tighten it, and the
            // database before SQLite creates its WAL (which copies the database's mode).
            try PrivateFile.tighten(home: home)
            let id = Identity()
            let sealed = try KeyFile.seal(id, passphrase: passphrase, parameters: parameters, duress: duress)
            let store = try OpStore(path: databasePath(home))
            try PrivateFile.tighten(home: home)
            if writeOnly { try store.setSetting("writeonly", [1]) }
            try KeyFile.writeAtomically(sealed, to: keyPath(home))
            return Node(home: home, identity: id, store: store)
        }
    }

    /// Unlocks an existing node. A wrong passphrase changes nothing on disk.
    public static func open(home: String, passphrase: SecureBytes) throws(NodeError) -> Node {
        guard exists(home: home) else {
            throw NodeError(.notFound, "no node in \(home); run `sandyq init` first (or pass --home)")
        }
        let bytes = try mapped { try readFile(keyPath(home)) }
        let id: Identity
        do { id = try KeyFile.open(bytes, passphrase: passphrase) } catch {
            guard error == .duress else { throw NodeError.from(error) }
            // Under duress: destroy the real keys and the log, then be a fresh, empty node
            // that this passphrase opens, as if nothing else had ever been here.
            try destroyKeys(home: home)
            for suffix in ["", "-wal", "-shm"] { unlink(databasePath(home) + suffix) }
            let params = (try? KeyFile.header(of: bytes).parameters) ?? .moderate
            return try initialize(home: home, passphrase: passphrase, parameters: params)
        }
        return try mapped {
            try PrivateFile.tighten(home: home)
            return Node(home: home, identity: id, store: try OpStore(path: databasePath(home)))
        }
    }

    /// Crypto-shredding: overwrites the key file with random bytes, flushes, and unlinks it.
    /// Without it the store's ciphertext cannot be read, and the passphrase opens nothing.
    /// Returns the seconds it took.
    @discardableResult
    public static func destroyKeys(home: String) throws(NodeError) -> Double {
        let start = Date()
        let path = keyPath(home)
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path), let size = attrs[.size] as? Int else {
            throw NodeError(.notFound, "no key file in \(home): nothing to destroy")
        }
        let fd = Glibc.open(path, O_WRONLY)
        if fd >= 0 {
            var noise = Random.bytes(size)
            _ = noise.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            fsync(fd)
            Glibc.close(fd)
            noise.zeroize()
        }
        guard unlink(path) == 0 else { throw NodeError(.failure, "could not remove \(path): \(String(cString: strerror(errno)))") }
        let dfd = Glibc.open(home, O_RDONLY)
        if dfd >= 0 { fsync(dfd); Glibc.close(dfd) }
        return Date().timeIntervalSince(start)
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
        let clock = HybridClock.resuming(after: (try? view().maxClock) ?? 0, wallMillis: Self.wallMillis())
        let w = OpWriter(keys: identity.signing, project: pid, seq: head?.seq ?? 0, prev: head?.id ?? .zero, clock: clock)
        activeWriter = w
        return w
    }

    /// Whether this node seals nothing to itself, so what it records cannot be read back here.
    public var isWriteOnly: Bool { ((try? store.setting("writeonly")) ?? nil) == [1] }

    public func setWriteOnly(_ on: Bool) throws(NodeError) {
        try mapped { if on { try store.setSetting("writeonly", [1]) } else { try store.deleteSetting("writeonly") } }
    }

    /// The box keys an op is sealed to: the coordinators, the lawyers a case is shared with,
    /// and this node unless it is write-only (relays and revoked members never).
    func readers(_ v: ProjectView, case id: CaseID? = nil) -> [BoxPublicKey] {
        var keys = v.membership.coordinators.map(\.boxKey)
        if let id, let c = v.cases[id] {
            for hex in c.elements("sharedWith") {
                guard let b = Hex.decode(hex), let k = try? SigningPublicKey(bytes: b),
                      let m = v.membership.members[k], m.role == .lawyer, m.revokedAfter == nil else { continue }
                keys.append(m.node.boxKey)
            }
        }
        if !isWriteOnly { keys.append(identity.box.publicKey) }
        return Array(Set(keys))
    }

    /// The case an op's mutations touch, when it is one case: the sealing scope.
    static func scope(of ms: [Mutation]) -> CaseID? {
        var found: CaseID?
        for m in ms {
            switch m {
            case let .put(c, _, _, _), let .add(c, _, _), let .remove(c, _, _, _):
                if let f = found, f != c { return nil }
                found = c
            case .projectName, .grant: return nil
            }
        }
        return found
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
        var made: [(envelope: Envelope, payload: Payload, session: SealingSession)] = []
        for ms in batch {
            let c = Self.scope(of: ms)
            made.append(w.sealedWithPayload(ms, readers: readers(v, case: c), wallMillis: Self.wallMillis(), scope: c?.bytes ?? []))
        }
        try commit(made.map(\.envelope), project: v.project)
        var started: [[UInt8]: SymmetricKey] = [:]
        for m in made {
            let sid = nodeID.signingKey.bytes + m.session.id
            if v.sessionKeys[sid] == nil { started[sid] = m.session.key }
            v.applyLocal(m.payload, envelope: m.envelope, session: m.session)
        }
        // A write-only node is not among its own readers: caching its keys would let whoever
        // unlocks it read back what it recorded.
        if !isWriteOnly { cacheSessionKeys(started, except: [:]) }
        cachedView = v
        return made.map(\.envelope)
    }

    func commit(_ envs: [Envelope], project: ProjectID) throws(NodeError) {
        let r: ImportReport
        do { r = try store.importEnvelopes(envs, project: project, verified: true) } catch {
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
        let known = cachedSessionKeys()
        let v = ProjectView(project: pid, envelopes: envs, reader: identity.box, knownSessionKeys: known)
        cachedView = v
        cacheSessionKeys(v.sessionKeys, except: known)
        return v
    }

    /// Session keys opened by earlier views, unsealed with this node's storage key. A row that
    /// does not open is skipped: the view then opens that session's sealed box again.
    private func cachedSessionKeys() -> [[UInt8]: SymmetricKey] {
        let key = SymmetricKey.storage(identity.storageKey)
        var out: [[UInt8]: SymmetricKey] = [:]
        for (sid, sealed) in (try? store.sealedSessionKeys()) ?? [] where sealed.count > AEAD.nonceLength {
            guard let plain = try? AEAD.open(Array(sealed[AEAD.nonceLength...]), key: key, nonce: Array(sealed[0..<AEAD.nonceLength]),
                                             associatedData: Array("session:".utf8) + sid),
                  let k = try? SymmetricKey(SecureBytes(plain)) else { continue }
            out[sid] = k
        }
        return out
    }

    /// Best effort: a read-only or full store still reads, it only rebuilds slower next time.
    private func cacheSessionKeys(_ keys: [[UInt8]: SymmetricKey], except known: [[UInt8]: SymmetricKey]) {
        let key = SymmetricKey.storage(identity.storageKey)
        let fresh = keys.filter { known[$0.key] == nil }.map { sid, k -> (sid: [UInt8], sealed: [UInt8]) in
            let nonce = AEAD.randomNonce()
            return (sid, nonce + AEAD.seal(k.secret, key: key, nonce: nonce, associatedData: Array("session:".utf8) + sid))
        }
        try? store.cacheSessionKeys(fresh)
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
        let screen = try importScreen()
        let r = try mapped { try store.importEnvelopes(envs, project: pid, screen: screen) }
        if r.new > 0 {
            cachedView = nil; activeWriter = nil
            try forwardSharedCaseKeys()
        }
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
