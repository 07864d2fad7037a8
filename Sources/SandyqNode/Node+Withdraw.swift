import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

/// What a withdrawal named, as `case withdraw --json` prints it.
public struct WithdrawalReport: Sendable, Codable, Equatable {
    /// The withdrawal ops written (hex ids).
    public var withdrawals: [String]
    /// The cases withdrawn (ref or short id).
    public var cases: [String]
    public var ops: Int
    public var files: Int
    /// The sealed note recording who withdrew what and why (hex op id).
    public var note: String? = nil
}

/// One withdrawal as this node can show it: who and how much from the signed op, for every
/// member; what and why from its sealed note, for coordinators.
public struct WithdrawalRecord: Sendable, Codable, Equatable {
    /// The withdrawal op (hex id).
    public var withdrawal: String
    /// Its author's fingerprint.
    public var by: String
    public var ops: Int
    public var files: Int
    /// When the note was written (Unix ms), what it withdrew and why: nil where the note is
    /// not readable here (a lawyer, reporter or relay) or was never written.
    public var atMillis: UInt64?
    public var what: String?
    public var why: String?
    /// Two notes at the same place in its author's chain (a fork: a copied key) say different things.
    public var disputed = false
}

/// What `check --withdrawn` found on this node.
public struct WithdrawnCheck: Sendable, Codable, Equatable {
    /// Withdrawal ops that stand here.
    public var withdrawals: Int
    /// Ops and files they name.
    public var opsNamed: Int
    public var filesNamed: Int
    /// Named ops whose bytes this node still holds (0 once applied).
    public var opsHeld: Int
    /// Ops read here that write a case withdrawn whole, or an element withdrawn on its own, and
    /// that no withdrawal names (written after it, or unreadable to its writer): withdraw the
    /// case (or the element) again to take them. Counted on coordinators, who read the notes
    /// that say what went.
    public var opsUnnamed = 0
    /// The cases those ops show again (short ids), and the same by full id.
    public var casesReturned: [String] = []
    public var caseIDsReturned: [String] = []
    /// The elements they show again.
    public var elementsReturned: [ReturnedElement] = []
    /// Of `opsUnnamed`, those that write a case in `casesReturned`, and those that write an
    /// element in `elementsReturned` (an op may do both).
    public var opsReturningCases = 0
    public var opsReturningElements = 0
    /// Chunks of named files still held.
    public var chunksHeld: Int
    /// Cached session or parent keys that open no op held here.
    public var keysHeld: Int
    /// Every other current member, and whether it told this node (by bundle or TCP) that it
    /// holds every withdrawal: a node holds one only once it has applied it.
    public var members: [MemberConfirmation] = []
    /// Each withdrawal: who, how much, and (for coordinators) what and why.
    public var records: [WithdrawalRecord] = []
    /// A scrub whose checkpoint could not finish (another connection was reading): the store
    /// file or its log still holds the bytes it deleted. Opening the home, or checking once
    /// the other reader is gone, finishes it.
    public var scrubPending = false
    /// The epoch of the reader key this node holds (0: none), and how many older ones it keeps
    /// (retired after a withdrawal: they open what writers sealed to them before they saw the
    /// new key, and so also a copy of withdrawn ops made before the withdrawal, an old stick;
    /// ops.md section 4, "Withdrawal", limit 1). `rotationDue`: a withdrawal was applied and the
    /// key is retired at this node's next change.
    public var readerEpoch: UInt32 = 0
    public var retiredKeys = 0
    public var rotationDue = false
    /// While a key is retired: the writers that have not yet shown they hold this node's new
    /// key (by fingerprint, revoked writers whose last ops have not arrived included), so may
    /// still seal to a retired one. Destroying retired keys waits on them.
    public var retiredKeysWaitOn: [String] = []
    /// For a coordinator (a node with a reader key): whether its home holds no reader key that
    /// opens an old copy of what was withdrawn (no retired key, none due to retire, no scrub
    /// pending). What was sealed to its node id (before it announced a reader key) still opens.
    /// Nil for a lawyer or a reporter, which others seal to by node id (ops.md section 4,
    /// "Withdrawal", limit 1).
    public var oldCopiesShut: Bool? = nil
    public var clean: Bool { opsHeld == 0 && opsUnnamed == 0 && chunksHeld == 0 && keysHeld == 0 && !scrubPending }

    /// An element a later op shows again: its case (full id), collection and element id.
    public struct ReturnedElement: Sendable, Codable, Equatable, Comparable {
        public var `case`: String
        public var collection: String
        public var element: String
        /// As the CLI names it: `short-id collection/element`.
        public var name: String { "\(short) \(collection)/\(element)" }
        /// The case's short id, as `casesReturned` gives it.
        public var short: String { String(self.case.prefix(8)) }
        public static func < (a: Self, b: Self) -> Bool { (a.case, a.collection, a.element) < (b.case, b.collection, b.element) }
    }

