import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// The real ClientHandshake and ServerHandshake against raw bytes and against peers written
// from the spec (FuzzSupport/HandshakePeers.swift) whose ephemeral keys the input chooses.
// The first byte picks the mode:
//   0 raw message 1 to the server
//   1 message 1 with a valid MAC over fuzz version, E_c and clock offset
//   2 spec client (ephemeral secret from the input) against the real server; message 3
//     honest, with a fuzz proof, or raw, then XOR-masked by the input
//   3 real client against a spec server (ephemeral secret or E_s bytes from the input,
//     honest or fuzz proof), message 2 XOR-masked
//   4 real client against real server, each message XOR-masked
// Properties: an untouched honest run succeeds with matching keys; any change to a message
// of an otherwise honest run fails.

let nk = Fixed.symmetric(hex: Fixed.networkKeyHex)
let clientID = Fixed.signing("client"), serverID = Fixed.signing("server")
let now: UInt64 = 1_767_225_601_234

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    for v in VectorFile.all(in: vectors + "/handshake") where v.name.hasPrefix("handshake_") {
        if let m1 = v.bytes("message1") {
            out.append((v.name + "-m1", [0] + m1))
            if m1.count == Handshake.message1Length {
                var w = ByteWriter(); w.u8(1); w.u8(m1[0]); w.raw(m1[1..<33]); w.u64(0)
                out.append((v.name + "-crafted", w.bytes))
            }
        }
        if let m3 = v.bytes("message3") { out.append((v.name + "-m3", [2] + [UInt8](repeating: 9, count: 32) + [2] + m3)) }
    }
    out.append(("honest-2", [2] + [UInt8](repeating: 1, count: 32) + [0]))
    out.append(("honest-3", [3] + [UInt8](repeating: 1, count: 32) + [0]))
    out.append(("honest-4", [4]))
    out.append(("masked-4", [4, 0, 0, 0, 1]))
    return out
}

func xor(_ m: inout [UInt8], _ mask: [UInt8]) -> Bool {
    var changed = false
    for (i, b) in mask.prefix(m.count).enumerated() where b != 0 { m[i] ^= b; changed = true }
    return changed
}

