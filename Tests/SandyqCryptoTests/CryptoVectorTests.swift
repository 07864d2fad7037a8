import Testing
import SandyqCrypto

/// Every file in Protocol/vectors/crypto/ is well formed, and the published vectors we rely on are there.
@Suite struct VectorCatalogTests {
    @Test(arguments: VectorFile.allNames)
    func fileParses(_ name: String) throws {
        let v = try VectorFile(named: name)
        // Every byte field decodes as strict hex.
        for key in VectorFile.areaKeys[v.area]! where !["length", "opslimit", "memlimit"].contains(key) {
            _ = try v.bytes(key)
        }
    }

    @Test func requiredVectorsArePresent() throws {
        let required = [
            "ed25519_rfc8032_test1.txt", "ed25519_rfc8032_test2.txt", "ed25519_rfc8032_test3.txt",
            "ed25519_rfc8032_test1024.txt", "ed25519_rfc8032_sha_abc.txt",
            "ed25519_flipped_signature_bit.txt", "ed25519_flipped_message_bit.txt",
            "ed25519_wrong_key.txt", "ed25519_truncated_signature.txt",
            "sealedbox_flipped_bit.txt", "sealedbox_wrong_key.txt", "sealedbox_truncated.txt",
            "aead_xchacha_draft_a31.txt", "aead_flipped_tag.txt", "aead_wrong_ad.txt", "aead_truncated.txt",
            "blake2b_rfc7693_abc.txt", "argon2id_ops2_mem8k.txt", "argon2id_wrong_passphrase.txt",
        ]
        let present = Set(VectorFile.allNames)
        for name in required {
            #expect(present.contains(name), "missing vector \(name) in \(VectorFile.directory.path)")
        }
        // Each area has known answers and at least one rejected case (blake2b has no failure mode).
        for area in VectorFile.areaKeys.keys {
            let expects = try VectorFile.names(area: area).map { try VectorFile(named: $0).expect }
            #expect(expects.filter { $0 == .ok }.count >= 2, "\(area) needs known-answer vectors")
            if area != "blake2b" {
                #expect(expects.contains { $0 != .ok }, "\(area) needs invalid cases")
            }
        }
    }

    @Test func loaderRejectsMalformedFiles() throws {
        let good = "area: blake2b\nexpect: ok\ncomment: c\nkey:\nlength: 32\nmessage: 00\ndigest: 00\n\n"
        #expect(throws: Never.self) { _ = try VectorFile(name: "blake2b_x.txt", text: good) }
        let bad: [(String, String)] = [
            ("blake2b_x.txt", good.replacingOccurrences(of: "expect: ok", with: "expect: maybe")),
            ("blake2b_x.txt", String(good.dropLast())),                       // no blank line
            ("blake2b_x.txt", good + "trailing\n"),                           // data after the header
            ("blake2b_x.txt", good.replacingOccurrences(of: "length: 32\n", with: "")),   // missing key
            ("blake2b_x.txt", good.replacingOccurrences(of: "key:\n", with: "key:\nextra: 1\n")), // unknown key
            ("aead_x.txt", good),                                             // name/area mismatch
        ]
        for (name, text) in bad {
            #expect(throws: VectorFile.FormatError.self) { _ = try VectorFile(name: name, text: text) }
        }
        #expect(throws: VectorFile.FormatError.self) { _ = try VectorFile.hex("0A") }
        #expect(throws: VectorFile.FormatError.self) { _ = try VectorFile.hex("abc") }
        #expect(try VectorFile.hex("00ff10") == [0x00, 0xff, 0x10])
        #expect(try VectorFile.hex("") == [])
    }
}

