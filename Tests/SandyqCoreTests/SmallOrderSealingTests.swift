import Testing
import SandyqCrypto
@testable import SandyqCore

/// Sealers leave out a box key of small order (Protocol/ops.md, "Keys of small order"), each
/// on its own: sessions, parents and bundle file keys, whoever builds them.
@Suite("Core: sealing around a key of small order")
struct SmallOrderSealingTests {
    static let small = try! BoxPublicKey(bytes: [1] + [UInt8](repeating: 0, count: 31))

    @Test("sessions and parents keep only the keys that open boxes, and still seal")
    func sessionsAndParents() throws {
        let good = BoxKeyPair()
        let parent = SealingParent(readers: [good.publicKey, Self.small])
        #expect(parent.readers == [good.publicKey])
        let session = SealingSession(readers: [Self.small, good.publicKey])
        #expect(session.readers == [good.publicKey])
        let body = try SealedBody(decoding: session.seal([7, 7, 7], header: [1]))
        #expect(body.sealedKeys?.count == 1)
        let key = try #require(body.openSessionKey(with: good))
        #expect(try body.open(with: key, header: [1]) == [7, 7, 7])
        #expect(OpWriter.readerSet([Self.small, good.publicKey, good.publicKey]) == [good.publicKey])
    }

    @Test("a bundle's file key is sealed to the other recipients; the padding keeps the entry count")
    func bundlePreamble() throws {
        let good = BoxKeyPair(), key = SymmetricKey()
        let withOdd = BundleFormat.preamble(fileKey: key, recipients: [good.publicKey, Self.small], noncePrefix: [UInt8](repeating: 0, count: 16))
        let without = BundleFormat.preamble(fileKey: key, recipients: [good.publicKey, BoxKeyPair().publicKey], noncePrefix: [UInt8](repeating: 0, count: 16))
        #expect(withOdd.count == without.count, "the file's length says nothing of the odd key")
        let entries = stride(from: BundleFormat.magic.count + 3, to: withOdd.count - 16, by: 80).map { Array(withOdd[$0..<$0 + 80]) }
        #expect(entries.count { (try? good.openSecret($0)) != nil } == 1)
        #expect(!entries.contains { $0.dropFirst(32).allSatisfy { $0 == 0 } })
    }
}
