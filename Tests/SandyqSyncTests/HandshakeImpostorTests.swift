import Testing
import SandyqCore
import SandyqCrypto
@testable import SandyqSync

/// The network key is shared by every member, revoked ones included: it opens messages 2
/// and 3. What proves a peer's key is its signature over the transcript. An impostor holding
/// the network key writes a proof naming someone else's key, signed with its own; the other
/// side must refuse it (and accept the same message signed by the key it names).
@Suite struct HandshakeImpostorTests {
    let nk = SymmetricKey()
    let now: UInt64 = 1_764_000_000_000

    /// Message 2 as a server with the network key writes it: `named` claimed, `signer` signing.
    func message2(answering m1: [UInt8], named: SigningPublicKey, signer: SigningKeyPair) throws -> [UInt8] {
        let e = BoxKeyPair()
        let dh = try e.sharedSecret(with: try BoxPublicKey(bytes: Array(m1[1..<33])))
        let h1 = Hash.blake2b(m1)
        let proof = named.bytes + signer.sign(Array("sandyq-hs2".utf8) + h1 + e.publicKey.bytes).bytes
        return e.publicKey.bytes + AEAD.seal(proof, key: Handshake.kdf(nk, dh, h1, "k2"), nonce: Handshake.zeroNonce, associatedData: h1)
    }

    @Test func aServerProofSignedByAnotherKeyIsRefused() throws {
        let server = SigningKeyPair(), impostor = SigningKeyPair()
        var client = ClientHandshake(identity: SigningKeyPair(), networkKey: nk, version: 1)
        let m1 = client.message1(nowMillis: now)
        let forged = try message2(answering: m1, named: server.publicKey, signer: impostor)
        #expect(throws: SyncError.authenticationFailed) { try client.receive2(forged) { $0 == server.publicKey } }

        var honest = ClientHandshake(identity: SigningKeyPair(), networkKey: nk, version: 1)
        let m1b = honest.message1(nowMillis: now)
        let genuine = try message2(answering: m1b, named: server.publicKey, signer: server)
        #expect(try honest.receive2(genuine) { $0 == server.publicKey }.session.peer == server.publicKey)
    }

    @Test func aClientProofSignedByAnotherKeyIsRefused() throws {
        let member = SigningKeyPair(), impostor = SigningKeyPair()
        for honest in [false, true] {
            let signer = honest ? member : impostor
            var client = ClientHandshake(identity: impostor, networkKey: nk, version: 1)
            let m1 = client.message1(nowMillis: now)
            var server = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
            let m2 = try server.receive1(m1, nowMillis: now) { _ in true }
            let dh = try client.ephemeral.sharedSecret(with: try BoxPublicKey(bytes: Array(m2[0..<32])))
            let h2 = Hash.blake2b(Hash.blake2b(m1) + m2)
            let proof = member.publicKey.bytes + signer.sign(Array("sandyq-hs3".utf8) + h2).bytes
            let m3 = AEAD.seal(proof, key: Handshake.kdf(nk, dh, h2, "k3"), nonce: Handshake.zeroNonce, associatedData: h2)
            if honest {
                #expect(try server.receive3(m3) { $0 == member.publicKey }.peer == member.publicKey)
            } else {
                #expect(throws: SyncError.authenticationFailed) { try server.receive3(m3) { $0 == member.publicKey } }
            }
        }
    }
}
