/// Every failure in this module: an op refused, a case edit refused, a bundle that does not
/// read, bytes that do not decode. Callers match `code`, never the message.
public enum CoreError: Error, Equatable, Sendable, CustomStringConvertible {
    // An op refused. The cases match Protocol/'s closed list of failure classes.
    case truncated
    case malformed(String)
    case unsupportedVersion(UInt8)
    case badSignature
    case wrongProject
    case brokenChain
    case notMember
    case notAllowed(String)
    case revoked

    // A case edit or lookup refused.
    case invalidField(String)
    case invalidDocument(String)
    case unknownCase(String)
    case ambiguousCase(String)
    case readOnly(String)

    // A bundle file that does not read.
    case empty
    case notABundle
    case bundleUnsupportedVersion
    /// Format 1, whose header nobody signed: its claims about the sender cannot be trusted.
    case obsoleteVersion
    case bundleTruncated
    case bundleMalformed(String)
    case notForMe
    case bundleWrongProject
    case bundleBadSignature

    // Bytes that do not decode (ByteReader, ids, vectors, the view snapshot).
    case decodeTruncated
    case decodeMalformed(String)

    // A backup share, or a set of them, that does not rebuild a node (Protocol/backup.md).
    case backupShare(BackupShare.Problem, String)

    /// Stable and unique per case; the table is in docs/architecture.md.
    public var code: String {
        switch self {
        case .truncated: "op.truncated"
        case .malformed: "op.malformed"
        case .unsupportedVersion: "op.unsupported-version"
        case .badSignature: "op.bad-signature"
        case .wrongProject: "op.wrong-project"
        case .brokenChain: "op.broken-chain"
        case .notMember: "op.not-member"
        case .notAllowed: "op.not-allowed"
        case .revoked: "op.revoked"
        case .invalidField: "case.invalid-field"
        case .invalidDocument: "case.invalid-document"
        case .unknownCase: "case.unknown"
        case .ambiguousCase: "case.ambiguous"
        case .readOnly: "case.read-only"
        case .empty: "bundle.empty"
        case .notABundle: "bundle.not-a-bundle"
        case .bundleUnsupportedVersion: "bundle.unsupported-version"
        case .obsoleteVersion: "bundle.obsolete-version"
        case .bundleTruncated: "bundle.truncated"
        case .bundleMalformed: "bundle.malformed"
        case .notForMe: "bundle.not-for-me"
        case .bundleWrongProject: "bundle.wrong-project"
        case .bundleBadSignature: "bundle.bad-signature"
        case .decodeTruncated: "decode.truncated"
        case .decodeMalformed: "decode.malformed"
        case let .backupShare(p, _): "backup." + String(p.rawValue.map { $0 == "_" ? "-" : $0 })
        }
    }

    /// The Protocol/ failure class (the vectors' `expect:`, the CLI's refusal code); nil for case errors.
    public var failureClass: String? {
        switch self {
        case .truncated, .bundleTruncated, .decodeTruncated: "truncated"
        case .malformed, .empty, .notABundle, .bundleMalformed, .decodeMalformed: "malformed"
        case .unsupportedVersion, .bundleUnsupportedVersion, .obsoleteVersion: "unsupported_version"
        case .badSignature, .bundleBadSignature: "bad_signature"
        case .wrongProject, .bundleWrongProject: "wrong_project"
        case .brokenChain: "broken_chain"
        case .notMember: "not_member"
        case .notAllowed: "not_allowed"
        case .revoked: "revoked"
        case .notForMe: "not_for_me"
        // Backup shares have their own list (BackupShare.Problem), not an op's outcome.
        case .invalidField, .invalidDocument, .unknownCase, .ambiguousCase, .readOnly, .backupShare: nil
        }
    }

    public var description: String {
        switch self {
        case .truncated: "op is truncated"
        case let .malformed(why): "op is malformed: \(why)"
        case let .unsupportedVersion(v): "op format version \(v) is not supported by this build; upgrade sandyq"
        case .badSignature: "op signature does not verify"
        case .wrongProject: "op belongs to another project"
        case .brokenChain: "op does not link to its author's previous op"
        case .notMember: "op author is not a member of this project"
        case let .notAllowed(why): "op not allowed: \(why)"
        case .revoked: "op author's key was revoked before this op"
        case let .invalidField(m): m
        case let .invalidDocument(m): "invalid case document: \(m)"
        case let .unknownCase(m): "no case matches '\(m)'; `sandyq case list` shows the ids"
        case let .ambiguousCase(m): "'\(m)' matches several cases; give more of the id"
        case let .readOnly(m): m
        case .empty: "the file is empty: not a bundle"
        case .notABundle: "not a sandyq bundle"
        case .bundleUnsupportedVersion: "bundle format version not supported by this build; upgrade sandyq"
        case .obsoleteVersion:
            "this bundle was written by an older sandyq (bundle format 1, whose sender is not authenticated) and is no longer read; nothing was changed: ask its sender to export it again"
        case .bundleTruncated: "the bundle is truncated"
        case let .bundleMalformed(what): "the bundle is damaged (\(what))"
        case .notForMe: "this bundle is not addressed to this node; nothing was changed"
        case .bundleWrongProject: "this bundle belongs to another project; nothing was changed"
        case .bundleBadSignature:
            "the bundle's header is not signed by the node it names as its sender (forged or altered); nothing was changed"
        // The text these printed before they had a message of their own; kept so output stays the same.
        case .decodeTruncated: "truncated"
        case let .decodeMalformed(why): "malformed(\(String(reflecting: why)))"
        case let .backupShare(_, m): m
        }
    }
}

// Earlier names, kept so code written against them still compiles; each case keeps its meaning.
// BundleError and DecodeError have none: their colliding cases were renamed (`bundleTruncated`, ...).
@available(*, deprecated, renamed: "CoreError")
public typealias OpError = CoreError
@available(*, deprecated, renamed: "CoreError")
public typealias CaseError = CoreError
