import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto

// Fuzz bytes as op bodies inside valid, signed envelopes, so the body decoders and the
// project view (membership derivation, session keys, grants, CRDT application) are reached
// past the signature. A founder F has added a member M; the input is up to 8 ops:
//   selector u8 (bits 0-1: 0 membership body, 1 raw sealed body, 2 payload plaintext sealed
//   to F and M with a real sealing session; bit 2: signed by M instead of F) ‖ length u16 ‖ bytes

let founder = Fixed.signing("founder"), founderBox = Fixed.box("founder-box")
let member = Fixed.signing("member"), memberBox = Fixed.box("member-box")
let founderNode = NodeID(signingKey: founder.publicKey, boxKey: founderBox.publicKey)
let memberNode = NodeID(signingKey: member.publicKey, boxKey: memberBox.publicKey)
let genesisNonce = [UInt8](repeating: 7, count: 16)
let project = ProjectID.derive(founder: founderNode, nonce: genesisNonce)
/// F's genesis and its add of M (as a coordinator, so M's membership ops count too).
let base: [Envelope] = {
    let w = OpWriter(keys: founder, project: project, seq: 0, prev: .zero, clock: HybridClock())
    return [w.membership(.genesis(founder: founderNode, nonce: genesisNonce)), w.membership(.add(member: memberNode, role: .coordinator))]
}()

func op(_ selector: UInt8, _ body: [UInt8]) -> [UInt8] {
    var w = ByteWriter(); w.u8(selector); w.u16(UInt16(body.count)); w.raw(body)
    return w.bytes
}

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    var payloads: [UInt8] = []
    for v in VectorFile.all(in: vectors + "/ops") {
        if let p = v.bytes("payload") {
            out.append(("payload-" + v.name, op(2, p)))
            if payloads.count < 3000 { payloads += op(2, p) }
        }
        guard let env = v.bytes("envelope"), let e = try? Envelope(decoding: env) else { continue }
        out.append((v.name, op(e.kind == .membership ? 0 : 1, e.body)))
    }
    out.append(("payloads", payloads))
    // A grant from M and a revocation of M by F, after M's own op.
    let grant = Payload(clock: 1, mutations: [.grant(session: try! SessionID(author: member.publicKey, local: [UInt8](repeating: 1, count: 8)), key: [UInt8](repeating: 2, count: 32))])
    // M's op id is not known here (its session is random), so the current form names none;
    // the retired v1 form names seq 1.
    for (name, point) in [("nothing", RevocationPoint.nothing), ("legacy-seq", .legacySeq(1))] {
        out.append(("grant-revoke-" + name, op(6, grant.encoded()) + op(0, MembershipChange.revoke(member: member.publicKey, after: point).encoded())))
    }
    // M's reader-key statement, valid in this project, written by F: the derivation checks M's signature.
    let statement = ReaderKeyStatement(project: project, signer: member, epoch: 1, key: memberBox.publicKey)
    out.append(("reader-key", op(0, MembershipChange.readerKey(statement).encoded())))
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignedBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    var r = FuzzReader(fuzzInput(data, size))
    var heads: [SigningPublicKey: (UInt64, OpID)] = [founder.publicKey: (2, base[1].id), member.publicKey: (0, .zero)]
    var sessions: [SigningPublicKey: SealingSession] = [:]
    var made: [(Envelope, UInt8, [UInt8])] = []
    while r.remaining > 0 && made.count < 8 {
        let selector = r.u8()
        let bytes = r.prefix(Int(r.u16()))
        let keys = selector & 4 == 0 ? founder : member
        let (seq, prev) = heads[keys.publicKey]!
        let kind: Envelope.Kind = selector & 3 == 0 ? .membership : .sealed
        let header = Envelope.header(kind: kind, project: project, author: keys.publicKey, seq: seq + 1, prev: prev)
        var body = bytes
        if selector & 3 >= 2 {
            // As a node writes: the session's key derives from a parent sealed to both readers.
            let s = sessions[keys.publicKey] ?? SealingSession(parent: SealingParent(readers: [founderBox.publicKey, memberBox.publicKey]), author: keys.publicKey)
            sessions[keys.publicKey] = s
            body = s.seal(bytes, header: header)
        }
        let env = Envelope.sign(kind: kind, project: project, seq: seq + 1, prev: prev, body: body, with: keys)
        heads[keys.publicKey] = (seq + 1, env.id)
        made.append((env, selector, bytes))
    }
    for (env, selector, bytes) in made {
        guard let e = try? Envelope(decoding: env.encoded) else { fuzzCheck(false, "a signed envelope decodes"); return 0 }
        fuzzCheck((try? e.verifySignature()) != nil, "a signed envelope verifies")
        switch selector & 3 {
        case 0:
            if let m = try? MembershipChange(decoding: e.body) { fuzzCheck(m.encoded() == bytes, "membership body has one encoding") }
        case 1:
            if let s = try? SealedBody(decoding: e.body), let k = s.openSessionKey(with: founderBox) {
                _ = try? s.open(with: k, header: e.header)
            }
        default:
            // A body sealed by a real session is always well-formed; the plaintext is the fuzz.
            guard let s = try? SealedBody(decoding: e.body) else { fuzzCheck(false, "a sealed body decodes"); return 0 }
            if let k = s.openSessionKey(with: memberBox) {
                fuzzCheck((try? s.open(with: k, header: e.header)) == bytes, "sealed plaintext round-trips")
            }
            if let p = try? Payload(decoding: bytes) { fuzzCheck(p.encoded() == bytes, "payload has one encoding") }
        }
    }
    let all = base + made.map(\.0)
    let view = ProjectView(project: project, envelopes: all, reader: founderBox)
    fuzzCheck(view.membership.role(of: founder.publicKey) == .coordinator, "the founder stays a coordinator")
    // What the CLI shows of it: canonical digest, ordered cases, conflicts.
    let digest = view.digest
    for c in view.orderedCases { _ = c.conflicts; _ = c.elements("charges"); _ = c.isArchived }
    // Order of arrival must not matter.
    let again = ProjectView(project: project, envelopes: all.reversed(), reader: founderBox)
    fuzzCheck(again.digest == digest && again.stats == view.stats, "the view does not depend on arrival order")
    fuzzCheck(again.membership.readerKeys == view.membership.readerKeys, "reader keys do not depend on arrival order")
    // The member reads the same sealed ops (both are readers of every session here).
    _ = ProjectView(project: project, envelopes: all, reader: memberBox)
    return 0
}
