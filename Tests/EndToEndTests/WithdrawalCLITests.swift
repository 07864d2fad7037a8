import Foundation
import SandyqCore
import SandyqCrypto
import SandyqNode
import SandyqStore
import SandyqSync
import Testing

/// Withdrawal through the real binary, on five nodes: coordinator C, second coordinator B,
/// reporter R, lawyer L and relay Y hold a case with an evidence file; C withdraws it; one
/// round of bundles later every node has dropped its ops, chunks and keys, the other case
/// still reads, and an old bundle carried in afterwards brings nothing back.
@Suite("Withdrawal, end to end")
struct WithdrawalCLITests {
    static let marker = "Свидетель Альфа-7731 отозвал согласие"

    @Test("a withdrawn case is dropped on five nodes in one round, and an old bundle does not bring it back")
    func fiveNodes() throws {
        let p = try ReporterPair()
        let (c, r) = (p.c, p.r)
        let b = try DrillNode("B"), l = try DrillNode("L"), y = try DrillNode("Y")
        for (n, role) in [(b, "coordinator"), (l, "lawyer"), (y, "relay")] {
            try n.ok(["join", p.project])
            try c.ok(["member", "add", n.id, "--role", role])
        }
        // R records the case to withdraw; C records one that stays, and attaches a file to R's.
        let doomed = #"{"title": "W-1", "ref": "W-1", "persons": [{"name": "\#(Self.marker)"}]}"#
        try p.carry(c, to: r, "C-to-R-0.sqb")
        _ = try r.object(["case", "add", "--stdin"], stdin: doomed)
        try p.carry(r, to: c, "R-to-C-1.sqb")
        _ = try c.object(["case", "add", "--stdin"], stdin: #"{"title": "K-1", "ref": "K-1", "city": "Алматы"}"#)
        let photo = p.work.file("evidence.txt")
        try Data((Self.marker + " — протокол допроса\n").utf8).write(to: URL(fileURLWithPath: photo))
        try c.ok(["case", "attach", "W-1", photo])
        try c.ok(["case", "share", "W-1", "--with", l.id])
        for n in [b, l, y, r] { try p.carry(c, to: n, "C-to-\(n.name)-1.sqb") }
        let (bCases, lCases) = (try b.caseIDs().count, try l.caseIDs().count)
        #expect(bCases == 2 && lCases == 1, "before: B reads both cases, L the shared one")
        // B's copy of the whole log before the withdrawal: the stick that comes back later.
        let oldStick = p.work.file("old-stick.sqb")
        try c.ok(["bundle", "export", "--to", b.id, "--all", "--out", oldStick])
        let before = try c.storedEnvelopes()

        let reason = "Куәгер келісімін қайтарып алды — свидетель отозвал согласие"
        let w = try c.object(["case", "withdraw", "W-1", "--reason", reason])
        let named = try #require(w["ops"] as? Int)
        let wid = try #require((w["withdrawals"] as? [String])?.first)
        #expect(named >= 3 && w["files"] as? Int == 1, "the case op, the share and the file record: \(w)")
        let gone = Set(before.map(\.id)).subtracting(try c.storedEnvelopes().map(\.id))
        #expect(gone.count == named, "C dropped exactly the named ops")

        for n in [b, l, y, r] { try p.carry(c, to: n, "C-to-\(n.name)-2.sqb") }
        for n in [c, b, l, y, r] {
            let check = try n.object(["check", "--withdrawn"])
            #expect(check["clean"] as? Bool == true, "\(n.name): \(check)")
            #expect((check["check"] as? [String: Any])?["withdrawals"] as? Int == 1, "\(n.name) holds the withdrawal: \(check)")
            let held = Set(try n.storedEnvelopes().map(\.id))
            #expect(held.isDisjoint(with: gone), "\(n.name) still holds \(held.intersection(gone).count) withdrawn op(s)")
            for (file, bytes) in n.files() {
                #expect(!Self.contains(bytes, Self.marker), "\(n.name): \(file) holds the withdrawn text")
                #expect(!Self.contains(bytes, reason), "\(n.name): \(file) holds the reason unsealed")
            }
            // Who and how much for every node; what and why for the coordinators only.
            let record = try #require(((check["check"] as? [String: Any])?["records"] as? [[String: Any]])?.first, "\(n.name): \(check)")
            #expect(record["withdrawal"] as? String == wid && record["by"] as? String == c.fingerprint && record["ops"] as? Int == named, "\(n.name): \(record)")
            let coordinator = n === c || n === b
            #expect((record["why"] as? String == reason) == coordinator, "\(n.name): \(record)")
            #expect(((record["what"] as? String)?.hasPrefix("W-1") ?? false) == coordinator, "\(n.name): \(record)")
        }
        // C hears back from each node by the next bundle it sends: then B, L and Y have confirmed
        // (R, a reporter, holds only membership ops of C's chain, so its vector cannot show it).
        let unconfirmed = try #require(try c.object(["check", "--withdrawn"])["check"] as? [String: Any])["members"] as? [[String: Any]]
        #expect(unconfirmed?.count == 4 && unconfirmed?.allSatisfy { $0["confirmed"] as? Bool == false } == true, "\(String(describing: unconfirmed))")
        for n in [b, l, y, r] { try p.carry(n, to: c, "\(n.name)-to-C-2.sqb") }
        let confirmed = try #require(try c.object(["check", "--withdrawn"])["check"] as? [String: Any])["members"] as? [[String: Any]]
        let shown = confirmed?.filter { $0["showsByVector"] as? Bool == true } ?? []
        #expect(shown.count == 3 && shown.allSatisfy { $0["confirmed"] as? Bool == true }, "B, L and Y confirm: \(String(describing: confirmed))")
        #expect(confirmed?.first { $0["role"] as? String == "reporter" }?["showsByVector"] as? Bool == false)
        #expect(try b.run(["case", "show", "W-1"]).code != 0, "B no longer reads the case")
        #expect(try b.ok(["case", "show", "K-1"]).stdout.contains("Алматы"), "the other case stays")
        #expect(try l.caseIDs().isEmpty, "the lawyer reads nothing of it")

        // A month later the old stick is carried into B: nothing of the case comes back.
        let rows = try b.rows(["bundle", "import", oldStick])
        #expect(rows.count == 1 && rows[0]["error"] == nil, "\(rows)")
        #expect(try b.object(["check", "--withdrawn"])["clean"] as? Bool == true)
        #expect(Set(try b.storedEnvelopes().map(\.id)).isDisjoint(with: gone))
        #expect(try b.run(["case", "show", "W-1"]).code != 0)
        // Nor can a node that still carries it hand it on: the ops are refused as known.
        let vector = try b.object(["status"])["ops"] as? Int
        try p.carry(b, to: c, "B-to-C-3.sqb")
        #expect(try b.object(["status"])["ops"] as? Int == vector)
        #expect(Set(try c.storedEnvelopes().map(\.id)).isDisjoint(with: gone))

        // Every key the coordinator's store holds (cached or read through its view) fails to
        // open every withdrawn body from the old stick.
        let reader = try BundleReader(path: oldStick, keys: try b.identity().box)
        var stick: [Envelope] = []
        while let batch = try reader.next() { stick += batch.filter { gone.contains($0.id) } }
        #expect(!stick.isEmpty)
        for n in [c, b, l] {
            let keys = try Self.storedKeys(n)
            for e in stick {
                guard let body = try? SealedBody(decoding: e.body) else { continue }
                for k in keys {
                    #expect((try? body.open(with: k, header: e.header)) == nil, "\(n.name): a stored key opens withdrawn op \(e.id)")
                    #expect((try? body.open(with: body.derivedKey(parent: k, author: e.author), header: e.header)) == nil,
                            "\(n.name): a stored key derives one that opens withdrawn op \(e.id)")
                }
            }
        }
    }

