/// One error for the store. Messages never carry bound values, plaintext or keys.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An SQLite call failed; `code` is the extended result code.
    case sqlite(code: Int32, message: String)
    case newerSchema(found: Int, supported: Int)
    case corrupt(String)
    case wrongPassphrase
    /// The duress passphrase was given: the caller destroys the keys and carries on as a new node.
    case duress
    case io(String)
    case notFound(String)

    /// Stable and unique per case; the table is in docs/architecture.md.
    public var code: String {
        switch self {
        case .sqlite: "store.sqlite"
        case .newerSchema: "store.newer-schema"
        case .corrupt: "store.corrupt"
        case .wrongPassphrase: "store.wrong-passphrase"
        case .duress: "store.duress"
        case .io: "store.io"
        case .notFound: "store.not-found"
        }
    }

    public var description: String {
        switch self {
        case let .sqlite(code, message): "database error \(code): \(message)"
        case let .newerSchema(found, supported):
            "this store was written by a newer sandyq (schema \(found); this build knows up to \(supported)); upgrade sandyq to open it"
        case let .corrupt(why): "corrupt data: \(why)"
        case .wrongPassphrase, .duress: "wrong passphrase: the key file did not open. Nothing was changed."
        case let .io(why): why
        case let .notFound(why): why
        }
    }
}
