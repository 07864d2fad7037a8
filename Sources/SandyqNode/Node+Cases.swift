import SandyqCore
import SandyqCrypto

extension Node {
    /// Records a new case; returns its id.
    @discardableResult
    public func addCase(_ doc: CaseDocument) throws(NodeError) -> CaseID {
        let id = CaseID.random()
        let ms = try mapped { try CaseEditor.create(doc, id: id) }
        try write(ms)
        return id
    }

    /// Records many cases in one op per case, sharing one sealing session.
    public func importCases(_ docs: [CaseDocument]) throws(NodeError) -> [CaseID] {
        var ids: [CaseID] = []
        var muts: [[Mutation]] = []
        for (i, d) in docs.enumerated() {
            let id = CaseID.random()
            do { muts.append(try CaseEditor.create(d, id: id)) }
            catch { throw NodeError(.usage, "case \(i + 1)\(d.ref.map { " (\($0))" } ?? ""): \(error)") }
            ids.append(id)
        }
        try write(batch: muts)
        return ids
    }

    /// Sets case fields, each superseding what this replica shows now (so it also resolves conflicts).
    public func set(_ ref: String, fields: [(FieldPath, String)]) throws(NodeError) {
        let state = try caseState(ref)
        var ms: [Mutation] = []
        for (path, value) in fields {
            let value = try Self.linked(path, value, in: state)
            ms.append(try mapped { try CaseEditor.set(path, to: value, in: state) })
        }
        guard !ms.isEmpty else { throw NodeError(.usage, "nothing to change: give at least one field") }
        try write(ms)
    }

    /// A link's value as the whole id of the element it names (a unique prefix will do);
    /// other values as they are.
    static func linked(_ path: FieldPath, _ value: String, in state: CaseState) throws(NodeError) -> String {
        guard let target = CaseSchema.collection(path.collection)?.links[path.field], !value.isEmpty else { return value }
        return try element(value, of: target, in: state)
    }

    /// Sets fields, each superseding only the writes its editor saw (`seen`, op ids this replica
    /// holds), so a change made since the form was filled is kept as a conflict, not lost.
    public func set(_ ref: String, superseding fields: [(path: FieldPath, value: String, seen: [OpID])]) throws(NodeError) {
        let state = try caseState(ref)
        var ms: [Mutation] = []
        for f in fields {
            let value = try Self.linked(f.path, f.value, in: state)
            ms.append(try mapped { try CaseEditor.set(f.path, to: value, superseding: f.seen, in: state) })
        }
        guard !ms.isEmpty else { throw NodeError(.usage, "nothing to change: give at least one field") }
        try write(ms)
    }

    /// Adds an element (a person, a charge, an act, ..., a tag) to a case; a link may name its element by a unique prefix.
    @discardableResult
    public func addElement(_ ref: String, collection: String, fields: [String: String], element: String? = nil) throws(NodeError) -> String {
        let state = try caseState(ref)
        let elem = element ?? CaseEditor.newElementID()
        var fields = fields
        for (f, v) in fields { fields[f] = try Self.linked(FieldPath(collection: collection, element: elem, field: f), v, in: state) }
        let ms = try mapped { try CaseEditor.addElement(case: state.id, collection: collection, fields: fields, element: elem) }
        try write(ms)
        return elem
    }

    /// Retracts an element; an add this replica has not seen survives (add wins).
    public func removeElement(_ ref: String, collection: String, element: String) throws(NodeError) {
        let state = try caseState(ref)
        let id = try Self.element(element, of: collection, in: state)
        try write([try mapped { try CaseEditor.remove(collection: collection, element: id, in: state) }])
    }

    /// The one element of `collection` whose id starts with `prefix`, so a command can check
    /// every element it names before it writes anything.
    public func element(_ prefix: String, of collection: String, inCase ref: String) throws(NodeError) -> String {
        try Self.element(prefix, of: collection, in: try caseState(ref))
    }

    static func element(_ prefix: String, of collection: String, in state: CaseState) throws(NodeError) -> String {
        let all = state.elements(collection)
        // A whole id names its element even when it also starts another one's.
        if all.contains(prefix) { return prefix }
        let hits = all.filter { $0.hasPrefix(prefix) }
        guard hits.count == 1 else {
            throw NodeError(.notFound, hits.isEmpty ? "no \(collection) element '\(prefix)' in this case" : "'\(prefix)' names several \(collection) elements")
        }
        return hits[0]
    }

    public func archive(_ ref: String, archived: Bool = true) throws(NodeError) {
        try set(ref, fields: [(FieldPath(field: "archived"), archived ? "true" : "false")])
    }

    /// Every case with an open conflict.
    public func conflicts() throws(NodeError) -> [(CaseState, [(path: FieldPath, writes: [Write])])] {
        try view().orderedCases.compactMap { c in
            let k = c.conflicts
            return k.isEmpty ? nil : (c, k)
        }
    }

    // MARK: removals