    public struct MemberConfirmation: Sendable, Codable, Equatable {
        public var nodeId: String
        public var fingerprint: String
        public var role: String
        public var confirmed: Bool
        /// False for a reporter: it is sent membership ops and not the others' records, so its
        /// vector stops below the withdrawal and cannot show it; it confirms by running
        /// `check --withdrawn` itself.
        public var showsByVector: Bool
        /// While this node keeps a retired key, for a writer: whether it has shown it holds the
        /// new one (`retiredKeysWaitOn`); nil otherwise.
        public var holdsNewKey: Bool? = nil
    }
}

extension Node {
    /// What withdrawing a case would take with it, before anything is written: the cases
    /// (it and those merged with it), the ops that wrote them, their files.
    public struct WithdrawalPlan: Sendable {
        public let target: CaseID
        public let cases: [CaseID]
        public let names: [String]
        public let ops: [WithdrawnOp]
        public let files: [[UInt8]]
        /// Cases merged with it, which go with it.
        public var merged: [String] { zip(cases, names).filter { $0.0 != target }.map(\.1) }
    }

    public func withdrawalPlan(_ ref: String) throws(NodeError) -> WithdrawalPlan {
        let v = try view()
        let target = try mapped { try v.resolve(ref) }
        // Which cases each readable op touches; the closure of `target` over shared ops.
        var touched: [(WithdrawnOp, Set<CaseID>)] = []
        for e in try mapped({ try store.allEnvelopes() }) where e.kind == .sealed {
            guard let p = Self.payload(of: e, in: v) else { continue }
            let cases = Set(p.mutations.compactMap(\.caseID))
            if !cases.isEmpty { touched.append((WithdrawnOp(author: e.author, seq: e.seq, id: e.id), cases)) }
        }
        // A merge copies one case into another (and may write both in one op): withdrawing
        // either leaves the other holding the same facts, so they go together.
        var links: [Set<CaseID>] = touched.map(\.1).filter { $0.count > 1 }
        for (id, s) in v.cases {
            if let t = s.mergedTarget, let k = try? v.resolve(t), k != id { links.append([id, k]) }
        }
        var closure: Set<CaseID> = [target]
        var grew = true
        while grew {
            grew = false
            for cs in links where !cs.isDisjoint(with: closure) && !cs.isSubset(of: closure) {
                closure.formUnion(cs); grew = true
            }
        }
        func name(_ id: CaseID) -> String {
            let s = v.cases[id]
            return [s?.value("ref"), s?.value("title")].compactMap { $0 }.first { !$0.isEmpty } ?? id.short
        }
        let ops = touched.filter { !$0.1.isDisjoint(with: closure) }.map(\.0).sorted()
        var files: [[UInt8]] = []
        for id in closure {
            guard let s = v.cases[id] else { continue }
            for fid in s.elements("evidence") { if let b = Hex.decode(fid), b.count == EvidenceChunk.fileIDLength { files.append(b) } }
        }
        files.sort { $0.lexicographicallyPrecedes($1) }
        let cases = [target] + closure.subtracting([target]).sorted()
        return WithdrawalPlan(target: target, cases: cases, names: cases.map(name), ops: ops, files: files)
    }

    /// Withdraws a case everywhere: a membership op names every op that wrote it and every
    /// evidence file it holds; each node that receives it drops their bytes, their chunks and
    /// the keys it cached for their sessions, and keeps only stubs that hold the chains
    /// together (Protocol/ops.md section 4, "Withdrawal"). A case merged with another can only
    /// go with it: `withMerged` says the caller knows.
    public func withdraw(_ ref: String, withMerged: Bool = false, reason: String = "") throws(NodeError) -> WithdrawalReport {
        let v = try coordinatorView(), at = seenDataVersion
        try Self.checkReason(reason)
        let plan = try withdrawalPlan(ref)
        if !plan.merged.isEmpty && !withMerged {
            throw NodeError(.usage, "case \(plan.names[0]) was merged with \(plan.merged.joined(separator: ", ")): they hold the same facts, so withdrawing it withdraws them too; run again with --with-merged to withdraw all of them")
        }
        guard !plan.ops.isEmpty else { throw NodeError(.notFound, "no op of case \(plan.names[0]) is readable here") }
        // The keys of sibling sessions (another case's, derived from a parent that a withdrawn
        // op carried) must sit in the cache before that op goes: after it, nothing else opens them.
        try cacheBeforeWithdrawing(v, at: at)
        try regrantSiblings(of: plan.ops, in: v)
        let what = plan.cases.map { Self.noteName($0, in: v) }.joined(separator: ", ")
        let written = try writeWithdrawals(plan.ops, files: plan.files, cases: plan.cases, what: what, why: reason, in: v)
        return WithdrawalReport(withdrawals: written.withdrawals, cases: plan.names, ops: plan.ops.count, files: plan.files.count, note: written.note)
    }

