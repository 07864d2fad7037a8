internal import CSodium

/// libsodium must be initialised once before any call; `sodium_init` is idempotent and thread-safe.
enum Sodium {
    static let ready: Bool = {
        sodium_init() >= 0
    }()

    static func ensure() {
        precondition(ready, "libsodium failed to initialise")
    }
}
