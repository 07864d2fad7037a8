import Testing
import SandyqCore
import SandyqCrypto

/// A node whose wall clock is skewed, writing as `Node.write` does: a fresh writer per command
/// whose hybrid clock resumes from the view's greatest clock (`HybridClock.resuming`), and the
/// wall clock plus `skew`.
final class SkewedNode {
    let signing = SigningKeyPair()
    let box = BoxKeyPair()
    let skew: Int64
    var log: [Envelope] = []
    var seq: UInt64 = 0
    var prev: OpID = .zero

    init(skew: Int64) { self.skew = skew }

    var node: NodeID { NodeID(signingKey: signing.publicKey, boxKey: box.publicKey) }

    func view(_ project: ProjectID) -> ProjectView { ProjectView(project: project, envelopes: log, reader: box) }

    func writer(_ project: ProjectID, wallMillis: UInt64) -> OpWriter {
        OpWriter(keys: signing, project: project, seq: seq, prev: prev,
                 clock: HybridClock.resuming(after: view(project).maxClock, wallMillis: wallMillis))
    }

    @discardableResult
    func append(_ e: Envelope) -> Envelope {
        seq = e.seq; prev = e.id; log.append(e)
        return e
    }

    /// Puts `value` in the case's status, superseding every value this node sees there (an edit).
    @discardableResult
    func edit(_ project: ProjectID, _ c: CaseID, _ value: String, realMillis: UInt64, readers: [BoxPublicKey]) -> Envelope {
        let seen = view(project).cases[c]?.register(FieldPath(field: "status"))?.survivors.map(\.op) ?? []
        let wall = UInt64(Int64(realMillis) + skew)
        let w = writer(project, wallMillis: wall)
        return append(w.sealed([.put(case: c, path: FieldPath(field: "status"), value: value, supersedes: seen)],
                               readers: readers, wallMillis: wall))
    }

    func receive(_ from: SkewedNode) {
        let have = Set(log.map(\.id))
        log += from.log.filter { !have.contains($0.id) }
    }
}

/// Clock skew: a node ten years ahead and one a year behind, against one with the true time.
/// Causality is carried by `supersedes`, so an edit made after seeing a skewed node's write
/// beats it whatever the clocks say. Concurrent writes are a conflict whose default shown
/// value is the greatest op id, so no clock decides it.
@Suite struct ClockSkewTests {
    static let day: Int64 = 86_400_000
    static let t0: UInt64 = 1_767_225_600_000   // 2026-01-01

    struct World {
        let honest = SkewedNode(skew: 0)
        let ahead = SkewedNode(skew: 3650 * ClockSkewTests.day)
        let behind = SkewedNode(skew: -365 * ClockSkewTests.day)
        let project: ProjectID
        let c = try! CaseID(bytes: Random.bytes(16))

        init() {
            let nonce = Random.bytes(16)
            project = ProjectID.derive(founder: honest.node, nonce: nonce)
            let w = honest.writer(project, wallMillis: ClockSkewTests.t0)
            honest.append(w.membership(.genesis(founder: honest.node, nonce: nonce)))
            honest.append(w.membership(.add(member: ahead.node, role: .coordinator)))
            honest.append(w.membership(.add(member: behind.node, role: .coordinator)))
            syncAll()
        }

        var all: [SkewedNode] { [honest, ahead, behind] }
        var readers: [BoxPublicKey] { all.map(\.box.publicKey) }

        func syncAll() {
            for a in all { for b in all where a !== b { a.receive(b) } }
        }

        func status(_ n: SkewedNode) -> (value: String?, conflict: Bool) {
            let r = n.view(project).cases[c]?.register(FieldPath(field: "status"))
            return (r?.winner?.value, r?.isConflict ?? false)
        }
    }

    @Test func anEditAfterSeeingASkewedWriteWins() {
        let w = World()
        var now = Self.t0
        w.ahead.edit(w.project, w.c, "detained", realMillis: now, readers: w.readers)
        w.syncAll()
        now += 60_000
        w.honest.edit(w.project, w.c, "released", realMillis: now, readers: w.readers)
        w.syncAll()
        for n in w.all { #expect(w.status(n) == ("released", false)) }
        now += 60_000
        w.behind.edit(w.project, w.c, "missing", realMillis: now, readers: w.readers)
        w.syncAll()
        for n in w.all { #expect(w.status(n) == ("missing", false)) }
        // And the skewed node's next edit, made after seeing the others, wins in turn.
        now += 60_000
        w.ahead.edit(w.project, w.c, "deceased", realMillis: now, readers: w.readers)
        w.syncAll()
        for n in w.all { #expect(w.status(n) == ("deceased", false)) }
    }

    @Test func concurrentWritesShowAsAConflictThatAnyNodeResolves() {
        let w = World()
        let x = w.ahead.edit(w.project, w.c, "detained", realMillis: Self.t0, readers: w.readers)
        let y = w.behind.edit(w.project, w.c, "house_arrest", realMillis: Self.t0 + 1000, readers: w.readers)
        w.syncAll()
        for n in w.all {
            let s = w.status(n)
            #expect(s.conflict, "two concurrent writes must both be shown")
            #expect(s.value == (x.id > y.id ? "detained" : "house_arrest"), "the default shown is the greatest op id, on every node")
        }
        w.behind.edit(w.project, w.c, "released", realMillis: Self.t0 + 2000, readers: w.readers)
        w.syncAll()
        for n in w.all { #expect(w.status(n) == ("released", false)) }
    }

    /// After everyone has seen the skewed node's ops, concurrent writes keep coming, the honest
    /// node's later in real time each round. The skewed clock must decide none of them, and
    /// must not drag the honest node's dates years ahead.
    @Test func aSkewedNodeDoesNotWinEveryLaterConflict() {
        let w = World()
        var now = Self.t0
        w.ahead.edit(w.project, w.c, "detained", realMillis: now, readers: w.readers)
        w.syncAll()
        var stampedAhead = 0
        for round in 0..<10 {
            now += 3_600_000
            let theirs = w.ahead.edit(w.project, w.c, "ahead \(round)", realMillis: now, readers: w.readers)
            let mine = w.honest.edit(w.project, w.c, "honest \(round)", realMillis: now + 600_000, readers: w.readers)
            w.syncAll()
            for n in w.all {
                let s = w.status(n)
                #expect(s.conflict, "round \(round): concurrent writes are a conflict")
                // Clocks decide nothing: the greater op id is shown, whichever node made it.
                #expect(s.value == (mine.id > theirs.id ? "honest \(round)" : "ahead \(round)"), "round \(round)")
            }
            if let p = w.honest.view(w.project).cases[w.c]?.register(FieldPath(field: "status"))?.writes[mine.id],
               HybridClock.millis(p.clock) > now + 600_000 + UInt64(Self.day) { stampedAhead += 1 }
            // Settle it, as a person would, before the next round.
            w.honest.edit(w.project, w.c, "settled \(round)", realMillis: now + 1_200_000, readers: w.readers)
            w.syncAll()
        }
        #expect(stampedAhead == 0, "\(stampedAhead) of the honest node's 10 writes are stamped more than a day ahead of real time")
    }
}
