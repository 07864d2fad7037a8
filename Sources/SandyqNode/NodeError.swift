import SandyqCore
import SandyqCrypto
import SandyqMedia
import SandyqStore
import SandyqSync

/// What went wrong, in words a person can act on, with the class the CLI maps to an exit code
/// and a code callers match (the module error's when one caused it).
public struct NodeError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case usage, wrongPassphrase, corrupt, notFound, notForMe, conflict, refused, failure

        /// The code of a NodeError no module error caused.
        public var code: String {
            switch self {
            case .usage: "node.usage"
            case .wrongPassphrase: "node.wrong-passphrase"
            case .corrupt: "node.corrupt"
            case .notFound: "node.not-found"
            case .notForMe: "node.not-for-me"
            case .conflict: "node.conflict"
            case .refused: "node.refused"
            case .failure: "node.failure"
            }
        }
    }

    public let kind: Kind
    public let message: String
    /// Stable, dotted: "store.wrong-passphrase", "op.bad-signature", "node.usage". The table is in docs/architecture.md.
    public let code: String

    public init(_ kind: Kind, _ message: String, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.code = code ?? kind.code
    }

    public var description: String { message }

    static func from(_ e: any Error) -> NodeError {
        switch e {
        case let n as NodeError: return n
        case let s as StoreError: return from(s)
        case let c as CoreError: return from(c)
        case let s as SyncError: return NodeError(.failure, s.description, code: s.code)
        case let c as CryptoError: return NodeError(.failure, c.description, code: c.code)
        case let m as MediaError: return from(m)
        default: return NodeError(.failure, "\(e)")
        }
    }

    static func from(_ s: StoreError) -> NodeError {
        let kind: Kind
        switch s {
        case .wrongPassphrase: kind = .wrongPassphrase
        case .corrupt, .newerSchema: kind = .corrupt
        case .notFound: kind = .notFound
        case .sqlite, .duress, .io: kind = .failure
        }
        return NodeError(kind, s.description, code: s.code)
    }

    static func from(_ m: MediaError) -> NodeError {
        // Every case is the file's data (its format or structure), so bad data to the CLI.
        NodeError(.corrupt, m.description, code: m.code)
    }

    static func from(_ c: CoreError) -> NodeError {
        let kind: Kind
        switch c {
        case .truncated, .malformed, .unsupportedVersion, .badSignature, .wrongProject, .brokenChain, .notMember,
            .notAllowed, .revoked:
            kind = .corrupt
        case .unknownCase, .ambiguousCase: kind = .notFound
        case .invalidField, .invalidDocument, .readOnly: kind = .usage
        case .empty, .notABundle, .bundleUnsupportedVersion, .obsoleteVersion, .bundleTruncated, .bundleMalformed, .notForMe,
            .bundleWrongProject, .bundleBadSignature, .decodeTruncated, .decodeMalformed:
            kind = .failure
        // A share that does not read is damaged data; shares that read but do not go together
        // (too few, two nodes, two backups, one given twice) are the caller's to fix.
        case let .backupShare(p, _):
            switch p {
            case .malformed, .truncated, .unsupportedVersion, .damaged, .altered: kind = .corrupt
            case .mixedNode, .mixedBackup, .duplicate, .tooFew: kind = .usage
            }
        }
        return NodeError(kind, c.description, code: c.code)
    }
}

/// Runs `body`, turning any error into a NodeError.
func mapped<R>(_ body: () throws -> R) throws(NodeError) -> R {
    do { return try body() } catch { throw NodeError.from(error) }
}
