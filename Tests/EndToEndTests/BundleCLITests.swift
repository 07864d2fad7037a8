import Foundation
import Testing
import SandyqCrypto
import SandyqCore

// Bundles end to end: the real `sandyq` binary (CLI.swift's runner), one process per command,
// nodes in temp homes, bundle files moved among them by hand or through a USB mailbox folder.

// MARK: - Helpers

/// The random bundle moves; the seed is printed and in every failure message.
typealias BundleRNG = SplitMix64

struct BundleCLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A node under test: its home, and its ids as `status --json` reports them.
final class BundleNode: @unchecked Sendable {
    let name: String
    let home: Home
    private(set) var id = ""
    private(set) var fingerprint = ""

    init(_ name: String) throws {
        self.name = name
        home = try Home()
        try home.initialize()
        let s = try status()
        id = s["nodeId"] as? String ?? ""
        fingerprint = s["fingerprint"] as? String ?? ""
        guard id.hasPrefix("sqn-") else { throw BundleCLIFailure("\(name): no node id in status") }
    }

    /// Runs a command that must exit 0.
    @discardableResult
    func ok(_ args: [String], _ context: @autoclosure () -> String = "") throws -> CLI.Result {
        let r = try home.run(args)
        guard r.code == 0 else {
            throw BundleCLIFailure("\(name): sandyq \(args.joined(separator: " ")) failed \(context()): \(r)")
        }
        return r
    }

    func json(_ args: [String], _ context: @autoclosure () -> String = "") throws -> Any {
        let r = try ok(args + ["--json"], context())
        do { return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) } catch {
            throw BundleCLIFailure("\(name): sandyq \(args.joined(separator: " ")) --json printed no JSON: \(r)")
        }
    }

    func status() throws -> [String: Any] {
        guard let s = try json(["status"]) as? [String: Any] else { throw BundleCLIFailure("\(name): status is not an object") }
        return s
    }

    func opCount() throws -> Int { try status()["ops"] as? Int ?? -1 }

    /// `bundle export --to ... --out path`; returns the ops written.
    @discardableResult
    func export(to: [BundleNode], out: String, _ context: @autoclosure () -> String = "") throws -> Int {
        let j = try json(["bundle", "export", "--to"] + to.map(\.id) + ["--out", out], context())
        guard let d = j as? [String: Any], let ops = d["ops"] as? Int, let files = d["files"] as? [String], files == [out] else {
            throw BundleCLIFailure("\(name): unexpected export output \(j)")
        }
        return ops
    }

    /// `bundle import --json FILE`: the raw result, and the parsed entry when it printed one.
    func importBundle(_ file: String) throws -> (result: CLI.Result, entry: [String: Any]?) {
        let r = try home.run(["bundle", "import", file, "--json"])
        let arr = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [[String: Any]]
        return (r, arr?.first)
    }

    /// An import that must succeed cleanly; returns how many ops were new.
    @discardableResult
    func importClean(_ file: String, _ context: @autoclosure () -> String) throws -> Int {
        let (r, e) = try importBundle(file)
        guard r.code == 0, let e, e["error"] == nil, (e["refused"] as? [Any])?.isEmpty ?? true,
              e["damagedChunks"] as? Int == 0, e["truncated"] as? Bool == false, let new = e["new"] as? Int else {
            throw BundleCLIFailure("\(name): import of \((file as NSString).lastPathComponent) \(context()): \(r)")
        }
        return new
    }

    /// The project as this node reads it: every case (archived too), each as `case show --json`,
    /// in id order, canonically serialized.
    func caseSnapshot() throws -> (list: String, shows: [String: String]) {
        guard let rows = try json(["case", "list", "--archived"]) as? [[String: Any]] else {
            throw BundleCLIFailure("\(name): case list is not an array")
        }
        let sorted = rows.sorted { ($0["id"] as? String ?? "") < ($1["id"] as? String ?? "") }
        let list = String(decoding: try JSONSerialization.data(withJSONObject: sorted, options: [.sortedKeys]), as: UTF8.self)
        var shows: [String: String] = [:]
        for row in sorted {
            guard let id = row["id"] as? String else { continue }
            let j = try json(["case", "show", id])
            shows[id] = String(decoding: try JSONSerialization.data(withJSONObject: j, options: [.sortedKeys]), as: UTF8.self)
        }
        return (list, shows)
    }

    func caseIDs() throws -> [String] {
        ((try json(["case", "list", "--archived"]) as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
    }

    /// `peers --json`: node id -> undelivered.
    func undelivered() throws -> [String: Int] {
        guard let rows = try json(["peers"]) as? [[String: Any]] else { throw BundleCLIFailure("\(name): peers is not an array") }
        var out: [String: Int] = [:]
        for r in rows { if let id = r["nodeId"] as? String { out[id] = r["undelivered"] as? Int ?? -1 } }
        return out
    }

    /// The raw public keys, decoded from the node id (sqn- + base32(signing ‖ box ‖ 4-byte
    /// BLAKE2b check)); the check is verified so a wrong decoding cannot pass unnoticed.
    func publicKeys() throws -> (signing: [UInt8], box: [UInt8]) {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for c in id.dropFirst(4).utf8 {
            let v = try #require(alphabet.firstIndex(of: c), "\(name): node id has a non-base32 character")
            buffer = buffer << 5 | UInt32(v); bits += 5
            if bits >= 8 { out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff)); bits -= 8 }
        }
        try #require(out.count == 68, "\(name): node id decodes to \(out.count) bytes")
        let body = Array(out[0..<64])
        try #require(Array(Hash.blake2b(body, length: 16).prefix(4)) == Array(out[64..<68]), "\(name): node id check mismatch")
        return (Array(body[0..<32]), Array(body[32..<64]))
    }
}

