import Foundation
import Testing
import SandyqTestSupport

/// One test vector from Protocol/vectors/ops/ (written by scripts/vectors/gen_op_vectors.py).
///
/// Same file format as Protocol/vectors/crypto/: `key: value` header lines, one blank line,
/// then nothing. Byte strings are lowercase hex. The shared format is read by
/// SandyqTestSupport's `Vectors`; this adds the ops folder's keys and failure classes.
struct OpVectorFile: Sendable, CustomStringConvertible {
    /// The closed list of outcomes (Protocol/README.md, "Failure classes").
    enum Expect: String, Sendable, CaseIterable {
        case ok
        case notMember = "not_member"
        case badSignature = "bad_signature"
        case brokenChain = "broken_chain"
        case fork
        case revoked
        case truncated
        case malformed
        case notForMe = "not_for_me"
        case wrongProject = "wrong_project"
        case unsupportedVersion = "unsupported_version"
    }

    typealias FormatError = VectorFormatError

    static let areas: Set<String> = ["envelope", "sealed", "payload", "membership"]
    static let requiredKeys = ["area", "expect", "comment", "project", "envelope"]
    static let optionalKeys = ["id", "reader_box_secret", "session_envelope", "payload"]

    static let directory: URL = Vectors.folder("ops")

    /// All vector file names, sorted. Empty if the directory is missing (the catalog test then fails).
    static let allNames: [String] = Vectors.names(in: directory)

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
        for key in Self.requiredKeys where fields[key] == nil {
            throw FormatError(description: "\(name): missing key \(key)")
        }
        let unknown = Set(fields.keys).subtracting(Self.requiredKeys + Self.optionalKeys)
        guard unknown.isEmpty else { throw FormatError(description: "\(name): unknown keys \(unknown.sorted())") }
        guard let area = fields["area"], Self.areas.contains(area) else {
            throw FormatError(description: "\(name): unknown area")
        }
        guard name.hasPrefix(area + "_"), name.hasSuffix(".txt") else {
            throw FormatError(description: "\(name): file name must be \(area)_<defect>.txt")
        }
        guard let expect = Expect(rawValue: fields["expect"]!) else {
            throw FormatError(description: "\(name): expect is not in the closed list of failure classes")
        }
        guard let comment = fields["comment"], !comment.isEmpty else {
            throw FormatError(description: "\(name): empty comment")
        }
        self.area = area
        self.expect = expect
        self.comment = comment
        self.fields = fields
    }

    func has(_ key: String) -> Bool { fields[key] != nil }

    func bytes(_ key: String) throws -> [UInt8] {
        guard let v = fields[key] else { throw FormatError(description: "\(name): no key \(key)") }
        return try Self.hex(v, context: "\(name): \(key)")
    }

    /// nil when the key is absent.
    func optionalBytes(_ key: String) throws -> [UInt8]? {
        has(key) ? try bytes(key) : nil
    }

    /// Strict lowercase hex.
    static func hex(_ s: String, context: String = "hex") throws -> [UInt8] { try Vectors.hex(s, context: context) }
}
