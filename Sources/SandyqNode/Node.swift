import Foundation
import SandyqCore
import SandyqCrypto
import SandyqSearch
import SandyqStore

/// A node: its unlocked keys, its store, and the view it derives. Not thread-safe: shared
/// callers reach it through a `NodeHost`, which holds it behind one lock.
public final class Node {
    public let home: String
    public private(set) var identity: Identity
    let store: OpStore
    /// The view and how far into the log it has read; kept up to date as ops are imported.
    /// Any change to it drops the search index built from it.
    var warm: WarmView? { didSet { searchCache = nil } }
    /// The search index over the warm view, built on the first search after the view changed:
    /// building it reads every case, so the desk's search-as-you-type must not pay for it per key.
    var searchCache: SearchIndex?
    /// Told, before the node seals new work, what the people using it must know first
    /// (a hole in a coordinator's chain). The CLI prints it on stderr.
    public var warn: (@Sendable (String) -> Void)?

    public var nodeID: NodeID { NodeID(signingKey: identity.signing.publicKey, boxKey: identity.box.publicKey) }

    public static func keyPath(_ home: String) -> String { home + "/" + KeyFile.fileName }
    public static func databasePath(_ home: String) -> String { home + "/" + OpStore.fileName }

    public static func exists(home: String) -> Bool { FileManager.default.fileExists(atPath: keyPath(home)) }

    /// Creates a node: fresh keys sealed under the passphrase, and an empty store.
    @discardableResult
    public static func initialize(home: String, passphrase: SecureBytes, parameters: PasswordKDFParameters,
                                  duress: SecureBytes? = nil, writeOnly: Bool = false) throws(NodeError) -> Node {
        try initialize(home: home, passphrase: passphrase, parameters: parameters, duress: duress, identity: Identity(writeOnly: writeOnly))
    }

