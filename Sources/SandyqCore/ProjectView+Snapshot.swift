import SandyqCrypto

/// A view as bytes, so a process can start from it instead of reading the whole log again.
/// Membership is not in it: the caller derives it from the log's membership ops (few), and a
/// view that saw a revocation is never encoded (its standing depends on every chain).
/// Layout (all ByteWriter): "sandyq-view" ‖ version ‖ project ‖ an author table ‖ the state.
/// The bytes hold plaintext of the cases: the caller seals them.
extension ProjectView {
    static let snapshotMagic = Array("sandyq-view".utf8)
    static let snapshotVersion: UInt8 = 2  // 2: parent keys and untried parents

    /// Nil for a view that cannot be restored without its log (it saw a revocation).
    public var snapshot: [UInt8]? { snapshot(after: []) }

    /// The snapshot bytes after `prefix`, in one buffer: at 100,000 ops they are 25 MB, and a
    /// copy more is a copy too many.
    public func snapshot(after prefix: [UInt8]) -> [UInt8]? {
        guard !sawRevocation else { return nil }
        // Cases still as restored are copied as bytes, so their author indexes must stay valid.
        var authors: [SigningPublicKey] = cases.encoded?.authors ?? []
        var authorIndex: [SigningPublicKey: Int] = [:]
        for (i, a) in authors.enumerated() { authorIndex[a] = i }
        func author(_ k: SigningPublicKey) -> UInt64 {
            if let i = authorIndex[k] { return UInt64(i) }
            authorIndex[k] = authors.count
            authors.append(k)
            return UInt64(authors.count - 1)
        }
        // About 250 bytes per op: one allocation, not a doubling for every few megabytes.
        var w = ByteWriter(capacity: 4096 + 256 * stats.ops)
        func ids<S: Sequence>(_ s: S) where S.Element == OpID {
            let sorted = s.sorted()
            w.varint(UInt64(sorted.count))
            for id in sorted { w.raw(id.bytes) }
        }
        func write(_ x: Write) {
            w.raw(x.op.bytes); w.varint(author(x.author)); w.u64(x.clock); w.string(x.value); ids(x.supersedes)
        }
        func register(_ r: Register) {
            w.varint(UInt64(r.writes.count))
            for x in r.writes.values { write(x) }
        }
        func sids(_ s: Set<SessionID>) { w.varint(UInt64(s.count)); for sid in s { w.blob(sid.bytes) } }
        for v in [stats.ops, stats.membershipOps, stats.readable, stats.unreadable, stats.awaitingAdmission,
                  stats.quarantined, stats.refused] { w.varint(UInt64(v)) }
        w.u64(maxClock)
        ids(quarantined)
        register(projectName)
        w.varint(UInt64(cases.count))
        for id in cases.keys {
            if let raw = cases.untouchedBytes(id) { w.raw(raw); continue }
            let c = cases[id]!
            w.raw(c.id.bytes); w.u64(c.firstClock); ids(c.ops)
            // Secret registers ride in the same list; restore sorts them apart again.
            w.varint(UInt64(c.registers.count + c.secrets.count))
            for (path, r) in c.registers { w.string(path.collection); w.string(path.element); w.string(path.field); register(r) }
            for (path, r) in c.secrets { w.string(path.collection); w.string(path.element); w.string(path.field); register(r) }
            w.varint(UInt64(c.sets.count))
            for (name, set) in c.sets {
                w.string(name)
                w.varint(UInt64(set.tags.count))
                for (element, tags) in set.tags { w.string(element); ids(tags) }
                w.varint(UInt64(set.removed.count))
                for (element, tags) in set.removed { w.string(element); ids(tags) }
            }
        }
        w.varint(UInt64(sessionKeys.count))
        for (sid, k) in sessionKeys { w.blob(sid.bytes); w.raw(k.secret.unsafeCopy) }
        w.varint(UInt64(parentKeys.count))
        for (slot, k) in parentKeys { w.blob(slot.bytes); w.raw(k.secret.unsafeCopy) }
        w.varint(UInt64(grantedKeys.count))
        for (sid, ks) in grantedKeys { w.blob(sid.bytes); w.varint(UInt64(ks.count)); for k in ks { w.raw(k.secret.unsafeCopy) } }
        w.varint(UInt64(caseSessions.count))
        for (c, s) in caseSessions { w.raw(c.bytes); sids(s) }
        sids(unreadSessions)
        sids(untriedParents)
        w.varint(UInt64(tips.count))
        for (a, seq) in tips { w.varint(author(a)); w.u64(seq) }

        var head = ByteWriter(capacity: prefix.count + 64 + authors.count * 32 + w.bytes.count)
        head.raw(prefix)
        head.raw(Self.snapshotMagic); head.u8(Self.snapshotVersion); head.raw(project.bytes)
        head.varint(UInt64(authors.count))
        for a in authors { head.raw(a.bytes) }
        head.raw(w.bytes)
        return head.bytes
    }

