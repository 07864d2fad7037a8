import SandyqCrypto

/// Where a register lives: a case field, or a field of one element of a case's collection.
public struct FieldPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Empty for case-level fields.
    public let collection: String
    /// Empty for case-level fields.
    public let element: String
    public let field: String

    public init(collection: String = "", element: String = "", field: String) {
        self.collection = collection
        self.element = element
        self.field = field
    }

    public static func < (a: FieldPath, b: FieldPath) -> Bool {
        (a.collection, a.element, a.field) < (b.collection, b.element, b.field)
    }

    public var description: String {
        collection.isEmpty ? field : "\(collection)/\(element)/\(field)"
    }
}

/// One change inside an op. An op may carry many, all tagged with the op's id.
public enum Mutation: Hashable, Sendable {
    /// Multi-value register write; `supersedes` names the writes this one replaces.
    case put(case: CaseID, path: FieldPath, value: String, supersedes: [OpID])
    /// Observed-remove set add; the op id is the add's tag.
    case add(case: CaseID, collection: String, element: String)
    /// Removes the adds whose tags were observed; a concurrent add survives (add wins).
    case remove(case: CaseID, collection: String, element: String, observed: [OpID])
    /// The project's display name, sealed like case data.
    case projectName(String)
    /// Hands a session's content key to the op's readers, so a member added later reads the past.
    case grant(session: SessionID, key: [UInt8])
    /// Who withdrew what and why, for coordinators only: the withdrawal op names ops and files,
    /// this keeps the record of it once the content is gone (Protocol/ops.md, "Withdrawal").
    case withdrawalNote(withdrawal: OpID, what: String, why: String)
    /// The cases a withdrawal took whole, in its note's op: a coordinator's check names any op
    /// it reads that writes one of them and no withdrawal names (one written later, or one the
    /// withdrawer could not read). Written nowhere else, and it writes no case itself.
    case withdrawnCases(withdrawal: OpID, cases: [CaseID])
    /// The one element a withdrawal took (a person, a source, a file), in its note's op: as
    /// `withdrawnCases` for an element, so a later op that writes it again is named. It writes
    /// no case itself.
    case withdrawnElement(withdrawal: OpID, case: CaseID, collection: String, element: String)
}

/// The plaintext inside a sealed body. Layout: Protocol/ops.md.
public struct Payload: Hashable, Sendable {
    public static let version: UInt8 = 1
    public static let maxMutations = 100_000
    static let maxRefs = 4096
    /// Bytes of a withdrawal note's `what` and `why`.
    public static let maxNoteWhat = 4096
    public static let maxNoteWhy = 16384

    public var clock: UInt64
    public var mutations: [Mutation]

    public init(clock: UInt64, mutations: [Mutation]) {
        self.clock = clock
        self.mutations = mutations
    }