@Suite struct Ed25519VectorTests {
    @Test(arguments: VectorFile.names(area: "ed25519"))
    func vector(_ name: String) throws {
        let v = try VectorFile(named: name)
        let seed = try v.bytes("seed"), pk = try v.bytes("public_key")
        let message = try v.bytes("message"), sig = try v.bytes("signature")

        switch v.expect {
        case .ok:
            let pair = SigningKeyPair(seed: SecureBytes(seed))
            #expect(pair.publicKey.bytes == pk, "public key derives from the seed")
            #expect(pair.sign(message).bytes == sig, "Ed25519 signing is deterministic")
            #expect(pair.seed == SecureBytes(seed))
            let publicKey = try SigningPublicKey(bytes: pk)
            let signature = try Signature(bytes: sig)
            try publicKey.verify(signature, for: message)
            #expect(publicKey.isValidSignature(signature, for: message))
        case .authenticationFailed:
            let publicKey = try SigningPublicKey(bytes: pk)
            let signature = try Signature(bytes: sig)
            #expect(throws: CryptoError.authenticationFailed) { try publicKey.verify(signature, for: message) }
            #expect(!publicKey.isValidSignature(signature, for: message))
        case .invalidLength:
            #expect(pk.count != SigningPublicKey.length || sig.count != Signature.length)
            expectInvalidLength(Comment(rawValue: name)) {
                _ = try SigningPublicKey(bytes: pk)
                _ = try Signature(bytes: sig)
            }
        }
    }
}

@Suite struct SealedBoxVectorTests {
    @Test(arguments: VectorFile.names(area: "sealedbox"))
    func vector(_ name: String) throws {
        let v = try VectorFile(named: name)
        let sk = try v.bytes("recipient_secret_key"), pk = try v.bytes("recipient_public_key")
        let plaintext = try v.bytes("plaintext"), sealed = try v.bytes("sealed")

        switch v.expect {
        case .ok:
            let pair = try BoxKeyPair(secretKey: SecureBytes(sk))
            #expect(pair.publicKey.bytes == pk, "public key derives from the secret key")
            #expect(try BoxPublicKey(bytes: pk) == pair.publicKey)
            #expect(sealed.count == plaintext.count + SealedBox.overhead)
            #expect(try pair.open(sealed) == plaintext)
            #expect(try pair.openSecret(sealed) == SecureBytes(plaintext))
            // Sealing again round-trips but is randomised, so it never equals the stored box.
            let fresh = pair.publicKey.seal(plaintext)
            #expect(fresh != sealed)
            #expect(try pair.open(fresh) == plaintext)
            #expect(try pair.open(pair.publicKey.seal(SecureBytes(plaintext))) == plaintext)
        case .authenticationFailed:
            let pair = try BoxKeyPair(secretKey: SecureBytes(sk))
            #expect(pair.publicKey.bytes == pk)
            #expect(throws: CryptoError.authenticationFailed) { try pair.open(sealed) }
            #expect(throws: CryptoError.authenticationFailed) { try pair.openSecret(sealed) }
        case .invalidLength:
            expectInvalidLength(Comment(rawValue: name)) { _ = try BoxKeyPair(secretKey: SecureBytes(sk)) }
        }
    }
}

@Suite struct AEADVectorTests {
    @Test(arguments: VectorFile.names(area: "aead"))
    func vector(_ name: String) throws {
        let v = try VectorFile(named: name)
        let keyBytes = try v.bytes("key"), nonce = try v.bytes("nonce"), ad = try v.bytes("ad")
        let plaintext = try v.bytes("plaintext"), ciphertext = try v.bytes("ciphertext")

        switch v.expect {
        case .ok:
            let key = try SymmetricKey(SecureBytes(keyBytes))
            #expect(ciphertext.count == plaintext.count + AEAD.tagLength)
            #expect(AEAD.seal(plaintext, key: key, nonce: nonce, associatedData: ad) == ciphertext)
            #expect(try AEAD.open(ciphertext, key: key, nonce: nonce, associatedData: ad) == plaintext)
        case .authenticationFailed:
            let key = try SymmetricKey(SecureBytes(keyBytes))
            #expect(throws: CryptoError.authenticationFailed) {
                try AEAD.open(ciphertext, key: key, nonce: nonce, associatedData: ad)
            }
        case .invalidLength:
            expectInvalidLength(Comment(rawValue: name)) { _ = try SymmetricKey(SecureBytes(keyBytes)) }
        }
    }
}

