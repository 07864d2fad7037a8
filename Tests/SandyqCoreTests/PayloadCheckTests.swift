import Testing
@testable import SandyqCore
import SandyqCrypto

/// A writer checks each payload it seals with `checkDecodable` instead of decoding it again:
/// the two must agree, or a writer would seal what its readers refuse (or refuse what they read).
@Suite struct PayloadCheckTests {
    /// A string of `n` UTF-8 bytes, some of them multi-byte, so limits count bytes, not characters.
    static func text(_ n: Int, _ r: inout SeededRandom) -> String {
        var s = ""
        while s.utf8.count < n { s += n - s.utf8.count >= 2 && r.chance(0.3) ? "ә" : "a" }
        return s
    }

    /// Near each limit: at it, one over, or small.
    static func length(_ limit: Int, _ r: inout SeededRandom) -> Int {
        switch r.below(4) { case 0: limit; case 1: limit + 1; case 2: limit - 1; default: r.below(20) }
    }

    static func mutation(_ r: inout SeededRandom) -> Mutation {
        let c = CaseID(unchecked: r.bytes(CaseID.length))
        func ids(_ r: inout SeededRandom) -> [OpID] {
            let n = r.chance(0.1) ? length(Payload.maxRefs, &r) : r.below(3)
            return (0..<n).map { _ in OpID(unchecked: r.bytes(OpID.length)) }
        }
        switch r.below(8) {
        case 0:
            let p = FieldPath(collection: text(length(256, &r), &r), element: text(r.below(3), &r), field: text(length(256, &r), &r))
            return .put(case: c, path: p, value: text(r.chance(0.05) ? length(1 << 20, &r) : r.below(50), &r), supersedes: ids(&r))
        case 1: return .add(case: c, collection: text(length(256, &r), &r), element: text(length(256, &r), &r))
        case 2: return .remove(case: c, collection: text(r.below(10), &r), element: text(length(256, &r), &r), observed: ids(&r))
        case 3: return .projectName(text(length(1024, &r), &r))
        case 4:
            let sid = SessionID(author: try! SigningPublicKey(bytes: r.bytes(32)), unchecked: r.bytes(8))
            return .grant(session: sid, key: r.bytes(r.chance(0.7) ? SymmetricKey.length : length(SymmetricKey.length, &r)))
        case 5:
            let n = r.chance(0.1) ? length(Payload.maxRefs, &r) : r.below(3)
            return .withdrawnCases(withdrawal: OpID(unchecked: r.bytes(OpID.length)), cases: (0..<n).map { _ in CaseID(unchecked: r.bytes(CaseID.length)) })
        case 6:
            return .withdrawnElement(withdrawal: OpID(unchecked: r.bytes(OpID.length)), case: c,
                                     collection: text(length(256, &r), &r), element: text(length(256, &r), &r))
        default:
            return .withdrawalNote(withdrawal: OpID(unchecked: r.bytes(OpID.length)),
                                   what: text(length(Payload.maxNoteWhat, &r), &r), why: text(length(Payload.maxNoteWhy, &r), &r))
        }
    }

    @Test func theCheckAgreesWithTheDecoder() {
        var refused = 0, accepted = 0
        for seed in SeededRandom.seeds {
            var r = SeededRandom(seed: seed)
            for round in 0..<200 {
                let p = Payload(clock: r.next(), mutations: (0..<(1 + r.below(3))).map { _ in Self.mutation(&r) })
                let decodes = (try? Payload(decoding: p.encoded())) != nil
                let checks: Bool
                do { try p.checkDecodable(); checks = true } catch { checks = false }
                #expect(checks == decodes, "seed \(seed), round \(round): check says \(checks), decoder says \(decodes)")
                if decodes { accepted += 1 } else { refused += 1 }
            }
        }
        // Both sides of the limits were tried.
        #expect(accepted > 50 && refused > 50, "accepted \(accepted), refused \(refused)")
    }
}