/// Many byte strings searched in many large files at once: an index of each needle's first
/// 8 bytes, one pass over each file.
struct BundleNeedleSearch {
    private(set) var needles: [(label: String, bytes: [UInt8])] = []
    private var byPrefix: [UInt64: [Int]] = [:]
    private(set) var tooShort: [String] = []

    static func key(_ b: some Collection<UInt8>) -> UInt64 { b.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }

    mutating func add(_ label: String, _ bytes: [UInt8]) {
        guard bytes.count >= 8 else { tooShort.append(label); return }
        byPrefix[Self.key(bytes), default: []].append(needles.count)
        needles.append((label, bytes))
    }

    /// The string as UTF-8 and as UTF-16LE.
    mutating func add(text label: String, _ s: String) {
        add("\(label) (UTF-8)", Array(s.utf8))
        add("\(label) (UTF-16LE)", s.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] })
    }

    func hits(in hay: [UInt8]) -> [String] {
        guard hay.count >= 8 else { return [] }
        var found: [String] = []
        var window: UInt64 = 0
        hay.withUnsafeBufferPointer { h in
            for i in 0..<h.count {
                window = window << 8 | UInt64(h[i])
                guard i >= 7, let cands = byPrefix[window] else { continue }
                let start = i - 7
                for c in cands {
                    let n = needles[c].bytes
                    if start + n.count <= h.count, n.withUnsafeBufferPointer({ memcmp($0.baseAddress!, h.baseAddress! + start, n.count) == 0 }) {
                        found.append(needles[c].label)
                    }
                }
            }
        }
        return found
    }
}

/// Paths and names from seeds/cases.json.
enum BundleSeeds {
    static let path = CLI.packageRoot + "/seeds/cases.json"

    /// Every case title and person name (aliases included) in the seed file.
    static func texts() throws -> [(String, String)] {
        let data = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        var out: [(String, String)] = []
        for c in cases {
            let ref = c["ref"] as? String ?? "?"
            if let t = c["title"] as? String { out.append(("\(ref) title", t)) }
            for p in c["persons"] as? [[String: Any]] ?? [] {
                if let n = p["name"] as? String { out.append(("\(ref) person", n)) }
                for a in p["aliases"] as? [String] ?? [] { out.append(("\(ref) alias", a)) }
            }
        }
        return out
    }
}

// MARK: - Test 1: three nodes, bundles moved in a random order

/// The result of the three-node run, shared by the convergence and the no-plaintext tests.
final class BundleConvergenceRun: @unchecked Sendable {
    let seed: UInt64
    let nodes: [BundleNode]
    let dir: String
    var bundles: [String] = []
    /// Names and titles this run typed in (beyond the seed file).
    var typed: [(String, String)] = []
    var project = ""
    var log: [String] = []
    var rounds = 0
    var quiescent = false

    init(seed: UInt64, nodes: [BundleNode], dir: String) { self.seed = seed; self.nodes = nodes; self.dir = dir }

    var a: BundleNode { nodes[0] }

