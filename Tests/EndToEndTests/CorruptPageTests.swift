import Foundation
import Testing

/// A damaged page in the SQLite file, one page at a time over a whole real store: `sandyq check`
/// must notice every one, exit 65 and give the advice (keep a copy, resync into a fresh node).
@Suite struct CorruptPageTests {
    static let advice = "Keep a copy of"

    @Test func checkFlagsEveryCorruptedPageWithAdvice() throws {
        let home = try Home()
        try home.initialize()
        try #require(home.run(["project", "create", "Seeds"]).code == 0)
        let imported = try home.run(["case", "import", CLI.packageRoot + "/seeds/cases.json"])
        try #require(imported.code == 0, "\(imported)")
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
        // No free pages (header offset 36): every page is schema, table, index or overflow, so
        // none can be overwritten harmlessly and every one must be flagged.
        #expect(be32(36) == 0, "\(be32(36)) free pages; this test expects none")
        try #require(pages >= 40, "only \(pages) pages: too small a store to mean much")

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
                let r = try CLI.run(["check", "--home", copy], env: ["SANDYQ_PASSPHRASE": Home.passphrase], timeout: 60)
                if r.code != 65 || !r.stdout.contains("problem:") || !r.stdout.contains(Self.advice) {
                    missed.with { $0.append("page \(index + 1): \(r)") }
                }
            } catch {
                missed.with { $0.append("page \(index + 1): \(error)") }
            }
            try? FileManager.default.removeItem(atPath: copy)
        }
        #expect(missed.value.isEmpty, "\(missed.value.count) of \(pages) corrupted pages passed check or came without the advice:\n\(missed.value.joined(separator: "\n"))")
        print("CorruptPageTests: \(pages - missed.value.count) of \(pages) single-page corruptions flagged with the advice (page size \(pageSize))")

        // The original was never touched.
        #expect(try home.run(["check"]).code == 0)
    }
}
