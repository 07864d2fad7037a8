import Testing
import SandyqCore
import SandyqCrypto

/// What a receiving node concludes about one op, through the real decoders, in the order of
/// Protocol/ops.md ("Checking a vector"): envelope layout, project, signature, then the body.
struct OpOutcome {
    var expect: OpVectorFile.Expect
    var why: String = ""
    var envelope: Envelope?
    var change: MembershipChange?
    var plaintext: [UInt8]?
    var payload: Payload?
}

/// A node's view of incoming ops: its project, its box key, and the session keys it has cached
/// per (author, session id). Feed ops in chain order, as a node reads them.
struct OpReader {
    let project: ProjectID
    let keys: BoxKeyPair?
    /// The first op of a session that carries entries decides, even when none opens for us.
    private var sessions: [SessionID: SymmetricKey?] = [:]
    /// Parent keys by (author, parent id): the first flag-2 op whose entries open decides.
    private var parents: [SessionID: SymmetricKey] = [:]

    init(project: ProjectID, keys: BoxKeyPair?) {
        self.project = project
        self.keys = keys
    }

    static func refused(_ e: CoreError, _ out: OpOutcome = OpOutcome(expect: .ok)) -> OpOutcome {
        var out = out
        guard let cls = OpVectorFile.Expect(rawValue: e.failureClass ?? e.code) else {
            // CoreError.notAllowed has no class in the closed list; fail loudly if a decoder throws it.
            Issue.record("CoreError \(e.code) is not in the closed list of failure classes")
            out.expect = .malformed
            return out
        }
        out.expect = cls
        out.why = e.description
        return out
    }

    mutating func accept(_ bytes: [UInt8]) -> OpOutcome {
        let env: Envelope
        do { env = try Envelope(decoding: bytes) } catch { return Self.refused(error) }
        var out = OpOutcome(expect: .ok, envelope: env)
        guard env.project == project else { return Self.refused(.wrongProject, out) }
        do { try env.verifySignature() } catch { return Self.refused(error, out) }

        switch env.kind {
        case .membership:
            do { out.change = try MembershipChange(decoding: env.body) } catch { return Self.refused(error, out) }
            if case let .genesis(founder, nonce)? = out.change,
               ProjectID.derive(founder: founder, nonce: nonce) != env.project {
                out.why = "genesis nonce does not derive the project"
                return Self.refused(.wrongProject, out)
            }
            return out
        case .sealed:
            let body: SealedBody
            do { body = try SealedBody(decoding: env.body) } catch { return Self.refused(error, out) }
            let slot = SessionID(author: env.author, body: body)
            if let parent = body.parentSlot(author: env.author) {
                if body.parentKeys != nil, parents[parent] == nil, let k = keys.flatMap({ body.openParentKey(with: $0) }) { parents[parent] = k }
                if (sessions[slot] ?? nil) == nil, let p = parents[parent] { sessions[slot] = body.derivedKey(parent: p, author: env.author) }
            } else if body.sealedKeys != nil, sessions[slot] == nil {
                sessions[slot] = keys.flatMap { body.openSessionKey(with: $0) }
            }
            guard let key = sessions[slot] ?? nil else {
                out.expect = .notForMe
                out.why = "no key entry of this session opens for this reader"
                return out
            }
            do { out.plaintext = try body.open(with: key, header: env.header) } catch { return Self.refused(error, out) }
            do { out.payload = try Payload(decoding: out.plaintext!) } catch { return Self.refused(error, out) }
            return out
        }
    }
}

@Suite struct OpVectorCatalogTests {
    @Test(arguments: OpVectorFile.allNames)
    func fileParses(_ name: String) throws {
        let v = try OpVectorFile(named: name)
        for key in OpVectorFile.requiredKeys + OpVectorFile.optionalKeys where v.has(key) && !["area", "expect", "comment", "counts"].contains(key) {
            _ = try v.bytes(key)
        }
        #expect(try v.bytes("project").count == ProjectID.length)
    }

