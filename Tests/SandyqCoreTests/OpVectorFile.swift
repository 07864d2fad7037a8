import Foundation
import Testing
import SandyqTestSupport

/// One test vector from Protocol/vectors/ops/ (written by scripts/vectors/gen_op_vectors.py).
///
/// Same file format as Protocol/vectors/crypto/: `key: value` header lines, one blank line,
/// then nothing. Byte strings are lowercase hex. The shared format is read by
/// SandyqTestSupport's `Vectors`; this adds the ops folder's keys and failure classes.
struct OpVectorFile: Sendable, VectorFolderRecord {
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
    static let optionalKeys = ["id", "reader_box_secret", "session_envelope", "payload", "counts"]

    static let directory: URL = Vectors.folder("ops")

    /// All vector file names, sorted. Empty if the directory is missing (the catalog test then fails).
    static let allNames: [String] = Vectors.names(in: directory)

    let header: VectorHeader
    let expect: Expect

    init(header: VectorHeader) {
        self.header = header
        expect = Expect(rawValue: header.expect)!
    }

    static let keys = Dictionary(uniqueKeysWithValues: areas.map { ($0, VectorHeader.Keys(required: requiredKeys, optional: optionalKeys)) })
    static let expects = Dictionary(uniqueKeysWithValues: areas.map { ($0, Set(Expect.allCases.map(\.rawValue))) })

    /// Strict lowercase hex.
    static func hex(_ s: String, context: String = "hex") throws -> [UInt8] { try Vectors.hex(s, context: context) }
}