func same(_ a: SymmetricKey, _ b: SymmetricKey) -> Bool { a.secret == b.secret }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandshake(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    var r = FuzzReader(fuzzInput(data, size))
    let mode = r.u8() % 5
    var server = ServerHandshake(identity: serverID, networkKey: nk)
    switch mode {
    case 0:
        _ = try? server.receive1(r.rest(), nowMillis: now, fresh: { _ in true })

    case 1:
        let version = r.u8(), ec = r.take(32), offset = r.u64()
        let t = now &+ offset
        let m1 = HS.message1(version: version, ephemeral: ec, time: t, nk: nk)
        let fresh = r.u8() & 1 == 0
        if (try? server.receive1(m1, nowMillis: now, fresh: { _ in fresh })) != nil {
            // Version 1's layout: version 2 hides its version byte, so only 1 is answered here.
            fuzzCheck(version == 1 && fresh && (t > now ? t - now : now - t) <= Handshake.maxSkewMillis,
                      "the server answers only a fresh, current, version-1 message 1")
        }

    case 2:
        guard let e = try? BoxKeyPair(secretKey: SecureBytes(r.take(32))) else { return 0 }
        var client = ScriptedClient(identity: clientID, ephemeral: e, nk: nk)
        let m1 = client.message1(time: now)
        guard let m2 = try? server.receive1(m1, nowMillis: now, fresh: { _ in true }) else {
            fuzzCheck(false, "the server answers an honest message 1"); return 0
        }
        fuzzCheck(client.receive2(m2) == serverID.publicKey, "the server's message 2 follows the spec")
        let how = r.u8()
        let allowed = how & 4 == 0
        var m3: [UInt8]
        switch how & 3 {
        case 0: m3 = client.message3(proof: client.honestProof)
        case 1: m3 = client.message3(proof: r.take(96))
        default: m3 = r.prefix(Int(r.u8()))
        }
        let honest = how & 3 == 0
        let masked = xor(&m3, r.rest())
        if let s = try? server.receive3(m3, allowed: { _ in allowed }) {
            fuzzCheck(honest && !masked && allowed, "the server accepts only an honest, unmodified message 3 from an allowed key")
            fuzzCheck(s.peer == clientID.publicKey, "the server's peer is the client")
            if let keys = client.sessionKeys(m3: m3) {
                fuzzCheck(same(keys.send, s.receive) && same(keys.receive, s.send), "session keys follow the spec")
            }
        } else {
            fuzzCheck(!(honest && !masked && allowed), "an honest message 3 from an allowed key is accepted")
        }

    case 3:
        // The spec server speaks version 1; the real client still does when asked.
        var client = ClientHandshake(identity: clientID, networkKey: nk, version: 1)
        let m1 = client.message1(nowMillis: now)
        let how = r.u8()
        guard let e = try? BoxKeyPair(secretKey: SecureBytes(r.take(32))) else { return 0 }
        let override = how & 1 != 0 ? r.take(32) : nil
        let fuzzProof = how & 2 != 0 ? r.take(96) : nil
        let allowed = how & 4 == 0
        let spec = ScriptedServer(identity: serverID, nk: nk)
        guard let made = spec.message2(m1: m1, ephemeral: e, publicBytes: override, proof: { h1, es in
            fuzzProof ?? spec.honestProof(h1: h1, es: es)
        }) else { return 0 }
        var m2 = made.m2
        let masked = xor(&m2, r.rest())
        let honest = override == nil && fuzzProof == nil && !masked
        if let (m3, session) = try? client.receive2(m2, allowed: { _ in allowed }) {
            fuzzCheck(allowed && fuzzProof == nil && !masked, "the client accepts only an unmodified message 2 signed by an allowed server")
            fuzzCheck(session.peer == serverID.publicKey, "the client's peer is the server")
            if honest {
                let h2 = Hash.blake2b(Hash.blake2b(m1) + m2)
                let p = try? AEAD.open(m3, key: HS.kdf(nk, made.dh, h2, "k3"), nonce: HS.zeroNonce, associatedData: h2)
                fuzzCheck(p.map { Array($0.prefix(32)) } == clientID.publicKey.bytes, "message 3 follows the spec")
                let h3 = Hash.blake2b(h2 + m3)
                fuzzCheck(same(session.send, HS.kdf(nk, made.dh, h3, "c2s")) && same(session.receive, HS.kdf(nk, made.dh, h3, "s2c")),
                          "session keys follow the spec")
            }
        } else {
            fuzzCheck(!(honest && allowed), "an honest message 2 from an allowed server is accepted")
        }

    default:
        var client = ClientHandshake(identity: clientID, networkKey: nk)
        var m1 = client.message1(nowMillis: now)
        // Version 2's padding is bound by h1, not the MAC: a change there fails at message 2, not here.
        var changed = xor(&m1, r.prefix(Handshake.message1Length))
        guard var m2 = try? server.receive1(m1, nowMillis: now, fresh: { _ in true }) else {
            fuzzCheck(changed, "the server answers an honest message 1"); return 0
        }
        fuzzCheck(!changed, "the server answers only an unmodified message 1")
        changed = xor(&m2, r.prefix(Handshake.message2Length))
        guard let (first3, cs) = try? client.receive2(m2, allowed: { _ in true }) else {
            fuzzCheck(changed, "the client accepts an honest message 2"); return 0
        }
        fuzzCheck(!changed, "the client accepts only an unmodified message 2")
        var m3 = first3
        changed = xor(&m3, r.prefix(Handshake.message3Length))
        guard let ss = try? server.receive3(m3, allowed: { _ in true }) else {
            fuzzCheck(changed, "the server accepts an honest message 3"); return 0
        }
        fuzzCheck(!changed, "the server accepts only an unmodified message 3")
        fuzzCheck(same(cs.send, ss.receive) && same(cs.receive, ss.send), "both sides hold the same keys")
        // The first frame each way opens on the other side.
        var a = FrameCipher(sending: cs), b = FrameCipher(receiving: ss)
        let frame = a.seal(r.rest())
        fuzzCheck(b.length(Array(frame.prefix(4))) == frame.count - 4, "the peer unmasks the frame's length")
        fuzzCheck((try? b.open(Array(frame.dropFirst(4)))) != nil, "a frame opens under the peer's key")
    }
    return 0
}
