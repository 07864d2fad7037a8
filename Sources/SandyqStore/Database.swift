internal import CSQLite

/// One SQLite connection. Owns the handle and closes it in `deinit`.
public final class Database: @unchecked Sendable {
    // A connection is used from one thread at a time; callers serialise access.
    let handle: OpaquePointer
    public let path: String

    public init(path: String) throws(StoreError) {
        var h: OpaquePointer?
        // FULLMUTEX is not needed: one owner per connection.
        let rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let h { sqlite3_close(h) }
            throw .sqlite(code: rc, message: msg)
        }
        sqlite3_extended_result_codes(h, 1)
        handle = h
        self.path = path
        sqlite3_busy_timeout(h, 5000)
    }

    deinit {
        // sqlite3_close_v2 defers the close until every statement is finalized.
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32) -> StoreError {
        let code = sqlite3_extended_errcode(handle), message = String(cString: sqlite3_errmsg(handle))
        return [SQLITE_CORRUPT, SQLITE_NOTADB].contains(code & 0xff) ? .corrupt("database: \(message)") : .sqlite(code: code, message: message)
    }

    public func execute(_ sql: String) throws(StoreError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            sqlite3_free(err)
            throw error(rc)
        }
    }

    public func prepare(_ sql: String) throws(StoreError) -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// Runs `body` in one IMMEDIATE transaction: all of it lands, or none.
    public func transaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try execute("COMMIT")
            return r
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement. Finalized in `deinit`.
public final class Statement {
    let handle: OpaquePointer
    unowned let database: Database

    init(database: Database, sql: String) throws(StoreError) {
        var h: OpaquePointer?
        let rc = sqlite3_prepare_v2(database.handle, sql, -1, &h, nil)
        guard rc == SQLITE_OK, let h else { throw database.error(rc) }
        handle = h
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    public enum Value {
        case int(Int64)
        case blob([UInt8])
        case text(String)
        case null
    }

    @discardableResult
    public func bind(_ values: [Value]) throws(StoreError) -> Statement {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (i, v) in values.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch v {
            case let .int(x): rc = sqlite3_bind_int64(handle, idx, x)
            case let .blob(b):
                rc = b.withUnsafeBytes { sqlite3_bind_blob(handle, idx, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count), csqlite_transient()) }
            case let .text(s): rc = sqlite3_bind_text(handle, idx, s, -1, csqlite_transient())
            case .null: rc = sqlite3_bind_null(handle, idx)
            }
            guard rc == SQLITE_OK else { throw database.error(rc) }
        }
        return self
    }

    /// Steps once; true when a row is available.
    public func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(rc)
        }
    }

    public func run(_ values: [Value] = []) throws(StoreError) {
        try bind(values)
        while try step() {}
        sqlite3_reset(handle)
    }

    public func rows(_ values: [Value] = [], _ row: (Statement) throws -> Void) throws {
        try bind(values)
        defer { sqlite3_reset(handle) }
        while try step() { try row(self) }
    }

    public func int(_ col: Int32) -> Int64 { sqlite3_column_int64(handle, col) }

    public func blob(_ col: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(handle, col))
        guard n > 0, let p = sqlite3_column_blob(handle, col) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    public func text(_ col: Int32) -> String {
        guard let p = sqlite3_column_text(handle, col) else { return "" }
        return String(cString: p)
    }

    public func isNull(_ col: Int32) -> Bool { sqlite3_column_type(handle, col) == SQLITE_NULL }
}