    /// Creates a node with the keys given (fresh ones, or a backup's): sealed under the
    /// passphrase, with an empty store.
    static func initialize(home: String, passphrase: SecureBytes, parameters: PasswordKDFParameters,
                           duress: SecureBytes?, identity id: Identity) throws(NodeError) -> Node {
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
            let sealed = try KeyFile.seal(id, passphrase: passphrase, parameters: parameters, duress: duress)
            let store = try OpStore(path: databasePath(home))
            try PrivateFile.tighten(home: home)
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
            ScratchDirectory.removeAll(home: home)
            let params = (try? KeyFile.header(of: bytes).parameters) ?? .moderate
            return try initialize(home: home, passphrase: passphrase, parameters: params)
        }
        let store = try mapped {
            try PrivateFile.tighten(home: home)
            return try OpStore(path: databasePath(home))
        }
        let node = Node(home: home, identity: migrateMode(id, home: home, keyFile: bytes, passphrase: passphrase, store: store), store: store)
        // Best effort: a store on read-only media still opens; the rows are sealed, and owed
        // grants written, next time.
        try? node.sealLegacyGrantRecords()
        try? node.resumeGrants()
        try? node.sweepUnfinishedAttaches()
        ScratchDirectory.sweep(home: home)
        node.applyUnappliedWithdrawals()
        node.finishPendingScrub()
        node.destroyRetiredKeysQuietly()
        node.replaceSelfKeyQuietly()
        return node
    }

    /// A key file written before the mode moved into it: the store's old `writeonly` setting is
    /// sealed into the key file, then removed, and never read again once the key file has it.
    /// If the key file cannot be rewritten (read-only storage), the setting holds for this run.
    static func migrateMode(_ id: Identity, home: String, keyFile: [UInt8], passphrase: SecureBytes, store: OpStore) -> Identity {
        guard !id.recordsMode else { return id }
        let migrated = id.with(writeOnly: ((try? store.setting(legacyWriteOnlySetting)) ?? nil) == [1])
        do {
            let sealed = try KeyFile.reseal(migrated, passphrase: passphrase, replacing: keyFile)
            // Never bring back a key file that a panic destroyed while this unlock ran.
            guard (try? readFile(keyPath(home))) == keyFile else { return migrated }
            try KeyFile.writeAtomically(sealed, to: keyPath(home))
            try? store.deleteSetting(legacyWriteOnlySetting)
        } catch {}
        return migrated
    }

    static let legacyWriteOnlySetting = "writeonly"

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

    /// What imports added to the view since its snapshot is kept for the next process, unless
    /// the keys are gone (a panic): a snapshot then would be sealed under a destroyed key.
    deinit {
        if Self.exists(home: home) { saveSnapshotIfDue() }
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
        let w = OpWriter(keys: identity.signing, project: pid, seq: 0, prev: .zero, clock: HybridClock())
        let genesis = w.membership(.genesis(founder: nodeID, nonce: nonce))
        // The founder announces its reader key with the genesis (ops.md section 4, "Reader key").
        let reader = BoxKeyPair()
        let announced = w.membership(.readerKey(ReaderKeyStatement(project: pid, signer: identity.signing, epoch: 1, key: reader.publicKey)))
        let named: Envelope
        do { named = try w.checkedSealed([.projectName(name)], readers: [reader.publicKey], wallMillis: Self.wallMillis()).envelope }
        catch { throw NodeError(.usage, "the project name cannot be recorded (\(error)): shorten it") }
        try mapped { try store.setProject(pid) }
        let sealedReader = storeReaderKey(epoch: 1, reader)
        try commit([genesis, announced, named], project: pid) { try self.store.setSetting(Self.readerKeySetting, sealedReader) }
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
        // No honest node makes such a key; a member holding one could read nothing sealed to it.
        guard member.boxKey.opensSealedBoxes else {
            throw NodeError(.refused, "\(member.fingerprint)'s node id carries a box key nothing can be sealed to (a point of small order); its node must make a new identity")
        }
        let env = try writer().membership(.add(member: member, role: role))
        guard role == .coordinator else {
            try commit([env], project: v.project)
            return env
        }
        // A new coordinator reads the project's past: this node owes it every session key it
        // holds. The debt lands with the add, so grants cut short resume at the next import.
        let debt = grantTag(member.signingKey, key: grantTagKey)
        try commit([env], project: v.project) { try self.store.setGrantDebt(debt, owed: true) }
        do { try forwardSharedCaseKeys() } catch {
            throw NodeError(error.kind, "\(member.fingerprint) was added as coordinator, but handing it the project's past stopped: \(error.message). This node finishes it the next time it opens (any sandyq command).")
        }
        return env
    }

    // MARK: writing

    static func wallMillis() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    var activeWriter: OpWriter?
    /// Whether this process found its reader key announced (or announced it), or found it owes
    /// none: checked again after membership changes.
    var readerKeyChecked = false
    /// The store's data version when this node last looked (`changedElsewhere`).
    var seenDataVersion: Int64?
    /// The home's destroy mark when this node last looked (`forgetViewIfKeysDestroyed`).
    var keysDestroyedSeen: [UInt8]?

    /// The body size grant ops are split under. Tests lower it to split small projects.
    var grantBodyLimit = Envelope.maxBodyLength
    /// A snapshot of the view is kept once the log holds this many ops (below it a rebuild is
    /// quick), and rewritten when this many ops were applied since. Tests lower them.
    var snapshotMinimumOps = 20_000
    var snapshotRefresh = 2_000
    /// How many times this node read the whole log into a view: what the warm view saves.
    private(set) var viewRebuilds = 0
    /// Tests only: forwarding stops with an error after this many grant ops, as a crash would.
    var grantOpsBeforeInterruption: Int?
    /// Tests take the home's write lock here, as another process can, so a withdrawal's scrub fails.
    var beforeApplyingWithdrawalsForTests: (() -> Void)?
    /// Test hook: runs as the node is about to cache keys its view opened.
    var beforeCachingKeysForTests: (() -> Void)?
    /// Test hook: runs once a retirement's ops are built, before they are committed, as another
    /// process on the home can apply a withdrawal meanwhile.
    var beforeRetiringForTests: (() -> Void)?
    /// Runs in `write` after its ops are sealed, before they are stored: a test's other process.
    var beforeWriteCommitForTests: (() -> Void)?
    /// Runs in every `commit` of this node's own ops, before they are stored: a test's other process.
    var beforeOwnCommitForTests: (() -> Void)?

    func writer() throws(NodeError) -> OpWriter {
        if let w = activeWriter { return w }
        let pid = try requireProject()
        // A node rebuilt from a backup holds none of its own past ops until a peer hands them
        // back: an op written now would take a seq it already used, a fork of its own chain.
        if try mapped({ try store.setting(Self.restoredSetting) }) != nil {
            throw NodeError(.refused, "this node was rebuilt from a backup and has not synced yet: run `sandyq sync ADDRESS --peer NODE` with a peer that holds the log first, or its new work would fork its own chain", code: "node.restored-not-synced")
        }
        let head = try mapped { try store.ownChain(identity.signing.publicKey) }
        let clock = HybridClock.resuming(after: (try? view().maxClock) ?? 0, wallMillis: Self.wallMillis())
        let w = OpWriter(keys: identity.signing, project: pid, seq: head?.seq ?? 0, prev: head?.id ?? .zero, clock: clock,
                         taken: head?.taken ?? [:])
        activeWriter = w
        return w
    }

    /// Whether this node seals nothing to itself, so what it records cannot be read back here.
    /// Read from the key file's sealed payload: the store cannot change it.
    public var isWriteOnly: Bool { identity.writeOnly }

    /// Reseals the key file with the mode changed; needs the passphrase, like any key-file change.
    public func setWriteOnly(_ on: Bool, passphrase: SecureBytes) throws(NodeError) {
        let path = Self.keyPath(home)
        let old = try mapped { try Self.readFile(path) }
        _ = try mapped { try KeyFile.open(old, passphrase: passphrase) }
        let changed = identity.with(writeOnly: on)
        try mapped { try KeyFile.writeAtomically(try KeyFile.reseal(changed, passphrase: passphrase, replacing: old), to: path) }
        identity = changed
        invalidateView()
    }

    /// The keys an op is sealed to: the coordinators', the lawyers' a case is shared with, and
    /// this node's unless it is write-only (relays and revoked members never). Each member's
    /// reader key where it announced one (`Membership.sealingKey`), else its node id's box key.
    /// `own` is this node's sealing key when the caller already has it: reading it costs a store
    /// read and two scalar multiplications, once per batch rather than once per case.
    func readers(_ v: ProjectView, case id: CaseID? = nil, own: BoxPublicKey? = nil) -> [BoxPublicKey] {
        var keys = coordinatorKeys(v.membership)
        if let id, let c = v.cases[id] {
            for hex in c.elements("sharedWith") {
                guard let b = Hex.decode(hex), let k = try? SigningPublicKey(bytes: b),
                      let m = v.membership.members[k], m.role == .lawyer, m.revokedAfter == nil else { continue }
                keys.append(v.membership.sealingKey(for: m.node))
            }
        }
        if !isWriteOnly { keys.append(own ?? ownSealingKey(v.membership)) }
        return Array(Set(keys))
    }

    /// One change sealed as its readers need it: one op, or two when it writes a withheld field.
    func sealed(_ whole: [Mutation], with w: OpWriter, in v: ProjectView, own: BoxPublicKey? = nil) throws(CoreError)
        -> [(envelope: Envelope, payload: Payload, session: SealingSession)] {
        let c = Self.scope(of: whole)
        // A withheld field (a source's identity) goes in an op of its own, sealed to coordinators
        // only, in a session of its own scope: sharing the case grants the other sessions, never it.
        let withheld = c == nil ? [] : whole.filter { if case let .put(_, p, _, _) = $0 { CaseSchema.isWithheld(p) } else { false } }
        let ms = withheld.isEmpty ? whole : whole.filter { if case let .put(_, p, _, _) = $0 { !CaseSchema.isWithheld(p) } else { true } }
        var made: [(envelope: Envelope, payload: Payload, session: SealingSession)] = []
        if !ms.isEmpty {
            made.append(try w.checkedSealed(ms, readers: readers(v, case: c, own: own), wallMillis: Self.wallMillis(), scope: c?.bytes ?? []))
        }
        if let c, !withheld.isEmpty {
            made.append(try w.checkedSealed(withheld, readers: readers(v, case: nil, own: own), wallMillis: Self.wallMillis(), scope: c.bytes + [0x01]))
        }
        return made
    }

    /// The case an op's mutations touch, when it is one case: the sealing scope.
    static func scope(of ms: [Mutation]) -> CaseID? {
        var found: CaseID?
        for m in ms {
            switch m {
            case let .put(c, _, _, _), let .add(c, _, _), let .remove(c, _, _, _):
                if let f = found, f != c { return nil }
                found = c
            case .projectName, .grant, .withdrawalNote, .withdrawnCases, .withdrawnElement: return nil
            }
        }
        return found
    }

    /// Seals, signs and stores one op carrying `mutations`.
    @discardableResult
    public func write(_ mutations: [Mutation]) throws(NodeError) -> Envelope {
        try write(batch: [mutations])[0]
    }

    /// Seals and signs one op per element of `batch` (two when it writes a withheld field) and stores them all in one transaction;
    /// `alongside` runs inside it, so what it writes lands with the ops or not at all.
    @discardableResult
    public func write(batch: [[Mutation]], alongside: (() throws -> Void)? = nil) throws(NodeError) -> [Envelope] {
        // Another process on the home (a command beside an open desk) that stored ops or
        // membership while these were sealed: seal them again from what it left.
        var tries = 0
        while true {
            do { return try writeOnce(batch, alongside: alongside) } catch where error.code == Self.writeRacedCode && tries < 3 {
                tries += 1
                forgetMembershipIfStale()
            }
        }
    }

    static let writeRacedCode = "write.raced"

    private func writeOnce(_ batch: [[Mutation]], alongside: (() throws -> Void)?) throws(NodeError) -> [Envelope] {
        // Another process on the home may have applied a withdrawal since this one last checked
        // (a command reading a stick beside an open desk): its mark says the key is retired now.
        let retireDue = try mapped { try store.setting(Self.readerRetireDueSetting) } != nil
        // A reporter's replaced key owes a self-grant, which another process may have left.
        let grantOwed = try mapped { try store.setting(Self.selfGrantOwedSetting) } != nil
        if !readerKeyChecked || retireDue || grantOwed { try announceReaderKeyIfDue() }
        // Read before the view, so a membership op stored meanwhile is seen at the commit, and a
        // key another process replaced meanwhile (a reporter's own) is not sealed to.
        let stamp = try mapped { try store.membershipStamp() }
        let keyRow = try mapped { try store.setting(Self.readerKeySetting) }
        var v = try view()
        var before = warm
        let w = try writer()
        guard v.membership.isAllowed(author: nodeID.signingKey, seq: w.seq + 1) else {
            if v.membership.members[nodeID.signingKey] == nil {
                throw NodeError(.refused, "this node is not a member of the project yet: give a coordinator its id (\(nodeID)) to `sandyq member add`, then sync", code: "node.not-admitted")
            }
            throw NodeError(.refused, "this node's role does not allow writing")
        }
        if let warn {
            for g in try chainGaps() where g.role == .coordinator { warn(g.warning) }
        }
        var made: [(envelope: Envelope, payload: Payload, session: SealingSession)] = []
        let own = isWriteOnly ? nil : ownSealingKey(v.membership)
        for (i, whole) in batch.enumerated() {
            do {
                made += try sealed(whole, with: w, in: v, own: own)
            } catch {
                // The writer moved past ops that will not be stored: start it again from the chain.
                activeWriter = nil
                let which = batch.count > 1 ? "change \(i + 1) of \(batch.count)" : "this change"
                throw NodeError(.usage, "\(which) cannot be sealed into an op every reader accepts (\(error)); nothing was recorded: shorten or split it")
            }
        }
        beforeWriteCommitForTests?()
        // Sealed to the readers membership named when the view was read: a new reader key (or
        // member) stored since by another process must be sealed to instead.
        try commit(made.map(\.envelope), project: v.project, keepingView: true) {
            guard try self.store.membershipStamp() == stamp, try self.store.setting(Self.readerKeySetting) == keyRow else {
                throw NodeError(.conflict, "another process on this home changed membership while this change was sealed; nothing was recorded", code: Self.writeRacedCode)
            }
            try alongside?()
        }
        var started = CachedKeys()
        for m in made {
            let sid = SessionID(author: nodeID.signingKey, session: m.session)
            if v.sessionKeys[sid] == nil { started.sessions[sid] = m.session.key }
            if let p = m.session.parent {
                let slot = try mapped { try SessionID(author: nodeID.signingKey, local: p.id) }
                if v.parentKeys[slot] == nil { started.parents[slot] = p.secretKey }
            }
        }
        // The warm view shares `v`'s storage: let go of it, so the ops below change `v` in place
        // instead of copying every case of the project once per write.
        warm = nil
        before?.view = ProjectView(project: v.project, envelopes: [], reader: nil)
        for m in made { v.applyLocal(m.payload, envelope: m.envelope, session: m.session) }
        // A write-only node is not among its own readers: caching its keys would let whoever
        // unlocks it read back what it recorded.
        if !isWriteOnly { cacheKeys(started, except: CachedKeys()) }
        // The ops just stored may sit above rows this view has not read (another process's
        // import): the mark stays, and catching up skips these by id.
        if var kept = before {
            kept.view = v
            kept.alsoApplied.formUnion(made.map(\.envelope.id))
            kept.sinceSnapshot += made.count
            warm = kept
        }
        return made.map(\.envelope)
    }

    /// Membership from the membership ops alone, kept until a membership op is stored.
    var cachedMembership: Membership? {
        didSet { if cachedMembership == nil { cachedMembershipStamp = nil; readerKeyChecked = false } }
    }
    /// The store's membership stamp when `cachedMembership` was derived.
    var cachedMembershipStamp: [Int64]?
    /// How many times membership was derived from the store; tests check it stays once per ingest.
    var membershipDerivations = 0

    /// Stores this node's own ops; `alongside` runs in the same transaction when they land.
    func commit(_ envs: [Envelope], project: ProjectID, keepingView: Bool = false, alongside: (() throws -> Void)? = nil) throws(NodeError) {
        // Sessions and parents per write batch, as a command's process has them: a long-lived
        // writer (the desk) that kept them derived a later case from a parent, or sealed a later
        // edit in a session, whose key only an earlier op carried, which a withdrawal it had not
        // yet heard of could take away (ops.md section 2, "Sealing sessions").
        defer { activeWriter?.closeSessions() }
        beforeOwnCommitForTests?()
        // Another process on the home may have stored ops of this node since the writer read its
        // chain head: these would then take seqs it used, a fork of the node's own chain, which
        // every peer reads as a copied key. Inside the transaction, so nobody can write between.
        // From the batch's first seq to its last, where only its own ops and the stubs it passed
        // over may be: another process's ops there took the same seqs. A stub further up (a
        // withdrawal's claim about an op never held here) is passed over when the chain gets there.
        let me = identity.signing.publicKey
        let own = envs.filter { $0.author == me }
        let mine = Set(own.map(\.id)), from = own.map(\.seq).min(), to = own.map(\.seq).max()
        let passedAt = activeWriter?.passed ?? [:], passed = Set(passedAt.values)
        let guarded: () throws -> Void = {
            if let from, let to {
                let chain = try self.store.chainIDs(me, from: from, to: to)
                // And each stub passed over is still there (another process may have lifted it).
                let gone = try passedAt.contains { seq, id in !(try self.store.chainIDs(me, from: seq, to: seq).stubs.contains(id)) }
                if chain.held != mine || !chain.stubs.isSubset(of: passed) || gone {
                    throw NodeError(.conflict, "another process on this home recorded a change at the same moment; nothing was recorded", code: Self.writeRacedCode)
                }
            }
            try alongside?()
        }
        // `write` applies its ops to the view itself, as it wrote them.
        try ingest(.own(envs, project: project, alongside: guarded, keepingView: keepingView))
    }

    // MARK: reading

    /// The view this node can read, derived from every op it holds.
    public func view() throws(NodeError) -> ProjectView {
        if changedElsewhere() { catchUpWarmView() }
        if let w = warm { return w.view }
        let pid = try requireProject()
        let w: WarmView
        var caught: WarmView?, restoredKeys = CachedKeys()
        if let restored = restoredView(pid) {
            restoredKeys = CachedKeys(restored.view)
            caught = try caughtUp(consume restored, known: { cachedKeys() })
        }
        if let caught {
            w = caught
            cacheKeys(of: w.view, except: restoredKeys)
        } else {
            let known = cachedKeys()
            w = try rebuiltView(pid, known: known)
            cacheKeys(of: w.view, except: known)
        }
        warm = w
        saveSnapshotIfDue()
        return w.view
    }

    /// Reads the whole log into a new view.
    func rebuiltView(_ pid: ProjectID, known: CachedKeys) throws(NodeError) -> WarmView {
        viewRebuilds += 1
        let through = try mapped { try store.lastRow() }
        let envs = try mapped { try store.allEnvelopes(throughRow: through) }
        let v = ProjectView(project: pid, envelopes: envs, readers: try openingKeys(), knownSessionKeys: known.sessions, knownParentKeys: known.parents)
        return WarmView(view: v, through: through, sinceSnapshot: v.stats.ops)
    }

    /// Session and parent keys a view holds, by slot (author ‖ id).
    struct CachedKeys {
        var sessions: [SessionID: SymmetricKey] = [:]
        var parents: [SessionID: SymmetricKey] = [:]

        init() {}
        init(_ v: ProjectView) { sessions = v.sessionKeys; parents = v.parentKeys }
    }

    /// Session keys opened by earlier views (the cache's session rows).
    func cachedSessionKeys() -> [SessionID: SymmetricKey] { cachedKeys().sessions }

    /// Keys opened by earlier views, unsealed with this node's storage key. A row that does
    /// not open is skipped: the view then opens that session's (or parent's) sealed box again.
    func cachedKeys() -> CachedKeys {
        let seal = StorageSeal(identity)
        let tagKey = seal.key.derive(context: Self.sessionTagContext)
        var out = CachedKeys()
        for (tag, sealed) in (try? store.sealedSessionKeys()) ?? [] {
            guard var plain = try? seal.open(sealed, associatedData: Self.sessionRowAD + tag) else { continue }
            defer { plain.zeroize() }
            guard plain.count > SymmetricKey.length, let k = try? SymmetricKey(SecureBytes(plain[0..<SymmetricKey.length])) else { continue }
            let rest = Array(plain[SymmetricKey.length...])
            guard Hash.blake2b(rest, length: 32, key: tagKey) == tag else { continue }
            // A parent's row ends in its marker; a session's row is the slot alone.
            if rest.count == SessionID.length + 1, rest.last == Self.parentRowMarker, let slot = try? SessionID(bytes: Array(rest.dropLast())) {
                out.parents[slot] = k
            } else if let sid = try? SessionID(bytes: rest) {
                out.sessions[sid] = k
            }
        }
        return out
    }

    /// Rows are keyed by a keyed hash of the session id, and the id itself is sealed with the
    /// key: a seizer reading the table cannot tell which sessions (so which cases) this node reads.
    static let sessionTagContext = "sandyq-session-tag-v1"
    static let sessionRowAD = Array("session-v2:".utf8)
    static let parentRowMarker: UInt8 = 1

    /// Caches the view's session and parent keys that `known` lacks. Best effort: a read-only
    /// or full store still reads, it only rebuilds slower next time. Nothing is cached when
    /// another process committed since this node last looked (`seenDataVersion`): a withdrawal
    /// there drops keys this view may still hold, which must not come back (ops.md section 4,
    /// "Withdrawal", limit 9). Returns whether every row was written.
    @discardableResult
    func cacheKeys(of v: ProjectView, except known: CachedKeys) -> Bool { cacheKeys(CachedKeys(v), except: known) }

    /// `ifDataVersion`: the data version the keys were read at, when not the last one seen.
    @discardableResult
    func cacheKeys(_ keys: CachedKeys, except known: CachedKeys, ifDataVersion at: Int64? = nil) -> Bool {
        beforeCachingKeysForTests?()
        let at = at ?? seenDataVersion
        return cacheRows(keys.sessions, except: known.sessions, marker: [], at: at)
            && cacheRows(keys.parents, except: known.parents, marker: [Self.parentRowMarker], at: at)
    }

    /// The cache rows' tags of these slots: a keyed hash of the slot, a parent's ending in its marker.
    func cacheTags(sessions: some Sequence<SessionID>, parents: some Sequence<SessionID>) -> [[UInt8]] {
        let tagKey = StorageSeal(identity).key.derive(context: Self.sessionTagContext)
        return sessions.map { Hash.blake2b($0.bytes, length: 32, key: tagKey) }
            + parents.map { Hash.blake2b($0.bytes + [Self.parentRowMarker], length: 32, key: tagKey) }
    }

    private func cacheRows(_ keys: [SessionID: SymmetricKey], except known: [SessionID: SymmetricKey], marker: [UInt8], at: Int64?) -> Bool {
        let seal = StorageSeal(identity)
        let tagKey = seal.key.derive(context: Self.sessionTagContext)
        let fresh = keys.filter { known[$0.key] == nil }.map { sid, k -> (tag: [UInt8], sealed: [UInt8]) in
            let rest = sid.bytes + marker
            let tag = Hash.blake2b(rest, length: 32, key: tagKey)
            var plain = k.secret.unsafeCopy + rest
            defer { plain.zeroize() }
            return (tag, seal.seal(plain, associatedData: Self.sessionRowAD + tag))
        }
        return (try? store.cacheSessionKeys(fresh, ifDataVersion: at)) ?? false
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
        try ingest(.envelopes(envs))
    }

    /// Whether another process committed to this home since the last look (a desk left open
    /// while a command imports a withdrawal): its ops may be gone and its chain moved on, so
    /// the view catches up (a membership op makes it rebuild) and the writer rereads its head.
    func changedElsewhere() -> Bool {
        let now = try? store.dataVersion()
        defer { seenDataVersion = now }
        guard let seen = seenDataVersion, let now, seen != now else { return seenDataVersion != nil && now == nil }
        activeWriter = nil
        forgetMembershipIfStale()
        forgetViewIfKeysDestroyed()
        return true
    }

    /// Drops what the node derived from the store, after the store changed underneath it.
    func invalidateView() {
        warm = nil
        activeWriter = nil
        cachedMembership = nil
    }

    // MARK: health

    /// Problems with the store and key file; empty when clean.
    public func check() throws(NodeError) -> [String] {
        do {
            var problems = try mapped { try store.integrityProblems() }
            if let p = try project() {
                let foreign = try mapped { try store.allEnvelopes().filter { $0.project != p }.count }
                if foreign > 0 { problems.append("\(foreign) ops of another project in the store") }
            }
            return problems
        } catch where error.kind == .corrupt {
            // A damaged page that stops a read part-way is a finding, not a failed check.
            return [error.message]
        }
    }
}