@Suite struct Blake2bVectorTests {
    @Test(arguments: VectorFile.names(area: "blake2b"))
    func vector(_ name: String) throws {
        let v = try VectorFile(named: name)
        let key = try v.bytes("key"), length = try v.int("length")
        let message = try v.bytes("message"), digest = try v.bytes("digest")
        try #require(v.expect == .ok, "blake2b vectors are known answers only")
        #expect(digest.count == length)

        if key.isEmpty {
            #expect(Hash.blake2b(message, length: length) == digest)
            #expect(Hash.blake2b(message, length: length, key: SecureBytes([UInt8]())) == digest)
            // The streaming form gives the same digest however the message is split.
            let cut = message.count / 2
            #expect(Hash.blake2b(parts: [Array(message[..<cut]), Array(message[cut...])], length: length) == digest)
            #expect(Hash.blake2b(parts: [[], message, []], length: length) == digest)
            // A non-Array collection goes through the same path.
            #expect(Hash.blake2b(message[...], length: length) == digest)
        } else {
            #expect(Hash.blake2b(message, length: length, key: SecureBytes(key)) == digest)
            #expect(Hash.blake2b(message, length: length) != digest, "the key must change the digest")
        }
    }

    @Test func symmetricKeyDeriveIsKeyedBlake2bOfContext() throws {
        let v = try VectorFile(named: "blake2b_keyed_32.txt")
        let key = try SymmetricKey(SecureBytes(try v.bytes("key")))
        let context = String(decoding: try v.bytes("message"), as: UTF8.self)
        #expect(key.derive(context: context) == SecureBytes(try v.bytes("digest")))
    }

    @Test func overlongKeyIsRefusedNotZeroDigest() async {
        // libsodium refuses keys over 64 bytes; Hash used to ignore that and return 32 zero bytes.
        await #expect(processExitsWith: .failure) {
            _ = Hash.blake2b([1, 2, 3], key: SecureBytes([UInt8](repeating: 7, count: 65)))
        }
    }
}

@Suite struct Argon2idVectorTests {
    @Test(arguments: VectorFile.names(area: "argon2id"))
    func vector(_ name: String) throws {
        let v = try VectorFile(named: name)
        let passphrase = SecureBytes(try v.bytes("passphrase"))
        let salt = try v.bytes("salt"), expected = try v.bytes("key")
        let parameters = PasswordKDFParameters(opsLimit: try v.int("opslimit", as: UInt64.self),
                                               memLimit: try v.int("memlimit", as: UInt64.self))
        let length = try v.int("length")
        try #require(length == SymmetricKey.length)

        switch v.expect {
        case .ok:
            let key = try PasswordKDF.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
            #expect(key.secret.unsafeCopy == expected)
            #expect(key == (try SymmetricKey(SecureBytes(expected))))
        case .authenticationFailed:
            // The stated key is a real one (from a known-answer file); this input must not reproduce it.
            let knownKeys = try VectorFile.names(area: "argon2id").map { try VectorFile(named: $0) }
                .filter { $0.expect == .ok }.map { try $0.bytes("key") }
            #expect(knownKeys.contains(expected), "mismatch vector must reuse a known-answer key")
            let key = try PasswordKDF.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
            #expect(key.secret.unsafeCopy != expected)
            #expect(key.secret != SecureBytes(expected))
        case .invalidLength:
            expectInvalidLength(Comment(rawValue: name)) {
                _ = try PasswordKDF.deriveKey(passphrase: passphrase, salt: salt, parameters: parameters)
            }
        }
    }

    @Test func limitsBelowTheFloorAreRefused() {
        let salt = [UInt8](repeating: 1, count: PasswordKDF.saltLength)
        for p in [PasswordKDFParameters(opsLimit: 0, memLimit: 8192), PasswordKDFParameters(opsLimit: 1, memLimit: 8191)] {
            let error = #expect(throws: CryptoError.self) {
                _ = try PasswordKDF.deriveKey(passphrase: SecureBytes([1]), salt: salt, parameters: p)
            }
            if case .invalidParameters = error {} else { Issue.record("expected invalidParameters, got \(String(describing: error))") }
        }
    }
}
