import SandyqCore
import SandyqCrypto
import Testing

/// A session id is stored as author key ‖ the author's 8 bytes (key cache, snapshot, grant
/// records and grant mutations): the type must keep exactly those bytes and their order.
@Suite("SessionID: the stored bytes, their checks and their order")
struct SessionIDTests {
    @Test("bytes are author key ‖ the author's own id, and parse back to an equal id with an equal hash")
    func bytesRoundTrip() throws {
        var rng = SeededRandom(seed: SeededRandom.seeds[0])
        let author = try SigningPublicKey(bytes: rng.bytes(SigningPublicKey.length))
        let local = rng.bytes(SealingSession.idLength)
        let sid = try SessionID(author: author, local: local)
        #expect(sid.bytes == author.bytes + local)
        #expect(SessionID.length == 40)
        let parsed = try SessionID(bytes: sid.bytes)
        #expect(parsed == sid && parsed.author == author && parsed.local == local)
        #expect(parsed.hashValue == sid.hashValue)
        #expect(Set([sid, parsed]).count == 1)
        #expect(sid.description == Hex.encode(sid.bytes))
    }

    @Test("a wrong length is refused, whole or in part", arguments: [0, 8, 32, 39, 41, 64])
    func wrongLengthRefused(count: Int) throws {
        #expect(throws: CoreError.self) { try SessionID(bytes: [UInt8](repeating: 7, count: count)) }
        let author = try SigningPublicKey(bytes: [UInt8](repeating: 1, count: SigningPublicKey.length))
        if count != SealingSession.idLength {
            #expect(throws: CoreError.self) { try SessionID(author: author, local: [UInt8](repeating: 7, count: count)) }
        }
    }

    @Test("the order is the order of the bytes (grants are written in it)")
    func orderIsByteOrder() throws {
        var rng = SeededRandom(seed: SeededRandom.seeds[1])
        // Few authors, so many ids share one and their own bytes decide.
        let authors = try (0..<3).map { _ in try SigningPublicKey(bytes: rng.bytes(SigningPublicKey.length)) }
        var sids = try (0..<300).map { i in
            try SessionID(author: authors[i % 3], local: rng.bytes(SealingSession.idLength))
        }
        sids.append(sids[0])
        let byBytes = sids.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        #expect(sids.sorted().map(\.bytes) == byBytes.map(\.bytes))
        for (a, b) in zip(sids, sids.shuffled(using: &rng)) {
            #expect((a < b) == a.bytes.lexicographicallyPrecedes(b.bytes))
            #expect((a == b) == (a.bytes == b.bytes))
        }
    }

    @Test("a grant mutation encodes the session as its stored bytes and decodes it back")
    func grantCarriesTheSameBytes() throws {
        var rng = SeededRandom(seed: SeededRandom.seeds[2])
        let sid = try SessionID(bytes: rng.bytes(SessionID.length))
        let key = rng.bytes(SymmetricKey.length)
        let p = Payload(clock: 9, mutations: [.grant(session: sid, key: key)])
        let bytes = p.encoded()
        #expect(Array(bytes.suffix(1 + SessionID.length + key.count)) == [5] + sid.bytes + key)
        #expect(try Payload(decoding: bytes) == p)
    }
}
