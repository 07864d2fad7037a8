import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqStore

// Seqs from peers are UInt64; the store keeps them in a signed 64-bit column. A value past
// Int64.max must be refused or clamped, never converted with a trap.
@Suite("Seq bounds: no trapping conversion from a peer's seq")
struct SeqBoundsTests {
    @Test("a member's op re-signed with seq 2^63+1 is refused as malformed, with a valid signature")
    func opWithHugeSeq() throws {
        let f = Founder()
        let genuine = f.chain(sealed: 1)[1]
        // The adversary patches the seq and signs again with its own key: only the range check stops it.
        var bytes = Array(genuine.encoded.prefix(genuine.encoded.count - Signature.length))
        let seqAt = 2 + ProjectID.length + SigningPublicKey.length
        let huge: UInt64 = 1 << 63 + 1
        for i in 0..<8 { bytes[seqAt + i] = UInt8((huge >> UInt64(56 - 8 * i)) & 0xff) }
        bytes += f.identity.signing.sign(bytes).bytes
        #expect(throws: CoreError.self) { _ = try Envelope(decoding: bytes) }
    }

    @Test("a vector naming seq 2^63+1 or UInt64.max asks the store for nothing, and does not trap")
    func hugeVectorSeqs() throws {
        let dir = try TempDir("seqbounds")
        let store = try OpStore(path: dir.file("s.db"))
        let f = Founder()
        try store.setProject(f.project)
        let r = try store.importEnvelopes(f.chain(sealed: 3), project: f.project)
        #expect(r.new == 4)
        for seq in [UInt64(1) << 63 + 1, .max] {
            #expect(try store.envelopes(missingFrom: VersionVector([f.author: seq])).isEmpty)
            #expect(try store.envelopes(author: f.author, after: seq).isEmpty)
        }
        #expect(try store.envelopes(missingFrom: VersionVector([f.author: 2])).count == 2)
        // On the wire, such a vector does not even decode.
        var w = ByteWriter()
        w.varint(1); w.raw(f.author.bytes); w.varint(UInt64(1) << 63 + 1)
        #expect(throws: (any Error).self) { _ = try VersionVector(decoding: w.bytes) }
    }
}