    /// Restores a view from `snapshot` bytes; `membership` must be what the log's membership
    /// ops derive. Throws on any byte that does not decode, so the caller rebuilds instead.
    /// The snapshot starts at `offset` in `bytes` (after the caller's own header, uncopied).
    public init(project: ProjectID, snapshot bytes: [UInt8], at offset: Int = 0, membership: Membership) throws(CoreError) {
        self.project = project
        self.membership = membership
        do { try restore(ByteReader(bytes, offset: offset)) } catch CoreError.decodeTruncated { throw .decodeTruncated } catch let CoreError.decodeMalformed(why) {
            throw .decodeMalformed(why)
        } catch { throw .decodeMalformed("\(error)") }
    }

    private mutating func restore(_ reader: ByteReader) throws {
        var r = reader
        guard try r.raw(Self.snapshotMagic.count) == Self.snapshotMagic, try r.u8() == Self.snapshotVersion,
              try r.raw(ProjectID.length) == project.bytes else { throw CoreError.decodeMalformed("not a snapshot of this project") }
        var authors: [SigningPublicKey] = []
        let authorCount = try r.varint()
        guard authorCount <= UInt64(r.remaining / SigningPublicKey.length) else { throw CoreError.decodeTruncated }
        for _ in 0..<Int(authorCount) { authors.append(try SigningPublicKey(bytes: try r.raw(SigningPublicKey.length))) }
        var s = SnapshotReader(r, authors: authors)
        func n() throws -> Int { Int(clamping: try s.r.varint()) }
        stats = Stats(ops: try n(), membershipOps: try n(), readable: try n(), unreadable: try n(),
                      awaitingAdmission: try n(), quarantined: try n(), refused: try n())
        maxClock = try s.r.u64()
        quarantined = try s.ids()
        projectName = try s.register()
        // Cases are only walked here, to find where each one's bytes lie; each decodes when read.
        var index: [CaseID: Range<Int>] = [:]
        let caseCount = try s.count()
        index.reserveCapacity(caseCount)
        let first = s.r.offset
        for _ in 0..<caseCount {
            let start = s.r.offset - first
            let id = try s.skipCase()
            guard index.updateValue(start..<(s.r.offset - first), forKey: id) == nil else { throw CoreError.decodeMalformed("case twice") }
        }
        // The cases' bytes only: the session keys after them must not stay in memory that can be
        // swapped, and the caller zeroes its buffer.
        cases = CaseTable(encoded: EncodedCases(bytes: Array(s.r.bytes[first..<s.r.offset]), authors: authors, index: index))
        for _ in 0..<(try s.count()) { let sid = try SessionID(bytes: try s.r.blob(max: 256)); sessionKeys[sid] = try s.key() }
        for _ in 0..<(try s.count()) { let slot = try SessionID(bytes: try s.r.blob(max: 256)); parentKeys[slot] = try s.key() }
        for _ in 0..<(try s.count()) { let sid = try SessionID(bytes: try s.r.blob(max: 256)); grantedKeys[sid] = try (0..<(try s.count())).map { _ in try s.key() } }
        for _ in 0..<(try s.count()) { caseSessions[try CaseID(bytes: try s.r.raw(CaseID.length))] = try s.sids() }
        unreadSessions = try s.sids()
        untriedParents = try s.sids()
        for _ in 0..<(try s.count()) { tips[try s.author()] = try s.r.u64() }
        try s.r.expectEnd()
    }
}

