import Foundation
import Testing
import SandyqTestSupport
import SandyqCrypto

/// One test vector from Protocol/vectors/crypto/ (written by scripts/vectors/gen_crypto_vectors.py).
///
/// Format, in the style of the age test vectors: `key: value` header lines, one blank line,
/// then nothing. Byte strings are lowercase hex; an empty byte string is `key:` alone.
struct VectorFile: Sendable, CustomStringConvertible {
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

    let name: String
    let area: String
    let expect: Expect
    let comment: String
    private let fields: [String: String]

    var description: String { "\(name) (\(comment))" }

    init(named name: String) throws {
        let url = Self.directory.appendingPathComponent(name)
        try self.init(name: name, text: String(contentsOf: url, encoding: .utf8))
    }

    init(name: String, text: String) throws {
        self.name = name
        let fields = try Vectors.header(text, name)
        guard let area = fields["area"], let required = Self.areaKeys[area] else {
            throw FormatError(description: "\(name): missing or unknown area")
        }
        guard name.hasPrefix(area + "_"), name.hasSuffix(".txt") else {
            throw FormatError(description: "\(name): file name must be \(area)_<case>.txt")
        }
        guard let expectRaw = fields["expect"], let expect = Expect(rawValue: expectRaw) else {
            throw FormatError(description: "\(name): expect must be one of ok, authentication_failed, invalid_length")
        }
        guard let comment = fields["comment"], !comment.isEmpty else {
            throw FormatError(description: "\(name): missing comment")
        }
        let allowed = Set(required + ["area", "expect", "comment"])
        guard Set(fields.keys) == allowed else {
            throw FormatError(description: "\(name): keys \(fields.keys.sorted()) but area \(area) needs \(allowed.sorted())")
        }
        self.area = area
        self.expect = expect
        self.comment = comment
        self.fields = fields
    }

    func string(_ key: String) throws -> String {
        guard let v = fields[key] else { throw FormatError(description: "\(name): no key \(key)") }
        return v
    }

    func bytes(_ key: String) throws -> [UInt8] {
        try Self.hex(string(key), context: "\(name): \(key)")
    }

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
