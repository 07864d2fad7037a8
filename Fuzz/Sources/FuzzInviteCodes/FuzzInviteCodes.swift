import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto
import SandyqNode

// The codes people carry by hand: invitations (`sqi-`) and join replies (`sqr-`). The first
// byte picks the input:
//   0 raw text into Invitation(text:)     1 raw text into JoinRequest(text:)
//   2 body bytes, wrapped as `sqi-` with a valid check, so decoding gets past the check
//   3 the same for `sqr-`   (modes 2 and 3: typo position u16 and shift u8 come before the body)
//   4 raw text into NodeID(string:) (`sqn-`)     5 raw text into ProjectID(string:) (`sqp-`)
// A decoded code must re-encode to a code that decodes to the same fields; a wrapped body
// must re-encode to exactly the text it came in; a one-letter typo must be refused, unless it only
// touches the unused bits of an invitation's last letter, which read the same invitation.

let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")

func wrap(_ prefix: String, _ body: [UInt8]) -> String {
    prefix + Base32.encode(body + Hash.blake2b(body, length: 16).prefix(4))
}

func fixedNode(_ label: String) -> NodeID { NodeID(signingKey: Fixed.signing(label).publicKey, boxKey: Fixed.box(label).publicKey) }

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    let project = (try? ProjectID(bytes: Array(Hash.blake2b(Array("fuzz project".utf8), length: 16)))).map { [$0] } ?? []
    for p in project {
        out.append(("sqp", [5] + Array(p.description.utf8)))
        out.append(("sqn", [4] + Array(fixedNode("inviter").description.utf8)))
        for role in Role.allCases {
            let nonce = Array(Hash.blake2b(Array(role.rawValue.utf8), length: 16))
            let inv = Invitation(project: p, networkKey: Fixed.symmetric("network"), inviter: fixedNode("inviter"), role: role, nonce: nonce)
            out.append(("sqi-\(role.rawValue)", [0] + Array(inv.text.utf8)))
            if let b = Base32.decode(String(inv.text.dropFirst(4))) { out.append(("sqi-body-\(role.rawValue)", [2, 0, 0, 0] + b.dropLast(4))) }
            let req = JoinRequest(nonce: nonce, node: fixedNode("joiner-\(role.rawValue)"))
            out.append(("sqr-\(role.rawValue)", [1] + Array(req.text.utf8)))
            if let b = Base32.decode(String(req.text.dropFirst(4))) { out.append(("sqr-body-\(role.rawValue)", [3, 0, 0, 0] + b.dropLast(4))) }
        }
    }
    // Any code a vector file holds (Protocol/vectors/invitation and the like).
    let dirs = (try? FileManager.default.contentsOfDirectory(atPath: vectors)) ?? []
    for d in dirs.sorted() {
        for v in VectorFile.all(in: vectors + "/" + d) {
            for (k, value) in v.fields.sorted(by: { $0.key < $1.key }) {
                let mode: UInt8? = value.hasPrefix("sqi-") ? 0 : value.hasPrefix("sqr-") ? 1 : nil
                if let mode { out.append(("vector-\(d)-\(v.name)-\(k)", [mode] + Array(value.utf8))) }
            }
        }
    }
    return out
}

func checkInvitation(_ inv: Invitation, _ why: String) {
    guard let again = Invitation(text: inv.text) else { fuzzCheck(false, "\(why): an encoded invitation decodes"); return }
    fuzzCheck(again.project == inv.project && again.networkKey == inv.networkKey && again.inviter == inv.inviter
              && again.role == inv.role && again.nonce == inv.nonce, "\(why): invitation fields survive a round trip")
    fuzzCheck(again.text == inv.text, "\(why): one text per invitation")
    fuzzCheck(inv.nonce.count == 16, "\(why): 16-byte nonce")
}

