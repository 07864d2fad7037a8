import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto

// Raw bytes into the op-layer decoders. The first byte picks the decoder:
//   0 envelope (then signature, body, session key, payload, as a node reads an op)
//   1 sealed body   2 payload   3 membership body   4 version vector
//   5 bundle header record   6 bundle preamble
// Decoders that accept must re-encode to the same bytes where the format says a value has
// exactly one encoding (payload, membership body).

/// The reader of Protocol/vectors/ops/sealed_*.txt, so sealed seeds open to their payloads.
let reader = Fixed.box(secretHex: "44c1c7e3ec771d8051de8200375daecf32ae730823572c7470fad55948959bef")
let bundleRecipient = Fixed.box(secretHex: Fixed.bundleRecipientSecret)
let someAuthor = Fixed.signing("a").publicKey

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    for v in VectorFile.all(in: vectors + "/ops") {
        guard let env = v.bytes("envelope") else { continue }
        out.append(("env-" + v.name, [0] + env))
        if let e = try? Envelope(decoding: env) {
            out.append(((e.kind == .sealed ? "sealed-" : "membership-") + v.name, [e.kind == .sealed ? 1 : 3] + e.body))
        }
        if let p = v.bytes("payload") { out.append(("payload-" + v.name, [2] + p)) }
    }
    for v in VectorFile.all(in: vectors + "/bundle") {
        if let h = v.bytes("header"), let e = try? BundleFormat.Header(decoding: h) {
            out.append(("header-" + v.name, [5] + h))
            out.append(("vector-" + v.name, [4] + e.senderVector.encoded()))
        }
        if let file = v.fields["file"], let data = FileManager.default.contents(atPath: vectors + "/bundle/" + file) {
            out.append(("preamble-" + v.name, [6] + Array(data.prefix(BundleFormat.preambleLength(entries: 4)))))
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    let input = fuzzInput(data, size)
    guard let mode = input.first else { return 0 }
    let b = Array(input.dropFirst())
    switch mode % 7 {
    case 0:
        guard let e = try? Envelope(decoding: b) else { return 0 }
        fuzzCheck(e.encoded == b, "envelope keeps its bytes")
        fuzzCheck(Envelope.header(kind: e.kind, project: e.project, author: e.author, seq: e.seq, prev: e.prev) == e.header,
                  "header re-encodes")
        _ = try? e.verifySignature()
        switch e.kind {
        case .membership:
            _ = try? MembershipChange(decoding: e.body)
        case .sealed:
            guard let s = try? SealedBody(decoding: e.body), let k = s.openSessionKey(with: reader),
                  let plain = try? s.open(with: k, header: e.header) else { return 0 }
            _ = try? Payload(decoding: plain)
        }
    case 1:
        guard let s = try? SealedBody(decoding: b) else { return 0 }
        fuzzCheck(s.sessionID.count == SealingSession.idLength && s.nonce.count == AEAD.nonceLength, "sealed body field lengths")
        _ = s.openSessionKey(with: reader)
    case 2:
        guard let p = try? Payload(decoding: b) else { return 0 }
        fuzzCheck(p.encoded() == b, "payload has one encoding")
    case 3:
        guard let m = try? MembershipChange(decoding: b) else { return 0 }
        fuzzCheck(m.encoded() == b, "membership body has one encoding")
    case 4:
        guard let v = try? VersionVector(decoding: b) else { return 0 }
        // What a node computes from a peer's vector.
        var mine = VersionVector([someAuthor: 5])
        _ = mine.covers(v); _ = v.covers(mine)
        _ = mine.missing(from: v)
        mine.merge(v)
        fuzzCheck(mine.covers(v), "a merged vector covers what it merged")
        fuzzCheck((try? VersionVector(decoding: v.encoded())) == v, "vector re-decodes")
    case 5:
        guard let h = try? BundleFormat.Header(decoding: b) else { return 0 }
        fuzzCheck((try? BundleFormat.Header(decoding: h.encoded())) == h, "bundle header re-decodes")
    default:
        guard let p = try? BundleFormat.parsePreamble(b) else { return 0 }
        fuzzCheck(p.length == BundleFormat.preambleLength(entries: p.entries.count), "preamble length")
        _ = BundleFormat.openFileKey(p, with: bundleRecipient)
    }
    return 0
}