    func note(_ s: String) { log.append(s) }
    func fail(_ s: String) -> BundleCLIFailure {
        BundleCLIFailure("seed 0x\(String(seed, radix: 16)) (rerun with SANDYQ_BUNDLE_SEED=0x\(String(seed, radix: 16))): \(s)\nlast moves:\n" + log.suffix(25).joined(separator: "\n"))
    }

    static let defaultSeed: UInt64 = 0xB0D1_E5EE_D000_0003
    static var seed: UInt64 {
        if let s = ProcessInfo.processInfo.environment["SANDYQ_BUNDLE_SEED"] {
            if s.hasPrefix("0x"), let v = UInt64(s.dropFirst(2), radix: 16) { return v }
            if let v = UInt64(s) { return v }
        }
        return defaultSeed
    }

    static func run(seed: UInt64) throws -> BundleConvergenceRun {
        print("BundleCLITests: three-node bundle run with seed 0x\(String(seed, radix: 16))")
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-bundles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let nodes = try ["A", "B", "C"].map { try BundleNode($0) }
        let run = BundleConvergenceRun(seed: seed, nodes: nodes, dir: dir)
        do { try run.play() } catch { run.cleanUp(); throw error }
        return run
    }

    func newBundlePath(_ tag: String) -> String {
        let p = dir + "/\(bundles.count + 1)-\(tag).sqb"
        bundles.append(p)
        return p
    }

    func play() throws {
        let (a, b, c) = (nodes[0], nodes[1], nodes[2])
        guard let p = (try a.json(["project", "create", "Bundle project X"]) as? [String: Any])?["project"] as? String else {
            throw fail("project create printed no project id")
        }
        project = p
        try b.ok(["join", p]); try c.ok(["join", p])
        try a.ok(["member", "add", b.id, "--role", "coordinator"])
        try a.ok(["member", "add", c.id, "--role", "coordinator"])
        try a.ok(["case", "import", BundleSeeds.path])
        let seeded = try a.caseIDs()
        guard seeded.count >= 40 else { throw fail("A holds \(seeded.count) cases after importing the seeds") }

        // B and C get A's ops (one bundle addressed to both), then each writes.
        let first = newBundlePath("A-to-BC")
        try a.export(to: [b, c], out: first)
        for n in [b, c] { try n.importClean(first, "bootstrap") }
        for (i, n) in [b, c].enumerated() {
            let title = "Дело узла \(n.name): задержание активиста \(i + 7)"
            let person = "Ерлан Тестов\(n.name)ұлы"
            typed += [("\(n.name) title", title), ("\(n.name) person", person)]
            try n.ok(["case", "add", "--title", title, "--person", person, "--city", "Шымкент", "--status", "detained"])
            // Both edit the same field of one A case (a conflict that must converge too), and another field each.
            try n.ok(["case", "edit", seeded[0], "--notes", "правка от \(n.name)"])
            try n.ok(["case", "edit", seeded[1 + i], "--city", "Город \(n.name)"])
        }

        var rng = BundleRNG(seed: seed)
        var stale: [(file: String, to: BundleNode)] = []
        let steps = 36
        for step in 0..<steps {
            // Now and then someone writes something in between.
            if rng.chance(0.2) {
                let w = nodes[rng.below(3)]
                if rng.chance(0.3) {
                    let title = "Случай \(step) от \(w.name): обыск у правозащитницы"
                    typed.append(("step \(step) title", title))
                    try w.ok(["case", "add", "--title", title, "--status", "under_investigation"])
                    note("\(step): \(w.name) adds a case")
                } else {
                    let target = seeded[rng.below(seeded.count)]
                    try w.ok(["case", "edit", target, "--notes", "заметка \(step) \(w.name)"])
                    note("\(step): \(w.name) edits \(target.prefix(8))")
                }
            }
            let s = nodes[rng.below(3)]
            let peers = nodes.filter { $0 !== s }
            var to = peers.filter { _ in rng.chance(0.5) }
            if to.isEmpty { to = [peers[rng.below(2)]] }
            let file = newBundlePath("\(s.name)-to-\(to.map(\.name).joined())")
            let ops = try s.export(to: to, out: file, "(step \(step))")
            var fates: [String] = []
            for r in to {
                switch rng.below(20) {
                case 0..<11:
                    try r.importClean(file, "(step \(step))"); fates.append("\(r.name) imports")
                case 11..<14:
                    try r.importClean(file, "(step \(step))")
                    let again = try r.importClean(file, "(step \(step), duplicate)")
                    guard again == 0 else { throw fail("step \(step): \(r.name) re-imported \(file) and got \(again) new ops") }
                    fates.append("\(r.name) imports twice")
                case 14..<18:
                    stale.append((file, r)); fates.append("\(r.name) later")
                default:
                    fates.append("\(r.name) never (lost)")
                }
            }
            note("\(step): \(s.name) -> \(to.map(\.name).joined()) \(ops) ops; \(fates.joined(separator: ", "))")
            // A bundle that went astray: the node it was not addressed to refuses it and changes nothing.
            if to.count == 1, rng.chance(0.15) {
                let outsider = peers.first { $0 !== to[0] }!
                let before = try outsider.opCount()
                let (r, _) = try outsider.importBundle(file)
                guard r.code == 68, r.output.contains("not addressed") else {
                    throw fail("step \(step): \(outsider.name) importing a bundle for \(to[0].name): \(r)")
                }
                guard try outsider.opCount() == before else { throw fail("step \(step): a refused bundle changed \(outsider.name)") }
                note("\(step): \(outsider.name) refused a bundle for \(to[0].name)")
            }
            // Stale bundles turn up later, after newer ones.
            if !stale.isEmpty, rng.chance(0.35) {
                let (f, r) = stale.remove(at: rng.below(stale.count))
                try r.importClean(f, "(stale, step \(step))")
                note("\(step): \(r.name) imports stale \((f as NSString).lastPathComponent)")
            }
        }
        for (f, r) in stale {
            try r.importClean(f, "(stale, at the end)")
            note("end: \(r.name) imports stale \((f as NSString).lastPathComponent)")
        }

        // Everyone to everyone until nothing moves: no new ops and nothing undelivered.
        for round in 1...6 {
            rounds = round
            var files: [(BundleNode, String)] = []
            for s in nodes {
                let f = newBundlePath("final\(round)-\(s.name)")
                try s.export(to: nodes.filter { $0 !== s }, out: f, "(final round \(round))")
                files.append((s, f))
            }
            var newOps = 0
            for (s, f) in files {
                for r in nodes where r !== s { newOps += try r.importClean(f, "(final round \(round))") }
            }
            let pending = try nodes.map { try $0.undelivered().values.reduce(0, +) }
            note("final round \(round): \(newOps) new ops, undelivered \(pending)")
            if newOps == 0 && pending.allSatisfy({ $0 == 0 }) { quiescent = true; break }
        }
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: dir)
        for n in nodes { try? FileManager.default.removeItem(atPath: n.home.path) }
    }
}

