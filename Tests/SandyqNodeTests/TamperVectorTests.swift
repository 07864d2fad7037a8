import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import SandyqStore

/// One file of Protocol/vectors/tamper/ (scripts/vectors/gen_tamper_vectors.py): a log of
/// valid context ops, a batch holding one tampered op, and the class that op must end in.
struct TamperVector: CustomStringConvertible {
    static let folder = Vectors.folder("tamper")
    static let areas: Set<String> = ["admission", "revocation", "chain", "project", "signature", "role", "reading"]
    static let keys = ["area", "expect", "comment", "project", "reader_signing_seed", "reader_box_secret", "log", "batch", "target"]

    static let names: [String] = Vectors.names(in: folder)

    let name, expect, comment: String
    let project: ProjectID
    let readerSeed, readerBoxSecret: [UInt8]
    let log, batch: [[UInt8]]
    let target: [UInt8]

    var description: String { "\(name) (\(comment))" }

    init(named name: String) throws {
        let f = try Vectors.header(String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8), name)
        guard Set(f.keys) == Set(Self.keys) else { throw VectorFormatError("\(name): keys \(f.keys.sorted()), want \(Self.keys)") }
        guard let area = f["area"], Self.areas.contains(area), name.hasPrefix(area + "_") else {
            throw VectorFormatError("\(name): the file name must be <area>_<defect>.txt with a known area")
        }
        func hex(_ s: String) throws -> [UInt8] {
            guard let b = Hex.decode(s), Hex.encode(b) == s else { throw VectorFormatError("\(name): not lowercase hex: \(s.prefix(20))") }
            return b
        }
        self.name = name
        expect = f["expect"]!
        comment = f["comment"]!
        project = try ProjectID(bytes: try hex(f["project"]!))
        readerSeed = try hex(f["reader_signing_seed"]!)
        readerBoxSecret = try hex(f["reader_box_secret"]!)
        log = try f["log"]!.split(separator: ",").map { try hex(String($0)) }
        batch = try f["batch"]!.split(separator: ",").map { try hex(String($0)) }
        target = try hex(f["target"]!)
    }
}

/// Runs every tamper vector through the real path: a node whose key file holds the vector's
/// reader keys, `Node.importEnvelopes` (decoder, project check, signatures, the role screen,
/// chain links, forks, in SQLite), then the node's view for what import does not decide.
@Suite struct TamperVectorTests {
    static let passphrase = "tamper corpus"

    /// A node on disk with the reader's keys, joined to the vector's project.
    static func node(for v: TamperVector, in dir: TempDir) throws -> Node {
        let home = dir.sub("reader")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let id = Identity(signing: SigningKeyPair(seed: SecureBytes(v.readerSeed)), box: try BoxKeyPair(secretKey: SecureBytes(v.readerBoxSecret)))
        let pass = SecureBytes(Array(passphrase.utf8))
        try KeyFile.writeAtomically(try KeyFile.seal(id, passphrase: pass, parameters: .minimum), to: Node.keyPath(home))
        let node = try Node.open(home: home, passphrase: pass)
        try node.join(v.project)
        return node
    }

    /// The class the node's import and view give the target op.
    static func classify(_ v: TamperVector) throws -> String {
        let dir = try TempDir("tamper")
        let node = try node(for: v, in: dir)
        let log = try v.log.map { try Envelope(decoding: $0) }
        let r0 = try node.importEnvelopes(log)
        try #require(r0.new == log.count && r0.refused.isEmpty,
                     "\(v.name): the log is not valid context: \(r0.new)/\(log.count) new, refused \(r0.refused.map(\.reason.failureClass))")

