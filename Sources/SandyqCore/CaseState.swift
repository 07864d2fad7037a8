import SandyqCrypto

/// One register write as the view sees it.
public struct Write: Hashable, Sendable {
    public let op: OpID
    public let author: SigningPublicKey
    public let clock: UInt64
    public let value: String
    public let supersedes: [OpID]

    /// History order: clock, then op id. Clocks date writes; they do not pick winners.
    static func precedes(_ a: Write, _ b: Write) -> Bool {
        a.clock != b.clock ? a.clock < b.clock : a.op < b.op
    }
}

/// A multi-value register: every write ever seen; the survivors are those no other write supersedes.
public struct Register: Sendable {
    public private(set) var writes: [OpID: Write] = [:]
    private var superseded: Set<OpID> = []

    mutating func insert(_ w: Write) {
        guard writes[w.op] == nil else { return }
        writes[w.op] = w
        superseded.formUnion(w.supersedes)
    }

    /// Surviving writes by op id, winner last. The shown winner of concurrent writes is the
    /// greatest op id, not the latest clock: a device whose clock runs years ahead would
    /// otherwise win every conflict until real time caught up (ops.md section 5). A conflict is
    /// shown as one either way; the winner is only the default until someone resolves it.
    public var survivors: [Write] {
        writes.values.filter { !superseded.contains($0.op) }.sorted { $0.op < $1.op }
    }

    public var winner: Write? { survivors.last }
    public var isConflict: Bool { survivors.count > 1 }
    /// Every write, oldest first: the field's history.
    public var history: [Write] { writes.values.sorted(by: Write.precedes) }
}

/// An add-wins observed-remove set of element ids within one collection.
public struct ORSet: Sendable {
    public private(set) var tags: [String: Set<OpID>] = [:]

    mutating func add(_ element: String, tag: OpID) { tags[element, default: []].insert(tag) }

    /// Add tags that removes observed, per element: one op may add several elements, and
    /// removing one of them must not remove the others.
    public private(set) var removed: [String: Set<OpID>] = [:]

    mutating func remove(_ element: String, observed: [OpID]) { removed[element, default: []].formUnion(observed) }

    /// Present when some add's tag was not observed by any remove.
    public func contains(_ element: String) -> Bool {
        guard let t = tags[element] else { return false }
        return !t.isSubset(of: removed[element] ?? [])
    }
}

/// The merged CRDT state of one case: a pure function of the set of ops applied to it.
public struct CaseState: Sendable {
    public let id: CaseID
    public internal(set) var registers: [FieldPath: Register] = [:]
    /// Secret fields (a file key), apart from `registers` so no listing, report or history
    /// that walks the registers can show them.
    public internal(set) var secrets: [FieldPath: Register] = [:]
    public internal(set) var sets: [String: ORSet] = [:]
    /// Op ids that touched this case, for chain-of-custody output.
    public internal(set) var ops: Set<OpID> = []
    /// statusDate written in the same op as a status, keyed by that op.
    public internal(set) var firstClock: UInt64 = .max

    /// An empty state: a case this replica holds no readable op of.
    public init(id: CaseID) { self.id = id }

    mutating func apply(_ m: Mutation, op: OpID, author: SigningPublicKey, clock: UInt64) {
        ops.insert(op)
        firstClock = min(firstClock, clock)
        switch m {
        case let .put(_, path, value, supersedes):
            let w = Write(op: op, author: author, clock: clock, value: value, supersedes: supersedes)
            if CaseSchema.isSecret(path) { secrets[path, default: Register()].insert(w) } else { registers[path, default: Register()].insert(w) }
        case let .add(_, coll, elem):
            sets[coll, default: ORSet()].add(elem, tag: op)
        case let .remove(_, coll, elem, observed):
            sets[coll, default: ORSet()].remove(elem, observed: observed)
        case .projectName, .grant, .withdrawalNote, .withdrawnCases, .withdrawnElement:
            break
        }
    }

    public func register(_ path: FieldPath) -> Register? { registers[path] }

    public func value(_ field: String) -> String? { registers[FieldPath(field: field)]?.winner?.value }

    public func value(_ collection: String, _ element: String, _ field: String) -> String? {
        registers[FieldPath(collection: collection, element: element, field: field)]?.winner?.value
    }

    /// A secret field's winning value (the node alone asks: to open an attached file).
    public func secret(_ collection: String, _ element: String, _ field: String) -> String? {
        secrets[FieldPath(collection: collection, element: element, field: field)]?.winner?.value
    }

    /// Present elements of a collection, in a stable order.
    public func elements(_ collection: String) -> [String] {
        guard let s = sets[collection] else { return [] }
        return s.tags.keys.filter { s.contains($0) }.sorted()
    }

    /// Whether anything of an element is here: an add (removed or not), or a field. A field
    /// written without an add (a later edit of an element withdrawn meanwhile) counts too.
    public func holds(_ collection: String, _ element: String) -> Bool {
        func mine(_ p: FieldPath) -> Bool { p.collection == collection && p.element == element }
        return sets[collection]?.tags[element] != nil || registers.keys.contains(where: mine) || secrets.keys.contains(where: mine)
    }

    /// The add tags of a present element: what a remove must observe.
    public func tags(_ collection: String, _ element: String) -> [OpID] {
        (sets[collection]?.tags[element]).map { $0.sorted() } ?? []
    }

    /// Fields with more than one surviving write, on the case or on a present element.
    public var conflicts: [(path: FieldPath, writes: [Write])] {
        registers.compactMap { path, reg -> (FieldPath, [Write])? in
            guard reg.isConflict else { return nil }
            if !path.collection.isEmpty && !elements(path.collection).contains(path.element) { return nil }
            return (path, reg.survivors)
        }.sorted { $0.0 < $1.0 }
    }

    public var isArchived: Bool { value("archived") == "true" }

    /// The case this one was merged into, if any (`case merge`; an empty value undoes it).
    public var mergedTarget: String? {
        guard let m = value("mergedInto"), !m.isEmpty else { return nil }
        return m
    }

    /// Status history: every status write with the statusDate written in the same op.
    public var statusHistory: [(status: String, date: String?, write: Write)] {
        guard let reg = registers[FieldPath(field: "status")] else { return [] }
        let dates = registers[FieldPath(field: "statusDate")]?.writes ?? [:]
        return reg.history.map { ($0.value, dates[$0.op]?.value, $0) }
    }

    /// Feeds the canonical form of what this case shows into `w`.
    func canonical(into w: inout ByteWriter) {
        w.raw(id.bytes)
        for (path, reg) in registers.sorted(by: { $0.key < $1.key }) {
            w.string(path.collection); w.string(path.element); w.string(path.field)
            let s = reg.survivors
            w.varint(UInt64(s.count))
            for x in s { w.raw(x.op.bytes); w.string(x.value) }
        }
        for (coll, _) in sets.sorted(by: { $0.key < $1.key }) {
            w.string(coll)
            let present = elements(coll)
            w.varint(UInt64(present.count))
            for e in present { w.string(e) }
        }
    }
}