/// Runs the three-node scenario once for the tests that look at it.
actor BundleConvergenceCache {
    static let shared = BundleConvergenceCache()
    private var task: Task<BundleConvergenceRun, any Error>?
    private var released = 0

    func run() async throws -> BundleConvergenceRun {
        if task == nil {
            let seed = BundleConvergenceRun.seed
            task = Task.detached { try BundleConvergenceRun.run(seed: seed) }
        }
        return try await task!.value
    }

    /// Each user calls this when done; the files go when both have.
    func release() async {
        released += 1
        if released == 2, let r = try? await task?.value { r.cleanUp() }
    }
}

@Suite struct BundleCLITests {
    // B1
    @Test func threeNodesConvergeOverRandomBundleMoves() async throws {
        let started = Date()
        let run: BundleConvergenceRun
        do { run = try await BundleConvergenceCache.shared.run() } catch { await BundleConvergenceCache.shared.release(); throw error }
        do { try checkConvergence(run, started: started) } catch { await BundleConvergenceCache.shared.release(); throw error }
        await BundleConvergenceCache.shared.release()
    }

    func checkConvergence(_ run: BundleConvergenceRun, started: Date) throws {
        let seedNote = "seed 0x\(String(run.seed, radix: 16))"
        print("BundleCLITests: \(run.bundles.count) bundles, \(run.rounds) final round(s), \(String(format: "%.1f", Date().timeIntervalSince(started))) s (\(seedNote))")
        #expect(run.quiescent, "not quiescent after 6 full rounds (\(seedNote)): \(run.log.suffix(8))")

        let snaps = try run.nodes.map { try $0.caseSnapshot() }
        let ids = try run.a.caseIDs()
        #expect(ids.count >= 43, "A has \(ids.count) cases (\(seedNote))")
        for (i, n) in run.nodes.enumerated().dropFirst() {
            let sameList = snaps[i].list == snaps[0].list
            #expect(sameList, "case list on \(n.name) differs from A (\(seedNote))")
            #expect(Set(snaps[i].shows.keys) == Set(snaps[0].shows.keys), "\(n.name) has other cases (\(seedNote))")
            for (id, show) in snaps[0].shows where snaps[i].shows[id] != show {
                Issue.record("case show \(id.prefix(8)) on \(n.name) differs from A (\(seedNote)):\nA: \(show.prefix(600))\n\(n.name): \(snaps[i].shows[id]?.prefix(600) ?? "missing")")
            }
        }
        // The concurrent notes edit surfaced as the same conflict everywhere, or resolved the same way.
        let statuses = try run.nodes.map { try $0.status() }
        let counts = statuses.map { $0["ops"] as? Int ?? -1 }
        #expect(Set(counts).count == 1, "op counts differ: \(counts) (\(seedNote))")
        // Every node prints a view digest, and all three agree.
        let digests = statuses.compactMap { $0["digest"] as? String }
        #expect(digests.count == 3 && Set(digests).count == 1, "view digests missing or differing: \(digests) (\(seedNote))")
        for n in run.nodes {
            let u = try n.undelivered()
            let others = Set(run.nodes.filter { $0 !== n }.map(\.id))
            #expect(Set(u.keys) == others, "\(n.name) peers: \(u) (\(seedNote))")
            #expect(u.values.allSatisfy { $0 == 0 }, "\(n.name) still has undelivered ops: \(u) (\(seedNote))")
        }
    }