/// Reads the parts of a snapshot after its author table.
struct SnapshotReader {
    var r: ByteReader
    let authors: [SigningPublicKey]

    init(_ r: ByteReader, authors: [SigningPublicKey]) {
        self.r = r
        self.authors = authors
    }

    mutating func count() throws -> Int {
        let n = try r.varint()
        guard n <= UInt64(r.remaining) else { throw CoreError.decodeTruncated }
        return Int(n)
    }

    mutating func author() throws -> SigningPublicKey {
        let i = try r.varint()
        guard i < UInt64(authors.count) else { throw CoreError.decodeMalformed("author index") }
        return authors[Int(i)]
    }

    mutating func id() throws -> OpID { try OpID(bytes: try r.raw(OpID.length)) }
    mutating func ids() throws -> [OpID] { try (0..<(try count())).map { _ in try id() } }

    mutating func register() throws -> Register {
        var reg = Register()
        for _ in 0..<(try count()) {
            reg.insert(Write(op: try id(), author: try author(), clock: try r.u64(), value: try r.string(), supersedes: try ids()))
        }
        return reg
    }

    mutating func key() throws -> SymmetricKey { try SymmetricKey(SecureBytes(try r.raw(SymmetricKey.length))) }
    mutating func sids() throws -> Set<SessionID> { Set(try (0..<(try count())).map { _ in try SessionID(bytes: try r.blob(max: 256)) }) }

    mutating func caseState() throws -> CaseState {
        var c = CaseState(id: try CaseID(bytes: try r.raw(CaseID.length)))
        c.firstClock = try r.u64()
        c.ops = Set(try ids())
        for _ in 0..<(try count()) {
            let path = FieldPath(collection: try r.string(), element: try r.string(), field: try r.string())
            if CaseSchema.isSecret(path) { c.secrets[path] = try register() } else { c.registers[path] = try register() }
        }
        for _ in 0..<(try count()) {
            let name = try r.string()
            var set = ORSet()
            for _ in 0..<(try count()) { let e = try r.string(); for t in try ids() { set.add(e, tag: t) } }
            for _ in 0..<(try count()) { let e = try r.string(); set.remove(e, observed: try ids()) }
            c.sets[name] = set
        }
        return c
    }

    // MARK: walking without decoding

    /// Steps over one encoded case, checking what a decode would check but the contents of
    /// strings, and returns its id: a case that walks here decodes later.
    mutating func skipCase() throws -> CaseID {
        let id = try CaseID(bytes: try r.raw(CaseID.length))
        try r.skip(8)
        try skipIDs()
        for _ in 0..<(try count()) {
            try skipString(); try skipString(); try skipString()
            for _ in 0..<(try count()) {
                try r.skip(OpID.length); _ = try author(); try r.skip(8); try skipString(); try skipIDs()
            }
        }
        for _ in 0..<(try count()) {
            try skipString()
            for _ in 0..<(try count()) { try skipString(); try skipIDs() }
            for _ in 0..<(try count()) { try skipString(); try skipIDs() }
        }
        return id
    }

    mutating func skipIDs() throws {
        let n = try count()
        guard n <= r.remaining / OpID.length else { throw CoreError.decodeTruncated }
        try r.skip(n * OpID.length)
    }

    mutating func skipString() throws {
        let n = try r.varint()
        guard n <= 1 << 20 else { throw CoreError.decodeMalformed("length \(n) exceeds limit \(1 << 20)") }
        try r.skip(Int(n))
    }
}