    @Test func requiredVectorsArePresent() throws {
        let required = [
            "membership_genesis.txt", "membership_add.txt", "sealed_session_first.txt",
            "sealed_session_followup.txt", "payload_every_mutation.txt",
            "envelope_flipped_signature_bit.txt", "envelope_flipped_body_bit.txt", "envelope_truncated.txt",
            "envelope_trailing_byte.txt", "envelope_version_2.txt", "envelope_unknown_kind.txt",
            "envelope_seq_0.txt", "envelope_seq1_nonzero_prev.txt", "envelope_body_over_1mib.txt",
            "sealed_not_for_me.txt", "payload_unknown_mutation.txt", "payload_nonminimal_varint.txt",
            "payload_invalid_utf8.txt", "membership_unknown_role.txt", "membership_genesis_wrong_nonce.txt",
            "envelope_other_project.txt", "payload_withdrawal_note.txt",
        ]
        let present = Set(OpVectorFile.allNames)
        for name in required {
            #expect(present.contains(name), "missing vector \(name) in \(OpVectorFile.directory.path)")
        }
        // Every area has defects; the valid envelopes are the membership and sealed known answers
        // that the envelope defects are derived from.
        for area in OpVectorFile.areas {
            let expects = try OpVectorFile.allNames.filter { $0.hasPrefix(area + "_") }.map { try OpVectorFile(named: $0).expect }
            if area != "envelope" { #expect(expects.contains(.ok), "\(area) needs valid vectors") }
            #expect(expects.contains { $0 != .ok }, "\(area) needs invalid vectors")
        }
    }

    @Test func loaderRejectsMalformedFiles() throws {
        let good = "area: envelope\nexpect: ok\ncomment: c\nproject: 00\nenvelope: 00\n\n"
        #expect(throws: Never.self) { _ = try OpVectorFile(name: "envelope_x.txt", text: good) }
        let bad: [(String, String)] = [
            ("envelope_x.txt", good.replacingOccurrences(of: "expect: ok", with: "expect: not_allowed")),
            ("envelope_x.txt", String(good.dropLast())),
            ("envelope_x.txt", good + "trailing\n"),
            ("envelope_x.txt", good.replacingOccurrences(of: "project: 00\n", with: "")),
            ("envelope_x.txt", good.replacingOccurrences(of: "project: 00\n", with: "project: 00\nseed: 00\n")),
            ("sealed_x.txt", good),
        ]
        for (name, text) in bad {
            #expect(throws: OpVectorFile.FormatError.self) { _ = try OpVectorFile(name: name, text: text) }
        }
    }
}

@Suite struct OpVectorTests {
    /// Each file through the real Swift decoders; the outcome must be the file's `expect`.
    @Test(arguments: OpVectorFile.allNames)
    func vector(_ name: String) throws {
        let v = try OpVectorFile(named: name)
        let project = try ProjectID(bytes: v.bytes("project"))
        let keys = try v.optionalBytes("reader_box_secret").map { try BoxKeyPair(secretKey: SecureBytes($0)) }
        var reader = OpReader(project: project, keys: keys)

        if let first = try v.optionalBytes("session_envelope") {
            let announced = reader.accept(first)
            try #require(announced.expect == .ok, "session_envelope must be readable: \(announced.why)")
            let env = try #require(announced.envelope)
            let sealed = try SealedBody(decoding: env.body)
            #expect(sealed.sealedKeys != nil || sealed.parentKeys != nil, "session_envelope must carry key entries")
            let next = try Envelope(decoding: v.bytes("envelope"))
            #expect(env.author == next.author && env.seq < next.seq, "session_envelope comes earlier in the same chain")
            if env.seq + 1 == next.seq { #expect(next.prev == env.id, "chain link") }
        }

        let envelopeBytes = try v.bytes("envelope")
        let out = reader.accept(envelopeBytes)
        #expect(out.expect == v.expect, "\(name): expected \(v.expect.rawValue), Swift says \(out.expect.rawValue): \(out.why)")

        // `id` is written exactly when the layout is valid; it must be BLAKE2b-256 of the whole envelope.
        if let id = try v.optionalBytes("id") {
            let env = try #require(out.envelope, "\(name) has an id but its envelope does not decode")
            #expect(env.id.bytes == id)
            #expect(env.encoded == envelopeBytes)
            #expect(Hash.blake2b(envelopeBytes, length: 32) == id)
        } else {
            #expect(out.envelope == nil, "\(name) decodes but has no id key")
        }
        if let plaintext = try v.optionalBytes("payload") {
            #expect(out.plaintext == plaintext, "the body must open to the stated payload")
        } else {
            #expect(out.plaintext == nil, "\(name): the body opened but the file states no payload")
        }

        guard v.expect == .ok else { return }
        let env = try #require(out.envelope)
        #expect(v.has("id"))
        switch env.kind {
        case .membership:
            let change = try #require(out.change)
            #expect(change.encoded() == env.body, "encode(decode(b)) == b for membership bodies")
        case .sealed:
            let payload = try #require(out.payload)
            let plaintext = try #require(out.plaintext)
            #expect(payload.encoded() == plaintext, "encode(decode(b)) == b for payloads")
        }
    }

    /// The member's own signature in a reader-key statement is checked by the derivation, not the
    /// decoder: a forged statement decodes and does not count.
    /// Every vector holding a reader key that decodes states whether it counts (`counts`), and
    /// only those do; there is at least one of each.
    @Test func readerKeyStatements() throws {
        var seen: [String: Int] = [:]
        for name in OpVectorFile.allNames {
            let v = try OpVectorFile(named: name)
            guard v.expect == .ok, let env = try? Envelope(decoding: try v.bytes("envelope")), env.kind == .membership,
                  case let .readerKey(s)? = try? MembershipChange(decoding: env.body) else {
                #expect(!v.has("counts"), "\(name): counts on a vector without a reader key that decodes")
                continue
            }
            let counts = try v.string("counts")
            #expect(["yes", "no"].contains(counts))
            #expect(s.holds(in: try ProjectID(bytes: try v.bytes("project"))) == (counts == "yes"), "\(name)")
            seen[counts, default: 0] += 1
        }
        #expect(seen["yes", default: 0] >= 2 && seen["no", default: 0] >= 2, "\(seen)")
    }

    /// Every proper prefix of a valid envelope, payload or membership body fails as `truncated`:
    /// never a crash, never a success, never another class (every field read so far was valid).
    @Test(arguments: OpVectorFile.allNames.filter { $0.hasPrefix("membership_genesis.") || $0.hasPrefix("membership_add.") || $0.hasPrefix("membership_withdraw.") || $0.hasPrefix("membership_reader_key.") ||
                                                    $0.hasPrefix("sealed_session_") || $0.hasPrefix("payload_every_mutation.") })
    func everyTruncationThrows(_ name: String) throws {
        let v = try OpVectorFile(named: name)
        try #require(v.expect == .ok)
        let bytes = try v.bytes("envelope")
        for n in 0..<bytes.count {
            #expect(throws: CoreError.truncated, "prefix of \(n) bytes") { _ = try Envelope(decoding: Array(bytes[..<n])) }
        }
        let env = try Envelope(decoding: bytes)
        if env.kind == .membership {
            for n in 0..<env.body.count {
                #expect(throws: CoreError.truncated) { _ = try MembershipChange(decoding: Array(env.body[..<n])) }
            }
        }
        if let plaintext = try v.optionalBytes("payload") {
            for n in 0..<plaintext.count {
                #expect(throws: CoreError.truncated) { _ = try Payload(decoding: Array(plaintext[..<n])) }
            }
        }
    }

    /// No single-bit change to a valid op gives an op a node accepts.
    @Test(arguments: ["membership_genesis.txt", "sealed_session_first.txt"])
    func everyBitFlipIsRefused(_ name: String) throws {
        let v = try OpVectorFile(named: name)
        let project = try ProjectID(bytes: v.bytes("project"))
        let bytes = try v.bytes("envelope")
        for i in 0..<bytes.count {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[i] ^= 1 << bit
                if let env = try? Envelope(decoding: flipped) {
                    #expect(env.project != project || (try? env.verifySignature()) == nil, "byte \(i) bit \(bit)")
                }
            }
        }
    }
}

/// Envelopes made by the Swift writer have the layout of Protocol/ops.md, decode back to
/// themselves, and read through the same pipeline the vectors use.
@Suite struct OpWriterRoundTripTests {
    struct Fixture {
        let founderSigning = SigningKeyPair()
        let founderBox = BoxKeyPair()
        let lawyer = BoxKeyPair()
        let nonce = Random.bytes(16)
        var founder: NodeID { NodeID(signingKey: founderSigning.publicKey, boxKey: founderBox.publicKey) }
        var project: ProjectID { ProjectID.derive(founder: founder, nonce: nonce) }
    }