    // B3
    @Test func bundlesCarryNoPlaintext() async throws {
        let run: BundleConvergenceRun
        do { run = try await BundleConvergenceCache.shared.run() } catch { await BundleConvergenceCache.shared.release(); throw error }
        do { try checkNoPlaintext(run) } catch { await BundleConvergenceCache.shared.release(); throw error }
        await BundleConvergenceCache.shared.release()
    }

    func checkNoPlaintext(_ run: BundleConvergenceRun) throws {
        var search = BundleNeedleSearch()
        let seedTexts = try BundleSeeds.texts()
        #expect(seedTexts.count >= 80, "seed file yielded only \(seedTexts.count) names and titles")
        for (label, text) in seedTexts + run.typed { search.add(text: label, text) }
        for id in try run.a.caseIDs() {
            search.add(text: "case id \(id.prefix(8))", id)
            if let raw = bundleHexDecode(id) { search.add("raw case id \(id.prefix(8))", raw) }
        }
        for n in run.nodes {
            search.add(text: "\(n.name) node id", n.id)
            search.add(text: "\(n.name) fingerprint", n.fingerprint)
            let keys = try n.publicKeys()
            search.add("\(n.name) raw signing key", keys.signing)
            search.add("\(n.name) raw box key", keys.box)
        }
        search.add(text: "project id", run.project)
        search.add(text: "project name", "Bundle project X")
        #expect(search.needles.count > 300, "only \(search.needles.count) needles")

        // Positive controls: the search finds names in the plaintext seed file, in both encodings.
        let seedBytes = try #require(FileManager.default.contents(atPath: BundleSeeds.path).map { [UInt8]($0) })
        let firstName = try #require(seedTexts.first { $0.0.hasSuffix("person") })
        #expect(search.hits(in: seedBytes).contains("\(firstName.0) (UTF-8)"), "the search misses \(firstName.1) in seeds/cases.json")
        let utf16 = String(decoding: seedBytes, as: UTF8.self).utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
        #expect(search.hits(in: utf16).contains("\(firstName.0) (UTF-16LE)"))
        let planted = [UInt8](repeating: 0xAB, count: 1000) + (try run.nodes[1].publicKeys().signing) + [1, 2, 3]
        #expect(search.hits(in: planted) == ["B raw signing key"])

        var searched = 0
        for file in run.bundles {
            let bytes = try #require(FileManager.default.contents(atPath: file).map { [UInt8]($0) }, "bundle \(file) is gone")
            searched += bytes.count
            let hits = search.hits(in: bytes)
            #expect(hits.isEmpty, "\((file as NSString).lastPathComponent) contains \(hits.prefix(10))")
        }
        print("BundleCLITests: searched \(run.bundles.count) bundles, \(searched) bytes, for \(search.needles.count) needles (\(search.tooShort.count) shorter than 8 bytes skipped)")
        #expect(run.bundles.count >= 20)
    }