func checkRequest(_ req: JoinRequest, _ why: String) {
    guard let again = JoinRequest(text: req.text) else { fuzzCheck(false, "\(why): an encoded reply decodes"); return }
    fuzzCheck(again.nonce == req.nonce && again.node == req.node, "\(why): reply fields survive a round trip")
    fuzzCheck(again.text == req.text, "\(why): one text per reply")
}

/// Six digits with a dash, whatever the keys.
func checkSAS(_ inv: Invitation, _ joiner: NodeID) {
    let sas = Array(JoinRequest.authenticationString(nonce: inv.nonce, inviter: inv.inviter, joiner: joiner, networkKey: inv.networkKey))
    fuzzCheck(sas.count == 7 && sas[3] == "-" && sas.enumerated().allSatisfy { $0.offset == 3 || $0.element.isASCII && $0.element.isNumber },
              "the six digits are ddd-ddd")
}

/// One letter of the base32 part changed to another letter of the alphabet: refused.
func typo(_ text: String, at pick: UInt16, to shift: UInt8) -> String {
    var chars = Array(text)
    let body = chars.count - 4
    guard body > 0 else { return text }
    let i = 4 + Int(pick) % body
    guard let v = alphabet.firstIndex(of: chars[i]) else { return text }
    chars[i] = alphabet[(v + 1 + Int(shift) % 31) % 32]
    return String(chars)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInviteCodes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    var r = FuzzReader(fuzzInput(data, size))
    let mode = r.u8() % 6
    switch mode {
    case 4:
        guard let n = NodeID(string: String(decoding: r.rest(), as: UTF8.self)) else { return 0 }
        fuzzCheck(NodeID(string: n.description) == n, "a node id survives a round trip")
    case 5:
        guard let p = ProjectID(string: String(decoding: r.rest(), as: UTF8.self)) else { return 0 }
        fuzzCheck(ProjectID(string: p.description) == p, "a project id survives a round trip")
    case 0, 1:
        let text = String(decoding: r.rest(), as: UTF8.self)
        if mode == 0, let inv = Invitation(text: text) {
            checkInvitation(inv, "sqi text")
            checkSAS(inv, fixedNode("joiner"))
        }
        if mode == 1, let req = JoinRequest(text: text) { checkRequest(req, "sqr text") }
    default:
        let pick = r.u16(), shift = r.u8()
        let body = r.rest()
        let text = wrap(mode == 2 ? "sqi-" : "sqr-", body)
        let bad = typo(text, at: pick, to: shift)
        if mode == 2 {
            if let inv = Invitation(text: text) {
                checkInvitation(inv, "sqi body")
                fuzzCheck(inv.text == text, "a canonical invitation re-encodes to its own text")
                fuzzCheck(Invitation(text: text.uppercased().replacingOccurrences(of: "SQI-", with: "sqi-"))?.text == text,
                          "upper case reads the same")
                checkSAS(inv, fixedNode("joiner"))
            }
            // The last letter's 3 unused bits are not checked (membership.md): a typo there reads the same invitation.
            fuzzCheck(bad == text || Invitation(text: bad) == nil || Invitation(text: bad)?.text == text,
                      "a one-letter typo in an invitation is refused or changes nothing")
            if let a = Invitation(text: bad), bad != text {
                fuzzCheck(bad.dropLast() == text.dropLast(), "only a typo in the last letter's unused bits is let through")
                fuzzCheck(Invitation(text: text).map { $0.nonce == a.nonce && $0.inviter == a.inviter } == true, "and it reads the same fields")
            }
        } else {
            if let req = JoinRequest(text: text) {
                checkRequest(req, "sqr body")
                fuzzCheck(req.text == text, "a canonical reply re-encodes to its own text")
            }
            // 85 bytes fill 136 letters exactly: no unused bits, so every typo is refused.
            fuzzCheck(bad == text || JoinRequest(text: bad) == nil, "a one-letter typo in a reply is refused")
        }
    }
    return 0
}
