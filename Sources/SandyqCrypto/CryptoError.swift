/// One error for every failure in this module. Decryption and signature failures are all
/// `authenticationFailed`, so a caller (or an attacker watching it) learns nothing about which check failed.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    case authenticationFailed
    case invalidLength(what: String, expected: Int, got: Int)
    case invalidParameters(String)
    case outOfMemory

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