    /// An element taken out of a case: the view keeps which adds a remove observed, not who
    /// removed it or when, so the history reads that from the remove's op.
    public struct Removal: Sendable, Equatable {
        public let collection: String
        public let element: String
        public let op: OpID
        public let author: SigningPublicKey
        public let clock: UInt64
    }

    /// Every remove of one case's elements this node can read, oldest first.
    public func removals(_ ref: String) throws(NodeError) -> [Removal] {
        let v = try view()
        let state = try caseState(ref)
        let envs = try mapped { try store.envelopes(ids: state.ops.sorted()) }
        var out: [Removal] = []
        for e in envs where e.kind == .sealed {
            guard let body = try? SealedBody(decoding: e.body), let key = v.sessionKeys[SessionID(author: e.author, body: body)],
                  let plain = try? body.open(with: key, header: e.header), let p = try? Payload(decoding: plain) else { continue }
            for case let .remove(c, coll, elem, _) in p.mutations where c == state.id {
                out.append(Removal(collection: coll, element: elem, op: e.id, author: e.author, clock: p.clock))
            }
        }
        return out.sorted { $0.clock != $1.clock ? $0.clock < $1.clock : $0.op < $1.op }
    }

    // MARK: the log

    public struct LogEntry: Sendable {
        public let id: OpID
        public let author: NodeID?
        public let authorKey: SigningPublicKey
        public let seq: UInt64
        public let kind: String
        /// Milliseconds since 1970 from the op's hybrid clock, when this node can read it.
        public let timeMillis: UInt64?
        public let summary: String
    }

    /// Ops held, oldest first by clock where readable, with what this node can say of each.
    public func log() throws(NodeError) -> [LogEntry] {
        let envs = try mapped { try store.allEnvelopes() }
        let v = try view()
        var sessions: [SessionID: SymmetricKey?] = [:]
        let opening = try openingKeys()
        var out: [LogEntry] = []
        for e in envs {
            let member = v.membership.members[e.author]?.node
            switch e.kind {
            case .membership:
                let text: String
                switch try? MembershipChange(decoding: e.body) {
                case let .genesis(f, _)?: text = "genesis: founder \(f.fingerprint)"
                case let .add(m, role)?: text = "member add \(m.fingerprint) as \(role.rawValue)"
                case let .revoke(k, from)?: text = "member revoke \(NodeID.fingerprint(of: k)) after seq \(from)"
                case let .withdraw(ops, files)?: text = "withdraw \(ops.count) op(s), \(files.count) file(s)"
                case let .readerKey(s)?: text = "reader key of \(NodeID.fingerprint(of: s.member)), epoch \(s.epoch)"
                case nil: text = "membership (unreadable)"
                }
                out.append(LogEntry(id: e.id, author: member, authorKey: e.author, seq: e.seq, kind: "membership", timeMillis: nil, summary: text))
            case .sealed:
                var time: UInt64?
                var text = "sealed (not readable by this node)"
                if let body = try? SealedBody(decoding: e.body) {
                    let sk = SessionID(author: e.author, body: body)
                    if body.announcesSession, sessions[sk] == nil {
                        if let slot = body.parentSlot(author: e.author) {
                            sessions[sk] = v.sessionKeys[sk] ?? v.parentKeys[slot].map { body.derivedKey(parent: $0, author: e.author) }
                        } else {
                            sessions[sk] = v.sessionKeys[sk] ?? body.openSessionKey(with: opening)
                        }
                    }
                    if let key = sessions[sk] ?? nil, let plain = try? body.open(with: key, header: e.header),
                       let p = try? Payload(decoding: plain) {
                        time = HybridClock.millis(p.clock)
                        text = Self.describe(p.mutations, view: v)
                    }
                }
                out.append(LogEntry(id: e.id, author: member, authorKey: e.author, seq: e.seq, kind: "sealed", timeMillis: time, summary: text))
            }
        }
        return out
    }

    static func describe(_ ms: [Mutation], view: ProjectView) -> String {
        var cases: Set<CaseID> = []
        var puts = 0, adds = 0, removes = 0
        var name: String?
        var grants = 0, notes = 0
        for m in ms {
            switch m {
            case let .put(c, _, _, _): cases.insert(c); puts += 1
            case let .add(c, coll, _): cases.insert(c); if !coll.isEmpty { adds += 1 }
            case let .remove(c, _, _, _): cases.insert(c); removes += 1
            case let .projectName(n): name = n
            case .grant: grants += 1
            case .withdrawalNote: notes += 1
            case .withdrawnCases, .withdrawnElement: break
            }
        }
        if let name { return "project name: \(name)" }
        if notes > 0 && cases.isEmpty { return "\(notes) withdrawal note(s)" }
        if grants > 0 { return "\(grants) session key(s) granted" }
        let ids = cases.sorted().map(\.short).joined(separator: ",")
        return "case \(ids): \(puts) field(s) set, \(adds) added, \(removes) removed"
    }
}