    static let t0: UInt64 = 1_767_225_600_000

    @Test func envelopeLayoutMatchesTheSpec() throws {
        let f = Fixture()
        let w = OpWriter(keys: f.founderSigning, project: f.project, seq: 0, prev: .zero, clock: HybridClock())
        let g = w.membership(.genesis(founder: f.founder, nonce: f.nonce))
        let caseID = CaseID.random()
        let s = w.sealed([.add(case: caseID, collection: "events", element: "e1")],
                         readers: [f.lawyer.publicKey, f.founderBox.publicKey], wallMillis: Self.t0)

        for (env, kind, seq, prev) in [(g, UInt8(2), UInt64(1), OpID.zero), (s, UInt8(1), UInt64(2), g.id)] {
            let b = env.encoded
            #expect(Envelope.headerLength == 90)
            #expect(b[0] == 1 && b[1] == kind)
            #expect(Array(b[2..<18]) == f.project.bytes)
            #expect(Array(b[18..<50]) == f.founderSigning.publicKey.bytes)
            #expect(b[50..<58].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } == seq)
            #expect(Array(b[58..<90]) == prev.bytes)
            let n = Int(b[90..<94].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            #expect(Array(b[94..<(94 + n)]) == env.body)
            #expect(b.count == 94 + n + 64)
            #expect(env.header == Array(b[0..<90]))
            try f.founderSigning.publicKey.verify(env.signature, for: Array(b[0..<(94 + n)]))
            #expect(env.id.bytes == Hash.blake2b(b, length: 32))
        }

        // Genesis body: version 1, type 1, signing key, box key, 16-byte nonce.
        #expect(g.body == [1, 1] + f.founderSigning.publicKey.bytes + f.founderBox.publicKey.bytes + f.nonce)
        #expect(Hash.blake2b(f.founderSigning.publicKey.bytes + f.founderBox.publicKey.bytes + f.nonce, length: 16) == f.project.bytes)

        // Sealed body: version, 8-byte session id, flag 2, 8-byte parent id, u16 count, entries of
        // 80 bytes, 24-byte nonce, ciphertext.
        let body = s.body
        #expect(body[0] == 1 && body[9] == 2)
        #expect(Int(body[18]) << 8 | Int(body[19]) == 2)
        let sealed = try SealedBody(decoding: body)
        #expect(sealed.sessionID == Array(body[1..<9]))
        #expect(sealed.parentID == Array(body[10..<18]))
        #expect(sealed.parentKeys == [Array(body[20..<100]), Array(body[100..<180])])
        #expect(sealed.nonce == Array(body[180..<204]))
        #expect(sealed.ciphertext == Array(body[204...]))
        // The session key is BLAKE2b-256 keyed with the parent key over label ‖ author ‖ session id.
        let parent = try #require(sealed.openParentKey(with: f.lawyer))
        let k = Hash.blake2b(Array("sandyq-derived-session".utf8) + f.founderSigning.publicKey.bytes + sealed.sessionID, length: 32, key: parent.secret)
        let plain = try sealed.open(with: SymmetricKey(SecureBytes(k)), header: s.header)
        #expect(try Payload(decoding: plain).mutations == [.add(case: caseID, collection: "events", element: "e1")])
    }

    /// A parent derives at most `SealingParent.maxSessions` sessions: the next session of the same
    /// readers opens a new parent (flag 2 again), so one parent id links a bounded number of cases.
    @Test func aParentIsReplacedAfterItsLastSession() throws {
        let f = Fixture()
        let w = OpWriter(keys: f.founderSigning, project: f.project, seq: 0, prev: .zero, clock: HybridClock())
        _ = w.membership(.genesis(founder: f.founder, nonce: f.nonce))
        let readers = [f.founderBox.publicKey, f.lawyer.publicKey]
        var bodies: [SealedBody] = []
        var lawyer = OpReader(project: f.project, keys: f.lawyer)
        for i in 0...SealingParent.maxSessions {
            let env = w.sealed([.add(case: CaseID.random(), collection: "events", element: "e\(i)")], readers: readers,
                               wallMillis: Self.t0, scope: Random.bytes(16))
            bodies.append(try SealedBody(decoding: env.body))
            #expect(lawyer.accept(env.encoded).expect == .ok, "op \(i) unread")
        }
        let first = try #require(bodies.first?.parentID)
        #expect(bodies[0].parentKeys?.count == 2)
        #expect(bodies[1..<SealingParent.maxSessions].allSatisfy { $0.parentID == first && $0.parentKeys == nil })
        let last = try #require(bodies.last)
        #expect(last.parentID != nil && last.parentID != first && last.parentKeys?.count == 2)
    }

    @Test func writerOutputDecodesToItselfAndReads() throws {
        let f = Fixture()
        let w = OpWriter(keys: f.founderSigning, project: f.project, seq: 0, prev: .zero, clock: HybridClock())
        let caseID = CaseID.random()
        let both = [f.founderBox.publicKey, f.lawyer.publicKey]
        let m1: [Mutation] = [.put(case: caseID, path: FieldPath(field: "status"), value: "detained", supersedes: []),
                              .add(case: caseID, collection: "charges", element: "c1")]
        let ops = [
            w.membership(.genesis(founder: f.founder, nonce: f.nonce)),
            w.sealed(m1, readers: both, wallMillis: Self.t0),
            // Same readers in another order: the same session, so no entries.
            w.sealed([.projectName("Сандық")], readers: both.reversed(), wallMillis: Self.t0),
            // Other readers: a new session, with entries for the lawyer alone.
            w.sealed([.remove(case: caseID, collection: "charges", element: "c1", observed: [])],
                     readers: [f.lawyer.publicKey], wallMillis: Self.t0 - 5000),
            w.membership(.revoke(member: f.founderSigning.publicKey, after: .legacySeq(9))),
        ]

        var prev = OpID.zero
        for (i, op) in ops.enumerated() {
            let back = try Envelope(decoding: op.encoded)
            #expect(back == op)
            #expect(back.id == op.id && back.id.bytes == Hash.blake2b(op.encoded, length: 32))
            #expect(back.seq == UInt64(i + 1) && back.prev == prev)
            try back.verifySignature()
            prev = back.id
        }

        let bodies = try ops[1...3].map { try SealedBody(decoding: $0.body) }
        // A session's key derives from its batch's parent, whose key the first op seals (flag 2).
        #expect(bodies[0].parentKeys?.count == 2 && bodies[0].sealedKeys == nil && bodies[0].parentID != nil)
        #expect(bodies[1].parentID == nil && bodies[1].parentKeys == nil && bodies[1].sealedKeys == nil)
        #expect(bodies[1].sessionID == bodies[0].sessionID)
        // Other readers: another parent, sealed to the lawyer alone.
        #expect(bodies[2].parentKeys?.count == 1 && bodies[2].sessionID != bodies[0].sessionID)
        #expect(bodies[2].parentID != nil && bodies[2].parentID != bodies[0].parentID)

        var lawyer = OpReader(project: f.project, keys: f.lawyer)
        let read = ops.map { lawyer.accept($0.encoded) }
        #expect(read.map(\.expect) == [.ok, .ok, .ok, .ok, .ok])
        #expect(read[1].payload?.mutations == m1)
        #expect(read[2].payload?.mutations == [.projectName("Сандық")])
        // The hybrid clock never steps back, even when the wall clock does.
        let clocks = read[1...3].compactMap { $0.payload?.clock }
        #expect(clocks.count == 3 && clocks == clocks.sorted() && Set(clocks).count == 3)
        #expect(HybridClock.millis(clocks[0]) == Self.t0)

        var founder = OpReader(project: f.project, keys: f.founderBox)
        #expect(ops.map { founder.accept($0.encoded).expect } == [.ok, .ok, .ok, .notForMe, .ok])

        // A reader that missed the announcing op cannot read the next op of the session.
        var late = OpReader(project: f.project, keys: f.lawyer)
        #expect(late.accept(ops[2].encoded).expect == .notForMe)

        // A node of another project refuses all of them.
        var stranger = OpReader(project: ProjectID.random(), keys: f.lawyer)
        #expect(ops.allSatisfy { stranger.accept($0.encoded).expect == .wrongProject })

        for op in ops where op.kind == .membership {
            #expect(try MembershipChange(decoding: op.body).encoded() == op.body)
        }
    }

    @Test func truncatedWriterOutputAlwaysThrows() {
        let f = Fixture()
        let w = OpWriter(keys: f.founderSigning, project: f.project, seq: 0, prev: .zero, clock: HybridClock())
        _ = w.membership(.genesis(founder: f.founder, nonce: f.nonce))
        let op = w.sealed([.put(case: CaseID.random(), path: FieldPath(collection: "events", element: "e1", field: "date"),
                                value: "2026-01-01", supersedes: [OpID.zero])],
                          readers: [f.lawyer.publicKey], wallMillis: Self.t0)
        for n in 0..<op.encoded.count {
            #expect(throws: CoreError.truncated) { _ = try Envelope(decoding: Array(op.encoded[..<n])) }
        }
    }

    @Test func identifierTextForms() throws {
        let f = Fixture()
        let p = f.project.description
        #expect(p.hasPrefix("sqp-") && p.count == 4 + 26)
        #expect(ProjectID(string: p) == f.project)
        #expect(ProjectID(string: p.uppercased().replacingOccurrences(of: "SQP-", with: "sqp-")) == f.project)

        let n = f.founder.description
        #expect(n.hasPrefix("sqn-") && n.count == 4 + 109)
        #expect(NodeID(string: "  " + n + "\n") == f.founder)
        // A changed character in the key part is caught by the 4-byte checksum.
        var chars = Array(n)
        chars[10] = chars[10] == "a" ? "b" : "a"
        #expect(NodeID(string: String(chars)) == nil)
    }
}