    /// Whether it carries anything besides grants: a session of grants alone only hands out keys.
    public var carriesContent: Bool { mutations.contains { if case .grant = $0 { false } else { true } } }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + mutations.count * 48)
        w.u8(Self.version)
        w.u64(clock)
        w.varint(UInt64(mutations.count))
        for m in mutations {
            switch m {
            case let .put(c, path, value, supersedes):
                w.u8(1); w.raw(c.bytes)
                w.string(path.collection); w.string(path.element); w.string(path.field)
                w.string(value)
                w.varint(UInt64(supersedes.count)); for s in supersedes { w.raw(s.bytes) }
            case let .add(c, coll, elem):
                w.u8(2); w.raw(c.bytes); w.string(coll); w.string(elem)
            case let .remove(c, coll, elem, observed):
                w.u8(3); w.raw(c.bytes); w.string(coll); w.string(elem)
                w.varint(UInt64(observed.count)); for s in observed { w.raw(s.bytes) }
            case let .projectName(name):
                w.u8(4); w.string(name)
            case let .grant(session, key):
                w.u8(5); w.raw(session.author.bytes); w.raw(session.local); w.raw(key)
            case let .withdrawalNote(withdrawal, what, why):
                w.u8(6); w.raw(withdrawal.bytes); w.string(what); w.string(why)
            case let .withdrawnCases(withdrawal, cases):
                w.u8(7); w.raw(withdrawal.bytes)
                w.varint(UInt64(cases.count)); for c in cases { w.raw(c.bytes) }
            case let .withdrawnElement(withdrawal, c, coll, elem):
                w.u8(8); w.raw(withdrawal.bytes); w.raw(c.bytes); w.string(coll); w.string(elem)
            }
        }
        return w.bytes
    }

    /// Throws what `init(decoding:)` would throw on `encoded()`, without decoding it: a writer
    /// checks every op it seals this way (`PayloadTests` compares the two on random payloads).
    /// Ids and Swift strings are well formed by construction; what is left is the limits.
    public func checkDecodable() throws(CoreError) {
        guard mutations.count <= Self.maxMutations else { throw CoreError.malformed("too many mutations") }
        func text(_ s: String, _ max: Int) throws(CoreError) {
            guard s.utf8.count <= max else { throw CoreError.malformed("length \(s.utf8.count) exceeds limit \(max)") }
        }
        func refs(_ r: [OpID]) throws(CoreError) {
            guard r.count <= Self.maxRefs else { throw CoreError.malformed("too many references") }
        }
        for m in mutations {
            switch m {
            case let .put(_, path, value, supersedes):
                try text(path.collection, 256); try text(path.element, 256); try text(path.field, 256)
                try text(value, 1 << 20); try refs(supersedes)
            case let .add(_, coll, elem):
                try text(coll, 256); try text(elem, 256)
            case let .remove(_, coll, elem, observed):
                try text(coll, 256); try text(elem, 256); try refs(observed)
            case let .projectName(name):
                try text(name, 1024)
            case let .grant(_, key):
                guard key.count == SymmetricKey.length else { throw CoreError.truncated }
            case let .withdrawalNote(_, what, why):
                try text(what, Self.maxNoteWhat); try text(why, Self.maxNoteWhy)
            case let .withdrawnCases(_, cases):
                guard cases.count <= Self.maxRefs else { throw CoreError.malformed("too many cases") }
            case let .withdrawnElement(_, _, coll, elem):
                try text(coll, 256); try text(elem, 256)
            }
        }
    }

    public init(decoding bytes: [UInt8]) throws(CoreError) {
        do {
            var r = ByteReader(bytes)
            let v = try r.u8()
            guard v == Self.version else { throw CoreError.unsupportedVersion(v) }
            clock = try r.u64()
            let n = try r.varint()
            guard n <= UInt64(Self.maxMutations) else { throw CoreError.malformed("too many mutations") }
            var ms: [Mutation] = []
            ms.reserveCapacity(Int(n))
            func refs(_ r: inout ByteReader) throws -> [OpID] {
                let k = try r.varint()
                guard k <= UInt64(Self.maxRefs) else { throw CoreError.malformed("too many references") }
                return try (0..<Int(k)).map { _ in try OpID(bytes: try r.raw(OpID.length)) }
            }
            for _ in 0..<n {
                switch try r.u8() {
                case 1:
                    let c = try CaseID(bytes: try r.raw(CaseID.length))
                    let path = FieldPath(collection: try r.string(max: 256), element: try r.string(max: 256), field: try r.string(max: 256))
                    let value = try r.string()
                    ms.append(.put(case: c, path: path, value: value, supersedes: try refs(&r)))
                case 2:
                    let c = try CaseID(bytes: try r.raw(CaseID.length))
                    ms.append(.add(case: c, collection: try r.string(max: 256), element: try r.string(max: 256)))
                case 3:
                    let c = try CaseID(bytes: try r.raw(CaseID.length))
                    let coll = try r.string(max: 256), elem = try r.string(max: 256)
                    ms.append(.remove(case: c, collection: coll, element: elem, observed: try refs(&r)))
                case 4:
                    ms.append(.projectName(try r.string(max: 1024)))
                case 5:
                    ms.append(.grant(session: try SessionID(bytes: try r.raw(SessionID.length)), key: try r.raw(SymmetricKey.length)))
                case 6:
                    let id = try OpID(bytes: try r.raw(OpID.length))
                    let what = try r.string(max: Self.maxNoteWhat)
                    ms.append(.withdrawalNote(withdrawal: id, what: what, why: try r.string(max: Self.maxNoteWhy)))
                case 7:
                    let id = try OpID(bytes: try r.raw(OpID.length))
                    let k = try r.varint()
                    guard k <= UInt64(Self.maxRefs) else { throw CoreError.malformed("too many cases") }
                    ms.append(.withdrawnCases(withdrawal: id, cases: try (0..<Int(k)).map { _ in try CaseID(bytes: try r.raw(CaseID.length)) }))
                case 8:
                    let id = try OpID(bytes: try r.raw(OpID.length))
                    let c = try CaseID(bytes: try r.raw(CaseID.length))
                    let coll = try r.string(max: 256)
                    ms.append(.withdrawnElement(withdrawal: id, case: c, collection: coll, element: try r.string(max: 256)))
                default:
                    throw CoreError.malformed("unknown mutation type")
                }
            }
            try r.expectEnd()
            mutations = ms
        } catch CoreError.decodeTruncated {
            throw .truncated
        } catch let CoreError.decodeMalformed(why) {
            throw .malformed(why)
        } catch let e as CoreError {
            throw e
        } catch {
            throw CoreError.malformed("\(error)")
        }
    }
}

