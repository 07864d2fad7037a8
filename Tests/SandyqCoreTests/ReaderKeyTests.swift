import Foundation
import SandyqCore
import SandyqCrypto
import Testing
import SandyqTestSupport

/// Reader-key announcements (membership type 5): which count, which key wins, and that no
/// one but the member can set the key others seal to.
@Suite("Reader keys: announcements signed by the member, written by a coordinator")
struct ReaderKeyTests {
    struct Device {
        let signing = SigningKeyPair()
        let box = BoxKeyPair()
        var node: NodeID { NodeID(signingKey: signing.publicKey, boxKey: box.publicKey) }
    }

    /// A founder, a second coordinator, a reporter, a lawyer and a relay, and the ops admitting them.
    struct Project {
        let founder = Device(), second = Device(), reporter = Device(), lawyer = Device(), relay = Device()
        let nonce = [UInt8](repeating: 3, count: 16)
        var changes: [Membership.Change] = []
        var seqs: [SigningPublicKey: UInt64] = [:]
        var id: ProjectID { ProjectID.derive(founder: founder.node, nonce: nonce) }

        init() {
            append(founder, .genesis(founder: founder.node, nonce: nonce))
            append(founder, .add(member: second.node, role: .coordinator))
            append(founder, .add(member: reporter.node, role: .reporter))
            append(founder, .add(member: lawyer.node, role: .lawyer))
            append(founder, .add(member: relay.node, role: .relay))
        }

        @discardableResult
        mutating func append(_ author: Device, _ change: MembershipChange, id: OpID? = nil) -> OpID {
            let seq = (seqs[author.signing.publicKey] ?? 0) + 1
            seqs[author.signing.publicKey] = seq
            let op = id ?? (try! OpID(bytes: Hash.blake2b(Array("op \(changes.count)".utf8), length: 32)))
            changes.append(.init(op: op, author: author.signing.publicKey, seq: seq, change: change))
            return op
        }

        func statement(_ d: Device, epoch: UInt32, key: BoxPublicKey? = nil, project: ProjectID? = nil) -> ReaderKeyStatement {
            ReaderKeyStatement(project: project ?? id, signer: d.signing, epoch: epoch, key: key ?? BoxKeyPair().publicKey)
        }

        func derive(_ changes: [Membership.Change]? = nil) -> Membership {
            Membership.derive(project: id, changes: changes ?? self.changes)
        }
    }

    @Test("a coordinator's own announcement sets its key; the encoding round-trips")
    func ownAnnouncement() throws {
        var p = Project()
        let s = p.statement(p.founder, epoch: 1)
        let op = p.append(p.founder, .readerKey(s))
        let key = try #require(p.derive().readerKeys[p.founder.signing.publicKey])
        #expect(key == ReaderKey(epoch: 1, key: s.key, op: op, forked: false))
        #expect(try MembershipChange(decoding: MembershipChange.readerKey(s).encoded()) == .readerKey(s))
        #expect(MembershipChange.readerKey(s).encoded().count == 134)
    }

    @Test("what is sealed to a member goes to its reader key; to its box key when it announced none or two at one epoch")
    func sealingKeys() {
        var p = Project()
        #expect(p.derive().sealingKey(for: p.second.node) == p.second.box.publicKey, "nothing announced")
        let s = p.statement(p.second, epoch: 1)
        p.append(p.second, .readerKey(s))
        var m = p.derive()
        #expect(m.sealingKey(for: p.second.node) == s.key)
        #expect(Set(m.coordinatorSealingKeys) == [s.key, p.founder.box.publicKey])
        // A node id with the member's signing key and another box key is not the member.
        let stranger = NodeID(signingKey: p.second.signing.publicKey, boxKey: BoxKeyPair().publicKey)
        #expect(m.sealingKey(for: stranger) == stranger.boxKey)
        // A second key at epoch 1: a copied device; both copies hold the node id's box key.
        p.append(p.founder, .readerKey(p.statement(p.second, epoch: 1)))
        m = p.derive()
        #expect(m.readerKeys[p.second.signing.publicKey]?.forked == true)
        #expect(m.sealingKey(for: p.second.node) == p.second.box.publicKey)
    }

    @Test("a coordinator wraps a lawyer's and a reporter's statements; a relay's does not count")
    func wrappedStatements() {
        var p = Project()
        let l = p.statement(p.lawyer, epoch: 1), r = p.statement(p.reporter, epoch: 2), x = p.statement(p.relay, epoch: 1)
        p.append(p.second, .readerKey(l))
        p.append(p.founder, .readerKey(r))
        p.append(p.founder, .readerKey(x))
        let keys = p.derive().readerKeys
        #expect(keys[p.lawyer.signing.publicKey]?.key == l.key)
        #expect(keys[p.reporter.signing.publicKey]?.epoch == 2)
        #expect(keys[p.relay.signing.publicKey] == nil, "a relay reads nothing")
    }

