import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqNode
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte pattern to look for, and what it stands for.
struct Needle {
    let label: String
    let bytes: [UInt8]
}

enum RawSearch {
    static func utf16(_ s: String, bigEndian: Bool) -> [UInt8] {
        s.utf16.flatMap { u -> [UInt8] in
            let hi = UInt8(u >> 8), lo = UInt8(u & 0xff)
            return bigEndian ? [hi, lo] : [lo, hi]
        }
    }

    /// The text as UTF-8, UTF-16LE and UTF-16BE.
    static func needles(_ label: String, _ text: String) -> [Needle] {
        [Needle(label: "\(label) utf8", bytes: Array(text.utf8)),
         Needle(label: "\(label) utf16le", bytes: utf16(text, bigEndian: false)),
         Needle(label: "\(label) utf16be", bytes: utf16(text, bigEndian: true))]
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, hay.count >= needle.count else { return false }
        // memchr for the first byte, memcmp for the rest: fast enough for megabytes in a debug build.
        return hay.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                let base = h.baseAddress!, first = Int32(needle[0])
                var at = 0
                let last = h.count - n.count
                while at <= last {
                    guard let p = memchr(base + at, first, last - at + 1) else { return false }
                    let i = base.distance(to: UnsafeRawPointer(p))
                    if memcmp(base + i, n.baseAddress!, n.count) == 0 { return true }
                    at = i + 1
                }
                return false
            }
        }
    }

    /// Every regular file under `root`, recursively, with its bytes.
    static func files(under root: String) throws -> [(path: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: root) else { return [] }
        while let rel = e.nextObject() as? String {
            let path = root + "/" + rel
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            out.append((path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
        }
        return out
    }

    /// (file name, needle label) for every needle found in any file under `root`.
    static func hits(under root: String, _ needles: [Needle]) throws -> (hits: [String], files: [String], bytes: Int) {
        let fs = try files(under: root)
        var hits: [String] = []
        for (path, bytes) in fs {
            for n in needles where contains(bytes, n.bytes) {
                hits.append("\((path as NSString).lastPathComponent): \(n.label)")
            }
        }
        return (hits, fs.map { ($0.path as NSString).lastPathComponent }.sorted(), fs.reduce(0) { $0 + $1.bytes.count })
    }
}

@Suite("Node: nothing readable at rest")
struct AtRestTests {
    static func seedCases() throws -> [CaseDocument] {
        let data = try Data(contentsOf: NodeFixture.seedCasesURL)
        return try JSONDecoder().decode(CaseDocument.Collection.self, from: data).cases
    }

    /// Names, aliases, charge descriptions, titles and summaries of the seed cases, and the case ids.
    static func needles(_ docs: [CaseDocument], ids: [CaseID]) -> [Needle] {
        var texts: [(String, String)] = []
        for (i, d) in docs.enumerated() {
            if let t = d.title { texts.append(("case \(i) title", t)) }
            if let s = d.summary { texts.append(("case \(i) summary", s)) }
            for p in d.persons ?? [] {
                texts.append(("case \(i) person", p.name))
                for a in p.aliases ?? [] { texts.append(("case \(i) alias", a)) }
            }
            for c in d.charges ?? [] { if let t = c.description { texts.append(("case \(i) charge", t)) } }
        }
        var out = texts.flatMap { RawSearch.needles($0.0, $0.1) }
        for id in ids {
            out += RawSearch.needles("case id hex", id.description)
            out += RawSearch.needles("case id HEX", id.description.uppercased())
            out.append(Needle(label: "case id raw", bytes: id.bytes))
        }
        return out
    }

    @Test("the search finds plaintext it is meant to find")
    func searchSanity() throws {
        let docs = try Self.seedCases()
        let name = try #require(docs.first?.persons?.first?.name)
        let id = CaseID.random()
        let dir = try TempDir("plain")
        try FileManager.default.createDirectory(atPath: dir.sub("nested/deeper"), withIntermediateDirectories: true)
        try Data(Array("prefix \(name) suffix".utf8)).write(to: URL(fileURLWithPath: dir.sub("a-utf8.txt")))
        try Data([0xFF, 0xFE] + RawSearch.utf16(name, bigEndian: false)).write(to: URL(fileURLWithPath: dir.sub("nested/b-utf16le.txt")))
        try Data([0xFE, 0xFF] + RawSearch.utf16(name, bigEndian: true)).write(to: URL(fileURLWithPath: dir.sub("nested/deeper/c-utf16be.txt")))
        try Data([1, 2, 3] + id.bytes + [4]).write(to: URL(fileURLWithPath: dir.sub("d-raw.bin")))
        let found = try RawSearch.hits(under: dir.path, RawSearch.needles("name", name) + Self.needles([], ids: [id]))
        #expect(Set(found.hits) == ["a-utf8.txt: name utf8", "b-utf16le.txt: name utf16le", "c-utf16be.txt: name utf16be", "d-raw.bin: case id raw"])
        #expect(found.files.count == 4)
        // And the needle list built from the seeds is not empty or trivial.
        let all = Self.needles(docs, ids: [id])
        #expect(all.count > 300)
        #expect(all.allSatisfy { $0.bytes.count >= 8 })
    }

    @Test("a node holding the seed cases keeps no name, title, charge or case id in any file, open or closed")
    func nothingReadableAtRest() throws {
        let docs = try Self.seedCases()
        #expect(docs.count >= 40)
        #expect(docs.contains { !($0.charges ?? []).isEmpty })
        #expect(docs.contains { $0.persons?.contains { !($0.aliases ?? []).isEmpty } == true })
        let dir = try TempDir()
        let home = dir.sub("home")
        var ids: [CaseID] = []
        var needles: [Needle] = []
        do {
            let node = try Node.initialize(home: home, passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)), parameters: .minimum)
            _ = try node.createProject(name: "Коалиция за освобождение политзаключённых")
            ids = try node.importCases(docs)
            #expect(ids.count == docs.count)
            #expect(Set(ids).count == docs.count)
            let view = try node.view()
            #expect(view.cases.count == docs.count)
            #expect(view.cases[ids[0]]?.value("title") == docs[0].title)
            needles = Self.needles(docs, ids: ids) + RawSearch.needles("project name", "Коалиция за освобождение политзаключённых")

            // While open: WAL mode, so the log sits in sandyq.db-wal too.
            #expect(FileManager.default.fileExists(atPath: home + "/sandyq.db-wal"))
            let open = try RawSearch.hits(under: home, needles)
            #expect(open.files.contains("sandyq.db"))
            #expect(open.files.contains("sandyq.db-wal"))
            #expect(open.files.contains("identity.key"))
            #expect(open.bytes > 40 * 1024, "the store holds the sealed cases (\(open.bytes) bytes)")
            #expect(open.hits.isEmpty, "plaintext on disk while open: \(open.hits.prefix(10))")
        }
        // Released: the connection closes and checkpoints.
        let closed = try RawSearch.hits(under: home, needles)
        #expect(closed.files.contains("sandyq.db"))
        #expect(closed.bytes > 40 * 1024)
        #expect(closed.hits.isEmpty, "plaintext on disk after close: \(closed.hits.prefix(10))")

        // The walk covers the home: a plaintext alias dropped into it is found.
        let aliases = docs.compactMap { $0.persons?.first?.aliases?.first }
        let alias = try #require(aliases.first)
        try FileManager.default.createDirectory(atPath: home + "/canary", withIntermediateDirectories: true)
        try Data(RawSearch.utf16(alias, bigEndian: false)).write(to: URL(fileURLWithPath: home + "/canary/note.txt"))
        let canary = try RawSearch.hits(under: home, needles)
        #expect(!canary.hits.isEmpty && canary.hits.allSatisfy { $0.hasPrefix("note.txt: ") && $0.hasSuffix("alias utf16le") }, "\(canary.hits)")
        try FileManager.default.removeItem(atPath: home + "/canary")

        // What was searched really is the data: it opens again with every case.
        let again = try NodeFixture.open(dir, "home")
        #expect(try again.view().cases.count == docs.count)
        #expect(try again.view().cases[ids[1]]?.value("title") == docs[1].title)
    }
}