    // B2
    @Test func importExitCodes() throws {
        let a = try BundleNode("A"), b = try BundleNode("B"), c = try BundleNode("C"), d = try BundleNode("D")
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-bundle-codes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try #require((try a.json(["project", "create", "Codes"]) as? [String: Any])?["project"] as? String)
        try b.ok(["join", p]); try c.ok(["join", p])
        try a.ok(["member", "add", b.id]); try a.ok(["member", "add", c.id])
        try a.ok(["case", "import", BundleSeeds.path])
        let aOps = try a.opCount()

        // To B: lands; again: exit 0 and nothing new.
        let toB = dir + "/to-b.sqb"
        #expect(try a.export(to: [b], out: toB) == aOps)
        #expect(try b.importClean(toB, "first") == aOps)
        let again = try b.home.run(["bundle", "import", toB])
        #expect(again.code == 0, "re-import: \(again)")
        #expect(again.stdout.contains("0 new, \(aOps) already known"), "re-import: \(again)")
        let againJSON = try b.importBundle(toB)
        #expect(againJSON.result.code == 0 && againJSON.entry?["new"] as? Int == 0 && againJSON.entry?["known"] as? Int == aOps)

        // B's bundle at C: not addressed to C.
        let cBefore = try c.opCount()
        let astray = try c.home.run(["bundle", "import", toB])
        #expect(astray.code == 68, "astray: \(astray)")
        #expect(astray.output.contains("not addressed"), "astray: \(astray)")
        #expect(try c.opCount() == cBefore)

        // Another project's bundle, addressed to C's node id.
        try d.ok(["project", "create", "Elsewhere"])
        try d.ok(["case", "add", "--title", "Other project case"])
        let fromD = dir + "/from-d.sqb"
        try d.export(to: [c], out: fromD)
        let foreign = try c.home.run(["bundle", "import", fromD])
        #expect(foreign.code == 68, "foreign: \(foreign)")
        #expect(foreign.output.contains("another project"), "foreign: \(foreign)")
        #expect(try c.opCount() == cBefore)

        // Not bundles at all.
        let text = dir + "/notes.sqb"
        _ = FileManager.default.createFile(atPath: text, contents: Data("Meeting notes, not a bundle.\n".utf8))
        let t = try c.home.run(["bundle", "import", text])
        #expect(t.code == 65, "text: \(t)")
        #expect(t.output.contains("not a sandyq bundle"), "text: \(t)")
        let empty = dir + "/empty.sqb"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let e = try c.home.run(["bundle", "import", empty])
        #expect(e.code == 65, "empty: \(e)")
        #expect(e.output.contains("empty"), "empty: \(e)")
        let missing = try c.home.run(["bundle", "import", dir + "/missing.sqb"])
        #expect(missing.code == 66, "missing: \(missing)")
        #expect(try c.opCount() == cBefore)

        // Truncated at 45%: what arrived lands, it says truncated; the whole file completes it. Chunks are
        // padded up to a power of two (bundles.md), so data fills more than half the file and a cut below
        // half always falls inside it.
        let toC = dir + "/to-c.sqb"
        try a.export(to: [c], out: toC)
        let whole = try #require(FileManager.default.contents(atPath: toC))
        #expect(whole.count > 2 * 65536, "the A->C bundle is too small to cut into chunks (\(whole.count) bytes)")
        let cut = dir + "/cut.sqb"
        _ = FileManager.default.createFile(atPath: cut, contents: whole.prefix(whole.count * 45 / 100))
        let tr = try c.home.run(["bundle", "import", cut])
        #expect(tr.code == 10 || tr.code == 65, "truncated: \(tr)")
        #expect(tr.output.lowercased().contains("truncated"), "truncated: \(tr)")
        let partial = try c.opCount()
        #expect(partial >= cBefore && partial < aOps, "after the truncated import C holds \(partial) of \(aOps) ops")
        #expect(try c.importClean(toC, "after a truncated copy") == aOps - partial)
        #expect(try c.opCount() == aOps)
        let sameList = try c.caseSnapshot().list == (try a.caseSnapshot().list)
        #expect(sameList, "C's case list differs from A's after importing the whole bundle")
    }