    /// Withdraws one element of a case (a person, a source, a file) everywhere. Every op that
    /// wrote the element is withdrawn; what those ops wrote about the rest of the case, and
    /// still stands, is written again first, in a new op of this coordinator's, so the case
    /// loses the element and nothing else (its history shows those values as rewritten now).
    public func withdraw(_ ref: String, collection: String, element: String, reason: String = "") throws(NodeError) -> WithdrawalReport {
        let v = try coordinatorView(), at = seenDataVersion
        try Self.checkReason(reason)
        let plan = try withdrawalPlan(ref)
        let id = plan.target
        guard !collection.isEmpty, !element.isEmpty else { throw NodeError(.usage, "name the element as COLLECTION/ELEMENT") }
        let target = WithdrawnElement(case: id, collection: collection, element: element)
        // An element a later op wrote again without adding it (a field of it) is withdrawn too.
        guard let state = v.cases[id], target.shows(in: v) else {
            throw NodeError(.notFound, "case \(plan.names[0]) has no \(collection) element \(element)")
        }
        guard plan.merged.isEmpty else {
            throw NodeError(.usage, "case \(plan.names[0]) was merged with \(plan.merged.joined(separator: ", ")), which may hold a copy of this element: withdraw the whole case with --with-merged")
        }
        let touches = target.isWritten
        var doomed: [WithdrawnOp] = []
        var rewrite: [Mutation] = []
        for e in try mapped({ try store.allEnvelopes() }) where e.kind == .sealed {
            guard let p = Self.payload(of: e, in: v), p.mutations.contains(where: touches) else { continue }
            doomed.append(WithdrawnOp(author: e.author, seq: e.seq, id: e.id))
            for m in p.mutations where !touches(m) {
                switch m {
                case let .put(c, path, value, _) where c == id:
                    // Only what still stands: a write since superseded stays gone.
                    let reg = CaseSchema.isSecret(path) ? state.secrets[path] : state.registers[path]
                    if reg?.survivors.contains(where: { $0.op == e.id }) == true {
                        rewrite.append(.put(case: id, path: path, value: value, supersedes: []))
                    }
                case let .add(c, coll, elem) where c == id:
                    if state.sets[coll]?.contains(elem) == true { rewrite.append(m) }
                case .remove:
                    rewrite.append(m)
                default:
                    throw NodeError(.usage, "the element was written together with another case (a merge): withdraw the whole case with --with-merged",
                                    code: "withdraw.element-shared")
                }
            }
        }
        guard !doomed.isEmpty else { throw NodeError(.notFound, "no op of that element is readable here") }
        let files = collection == "evidence" ? [Hex.decode(element)].compactMap { $0 }.filter { $0.count == EvidenceChunk.fileIDLength } : []
        try cacheBeforeWithdrawing(v, at: at)
        try regrantSiblings(of: doomed, in: v)
        let what = "\(Self.noteName(id, in: v)) \(collection)/\(element)"
        let written = try writeWithdrawals(doomed.sorted(), files: files, element: target,
                                           what: what, why: reason, in: v, rewrite: rewrite)
        return WithdrawalReport(withdrawals: written.withdrawals, cases: ["\(plan.names[0]) \(collection)/\(element)"], ops: doomed.count,
                                files: files.count, note: written.note)
    }

    /// Caches every key `v` holds, or refuses the withdrawal: another process that committed
    /// since `v` was read (the data version `at`; the cache then takes nothing) may have
    /// withdrawn what `v` still holds, and would leave a sibling session unopenable here.
    private func cacheBeforeWithdrawing(_ v: ProjectView, at: Int64?) throws(NodeError) {
        guard let at, cacheKeys(CachedKeys(v), except: cachedKeys(), ifDataVersion: at) else {
            throw NodeError(.conflict, "another program changed this node's store while the withdrawal was being prepared, or the store cannot be written; nothing was withdrawn: run it again")
        }
    }

    /// The view, once this node is known to be a coordinator whose next membership op counts.
    private func coordinatorView() throws(NodeError) -> ProjectView {
        let v = try view()
        guard v.membership.isAllowed(author: nodeID.signingKey, seq: (try writer().seq) + 1, manage: true),
              v.membership.role(of: nodeID.signingKey) == .coordinator else {
            throw NodeError(.refused, "only a coordinator withdraws a case")
        }
        return v
    }