    @Test("a reporter may not withdraw; a merged case names its partner; nothing is written")
    func refusals() throws {
        let p = try ReporterPair()
        let (c, r) = (p.c, p.r)
        _ = try c.object(["case", "add", "--stdin"], stdin: #"{"title": "A", "ref": "A-1"}"#)
        _ = try c.object(["case", "add", "--stdin"], stdin: #"{"title": "B", "ref": "B-1"}"#)
        try c.ok(["case", "merge", "A-1", "B-1"])
        let ops = try c.ops()
        let merged = try c.run(["case", "withdraw", "A-1"])
        #expect(merged.code != 0 && merged.stderr.contains("--with-merged"), "\(merged)")
        #expect(try c.ops() == ops)
        let none = try c.run(["case", "withdraw", "Z-9"])
        #expect(none.code != 0 && !none.stderr.isEmpty)
        try p.carry(c, to: r, "C-to-R-1.sqb")
        let reporter = try r.run(["case", "withdraw", "A-1"])
        #expect(reporter.code != 0, "\(reporter)")
        let both = try c.object(["case", "withdraw", "A-1", "--with-merged"])
        #expect((both["cases"] as? [String])?.count == 2, "\(both)")
        #expect(try c.caseIDs().isEmpty)
        #expect(try c.object(["check", "--withdrawn"])["clean"] as? Bool == true)
    }

    @Test("one source withdrawn: gone from every node and from an old stick's return; the rest of the case, a later title and the other source stay")
    func oneElement() throws {
        let p = try ReporterPair()
        let c = p.c
        let b = try DrillNode("B")
        try b.ok(["join", p.project])
        try c.ok(["member", "add", b.id, "--role", "coordinator"])
        let doc = #"""
        {"title": "Дело Н.", "ref": "E-1", "city": "Тараз",
         "persons": [{"id": "a1a1a1a1a1a1a1a1", "name": "Нурлан Н."}],
         "sources": [{"id": "5e5e5e5e5e5e5e5e", "kind": "witness", "reference": "\#(Self.marker)", "consent": "withdrawn"},
                     {"id": "6f6f6f6f6f6f6f6f", "kind": "document", "reference": "Приговор суда"}]}
        """#
        _ = try c.object(["case", "add", "--stdin"], stdin: doc)
        try c.ok(["case", "edit", "E-1", "--title", "Дело Нурлана Н."])
        try c.ok(["case", "edit", "E-1", "--add", "sources", "--with", "kind=media", "--with", "reference=Статья"])
        try p.carry(c, to: b, "C-to-B-1.sqb")
        let oldStick = p.work.file("old-stick.sqb")
        try c.ok(["bundle", "export", "--to", b.id, "--all", "--out", oldStick])

        // A malformed element, and one the case does not have: named, nothing written.
        let ops = try c.ops()
        for bad in ["sources", "sources/", "sources/0000000000000000"] {
            let r = try c.run(["case", "withdraw", "E-1", "--element", bad])
            #expect(r.code != 0 && !r.stderr.isEmpty, "\(bad): \(r)")
        }
        #expect(try c.ops() == ops)

        let w = try c.object(["case", "withdraw", "E-1", "--element", "sources/5e5e5e5e5e5e5e5e"])
        #expect(w["ops"] as? Int == 1, "only the op that created the case wrote the source: \(w)")
        try p.carry(c, to: b, "C-to-B-2.sqb")
        _ = try b.rows(["bundle", "import", oldStick])
        for n in [c, b] {
            let d = try #require(try n.object(["case", "show", "E-1"])["document"] as? [String: Any])
            let sources = (d["sources"] as? [[String: Any]] ?? []).compactMap { $0["reference"] as? String }.sorted()
            #expect(sources == ["Приговор суда", "Статья"], "\(n.name): \(sources)")
            #expect(d["title"] as? String == "Дело Нурлана Н.", "\(n.name): the later title stands, not the first one written again")
            #expect(d["city"] as? String == "Тараз" && (d["persons"] as? [[String: Any]])?.count == 1, "\(n.name): \(d)")
            let conflicts = try n.rows(["case", "conflicts"])
            #expect(conflicts.isEmpty, "\(n.name): the first title must not come back beside the later one: \(conflicts)")
            #expect(!(try n.ok(["export", "--format", "json"]).stdout.contains(Self.marker)), "\(n.name): the export holds the source")
            #expect(try n.object(["check", "--withdrawn"])["clean"] as? Bool == true)
        }
    }

    static func contains(_ hay: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard hay.count >= n.count else { return false }
        var i = 0
        while i + n.count <= hay.count {
            if hay[i] == n[0] && Array(hay[i..<i + n.count]) == n { return true }
            i += 1
        }
        return false
    }

    /// The session and parent keys a node's store gives up to its owner: the cache and what
    /// its view opens from the ops it holds.
    static func storedKeys(_ n: DrillNode) throws -> [SymmetricKey] {
        let node = try Node.open(home: n.home.path, passphrase: SecureBytes(Array(n.passphrase.utf8)))
        let v = try node.view()
        return Array(v.sessionKeys.values) + Array(v.parentKeys.values)
    }
}