/// The body of a membership op: public to every member, because every node enforces it.
/// It holds keys and roles only: no names. Layout: Protocol/ops.md.
public enum MembershipChange: Hashable, Sendable {
    /// The project's first op: its founder, a coordinator. The project id is
    /// BLAKE2b-128(founder signing key ‖ founder box key ‖ nonce), so no one else can claim to have founded it.
    case genesis(founder: NodeID, nonce: [UInt8])
    case add(member: NodeID, role: Role)
    /// Every op of the member that is not `after`'s named op or one of its chain ancestors
    /// is quarantined, forks below it included.
    case revoke(member: SigningPublicKey, after: RevocationPoint)
    /// The named sealed ops are withdrawn: every node drops their bodies and keeps only their
    /// place in the chain (Protocol/ops.md section 4, "Withdrawal"). `files` are the evidence
    /// files (fids) whose chunks go with them.
    case withdraw(ops: [WithdrawnOp], files: [[UInt8]])
    /// A member's reader key, in a statement the member signed; a coordinator writes the op.
    case readerKey(ReaderKeyStatement)

    /// At most this many ops (and files) per withdrawal op (6 + 88 · 4096 bytes stays far below 1 MiB).
    public static let maxWithdrawn = 4096

    /// Genesis and add; a revoke is written as version 2 (it names an op, not a seq).
    public static let version: UInt8 = 1
    public static let revokeVersion: UInt8 = 2

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 80)
        switch self {
        case let .genesis(f, nonce):
            w.u8(Self.version); w.u8(1); w.raw(f.signingKey.bytes); w.raw(f.boxKey.bytes); w.raw(nonce)
        case let .add(m, role):
            w.u8(Self.version); w.u8(2); w.raw(m.signingKey.bytes); w.raw(m.boxKey.bytes); w.u8(role.code)
        case let .revoke(m, .legacySeq(from)):
            w.u8(Self.version); w.u8(3); w.raw(m.bytes); w.u64(from)
        case let .revoke(m, point):
            w.u8(Self.revokeVersion); w.u8(3); w.raw(m.bytes)
            if case let .op(id, seq) = point { w.u64(seq); w.raw(id.bytes) } else { w.u64(0); w.raw(OpID.zero.bytes) }
        case let .withdraw(ops, files):
            w.u8(Self.version); w.u8(4); w.u16(UInt16(ops.count))
            for o in ops.sorted() { w.raw(o.author.bytes); w.u64(o.seq); w.raw(o.id.bytes) }
            w.u16(UInt16(files.count))
            for f in files.sorted(by: { $0.lexicographicallyPrecedes($1) }) { w.raw(f) }
        case let .readerKey(s):
            w.u8(Self.version); w.u8(5); w.raw(s.member.bytes); w.u32(s.epoch); w.raw(s.key.bytes); w.raw(s.signature.bytes)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(CoreError) {
        do {
            var r = ByteReader(bytes)
            let v = try r.u8()
            guard v == Self.version || v == Self.revokeVersion else { throw CoreError.unsupportedVersion(v) }
            func node(_ r: inout ByteReader) throws -> NodeID {
                NodeID(signingKey: try .init(bytes: try r.raw(32)), boxKey: try .init(bytes: try r.raw(32)))
            }
            let type = try r.u8()
            if v == Self.revokeVersion && type != 3 { throw CoreError.malformed("membership version 2 holds only a revoke") }
            switch type {
            case 1: self = .genesis(founder: try node(&r), nonce: try r.raw(16))
            case 2:
                let n = try node(&r)
                guard let role = Role(code: try r.u8()) else { throw CoreError.malformed("unknown role") }
                self = .add(member: n, role: role)
            case 3 where v == Self.version:
                self = .revoke(member: try .init(bytes: try r.raw(32)), after: .legacySeq(try r.u64()))
            case 3:
                let member = try SigningPublicKey(bytes: try r.raw(32))
                let seq = try r.u64()
                let id = try OpID(bytes: try r.raw(OpID.length))
                // Seq 0 with the zero id: nothing it wrote was genuine. Either alone is malformed.
                guard (seq == 0) == (id == .zero) else { throw CoreError.malformed("revoke names seq 0 only with the zero op id") }
                self = .revoke(member: member, after: seq == 0 ? .nothing : .op(id, seq: seq))
            case 4:
                let n = Int(try r.u16())
                guard (1...Self.maxWithdrawn).contains(n) else { throw CoreError.malformed("a withdrawal names 1 to \(Self.maxWithdrawn) ops") }
                var ops: [WithdrawnOp] = []
                for _ in 0..<n {
                    let o = WithdrawnOp(author: try .init(bytes: try r.raw(32)), seq: try r.u64(), id: try OpID(bytes: try r.raw(OpID.length)))
                    guard o.seq >= 1 && o.seq < 1 << 62 else { throw CoreError.malformed("withdrawn op seq out of range") }
                    // One encoding per withdrawal: ascending, no repeats.
                    if let last = ops.last, !(last < o) { throw CoreError.malformed("withdrawn ops out of order") }
                    ops.append(o)
                }
                let f = Int(try r.u16())
                guard f <= Self.maxWithdrawn else { throw CoreError.malformed("a withdrawal names at most \(Self.maxWithdrawn) files") }
                var files: [[UInt8]] = []
                for _ in 0..<f {
                    let fid = try r.raw(EvidenceChunk.fileIDLength)
                    if let last = files.last, !last.lexicographicallyPrecedes(fid) { throw CoreError.malformed("withdrawn files out of order") }
                    files.append(fid)
                }
                self = .withdraw(ops: ops, files: files)
            case 5:
                let member = try SigningPublicKey(bytes: try r.raw(32))
                let epoch = try r.u32()
                let key = try r.raw(32)
                let signature = try Signature(bytes: try r.raw(64))
                // Epochs start at 1; the zero key is a low-order point no box opens to.
                guard epoch >= 1 else { throw CoreError.malformed("reader key epoch 0") }
                guard key.contains(where: { $0 != 0 }) else { throw CoreError.malformed("reader key is zero") }
                self = .readerKey(ReaderKeyStatement(member: member, epoch: epoch, key: try BoxPublicKey(bytes: key), signature: signature))
            default: throw CoreError.malformed("unknown membership change")
            }
            try r.expectEnd()
        } catch CoreError.decodeTruncated {
            throw .truncated
        } catch let CoreError.decodeMalformed(why) {
            throw .malformed(why)
        } catch let e as CoreError {
            throw e
        } catch {
            throw CoreError.malformed("\(error)")
        }
    }
}

/// One op a withdrawal names: its place in its author's chain and its id, so a node that
/// never held it still knows the chain link it leaves.
public struct WithdrawnOp: Hashable, Sendable, Comparable {
    public let author: SigningPublicKey
    public let seq: UInt64
    public let id: OpID
    public init(author: SigningPublicKey, seq: UInt64, id: OpID) { self.author = author; self.seq = seq; self.id = id }
    public static func < (a: Self, b: Self) -> Bool { (a.author, a.seq, a.id) < (b.author, b.seq, b.id) }
}

/// What a revocation keeps of the revoked member's ops.
public enum RevocationPoint: Hashable, Sendable {
    /// None of them: the device was never trusted, or its key was copied from the start.
    case nothing
    /// This op (at this seq) and its chain ancestors.
    case op(OpID, seq: UInt64)
    /// The retired v1 form: the op held at this seq, when exactly one is.
    case legacySeq(UInt64)
}

extension ProjectID {
    /// The id a genesis op with this founder and nonce creates.
    public static func derive(founder: NodeID, nonce: [UInt8]) -> ProjectID {
        ProjectID(unchecked: Hash.blake2b(founder.signingKey.bytes + founder.boxKey.bytes + nonce, length: ProjectID.length))
    }
}