    /// Sessions of kept ops whose key only a withdrawn op carried: one a withdrawn op started
    /// (its later ops carry no key), or one derived from a parent whose keys a withdrawn op
    /// carried (a batch's other cases). Once that op goes, a reader that had not cached them
    /// could never open them again, so each current coordinator, and each lawyer a case is
    /// shared with, receives them as grants first.
    private func regrantSiblings(of doomed: [WithdrawnOp], in v: ProjectView) throws(NodeError) {
        let gone = Set(doomed.map(\.id))
        let envs = try mapped { try store.allEnvelopes() }.filter { $0.kind == .sealed }
        // A session's later ops carry no key: only its first does (or the parent it derives from).
        var carried = Set<SessionID>(), started = Set<SessionID>()
        for e in envs where gone.contains(e.id) {
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            started.insert(SessionID(author: e.author, body: b))
            if b.parentKeys != nil, let p = b.parentSlot(author: e.author) { carried.insert(p) }
        }
        var siblings = Set<SessionID>()
        for e in envs where !gone.contains(e.id) {
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            let sid = SessionID(author: e.author, body: b)
            let stranded = started.contains(sid) || b.parentSlot(author: e.author).map(carried.contains) == true
            if stranded && v.sessionKeys[sid] != nil { siblings.insert(sid) }
        }
        guard !siblings.isEmpty else { return }
        let key = grantTagKey
        for m in v.membership.current.sorted(by: { $0.node < $1.node }) where m.node != nodeID {
            var sids = Set<SessionID>()
            switch m.role {
            case .coordinator: sids = siblings
            case .lawyer:
                let hex = Hex.encode(m.node.signingKey.bytes)
                for (id, s) in v.caseSessions where v.cases[id]?.elements("sharedWith").contains(hex) == true {
                    sids.formUnion(s.intersection(siblings))
                }
            default: continue
            }
            if !sids.isEmpty { try grant(sids, to: m.node, from: v, key: key) }
        }
    }

    /// A case as its withdrawal note names it: the reference, never the title, which may
    /// carry what the withdrawal takes away.
    static func noteName(_ id: CaseID, in v: ProjectView) -> String {
        let ref = v.cases[id]?.value("ref") ?? ""
        return ref.isEmpty ? id.short : "\(ref) (\(id.short))"
    }

    static func checkReason(_ reason: String) throws(NodeError) {
        guard reason.utf8.count <= Payload.maxNoteWhy else {
            throw NodeError(.usage, "the reason is \(reason.utf8.count) bytes; at most \(Payload.maxNoteWhy) fit: shorten it")
        }
    }

    /// Signs the withdrawal ops (at most 4,096 ops and files each), the sealed note that
    /// records them for coordinators (with `cases`, the cases withdrawn whole, or `element`,
    /// the one element withdrawn) and `rewrite`
    /// (what an element's ops wrote about the rest of its case), stores them in one transaction
    /// and applies them here.
    func writeWithdrawals(_ ops: [WithdrawnOp], files: [[UInt8]], cases: [CaseID] = [], element: WithdrawnElement? = nil, what: String, why: String,
                                  in v: ProjectView, rewrite: [Mutation] = []) throws(NodeError) -> (withdrawals: [String], note: String) {
        let pid = try requireProject()
        let step = MembershipChange.maxWithdrawn
        let w = try writer()
        var envs: [Envelope] = []
        for (i, start) in stride(from: 0, to: ops.count, by: step).enumerated() {
            let f = i * step
            let filePart = f < files.count ? Array(files[f..<min(f + step, files.count)]) : []
            envs.append(w.membership(.withdraw(ops: Array(ops[start..<min(start + step, ops.count)]), files: filePart)))
        }
        // Neither the note nor any later op derives from a parent a withdrawn op carried: every
        // commit closes the writer's sessions and parents, so this batch starts its own.
        var what = what
        while what.utf8.count > Payload.maxNoteWhat { what.removeLast() }
        let note: Envelope
        var rewritten: [Envelope] = []
        do {
            let noted: [Mutation] = envs.flatMap { e -> [Mutation] in
                [.withdrawalNote(withdrawal: e.id, what: what, why: why)] + (cases.isEmpty ? [] : [.withdrawnCases(withdrawal: e.id, cases: cases)])
                    + (element.map { [.withdrawnElement(withdrawal: e.id, case: $0.case, collection: $0.collection, element: $0.element)] } ?? [])
            }
            note = try w.checkedSealed(noted,
                                       readers: coordinatorKeys(v.membership), wallMillis: Self.wallMillis()).envelope
            if !rewrite.isEmpty { rewritten = try sealed(rewrite, with: w, in: v).map(\.envelope) }
        } catch {
            activeWriter = nil
            throw NodeError(.usage, "the withdrawal cannot be sealed (\(error)); nothing was withdrawn")
        }
        // The ingest applies the withdrawals as they land (a membership op is among them).
        try commit(envs + [note] + rewritten, project: pid)
        // The withdrawal stands whatever happens next; the key that opened it is retired now,
        // or at this node's next change if that fails.
        do { try announceReaderKeyIfDue() } catch {
            warn?("the withdrawal is recorded; this node's reader key was not changed yet (\(error.message)): it changes with its next change")
        }
        return (envs.map { Hex.encode($0.id.bytes) }, Hex.encode(note.id.bytes))
    }

    /// Every withdrawal that stands here, with its note where this node can read it. A node
    /// writes the note as the op after its withdrawal ops, so only those ops are opened.
    public func withdrawalRecords() throws(NodeError) -> [WithdrawalRecord] {
        let m = try storedMembership()
        guard !m.withdrawals.isEmpty else { return [] }
        let withdrawals = try mapped { try store.envelopes(ids: Array(m.withdrawals.keys)) }
        return records(m, withdrawals, try countedNotes(m, withdrawals))
    }

