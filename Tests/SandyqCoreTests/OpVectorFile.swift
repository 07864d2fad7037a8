import Foundation
import Testing

/// One test vector from Protocol/vectors/ops/ (written by scripts/vectors/gen_op_vectors.py).
///
/// Same file format as Protocol/vectors/crypto/: `key: value` header lines, one blank line,
/// then nothing. Byte strings are lowercase hex. (The crypto test target has its own loader;
/// test targets cannot import each other, so this one is separate and only as big as needed.)
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

    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    static let areas: Set<String> = ["envelope", "sealed", "payload", "membership"]
    static let requiredKeys = ["area", "expect", "comment", "project", "envelope"]
    static let optionalKeys = ["id", "reader_box_secret", "session_envelope", "payload"]

    /// Tests/SandyqCoreTests/OpVectorFile.swift -> <package>/Protocol/vectors/ops
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // SandyqCoreTests
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // package root
        .appendingPathComponent("Protocol/vectors/ops", isDirectory: true)

    /// All vector file names, sorted. Empty if the directory is missing (the catalog test then fails).
    static let allNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }()

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
        guard text.hasSuffix("\n\n"), !text.dropLast(2).contains("\n\n") else {
            throw FormatError(description: "\(name): header must end with exactly one blank line and nothing after it")
        }
        var fields: [String: String] = [:]
        for line in text.dropLast(2).split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                throw FormatError(description: "\(name): not a `key: value` line: \(line)")
            }
            let key = String(line[..<colon])
            var value = line[line.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            guard !key.isEmpty, fields[key] == nil else {
                throw FormatError(description: "\(name): empty or repeated key \(key)")
            }
            fields[key] = String(value)
        }
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
    static func hex(_ s: String, context: String = "hex") throws -> [UInt8] {
        let digits = Array(s.utf8)
        guard digits.count % 2 == 0 else { throw FormatError(description: "\(context): odd-length hex") }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: throw FormatError(description: "\(context): not lowercase hex")
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            out.append(try nibble(digits[i]) << 4 | nibble(digits[i + 1]))
            i += 2
        }
        return out
    }
}