    // B4
    @Test func usbMailboxConverges() throws {
        let a = try BundleNode("A"), b = try BundleNode("B"), c = try BundleNode("C"), d = try BundleNode("D")
        let nodes = [a, b, c]
        let box = FileManager.default.temporaryDirectory.path + "/sandyq-mailbox-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: box, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: box) }
        let p = try #require((try a.json(["project", "create", "Mailbox"]) as? [String: Any])?["project"] as? String)
        try b.ok(["join", p]); try c.ok(["join", p])
        try a.ok(["member", "add", b.id]); try a.ok(["member", "add", c.id])
        try a.ok(["case", "add", "--title", "Mailbox case from A", "--person", "Асель Почтовая"])

        // A bundle for someone outside: every node must leave it alone.
        try d.ok(["project", "create", "Outside"])
        try d.ok(["case", "add", "--title", "not for the mailbox nodes"])
        let outside = box + "/0-outside.sqb"
        try d.export(to: [d], out: outside)
        let outsideBytes = try #require(FileManager.default.contents(atPath: outside))

        func sync(_ n: BundleNode, _ round: String) throws -> [String: Any] {
            let j = try #require(try n.json(["usb", "sync", box], round) as? [String: Any])
            let failed = j["failed"] as? [String] ?? []
            #expect(failed.isEmpty, "\(n.name) \(round): failed \(failed)")
            #expect((j["skipped"] as? [String] ?? []).contains("0-outside.sqb"), "\(n.name) \(round) did not skip the outside bundle: \(j)")
            return j
        }
        func mailboxFiles() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: box)) ?? []).filter { $0.hasSuffix(".sqb") }.sorted()
        }

        // First rounds carry the membership; then everyone writes.
        for round in 1...2 { for n in nodes { _ = try sync(n, "warm-up \(round)") } }
        for n in [b, c] {
            let s = try n.status()
            #expect(s["role"] as? String == "coordinator", "\(n.name) does not know it is a member yet: \(s)")
        }
        // A's first case, which B now holds (taken before anyone adds more).
        let aCase = try #require(try a.caseIDs().first)
        #expect(try b.caseIDs() == [aCase], "B's cases after the warm-up")
        for n in nodes { try n.ok(["case", "add", "--title", "Mailbox case by \(n.name)", "--city", "Тараз"]) }
        try b.ok(["case", "edit", aCase, "--notes", "B was here"])

        var settled = false
        var history: [String] = []
        for round in 1...8 {
            var written = 0
            for n in nodes {
                let j = try sync(n, "round \(round)")
                written += (j["written"] as? [String] ?? []).count
            }
            let files = mailboxFiles()
            let pending = try nodes.map { try $0.undelivered().values.reduce(0, +) }
            history.append("round \(round): wrote \(written), folder \(files), undelivered \(pending)")
            if files == ["0-outside.sqb"] && pending.allSatisfy({ $0 == 0 }) { settled = true; break }
        }
        #expect(settled, "the mailbox did not settle in 8 rounds:\n\(history.joined(separator: "\n"))")
        let lists = try nodes.map { try $0.caseSnapshot().list }
        let sameLists = lists[1] == lists[0] && lists[2] == lists[0]
        #expect(sameLists, "case lists differ after the mailbox settled")
        #expect(try a.caseIDs().count == 4)
        let digests = try nodes.compactMap { try $0.status()["digest"] as? String }
        #expect(digests.count == 3 && Set(digests).count == 1, "view digests missing or differing: \(digests)")
        for n in nodes {
            let u = try n.undelivered()
            #expect(u.count == 2 && u.values.allSatisfy { $0 == 0 }, "\(n.name) peers: \(u)")
        }
        #expect(mailboxFiles() == ["0-outside.sqb"], "folder: \(mailboxFiles())")
        let unchanged = FileManager.default.contents(atPath: outside) == outsideBytes
        #expect(unchanged, "the outside bundle was changed")
    }
}

