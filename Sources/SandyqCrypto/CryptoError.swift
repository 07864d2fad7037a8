/// One error for every failure in this module. Decryption and signature failures are all
/// `authenticationFailed`, so a caller (or an attacker watching it) learns nothing about which check failed.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    case authenticationFailed
    case invalidLength(what: String, expected: Int, got: Int)
    case invalidParameters(String)
    case outOfMemory

    /// Stable and unique per case; the table is in docs/architecture.md.
    public var code: String {
        switch self {
        case .authenticationFailed: "crypto.authentication-failed"
        case .invalidLength: "crypto.invalid-length"
        case .invalidParameters: "crypto.invalid-parameters"
        case .outOfMemory: "crypto.out-of-memory"
        }
    }

    public var description: String {
        switch self {
        case .authenticationFailed:
            return "authentication failed: the data was altered, truncated, or is not for this key"
        case let .invalidLength(what, expected, got):
            return "\(what) must be \(expected) bytes, got \(got)"
        case let .invalidParameters(why):
            return "invalid parameters: \(why)"
        case .outOfMemory:
            return "out of memory while deriving a key"
        }
    }
}
