import SandyqCrypto

/// Appends ops to one author's chain. Not thread-safe: one writer per node at a time.
public final class OpWriter: @unchecked Sendable {
    public let keys: SigningKeyPair
    public let project: ProjectID
    public private(set) var seq: UInt64
    public private(set) var prev: OpID
    public private(set) var clock: HybridClock
    /// One open session per scope (a case, or the project) and reader set: a grant for one
    /// case's sessions then reveals that case and nothing else.
    private var sessions: [[UInt8]: SealingSession] = [:]
    /// One parent per reader set: the sessions of a batch derive their keys from it, so a
    /// reader opens one sealed box per batch and reader set instead of one per case.
    private var parents: [[BoxPublicKey]: SealingParent] = [:]

    /// Seqs of this chain above `seq` already taken by a withdrawal's stub: the chain passes over
    /// them, linking to the stub, as every node holding that stub expects.
    private var taken: [UInt64: OpID]
    /// The stubs this writer passed over, which its ops now link across.
    public private(set) var passed: [UInt64: OpID] = [:]

    /// `seq` and `prev` name the author's last op (0 and zero for a new chain).
    public init(keys: SigningKeyPair, project: ProjectID, seq: UInt64, prev: OpID, clock: HybridClock, taken: [UInt64: OpID] = [:]) {
        self.keys = keys
        self.project = project
        self.seq = seq
        self.prev = prev
        self.clock = clock
        self.taken = taken
    }

    /// Forgets the open sessions and parents, so the next op starts new ones and carries their
    /// keys itself: the op that carried a parent's keys may be about to be withdrawn.
    public func closeSessions() {
        sessions = [:]
        parents = [:]
    }

    private func append(kind: Envelope.Kind, body: (_ header: [UInt8]) -> [UInt8]) -> Envelope {
        while let stub = taken.removeValue(forKey: seq + 1) {
            seq += 1
            prev = stub
            passed[seq] = stub
        }
        let next = seq + 1
        let header = Envelope.header(kind: kind, project: project, author: keys.publicKey, seq: next, prev: prev)
        let env = Envelope.sign(kind: kind, project: project, seq: next, prev: prev, body: body(header), with: keys)
        seq = next
        prev = env.id
        return env
    }

    public func membership(_ change: MembershipChange) -> Envelope {
        append(kind: .membership) { _ in change.encoded() }
    }

    private func newSession(readers: [BoxPublicKey]) -> SealingSession {
        if parents[readers].map({ $0.derived >= SealingParent.maxSessions }) ?? true { parents[readers] = SealingParent(readers: readers) }
        return SealingSession(parent: parents[readers]!, author: keys.publicKey)
    }

    /// Seals `mutations` to `readers`, reusing the content key while the readers stay the same.
    public func sealed(_ mutations: [Mutation], readers: [BoxPublicKey], wallMillis: UInt64, scope: [UInt8] = []) -> Envelope {
        sealedWithPayload(mutations, readers: readers, wallMillis: wallMillis, scope: scope).envelope
    }

    /// Seals like `sealedWithPayload`, but refuses, before anything is signed, a body over
    /// `limit` (never more than the 1 MiB a reader accepts) or more readers than a reader
    /// decodes: a change built from input (a case file, a peer's sessions) is an error, not a trap.
    public func checkedSealed(_ mutations: [Mutation], readers: [BoxPublicKey], wallMillis: UInt64, scope: [UInt8] = [],
                              limit: Int = Envelope.maxBodyLength) throws(CoreError) -> (envelope: Envelope, payload: Payload, session: SealingSession) {
        let sorted = Self.readerSet(readers)
        guard !sorted.isEmpty, sorted.count <= SealedBody.maxReaders else {
            throw CoreError.malformed("\(sorted.count) readers; an op is sealed to 1 to \(SealedBody.maxReaders)")
        }
        guard mutations.count <= Payload.maxMutations else {
            throw CoreError.malformed("\(mutations.count) changes in one op; the limit is \(Payload.maxMutations)")
        }
        let payload = Payload(clock: clock.tick(wallMillis: wallMillis), mutations: mutations)
        let plain = payload.encoded()
        let length = SealingSession.bodyLength(plaintext: plain.count, readers: sorted.count)
        guard length <= min(limit, Envelope.maxBodyLength) else {
            throw CoreError.malformed("op body of \(length) bytes exceeds the \(min(limit, Envelope.maxBodyLength))-byte limit")
        }
        // What a reader cannot decode would be lost to it: refuse it here, with the reason.
        try payload.checkDecodable()
        if sessions[scope]?.readers != sorted { sessions[scope] = newSession(readers: sorted) }
        guard let s = sessions[scope] else { throw CoreError.malformed("no sealing session") }
        return (append(kind: .sealed) { header in s.seal(plain, header: header) }, payload, s)
    }

    /// The readers a session is sealed to, as the session itself keeps them (no key of small
    /// order: Protocol/ops.md), so that a session is reused while they stay the same.
    static func readerSet(_ readers: [BoxPublicKey]) -> [BoxPublicKey] { Array(Set(readers.filter(\.opensSealedBoxes))).sorted() }

    /// The same, also returning the payload, so the writer can apply it to its view at once.
    public func sealedWithPayload(_ mutations: [Mutation], readers: [BoxPublicKey], wallMillis: UInt64,
                                  scope: [UInt8] = []) -> (envelope: Envelope, payload: Payload, session: SealingSession) {
        let sorted = Self.readerSet(readers)
        if sessions[scope]?.readers != sorted { sessions[scope] = newSession(readers: sorted) }
        let payload = Payload(clock: clock.tick(wallMillis: wallMillis), mutations: mutations)
        let s = sessions[scope]!
        return (append(kind: .sealed) { header in s.seal(payload.encoded(), header: header) }, payload, s)
    }
}