    @Test("a coordinator (or a seizer of one) cannot substitute a member's key, nor replay it into another project")
    func substitution() throws {
        var p = Project()
        let genuine = p.statement(p.lawyer, epoch: 1)
        let seizer = BoxKeyPair().publicKey
        // The seizer holds the founder's key: it signs a statement in the lawyer's name with it.
        let forged = ReaderKeyStatement(member: p.lawyer.signing.publicKey, epoch: 2, key: seizer,
                                        signature: p.founder.signing.sign(ReaderKeyStatement.message(
                                            project: p.id, member: p.lawyer.signing.publicKey, epoch: 2, key: seizer)))
        // Or it takes a genuine statement and changes the key in it.
        let altered = ReaderKeyStatement(member: genuine.member, epoch: 3, key: seizer, signature: genuine.signature)
        // Or it replays the lawyer's statement from another project it shares with the lawyer.
        let other = try ProjectID(bytes: [UInt8](repeating: 9, count: 16))
        let replayed = p.statement(p.lawyer, epoch: 4, key: seizer, project: other)
        p.append(p.founder, .readerKey(genuine))
        for s in [forged, altered, replayed] {
            #expect(!s.verifies(in: p.id))
            p.append(p.founder, .readerKey(s))
        }
        #expect(p.derive().readerKeys[p.lawyer.signing.publicKey]?.key == genuine.key)
        #expect(p.derive().readerKeys[p.lawyer.signing.publicKey]?.epoch == 1)
    }

    @Test("a well-signed statement of a key of small order does not count: nothing could be sealed to it")
    func smallOrderKey() throws {
        var p = Project()
        let good = p.statement(p.lawyer, epoch: 1)
        let small = SmallOrderKeys.order8
        // The lawyer's own key signs it (its device seized, or a modified client): only the key is wrong.
        let bad = p.statement(p.lawyer, epoch: 2, key: small)
        #expect(bad.verifies(in: p.id) && !bad.holds(in: p.id))
        let op = p.append(p.founder, .readerKey(good))
        p.append(p.founder, .readerKey(bad))
        #expect(p.derive().readerKeys[p.lawyer.signing.publicKey] == ReaderKey(epoch: 1, key: good.key, op: op, forked: false))
    }

    @Test("announcements by a reporter, by a stranger, for a stranger, or by a coordinator after its revocation do not count")
    func whoMayWrite() {
        var p = Project()
        let stranger = Device()
        p.append(p.reporter, .readerKey(p.statement(p.reporter, epoch: 1)))
        p.append(stranger, .readerKey(p.statement(p.lawyer, epoch: 3)))
        p.append(p.founder, .readerKey(p.statement(stranger, epoch: 1)))
        let kept = p.append(p.second, .readerKey(p.statement(p.lawyer, epoch: 1)))
        p.append(p.founder, .revoke(member: p.second.signing.publicKey, after: .op(kept, seq: 1)))
        p.append(p.second, .readerKey(p.statement(p.lawyer, epoch: 2)))
        let chain: (SigningPublicKey) -> [ChainLink] = { k in
            p.changes.filter { $0.author == k }.map { ChainLink(seq: $0.seq, id: $0.op, prev: .zero) }
        }
        let keys = Membership.derive(project: p.id, changes: p.changes, chain: chain).readerKeys
        #expect(keys[p.reporter.signing.publicKey] == nil)
        #expect(keys[stranger.signing.publicKey] == nil)
        #expect(keys[p.lawyer.signing.publicKey]?.epoch == 1, "the revoked coordinator's genuine announcement stands, the later one does not")
    }

    @Test("a revoked member's statement does not count, whenever it was written")
    func revokedMember() {
        var p = Project()
        p.append(p.founder, .readerKey(p.statement(p.lawyer, epoch: 1)))
        #expect(p.derive().readerKeys[p.lawyer.signing.publicKey] != nil)
        p.append(p.founder, .revoke(member: p.lawyer.signing.publicKey, after: .nothing))
        #expect(p.derive().readerKeys[p.lawyer.signing.publicKey] == nil, "nothing is sealed to a revoked member")
    }

    @Test("the highest epoch wins; two keys at one epoch: the lowest op id, marked forked; any order gives the same")
    func epochsAndForks() throws {
        var r = SeededRandom(seed: 0x5eed_0005)
        for round in 0..<60 {
            var p = Project()
            let count = 1 + r.below(6)
            var made: [(op: OpID, s: ReaderKeyStatement)] = []
            let keys = (0..<3).map { _ in BoxKeyPair().publicKey }
            for _ in 0..<count {
                let s = p.statement(p.lawyer, epoch: UInt32(1 + r.below(3)), key: r.pick(keys))
                let op = p.append(r.chance(0.5) ? p.founder : p.second, .readerKey(s), id: try OpID(bytes: r.bytes(32)))
                made.append((op, s))
            }
            let top = made.map(\.s.epoch).max()!
            let atTop = made.filter { $0.s.epoch == top }
            let lowest = atTop.min { $0.op < $1.op }!
            let expected = ReaderKey(epoch: top, key: lowest.s.key, op: lowest.op, forked: Set(atTop.map(\.s.key)).count > 1)
            #expect(p.derive().readerKeys[p.lawyer.signing.publicKey] == expected, "round \(round)")
            #expect(p.derive(p.changes.shuffled(using: &r)).readerKeys == p.derive().readerKeys, "round \(round): order changed it")
        }
    }

    @Test("epoch 0 and the zero key are malformed; a short body is truncated")
    func decoding() {
        let p = Project()
        let good = MembershipChange.readerKey(p.statement(p.lawyer, epoch: 1)).encoded()
        var epochZero = good
        for i in 34..<38 { epochZero[i] = 0 }
        var zeroKey = good
        for i in 38..<70 { zeroKey[i] = 0 }
        func malformed(_ bytes: [UInt8]) -> Bool {
            do { _ = try MembershipChange(decoding: bytes); return false } catch { if case .malformed = error { return true }; return false }
        }
        #expect(malformed(epochZero) && malformed(zeroKey) && malformed(good + [0]))
        #expect(!malformed(good))
        #expect(throws: CoreError.truncated) { try MembershipChange(decoding: Array(good.dropLast())) }
    }
}
