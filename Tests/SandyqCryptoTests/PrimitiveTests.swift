import Testing
import SandyqCrypto

/// The sizes the wire format and the vector files assume. A libsodium that disagrees must fail here.
@Test func libsodiumSizesArePinned() throws {
    #expect(SigningPublicKey.length == 32)
    #expect(Signature.length == 64)
    #expect(SigningKeyPair.seedLength == 32)
    #expect(SigningKeyPair.secretLength == 64)
    #expect(BoxPublicKey.length == 32)
    #expect(BoxKeyPair.secretLength == 32)
    #expect(SealedBox.overhead == 48)
    #expect(SymmetricKey.length == 32)
    #expect(AEAD.nonceLength == 24)
    #expect(AEAD.tagLength == 16)
    #expect(Hash.defaultLength == 32)
    #expect(Hash.keyLength == 32)
    #expect(PasswordKDF.saltLength == 16)
    #expect(PasswordKDFParameters.minimum == PasswordKDFParameters(opsLimit: 1, memLimit: 8192))

    // And the sizes real outputs actually have.
    let signer = SigningKeyPair()
    #expect(signer.publicKey.bytes.count == 32)
    #expect(signer.sign([1, 2, 3]).bytes.count == 64)
    let box = BoxKeyPair()
    #expect(box.publicKey.bytes.count == 32)
    #expect(box.secretKey.count == 32)
    #expect(box.publicKey.seal([1, 2, 3]).count == 3 + 48)
    #expect(AEAD.randomNonce().count == 24)
    #expect(AEAD.seal([1, 2, 3], key: SymmetricKey(), nonce: AEAD.randomNonce()).count == 3 + 16)
    #expect(Hash.blake2b([UInt8]()).count == 32)
}

@Suite struct SecureBytesTests {
    @Test func equalityComparesContents() {
        let a = SecureBytes([1, 2, 3, 4])
        #expect(a == SecureBytes([1, 2, 3, 4]))
        #expect(a == a) // one object on both sides: both borrows of its buffer overlap
        #expect(a != SecureBytes([1, 2, 3, 5]), "last byte differs")
        #expect(a != SecureBytes([0, 2, 3, 4]), "first byte differs")
        #expect(a != SecureBytes([1, 2, 3]), "prefix: different length")
        #expect(a != SecureBytes([1, 2, 3, 4, 0]), "longer: different length")
        #expect(a != SecureBytes([UInt8]()))
        #expect(SecureBytes([UInt8]()) == SecureBytes([UInt8]()))
        #expect(SecureBytes(randomCount: 32) != SecureBytes(randomCount: 32))
        #expect(SecureBytes(randomCount: 32).count == 32)
    }

    @Test func contentsAreKept() {
        let bytes: [UInt8] = Array(0...40)
        let s = SecureBytes(bytes)
        #expect(s.count == bytes.count)
        #expect(s.unsafeCopy == bytes)
        #expect(s.withUnsafeBytes { Array($0) } == bytes)
        #expect(SecureBytes(bytes[3..<9]).unsafeCopy == Array(bytes[3..<9]))
    }

    @Test func descriptionNeverShowsBytes() {
        let bytes: [UInt8] = [0xde, 0xad, 0xbe, 0xef, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74] // ...."secret"
        let s = SecureBytes(bytes)
        var dumped = ""
        dump(s, to: &dumped)
        let printed = [s.description, "\(s)", String(reflecting: s), String(describing: [s])]
        for text in printed {
            #expect(text.contains("SecureBytes(10 bytes, redacted)"), "\(text)")
        }
        // The dump (Mirror) shows the storage pointer, never what it points to.
        for text in printed + [dumped] {
            for leak in ["deadbeef", "DEADBEEF", "222, 173, 190", "0xde, 0xad", "secret"] {
                #expect(!text.contains(leak), "\(text) shows the bytes")
            }
        }
        #expect(s.description == "SecureBytes(10 bytes, redacted)")
    }

    @Test func zeroizeClearsPlainArrays() {
        var plain: [UInt8] = [9, 8, 7]
        plain.zeroize()
        #expect(plain == [0, 0, 0])
        var empty: [UInt8] = []
        empty.zeroize()
        #expect(empty.isEmpty)
    }
}

@Suite struct SigningKeyTests {
    @Test(arguments: [
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ])
    func seedRoundTrips(_ seedHex: String) throws {
        let seed = try VectorFile.hex(seedHex)
        let pair = SigningKeyPair(seed: SecureBytes(seed))
        #expect(pair.seed.unsafeCopy == seed)
        #expect(pair.seed == SecureBytes(seed))
        #expect(SigningKeyPair(seed: pair.seed).publicKey == pair.publicKey)
    }

    @Test func randomKeyPairRoundTripsThroughItsSeed() throws {
        let pair = SigningKeyPair()
        let again = SigningKeyPair(seed: pair.seed)
        #expect(again.publicKey == pair.publicKey)
        #expect(pair.seed.count == SigningKeyPair.seedLength)
        let message: [UInt8] = Array("sandyq".utf8)
        #expect(again.sign(message) == pair.sign(message))
        #expect(pair.publicKey.isValidSignature(again.sign(message), for: message))
        #expect(SigningKeyPair().publicKey != pair.publicKey)
    }

    @Test func boxKeyPairRoundTripsThroughItsSecretKey() throws {
        let pair = BoxKeyPair()
        let again = try BoxKeyPair(secretKey: pair.secretKey)
        #expect(again.publicKey == pair.publicKey)
        let peer = BoxKeyPair()
        #expect(try pair.sharedSecret(with: peer.publicKey) == peer.sharedSecret(with: pair.publicKey))
    }
}