    func records(_ m: Membership, _ withdrawals: [Envelope], _ notes: [OpID: [CountedNote]]) -> [WithdrawalRecord] {
        withdrawals.map { e in
            var files = 0
            if case let .withdraw(_, f)? = try? MembershipChange(decoding: e.body) { files = f.count }
            let found = (notes[e.id] ?? []).sorted { $0.op < $1.op }
            let n = found.first
            return WithdrawalRecord(withdrawal: Hex.encode(e.id.bytes), by: NodeID.fingerprint(of: e.author),
                                    ops: m.withdrawals[e.id]?.count ?? 0, files: files, atMillis: n?.at, what: n?.what, why: n?.why,
                                    disputed: found.contains { $0.what != n?.what || $0.why != n?.why || $0.cases != n?.cases || $0.elements != n?.elements })
        }.sorted { ($0.atMillis ?? 0, $0.withdrawal) < ($1.atMillis ?? 0, $1.withdrawal) }
    }

    /// One note as a coordinator reads it: the op, its time, its words, and the cases the
    /// withdrawal took whole or the element it took.
    struct CountedNote {
        var op: OpID
        var at: UInt64
        var what: String
        var why: String
        var cases: [CaseID]
        var elements: [WithdrawnElement] = []
    }

    /// The notes that count for each of `withdrawals`, on a coordinator (empty elsewhere): only
    /// the withdrawal's own author speaks for it, in an op right after its run of withdrawals.
    func countedNotes(_ m: Membership, _ withdrawals: [Envelope]) throws(NodeError) -> [OpID: [CountedNote]] {
        guard !withdrawals.isEmpty, m.role(of: nodeID.signingKey) == .coordinator else { return [:] }
        func place(_ author: SigningPublicKey, _ seq: UInt64) -> [UInt8] { author.bytes + Array(String(seq).utf8) }
        let byID = Dictionary(withdrawals.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let places = Set(withdrawals.map { place($0.author, $0.seq) })
        let next = Set(withdrawals.map { place($0.author, $0.seq + 1) })
        var notes: [OpID: [CountedNote]] = [:]
        let v = try view()
        for e in try mapped({ try store.allEnvelopes() }) where e.kind == .sealed && next.contains(place(e.author, e.seq)) {
            guard let p = Self.payload(of: e, in: v) else { continue }
            var inOp: [OpID: CountedNote] = [:]
            var cases: [OpID: [CaseID]] = [:]
            var elements: [OpID: [WithdrawnElement]] = [:]
            for m in p.mutations {
                switch m {
                case let .withdrawalNote(id, what, why): inOp[id] = CountedNote(op: e.id, at: p.clock >> 16, what: what, why: why, cases: [])
                case let .withdrawnCases(id, cs): cases[id, default: []] += cs
                case let .withdrawnElement(id, c, coll, elem):
                    elements[id, default: []].append(WithdrawnElement(case: c, collection: coll, element: elem))
                default: break
                }
            }
            for (id, var note) in inOp {
                guard let w = byID[id], w.author == e.author else { continue }
                guard w.seq < e.seq, (w.seq + 1..<e.seq).allSatisfy({ places.contains(place(e.author, $0)) }) else { continue }
                note.cases = cases[id] ?? []
                note.elements = elements[id] ?? []
                notes[id, default: []].append(note)
            }
        }
        return notes
    }

    /// Carries out every withdrawal that stands and is not yet applied here: drops the named
    /// ops' bytes (keeping stubs), the named files' chunks, the cached keys of their sessions
    /// and parents, and the view snapshot, all in one scrubbed transaction. Returns the ops
    /// and chunks dropped.
    ///
    /// Stubs whose every withdrawal is lifted are dropped first (`liftedStubs`): those ops then
    /// count as missing, so the next exchange brings them back from any node, or any old
    /// stick, that kept them (ops.md section 4, "Withdrawal", limit 2).
    @discardableResult
    func applyWithdrawals() throws(NodeError) -> (ops: Int, chunks: Int) {
        beforeApplyingWithdrawalsForTests?()
        // Read first: membership ops that land meanwhile set a new mark, which this run keeps.
        let mark = try mapped { try store.membershipUnapplied() }
        func done() { if let mark { try? store.clearMembershipUnapplied(mark) } }
        let m = try storedMembership()
        let lifted = try liftedStubs(m)
        // A writer kept open would pass over the lifted stubs (the commit's check refuses that
        // as a lost race; a membership op is not sealed again, so start afresh here).
        if !lifted.isEmpty { try liftStubs(lifted, m); activeWriter = nil }
        guard !m.withdrawn.isEmpty || !m.withdrawnFiles.isEmpty else { done(); return (0, 0) }
        let stubbed = try mapped { try store.withdrawnIDs() }
        let todo = m.withdrawn.values.filter { !stubbed.contains($0.id) }.sorted()
        let heldFiles = Set(try mapped { try store.chunkSummaries() }.map(\.fid))
        let files = m.withdrawnFiles.filter { heldFiles.contains($0) }.sorted { $0.lexicographicallyPrecedes($1) }
        guard !todo.isEmpty || !files.isEmpty else { done(); return (0, 0) }
        let doomed = try mapped { try store.envelopes(ids: todo.map(\.id)) }.filter { $0.kind == .sealed }
        let tags = try withdrawnKeyTags(doomed)
        // Whatever this node held of it (stubs alone, too), its reader key could open an old copy
        // of what was named: a coordinator retires the key at its next change (a write-only one
        // too: others seal to it like to any coordinator).
        let retire = m.members[nodeID.signingKey].map { $0.role == .coordinator && !$0.isRevoked } == true
            || replacesSelfKey(m, doomed: doomed, named: !todo.isEmpty)
        let result: (Int, Int)
        do {
            result = try store.scrubbing {
                let n = try store.withdraw(todo)
                let c = try store.dropFiles(files)
                try store.forgetSessionKeys(tags: tags)
                try store.deleteSettings(prefix: Self.snapshotPrefix)
                if retire { try store.setSetting(Self.readerRetireDueSetting, Random.bytes(16)) }
                if let mark { try store.clearMembershipUnapplied(mark) }
                return (n, c)
            }
        } catch {
            invalidateView()
            throw NodeError.from(error)
        }
        if retire { readerKeyChecked = false }
        invalidateView()
        return result
    }

    /// Stubs that no withdrawal holds any more. A withdrawal is lifted only when it is shown
    /// void (`shownVoid`): written after the last genuine op its author's revocation names (a
    /// seized key's), or by someone whose every admission as coordinator is void the same way
    /// (a seized key's sockpuppet). A withdrawal that merely does not stand here keeps its
    /// stubs: a revoked author's chain can have gaps on this node (a reporter holds only
    /// others' membership ops; withdrawals stub ops), which cuts its genuine ops and the
    /// admissions they made short, and lifting would bring back what an honest coordinator
    /// withdrew.
    private func liftedStubs(_ m: Membership) throws(NodeError) -> [OpID] {
        let stubbed = try mapped { try store.withdrawnIDs() }
        guard !stubbed.isEmpty else { return [] }
        var withdrawals: [(author: SigningPublicKey, seq: UInt64, ops: [WithdrawnOp])] = []
        var coordinatorAdds: [SigningPublicKey: [(author: SigningPublicKey, seq: UInt64)]] = [:]
        for e in try mapped({ try store.membershipEnvelopes() }) {
            switch try? MembershipChange(decoding: e.body) {
            case let .withdraw(ops, _)?: withdrawals.append((e.author, e.seq, ops))
            case let .add(member, .coordinator)?: coordinatorAdds[member.signingKey, default: []].append((e.author, e.seq))
            default: break
            }
        }
        var held = Set<OpID>()
        for w in withdrawals where !Self.shownVoid(author: w.author, seq: w.seq, m, coordinatorAdds, visiting: []) {
            for o in w.ops { held.insert(o.id) }
        }
        return stubbed.subtracting(held).sorted()
    }

    /// Whether an op by `author` at `seq` is shown not to count as a coordinator's, by seqs
    /// alone (never by which ops this node happens to hold): its author is a coordinator
    /// revoked below `seq`, or is not one here and every add that made it one is shown void.
    static func shownVoid(author: SigningPublicKey, seq: UInt64, _ m: Membership,
                          _ adds: [SigningPublicKey: [(author: SigningPublicKey, seq: UInt64)]],
                          visiting: Set<SigningPublicKey>) -> Bool {
        if let member = m.members[author], member.role == .coordinator {
            return member.revokedAfter.map { seq > $0 } ?? false
        }
        if author == m.founder { return false }
        guard !visiting.contains(author) else { return false }
        return (adds[author] ?? []).allSatisfy {
            shownVoid(author: $0.author, seq: $0.seq, m, adds, visiting: visiting.union([author]))
        }
    }

    /// Drops the stubs and owes every current member a bundle: the mailbox then writes the
    /// vector that shows the loss, and the ledger on the other side replaces its row with it.
    private func liftStubs(_ ids: [OpID], _ m: Membership) throws(NodeError) {
        let owed = try mapped { try store.peers() }.map(\.node).filter { $0 != nodeID && m.isCurrentMember($0) }
        try mapped { try store.unstub(ids, owing: owed) }
    }

    /// Cache tags of the sessions (and parents) the doomed ops use, when no op kept uses them.
    /// A session shared with an op that stays (ops outside any case, sealed together) keeps its
    /// key, since that op must still open.
    private func withdrawnKeyTags(_ doomed: [Envelope]) throws(NodeError) -> [[UInt8]] {
        guard !doomed.isEmpty else { return [] }
        let gone = Set(doomed.map(\.id))
        var sessions = Set<SessionID>(), parents = Set<SessionID>()
        for e in doomed {
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            sessions.insert(SessionID(author: e.author, body: b))
            if let p = b.parentSlot(author: e.author) { parents.insert(p) }
        }
        // A parent's key derives only sessions; siblings' own keys are cached (`withdraw` and
        // every view build cache them), so the parent's row can go whoever else used it.
        for e in try mapped({ try store.allEnvelopes() }) where e.kind == .sealed && !gone.contains(e.id) {
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            sessions.remove(SessionID(author: e.author, body: b))
        }
        return cacheTags(sessions: sessions, parents: parents)
    }

    /// What this node still holds of withdrawn content (`check --withdrawn`): the named ops'
    /// bytes, the named files' chunks, and cached keys that open no op held here (what a
    /// withdrawn session's key, or the parent that derived it, leaves behind if not dropped).
    /// It applies nothing: a check that repaired first would hide a node that failed to apply.
    /// The one thing it writes is the end of a scrub another reader held up (a checkpoint).
    public func checkWithdrawn() throws(NodeError) -> WithdrawnCheck {
        finishPendingScrub()
        let m = try storedMembership()
        let ids = Set(m.withdrawn.keys)
        var heldOps = 0
        var sessions = Set<SessionID>(), carried = Set<SessionID>()
        for e in try mapped({ try store.allEnvelopes() }) where e.kind == .sealed {
            if ids.contains(e.id) { heldOps += 1 }
            guard let b = try? SealedBody(decoding: e.body) else { continue }
            sessions.insert(SessionID(author: e.author, body: b))
            if b.parentKeys != nil, let p = b.parentSlot(author: e.author) { carried.insert(p) }
        }
        // The withdrawal ops and their notes, read once for the records and the unnamed ops.
        let withdrawals = try mapped { try store.envelopes(ids: Array(m.withdrawals.keys)) }
        let notes = try countedNotes(m, withdrawals)
        let unnamed = try opsUnnamed(m, notes)
        let cached = cachedKeys()
        let orphans = cached.sessions.keys.filter { !sessions.contains($0) }.count + cached.parents.keys.filter { !carried.contains($0) }.count
        let chunks = try mapped { try store.chunkSummaries() }.filter { m.withdrawnFiles.contains($0.fid) }.reduce(0) { $0 + $1.present }
        // A peer confirms by the vector it last sent: it covers every withdrawal op.
        let acked = Dictionary(try mapped { try store.peers() }.map { ($0.node.signingKey, $0.acked) }, uniquingKeysWith: { a, _ in a })
        let retiredCount = try retiredReaderKeys().count
        let waiting = try writersWaitedOn(m)
        let waitingKeys = Set(waiting.map(\.node.signingKey))
        let due = try mapped { try store.setting(Self.readerRetireDueSetting) } != nil
        let scrubPending = try mapped { try store.scrubPending() }
        let shut: Bool? = ((try? storedReaderKey()) ?? nil) == nil ? nil : retiredCount == 0 && !due && !scrubPending
        let members = m.current.filter { $0.node != nodeID }.sorted { $0.node < $1.node }.map { member in
            WithdrawnCheck.MemberConfirmation(
                nodeId: member.node.description, fingerprint: member.node.fingerprint, role: member.role.rawValue,
                confirmed: !withdrawals.isEmpty && withdrawals.allSatisfy { (acked[member.node.signingKey]?[$0.author] ?? 0) >= $0.seq },
                showsByVector: member.role != .reporter,
                holdsNewKey: retiredCount > 0 && member.role.canWrite ? !waitingKeys.contains(member.node.signingKey) : nil)
        }
        return WithdrawnCheck(withdrawals: m.withdrawals.count, opsNamed: ids.count, filesNamed: m.withdrawnFiles.count,
                              opsHeld: heldOps, opsUnnamed: unnamed.ops, casesReturned: unnamed.cases.map(\.short),
                              caseIDsReturned: unnamed.cases.map(\.description), elementsReturned: unnamed.elements,
                              opsReturningCases: unnamed.caseOps, opsReturningElements: unnamed.elementOps, chunksHeld: chunks, keysHeld: orphans, members: members,
                              records: records(m, withdrawals, notes), scrubPending: scrubPending,
                              readerEpoch: (try? storedReaderKey())??.epoch ?? 0, retiredKeys: retiredCount,
                              rotationDue: due
                                  && m.members[nodeID.signingKey].map { $0.role == .coordinator && !$0.isRevoked } == true,
                              retiredKeysWaitOn: waiting.map(\.node.fingerprint),
                              oldCopiesShut: shut)
    }

    /// Ops this coordinator reads that write a case a standing withdrawal took whole, or an
    /// element one took (by its note's case ids and element), and that no withdrawal names:
    /// written after it (an offline reporter's edit), or unreadable to its writer. Each shows
    /// the case, or the element, again until withdrawn in turn.
    ///
    /// A case counts only where this view shows it, and an element only where the view holds
    /// anything of it (an add, a field), so withdrawing it again names these ops; a list counts
    /// only as far as every counted note of its withdrawal agrees (a forked note, a seized
    /// key's, adds nothing). Returns the count, the cases by short id, and the elements.
    func opsUnnamed(_ m: Membership, _ counted: [OpID: [CountedNote]]) throws(NodeError) -> (ops: Int, cases: [CaseID], elements: [WithdrawnCheck.ReturnedElement], caseOps: Int, elementOps: Int) {
        var listed = Set<CaseID>(), listedElements = Set<WithdrawnElement>()
        for notes in counted.values {
            guard let first = notes.first else { continue }
            var agreed = Set(first.cases), agreedElements = Set(first.elements)
            for n in notes.dropFirst() { agreed.formIntersection(n.cases); agreedElements.formIntersection(n.elements) }
            listed.formUnion(agreed)
            listedElements.formUnion(agreedElements)
        }
        guard !listed.isEmpty || !listedElements.isEmpty else { return (0, [], [], 0, 0) }
        let v = try view()
        let gone = listed.filter { v.cases[$0] != nil }
        // An element of a case that is back whole goes with the case: one withdrawal names both.
        let goneElements = listedElements.filter { $0.shows(in: v) && !gone.contains($0.case) }
        guard !gone.isEmpty || !goneElements.isEmpty else { return (0, [], [], 0, 0) }
        var n = 0, caseOps = 0, elementOps = 0, hit = Set<CaseID>(), hitElements = Set<WithdrawnElement>()
        for e in try mapped({ try store.allEnvelopes() }) where e.kind == .sealed && m.withdrawn[e.id] == nil {
            guard let p = Self.payload(of: e, in: v) else { continue }
            let cs = p.mutations.compactMap(\.caseID).filter(gone.contains)
            let es = goneElements.filter { el in p.mutations.contains(where: el.isWritten) }
            if !cs.isEmpty { caseOps += 1 }
            if !es.isEmpty { elementOps += 1 }
            if !cs.isEmpty || !es.isEmpty { n += 1; hit.formUnion(cs); hitElements.formUnion(es) }
        }
        return (n, hit.sorted { $0.short < $1.short }, hitElements.map(\.returned).sorted(), caseOps, elementOps)
    }

    /// Carries out withdrawals (and lifts) whose membership ops landed in an import that did
    /// not get to apply them (`membership-unapplied`, store.md): best effort, at open and after
    /// an import that brought no membership op; a failure is said and tried again next time.
    func applyUnappliedWithdrawals() {
        guard (try? store.membershipUnapplied()) != nil else { return }
        do { try applyWithdrawals() } catch { warn?("a withdrawal that reached this node is not yet carried out (\(error.message)); it is tried again at the next import or start") }
    }

    /// Finishes a scrub whose checkpoint another reader held up (ops.md section 4,
    /// "Withdrawal"): at open, after an import or write, and when asked whether the home is
    /// clean. It waits briefly: a reader still there leaves the mark for the next try.
    func finishPendingScrub() {
        if (try? store.scrubPending()) == true { _ = try? store.finishScrub(waitMillis: 200) }
    }

    /// The payload of a sealed op this view holds the key for.
    static func payload(of e: Envelope, in v: ProjectView) -> Payload? {
        guard let body = try? SealedBody(decoding: e.body) else { return nil }
        var key = v.sessionKeys[SessionID(author: e.author, body: body)]
        if key == nil, let slot = body.parentSlot(author: e.author), let p = v.parentKeys[slot] {
            key = body.derivedKey(parent: p, author: e.author)
        }
        guard let key, let plain = try? body.open(with: key, header: e.header) else { return nil }
        return try? Payload(decoding: plain)
    }
}

/// One element of a case that a withdrawal took on its own (`case withdraw --element`).
struct WithdrawnElement: Hashable, Sendable {
    var `case`: CaseID
    var collection: String
    var element: String

    /// Whether `m` writes this element: a put of one of its fields, its add or its remove.
    func isWritten(by m: Mutation) -> Bool {
        switch m {
        case let .put(c, path, _, _): c == self.case && path.collection == collection && path.element == element
        case let .add(c, coll, e), let .remove(c, coll, e, _): c == self.case && coll == collection && e == element
        case .projectName, .grant, .withdrawalNote, .withdrawnCases, .withdrawnElement: false
        }
    }

    /// Whether the view holds anything of the element: an add, or a field.
    func shows(in v: ProjectView) -> Bool { v.cases[self.case]?.holds(collection, element) == true }

    /// As the check reports it.
    var returned: WithdrawnCheck.ReturnedElement { .init(case: self.case.description, collection: collection, element: element) }
}

extension Mutation {
    /// The case a mutation writes, if any.
    var caseID: CaseID? {
        switch self {
        case let .put(c, _, _, _): c
        case let .add(c, _, _): c
        case let .remove(c, _, _, _): c
        case .projectName, .grant, .withdrawalNote, .withdrawnCases, .withdrawnElement: nil
        }
    }
}
