import SandyqCore
import SandyqStore

/// What went wrong, in words a person can act on, with the class the CLI maps to an exit code.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case usage, wrongPassphrase, corrupt, notFound, notForMe, conflict, refused, failure
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func from(_ e: any Error) -> NodeError {
        switch e {
        case let n as NodeError: return n
        case let s as StoreError:
            switch s {
            case .wrongPassphrase: return NodeError(.wrongPassphrase, s.description)
            case .corrupt, .newerSchema: return NodeError(.corrupt, s.description)
            case .notFound: return NodeError(.notFound, s.description)
            default: return NodeError(.failure, s.description)
            }
        case let c as CaseError:
            switch c {
            case .unknownCase, .ambiguousCase: return NodeError(.notFound, c.description)
            default: return NodeError(.usage, c.description)
            }
        case let o as OpError: return NodeError(.corrupt, o.description)
        default: return NodeError(.failure, "\(e)")
        }
    }
}

/// Runs `body`, turning any error into a NodeError.
func mapped<R>(_ body: () throws -> R) throws(NodeError) -> R {
    do { return try body() } catch { throw NodeError.from(error) }
}
