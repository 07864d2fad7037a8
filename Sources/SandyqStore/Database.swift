import Foundation
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
        sqlite3_busy_timeout(h, 5000)
        // On read-only storage a WAL store cannot create its -shm file, so even reads fail:
        // then it is opened immutable, read-only (writes fail as `readOnly`).
        if Self.probe(h) != SQLITE_OK, let ro = Self.openImmutable(path) {
            sqlite3_close_v2(h)
            handle = ro
        } else {
            handle = h
        }
        self.path = path
    }

    /// Runs `body` waiting at most `ms` for other connections' locks, then the usual 5 s again:
    /// for work that may simply be tried later.
    public func waitingAtMost<R>(milliseconds ms: Int32, _ body: () throws(StoreError) -> R) throws(StoreError) -> R {
        sqlite3_busy_timeout(handle, ms)
        defer { sqlite3_busy_timeout(handle, 5000) }
        return try body()
    }

    /// Whether this connection cannot write (the store is on read-only storage).
    public var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    private static func probe(_ h: OpaquePointer) -> Int32 {
        sqlite3_exec(h, "SELECT count(*) FROM sqlite_master", nil, nil, nil)
    }

    /// The store opened read-only and immutable, when its directory cannot be written and no
    /// write-ahead log holds commits the main file lacks (immutable would not read them).
    private static func openImmutable(_ path: String) -> OpaquePointer? {
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        guard access(dir.isEmpty ? "/" : dir, W_OK) != 0 || statvfsReadOnly(dir.isEmpty ? "/" : dir) else { return nil }
        var st = stat()
        if stat(path + "-wal", &st) == 0, st.st_size > 0 { return nil }
        var escaped = ""
        for u in path.unicodeScalars {
            if u == "%" || u == "?" || u == "#" { escaped += "%" + String(u.value, radix: 16) } else { escaped.unicodeScalars.append(u) }
        }
        var h: OpaquePointer?
        let rc = sqlite3_open_v2("file:" + escaped + "?immutable=1", &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let h, probe(h) == SQLITE_OK else {
            if let h { sqlite3_close(h) }
            return nil
        }
        sqlite3_extended_result_codes(h, 1)
        return h
    }

    private static func statvfsReadOnly(_ dir: String) -> Bool {
        var s = statvfs()
        return statvfs(dir, &s) == 0 && (s.f_flag & UInt(ST_RDONLY)) != 0
    }

    deinit {
        // sqlite3_close_v2 defers the close until every statement is finalized.
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32) -> StoreError {
        let code = sqlite3_extended_errcode(handle), message = String(cString: sqlite3_errmsg(handle))
        if [SQLITE_CORRUPT, SQLITE_NOTADB].contains(code & 0xff) { return .corrupt("database: \(message)") }
        if code & 0xff == SQLITE_READONLY {
            return .io("the store \(path) is on read-only storage: nothing was written (reading commands still work)")
        }
        if [SQLITE_IOERR, SQLITE_FULL].contains(code & 0xff) {
            // Say why in the system's words (a full disk, a file size limit), and that the
            // transaction did not land.
            let errno = sqlite3_system_errno(handle)
            let cause = errno != 0 ? String(cString: strerror(errno)) : "is the disk full?"
            return .io("writing or reading the store failed (\(message): \(cause)); the transaction under way was rolled back and the store keeps its last committed state")
        }
        return .sqlite(code: code, message: message)
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

    /// Inside a transaction, whose rows may yet roll back.
    public var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in one IMMEDIATE transaction: all of it lands, or none. Inside another
    /// transaction it is a savepoint, so a step can join its caller's all-or-nothing.
    public func transaction<R>(_ body: () throws -> R) throws -> R {
        if sqlite3_get_autocommit(handle) == 0 {
            try execute("SAVEPOINT nested")
            do {
                let r = try body()
                try execute("RELEASE nested")
                return r
            } catch {
                try? execute("ROLLBACK TO nested")
                try? execute("RELEASE nested")
                throw error
            }
        }
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
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
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

    /// The column's bytes in place, valid only inside `body` (until the next step or reset).
    public func withBlob<R>(_ col: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let n = Int(sqlite3_column_bytes(handle, col))
        guard n > 0, let p = sqlite3_column_blob(handle, col) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: p, count: n))
    }

    public func text(_ col: Int32) -> String {
        guard let p = sqlite3_column_text(handle, col) else { return "" }
        return String(cString: p)
    }

    public func isNull(_ col: Int32) -> Bool { sqlite3_column_type(handle, col) == SQLITE_NULL }
}
