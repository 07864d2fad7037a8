import Foundation
import Testing
import SandyqTestSupport
import SandyqCrypto

/// One test vector from Protocol/vectors/crypto/ (written by scripts/vectors/gen_crypto_vectors.py).
///
/// Format, in the style of the age test vectors: `key: value` header lines, one blank line,
/// then nothing. Byte strings are lowercase hex; an empty byte string is `key:` alone.
struct VectorFile: Sendable, VectorFolderRecord {
    enum Expect: String, Sendable, CaseIterable {
        case ok
        case authenticationFailed = "authentication_failed"
        case invalidLength = "invalid_length"
    }

    typealias FormatError = VectorFormatError

    /// Keys every file of an area must have, beyond `area`, `expect` and `comment`.
    static let areaKeys: [String: [String]] = [
        "ed25519": ["seed", "public_key", "message", "signature"],
        "sealedbox": ["recipient_secret_key", "recipient_public_key", "plaintext", "sealed"],
        "aead": ["key", "nonce", "ad", "plaintext", "ciphertext"],
        "blake2b": ["key", "length", "message", "digest"],
        "argon2id": ["passphrase", "salt", "opslimit", "memlimit", "length", "key"],
    ]

    static let directory: URL = Vectors.folder("crypto")

    /// All vector file names, sorted. Empty if the directory is missing (the coverage test then fails).
    static let allNames: [String] = Vectors.names(in: directory)

    static func names(area: String) -> [String] {
        allNames.filter { $0.hasPrefix(area + "_") }
    }

    let header: VectorHeader
    let expect: Expect

    init(header: VectorHeader) {
        self.header = header
        expect = Expect(rawValue: header.expect)!
    }

    static let keys = areaKeys.mapValues { VectorHeader.Keys(required: $0) }
    static let expects = areaKeys.mapValues { _ in Set(Expect.allCases.map(\.rawValue)) }

    func int<T: FixedWidthInteger>(_ key: String, as _: T.Type = Int.self) throws -> T {
        guard let v = T(try string(key), radix: 10) else {
            throw FormatError(description: "\(name): \(key) is not a decimal integer")
        }
        return v
    }

    /// Strict lowercase hex.
    static func hex(_ s: String, context: String = "hex") throws -> [UInt8] { try Vectors.hex(s, context: context) }
}

/// Runs `body` and requires it to throw `CryptoError.invalidLength` for a genuinely wrong length.
func expectInvalidLength(_ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected CryptoError.invalidLength, nothing was thrown. \(comment?.description ?? "")",
                     sourceLocation: sourceLocation)
    } catch let CryptoError.invalidLength(_, expected, got) {
        #expect(expected != got, comment, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected CryptoError.invalidLength, got \(error). \(comment?.description ?? "")",
                     sourceLocation: sourceLocation)
    }
}
