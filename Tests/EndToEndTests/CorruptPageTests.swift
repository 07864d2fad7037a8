import Foundation
import Testing
import SandyqStore

/// A damaged page in the SQLite file, one page at a time over a whole real store: `sandyq check`
/// must notice every page that holds data, exit 65 and give the advice (keep a copy, resync into
/// a fresh node). Free pages hold nothing: damage there must change nothing a user sees.
@Suite struct CorruptPageTests {
    static let advice = "Keep a copy of"

    @Test func checkFlagsEveryCorruptedPageWithAdvice() throws {
        let home = try Home()
        try home.initialize()
        try #require(home.run(["project", "create", "Seeds"]).code == 0)
        let imported = try home.run(["case", "import", CLI.packageRoot + "/seeds/cases.json"])
        try #require(imported.code == 0, "\(imported)")
        // Deleted rows (outbox entries, paid grant debts) leave free pages; a dropped scratch table
        // leaves about twenty, so the store has both kinds.
        do {
            let db = try Database(path: home.dbPath)
            try db.execute("CREATE TABLE scratch(b BLOB)")
            try db.transaction { for _ in 0..<20 { try db.prepare("INSERT INTO scratch VALUES(randomblob(3000))").run() } }
            try db.execute("DROP TABLE scratch")
        }
        let list = try home.run(["case", "list", "--json"])
        try #require(list.code == 0, "\(list)")
        let clean = try home.run(["check"])
        try #require(clean.code == 0 && clean.stdout.hasPrefix("ok"), "\(clean)")

        // The last connection checkpointed the WAL away, so the main file is the whole store.
        let wal = (try? FileManager.default.attributesOfItem(atPath: home.dbPath + "-wal")[.size] as? Int) ?? 0
        try #require(wal == 0, "a \(wal)-byte WAL is left: a page there would hide damage to the main file")
        let db = try #require(home.bytes(home.dbPath))
        func be32(_ at: Int) -> Int { db[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let raw = Int(db[16]) << 8 | Int(db[17])
        let pageSize = raw == 1 ? 65536 : raw
        let pages = db.count / pageSize
        try #require(db.count % pageSize == 0 && be32(28) == pages, "page size \(pageSize), header says \(be32(28)) pages, file \(db.count) bytes")
        // The free list (header offsets 32 and 36): trunk pages, each listing free leaf pages.
        // A trunk is structure SQLite's check walks; a leaf holds nothing.
        var trunks: [Int] = [], leaves: Set<Int> = []
        var trunk = be32(32)
        while trunk != 0 && trunks.count <= pages {
            trunks.append(trunk)
            let base = (trunk - 1) * pageSize
            for k in 0..<be32(base + 4) { leaves.insert(be32(base + 8 + 4 * k)) }
            trunk = be32(base)
        }
        let free = leaves
        try #require(trunks.count + free.count == be32(36) && free.count >= 10, "free list: \(trunks) + \(free.count) leaves, header says \(be32(36))")
        try #require(pages - free.count >= 40, "only \(pages - free.count) pages hold data: too small a store to mean much")

        let key = try #require(home.bytes(home.keyPath))
        let scratch = home.path + "-pages"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let missed = TCPLocked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: pages) { index in
            let copy = scratch + "/\(index + 1)"
            var damaged = db
            for i in 0..<pageSize { damaged[index * pageSize + i] = UInt8(truncatingIfNeeded: 0xA5 ^ (i * 7)) }
            do {
                try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
                try Data(key).write(to: URL(fileURLWithPath: copy + "/identity.key"))
                try Data(damaged).write(to: URL(fileURLWithPath: copy + "/sandyq.db"))
                let env = ["SANDYQ_PASSPHRASE": Home.passphrase]
                let r = try CLI.run(["check", "--home", copy], env: env, timeout: 60)
                if free.contains(index + 1) {
                    // Harmless: check passes and every case reads as before.
                    let again = try CLI.run(["case", "list", "--json", "--home", copy], env: env, timeout: 60)
                    if r.code != 0 || again.stdout != list.stdout { missed.with { $0.append("free page \(index + 1): \(r)\n\(again)") } }
                } else if r.code != 65 || !r.stdout.contains("problem:") || !r.stdout.contains(Self.advice) {
                    missed.with { $0.append("page \(index + 1): \(r)") }
                }
            } catch {
                missed.with { $0.append("page \(index + 1): \(error)") }
            }
            try? FileManager.default.removeItem(atPath: copy)
        }
        #expect(missed.value.isEmpty, "\(missed.value.count) of \(pages) corrupted pages went wrong (a data page passing check or without the advice, or a free page that changed something):\n\(missed.value.joined(separator: "\n"))")
        print("CorruptPageTests: \(pages) pages of \(pageSize) bytes, \(pages - free.count) holding data (\(trunks.count) of them free-list trunks), \(free.count) free; \(missed.value.count) went wrong")

        // The original was never touched.
        #expect(try home.run(["check"]).code == 0)
    }
}