extension BundleCLITests {
    // B4 (extra): a mailbox bundle with one damaged chunk (bit rot on the stick). The receiver
    // keeps what survived; the mailbox must then get it the rest without anyone writing new ops.
    @Test func mailboxRecoversFromADamagedBundle() throws {
        let a = try BundleNode("A"), b = try BundleNode("B")
        let box = FileManager.default.temporaryDirectory.path + "/sandyq-mailbox-rot-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: box, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: box) }
        let p = try #require((try a.json(["project", "create", "Rot"]) as? [String: Any])?["project"] as? String)
        try b.ok(["join", p])
        try a.ok(["member", "add", b.id])
        try a.ok(["case", "import", BundleSeeds.path])
        let aOps = try a.opCount()

        let first = try #require(try a.json(["usb", "sync", box]) as? [String: Any])
        let written = try #require((first["written"] as? [String])?.first, "A wrote no bundle: \(first)")
        let path = box + "/" + written
        var bytes = try #require(FileManager.default.contents(atPath: path).map { [UInt8]($0) })
        let pre = 10 + (Int(bytes[8]) << 8 | Int(bytes[9])) * 80 + 16
        try #require(bytes.count >= pre + 3 * 65536, "A's bundle has fewer than 3 chunks (\(bytes.count) bytes)")
        bytes[pre + 65536 + 4000] ^= 0x10      // one flipped bit in chunk 1
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))

        let got = try #require(try b.json(["usb", "sync", box]) as? [String: Any])
        let imported = try #require((got["imported"] as? [[String: Any]])?.first, "B imported nothing: \(got)")
        #expect(imported["damagedChunks"] as? Int == 1, "B's import: \(imported)")
        let partial = try b.opCount()
        #expect(partial > 0 && partial < aOps, "B holds \(partial) of \(aOps) ops after the damaged bundle")

        var history: [String] = []
        var settled = false
        for round in 1...6 {
            var notes: [String] = []
            for n in [a, b] {
                let j = try #require(try n.json(["usb", "sync", box]) as? [String: Any])
                notes.append("\(n.name) wrote \((j["written"] as? [String] ?? []).count) deleted \((j["deleted"] as? [String] ?? []).count)")
            }
            let bOps = try b.opCount()
            let pending = try a.undelivered()[b.id] ?? -1
            history.append("round \(round): \(notes.joined(separator: ", ")); B holds \(bOps)/\(aOps); A says undelivered to B: \(pending)")
            if bOps == aOps && pending == 0 { settled = true; break }
        }
        // A writes again once B reports back and still lacks ops, so the lost chunk's ops arrive.
        #expect(settled, "B never got the ops of the damaged chunk back through the mailbox:\n\(history.joined(separator: "\n"))")
    }

    // A full disk during `bundle export`: a child shell caps the file size (ulimit -f, SIGXFSZ
    // ignored, so write() fails with EFBIG part-way through the bundle). The export must fail,
    // leave no partial file, and leave the older bundle at that path byte-identical.
    @Test func exportOnAFullDiskKeepsTheOlderBundle() throws {
        let a = try BundleNode("A"), b = try BundleNode("B")
        try a.ok(["project", "create", "Disk"])
        try a.ok(["case", "import", BundleSeeds.path])
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-fulldisk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out.sqb"
        try a.export(to: [b], out: out)
        try a.ok(["case", "add", "--title", "one more case"])
        let old = try #require(FileManager.default.contents(atPath: out))
        try #require(old.count > 3 * 65536, "the export is too small to fail part-way (\(old.count) bytes)")

        // 256 blocks of 512 bytes: the preamble and the first chunk fit, the second does not.
        let script = "trap '' XFSZ; ulimit -f 256 || exit 99; exec \"$0\" \"$@\""
        let r = try CLI.run(["-c", script, CLI.binary, "bundle", "export", "--to", b.id, "--out", out, "--all", "--home", a.home.path],
                            env: ["SANDYQ_PASSPHRASE": a.home.passphrase], executable: "/bin/sh")
        try #require(r.code != 99, "the shell cannot set a file size limit here: \(r)")
        #expect(r.code != 0, "the export succeeded despite the full disk: \(r)")
        #expect(r.code != 0 && !r.stderr.isEmpty, "no message: \(r)")
        print("BundleCLITests: export on a full disk: \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) (exit \(r.code))")
        let unchanged = FileManager.default.contents(atPath: out) == old
        #expect(unchanged, "the older bundle changed after a failed export")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.sqb"], "leftovers after a failed export")
        // And the node still works: the same export without the limit succeeds.
        try a.export(to: [b], out: out)
        let changed = FileManager.default.contents(atPath: out) != old
        #expect(changed, "the export without the limit did not replace the bundle")
    }
}

func bundleHexDecode(_ s: String) -> [UInt8]? {
    let chars = Array(s.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    var i = 0
    while i < chars.count {
        guard let h = UInt8(String(decoding: chars[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
        out.append(h)
        i += 2
    }
    return out
}