        var batch: [Envelope] = []
        for raw in v.batch {
            do throws(CoreError) { batch.append(try Envelope(decoding: raw)) } catch {
                if Array(Hash.blake2b(raw)) == v.target { return error.failureClass ?? error.code }
            }
        }
        let r = try node.importEnvelopes(batch)
        if let refused = r.refused.first(where: { $0.id.bytes == v.target }) { return refused.reason.failureClass ?? refused.reason.code }
        guard let env = batch.first(where: { $0.id.bytes == v.target }) else { throw VectorFormatError("\(v.name): target not in the batch") }
        let stored = try node.store.envelopes(author: env.author, after: env.seq - 1).contains { $0.id == env.id }
        try #require(stored, "\(v.name): the target op was neither refused nor stored")
        if try node.store.forks().contains(where: { $0.author == env.author && $0.seq == env.seq }) { return "fork" }
        let view = try node.view()
        switch view.membership.standing(author: env.author, op: env.id) {
        case .notMember: return "not_member"
        case .revoked: return "revoked"
        case .readOnlyRole: return "not_allowed"
        case .accepted: break
        }
        if env.kind == .membership { return "ok" }
        return view.cases.values.contains { $0.ops.contains(env.id) } ? "ok" : "not_for_me"
    }

    @Test(arguments: TamperVector.names)
    func vector(_ name: String) throws {
        let v = try TamperVector(named: name)
        #expect(try Self.classify(v) == v.expect, "\(v)")
    }

    /// What the corpus must hold: every context-dependent class, and positive controls.
    @Test func corpusCoversTheContextClasses() throws {
        let expects = Set(try TamperVector.names.map { try TamperVector(named: $0).expect })
        let wanted: Set<String> = ["ok", "not_member", "revoked", "broken_chain", "fork", "wrong_project", "bad_signature", "not_allowed", "not_for_me"]
        #expect(wanted.subtracting(expects).isEmpty, "classes with no tamper vector: \(wanted.subtracting(expects).sorted())")
        #expect(TamperVector.names.contains("chain_vouched_middle.txt"))
    }
}

/// Every `expect:` under Protocol/vectors is a class that Protocol/README.md's "Failure
/// classes" section lists: the op classes for op-level folders, or an extension documented
/// there for the folder it appears in.
@Suite struct VectorClassCatalogTests {
    /// The closed list. A new class is a protocol change: README, generators and this list together.
    static let closed: Set<String> = ["ok", "not_member", "bad_signature", "broken_chain", "fork", "revoked", "truncated",
                                      "malformed", "not_for_me", "wrong_project", "unsupported_version", "not_allowed"]

    /// (op classes, extensions by class -> folders) from the README section.
    static func documented() throws -> (classes: Set<String>, extensions: [String: Set<String>]) {
        let readme = Vectors.root.deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let start = text.range(of: "\n## Failure classes\n") else { throw VectorFormatError("README.md has no Failure classes section") }
        let section = text[start.upperBound...].components(separatedBy: "\n## ")[0]
        var classes: Set<String> = [], extensions: [String: Set<String>] = [:]
        var table = 0, inTable = false
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("|") else { inTable = false; continue }
            if !inTable { inTable = true; table += 1 }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 2, cells[1].hasPrefix("`"), cells[1].hasSuffix("`") else { continue }
            let name = String(cells[1].dropFirst().dropLast())
            if table == 1 {
                classes.insert(name)
            } else {
                // | `class` | folders | ... : the folders column lists `folder/` names.
                let folders = cells[2].components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }
                    .map { $0.element.hasSuffix("/") ? String($0.element.dropLast()) : $0.element }
                extensions[name, default: []].formUnion(folders)
            }
        }
        return (classes, extensions)
    }

    @Test func readmeListsTheClosedList() throws {
        let d = try Self.documented()
        #expect(d.classes == Self.closed, "README's failure classes: \(d.classes.sorted())")
        #expect(!d.extensions.isEmpty, "README documents no extension classes")
        for (name, folders) in d.extensions {
            #expect(!Self.closed.contains(name), "\(name) is an op class, not an extension")
            #expect(!folders.isEmpty, "extension \(name) names no folder")
        }
    }

    @Test func everyExpectIsDocumented() throws {
        let d = try Self.documented()
        let fm = FileManager.default
        let folders = try fm.contentsOfDirectory(atPath: Vectors.root.path).filter {
            var dir: ObjCBool = false
            return fm.fileExists(atPath: Vectors.root.appendingPathComponent($0).path, isDirectory: &dir) && dir.boolValue
        }.sorted()
        #expect(Set(folders).isSuperset(of: ["ops", "bundle", "handshake", "crypto", "tamper"]), "folders: \(folders)")
        var count = 0
        for folder in folders {
            let dir = Vectors.root.appendingPathComponent(folder)
            for name in try fm.contentsOfDirectory(atPath: dir.path).filter({ $0.hasSuffix(".txt") }).sorted() {
                let f = try Vectors.header(String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8), "\(folder)/\(name)")
                let expect = try #require(f["expect"], "\(folder)/\(name) has no expect:")
                let ok = Self.closed.contains(expect) || (d.extensions[expect]?.contains(folder) ?? false)
                #expect(ok, "\(folder)/\(name): expect \(expect) is neither a failure class nor an extension README.md documents for \(folder)/")
                count += 1
            }
        }
        #expect(count > 150, "only \(count) vector files found")
    }
}
