import Foundation
import SandyqCore
import SandyqCrypto
import SandyqMedia
import SandyqStore

/// One attached file as this node reads its record. The file key is never part of it.
public struct EvidenceEntry: Sendable {
    public let caseID: CaseID
    public let caseRef: String?
    public let fid: String
    public let name: String
    public let note: String
    public let size: Int
    public let type: String
    public let sha256: String
    public let chunks: Int
    public let present: Int
    public let attachedBy: SigningPublicKey
    public let attachedAtMillis: UInt64
    public let op: OpID
    /// What the file says about who made it, where and with what, as found at attach.
    public var findings: [MediaFinding] = []
    /// What was removed before sealing (`--strip-at-capture`); then sha256 and size are the cleaned file's.
    public var stripped: [String] = []
    public var strippedAtCapture = false

    public var complete: Bool { present == chunks }

    /// Plain warnings for a person about to share the file, one per kind of finding.
    public var metadataWarnings: [String] { EvidenceMeta.warnings(findings) }

    /// The same warnings from a record's raw `meta` field, for a caller holding only the case.
    public static func metadataWarnings(meta: String) -> [String] { EvidenceMeta.warnings(EvidenceMeta.decode(meta)) }
    public var attachedByFingerprint: String { NodeID.fingerprint(of: attachedBy) }
}

/// What `evidence get` wrote.
public struct EvidenceCopy: Sendable {
    public let entry: EvidenceEntry
    public let path: String
    /// True when the bytes written are the original's (asked for, or the format cannot be cleaned).
    public let original: Bool
    public let sha256: String
    /// What was removed from the working copy.
    public let removed: [String]
    /// Set when a working copy was asked for and the format's metadata cannot be removed.
    public let notice: String?
}

/// What `export` wrote and what it refused, file by file.
public struct EvidenceExport: Sendable {
    public struct Failure: Sendable {
        public let fid: String
        public let name: String
        public let code: String
        public let message: String
    }

    public var written: [(entry: EvidenceEntry, path: String)] = []
    public var failures: [Failure] = []
    /// With working copies: by file id, the SHA-256 and size of the copy written.
    public var working: [String: (sha256: String, size: Int)] = [:]
}

/// A manifest check: every problem found, by name.
public struct ManifestCheck: Sendable {
    public var signer: String = ""
    public var signerIsMember: Bool?
    public var files = 0
    public var problems: [String] = []
    public var ok: Bool { problems.isEmpty }
}

extension Node {
    /// A pending chunk older than this was left by an attach that died.
    static let pendingChunkAge: Int64 = 3_600_000

    func sweepUnfinishedAttaches() throws(NodeError) {
        try mapped { try store.sweepPendingChunks(before: Int64(Self.wallMillis()) - Self.pendingChunkAge) }
    }

    /// Test hook: called after each chunk is stored, with its index.
    nonisolated(unsafe) static var afterChunk: ((Int) -> Void)?
    static let attachBatch = 8

    /// Refuses what attach would refuse before reading a byte (missing, empty, not a regular
    /// file), so a command given several files can check them all before attaching any.
    /// With `strip`, also refuses a format whose metadata cannot be removed.
    public static func checkAttachable(_ path: String, strip: Bool = false) throws(NodeError) {
        let f = try EvidenceFile.open(path)
        defer { f.close() }
        let type = MediaType.sniff(head: f.pread(at: 0, count: MediaType.sniffLength))
        if strip && !type.canStrip { throw cannotStrip(path, type) }
    }

    /// Seals `path` into chunks and records it in case `ref` with one op. The chunks and the op
    /// land together: chunks are stored pending, and the op's transaction confirms them.
    public func attach(_ ref: String, path: String, note: String = "", stripAtCapture: Bool = false) throws(NodeError) -> EvidenceEntry {
        let state = try attachTarget(ref)
        let pid = try requireProject()
        let file = try EvidenceFile.open(path)
        defer { file.close() }
        // Read at offsets (pread), so the sealing pass below still reads from the start.
        let report = MediaInspector.inspect(size: file.size) { file.pread(at: $0, count: $1) }
        if stripAtCapture && !report.type.canStrip { throw Self.cannotStrip(path, report.type) }
        let fid = Random.bytes(EvidenceChunk.fileIDLength)
        let key = SymmetricKey()
        let stamp = Int64(Self.wallMillis())
        var count = EvidenceChunk.chunkCount(size: file.size)
        var size = file.size
        var removed: [String] = []
        // Hashed on its own thread while this one seals and stores (Hash.swift).
        let sha = PipelinedSHA256()
        var sealed: [UInt8] = []
        // Up to 8 sealed chunks (8 MiB) are stored in one transaction.
        var batch: [(index: Int, bytes: [UInt8])] = []
        func flush() throws(NodeError) {
            try mapped { try store.putPendingChunks(fid: fid, count: count, batch, started: stamp) }
            batch.removeAll(keepingCapacity: true)
        }
        func seal(_ piece: [UInt8], _ i: Int) throws(NodeError) {
            let chunk = EvidenceChunk.seal(piece, key: key, project: pid, fileID: fid, index: UInt32(i), count: UInt32(count))
            batch.append((i, chunk.encoded()))
            if batch.count == Self.attachBatch || i == count - 1 { try flush() }
            Self.afterChunk?(i)
        }
        do throws(NodeError) {
            if stripAtCapture {
                // Each chunk names the count, so a first pass learns the cleaned size; the second
                // seals, and must give the same bytes (a file changed in between is refused).
                let first = PipelinedSHA256()
                let pass = try Self.stripped(file) { first.update($0) }
                size = pass.size
                count = EvidenceChunk.chunkCount(size: size)
                removed = pass.removed
                var pending: [UInt8] = []
                var index = 0
                let again = try Self.stripped(file) { (out: [UInt8]) throws(NodeError) in
                    sha.update(out)
                    pending += out
                    while pending.count >= EvidenceChunk.plainSize, index < count - 1 {
                        try seal(Array(pending.prefix(EvidenceChunk.plainSize)), index)
                        pending.removeFirst(EvidenceChunk.plainSize)
                        index += 1
                    }
                }
                guard again.size == size, index == count - 1, !pending.isEmpty else { throw EvidenceFile.changed(path) }
                try seal(pending, index)
                sealed = sha.finalize()
                guard first.finalize() == sealed else { throw EvidenceFile.changed(path) }
                file.seekToEnd()
            } else {
                for i in 0..<count {
                    let want = min(EvidenceChunk.plainSize, file.size - i * EvidenceChunk.plainSize)
                    let piece = try file.read(want)
                    guard piece.count == want else { throw EvidenceFile.changed(path) }
                    sha.update(piece)
                    try seal(piece, i)
                }
                sealed = sha.finalize()
            }
            try file.checkUnchanged()
        } catch {
            try? store.dropPendingChunks(fid: fid)
            throw error
        }
        let digest = Hex.encode(sealed)
        let fidHex = Hex.encode(fid)
        var fields = [
            "sha256": digest, "size": String(size), "type": report.type.rawValue, "chunks": String(count),
            "key": Hex.encode(key.secret.withUnsafeBytes { Array($0) }), "name": (path as NSString).lastPathComponent,
        ]
        if !note.isEmpty { fields["note"] = note }
        // A file cleaned at capture must not keep what was removed (its place, names) in the record.
        let findings = stripAtCapture ? [] : report.findings
        if !findings.isEmpty { fields["meta"] = EvidenceMeta.encode(findings) }
        if stripAtCapture { fields["stripped"] = EvidenceMeta.encodeList(removed) }
        let ms = try mapped { try CaseEditor.addElement(case: state.id, collection: "evidence", fields: fields, element: fidHex, system: true) }
        let env: Envelope
        do throws(NodeError) {
            env = try write(batch: [ms], alongside: { [store] in
                try store.confirmChunks(fid: fid, count: count)
                // The attacher sealed these very bytes: its holding statement may say it checked them.
                try store.setVerified(fid: fid, count: count, at: stamp)
            })[0]
        } catch {
            try? store.dropPendingChunks(fid: fid)
            throw error
        }
        return EvidenceEntry(caseID: state.id, caseRef: state.value("ref"), fid: fidHex, name: fields["name"]!, note: note, size: size,
                             type: fields["type"]!, sha256: digest, chunks: count, present: count, attachedBy: env.author,
                             attachedAtMillis: Self.wallMillis(), op: env.id, findings: findings, stripped: removed, strippedAtCapture: stripAtCapture)
    }

    static func cannotStrip(_ path: String, _ type: MediaType) -> NodeError {
        NodeError(.corrupt, "\(path) is \(type.rawValue): its metadata cannot be removed, so it was not attached; attach it without --strip-at-capture, or clean it first",
                  code: MediaError.notStrippable(type).code)
    }

    /// Streams the whole file through MetadataStripper, a chunk at a time, handing each output
    /// piece to `sink`; returns the cleaned size and what was removed.
    static func stripped(_ file: EvidenceFile, sink: ([UInt8]) throws(NodeError) -> Void) throws(NodeError) -> (size: Int, removed: [String]) {
        var s = MetadataStripper()
        var off = 0
        var size = 0
        while off < file.size {
            let piece = file.pread(at: off, count: min(EvidenceChunk.plainSize, file.size - off))
            guard !piece.isEmpty else { throw EvidenceFile.changed(file.path) }
            off += piece.count
            let out: [UInt8]
            do { out = try s.feed(piece) } catch { throw NodeError.from(error) }
            size += out.count
            try sink(out)
        }
        let last: [UInt8]
        do { last = try s.finish() } catch { throw NodeError.from(error) }
        size += last.count
        try sink(last)
        return (size, s.removed)
    }

    /// The case to attach to. A write-only node cannot read back the cases it recorded, so it
    /// may name one by its whole id (as `case add` printed it) without reading it.
    func attachTarget(_ ref: String) throws(NodeError) -> CaseState {
        do { return try caseState(ref) } catch {
            guard isWriteOnly, error.kind == .notFound, ref.count == 2 * CaseID.length, let b = Hex.decode(ref.lowercased()),
                  let id = try? CaseID(bytes: b) else { throw error }
            return CaseState(id: id)
        }
    }

    /// Every attached file this node can read, in case `ref` or in all cases.
    public func evidence(_ ref: String? = nil) throws(NodeError) -> [EvidenceEntry] {
        let states: [CaseState]
        if let ref {
            states = [try caseState(ref)]
        } else {
            // Cases with files only, then in the view's order: sorting every case first cost
            // the delivery page 11 ms on 1,000 cases.
            states = try view().cases.values.filter { !$0.elements("evidence").isEmpty }
                .sorted { ($0.firstClock, $0.id) < ($1.firstClock, $1.id) }
        }
        var out: [EvidenceEntry] = []
        for s in states {
            for fid in s.elements("evidence") {
                guard let e = try entry(fid, in: s) else { continue }
                out.append(e)
            }
        }
        return out
    }

    func entry(_ fid: String, in s: CaseState) throws(NodeError) -> EvidenceEntry? {
        func v(_ f: String) -> String { s.value("evidence", fid, f) ?? "" }
        guard let w = s.register(FieldPath(collection: "evidence", element: fid, field: "sha256"))?.winner,
              let raw = Hex.decode(fid), let count = Int(v("chunks")) else { return nil }
        let present = try mapped { try store.chunkIndexes(fid: raw).filter { $0 < count }.count }
        return EvidenceEntry(caseID: s.id, caseRef: s.value("ref"), fid: fid, name: v("name"), note: v("note"), size: Int(v("size")) ?? 0,
                             type: v("type"), sha256: v("sha256"), chunks: count, present: present, attachedBy: w.author,
                             attachedAtMillis: HybridClock.millis(w.clock), op: w.op, findings: EvidenceMeta.decode(v("meta")),
                             stripped: EvidenceMeta.decodeList(v("stripped")), strippedAtCapture: !v("stripped").isEmpty)
    }

    /// On a write-only node: the files it sent, by id and chunk count only (it cannot read their records).
    public func sentEvidence() throws(NodeError) -> [(fid: String, chunks: Int, present: Int)] {
        try mapped { try store.chunkSummaries().map { (Hex.encode($0.fid), $0.count, $0.present) } }
    }

    /// The records whose SHA-256 equals the file at `path`.
    public func verifyEvidence(path: String) throws(NodeError) -> (sha256: String, matches: [EvidenceEntry]) {
        let digest = try EvidenceFile.sha256(path)
        return (digest, try evidence().filter { $0.sha256 == digest })
    }

    /// Opens every chunk of each complete file, reassembles it into `dir`, keeps it only when
    /// its SHA-256 is the record's, and writes a signed manifest of what was kept.
    /// With `working`, each file is written as a working copy (metadata removed where the format
    /// allows) and the manifest records the copy's SHA-256 beside the original's.
    public func exportEvidence(_ ref: String? = nil, to dir: String, working: Bool = false) throws(NodeError) -> EvidenceExport {
        guard !isWriteOnly else {
            throw NodeError(.refused, "this node is write-only: it cannot read back the files it attached, so it cannot export them",
                            code: "evidence.write-only")
        }
        let pid = try requireProject()
        let entries = try evidence(ref)
        try EvidenceFile.prepareEmptyDirectory(dir)
        var result = EvidenceExport()
        let states = Dictionary(try view().orderedCases.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var used: Set<String> = []
        for e in entries {
            guard e.complete else {
                result.failures.append(.init(fid: e.fid, name: e.name, code: "evidence.incomplete",
                                             message: "\(e.name): \(e.present) of \(e.chunks) chunks held; not exported"))
                continue
            }
            var name = EvidenceFile.safeName(e.name, fid: e.fid)
            if used.contains(name) { name = String(e.fid.prefix(8)) + "-" + name }
            used.insert(name)
            do throws(NodeError) {
                guard let keyHex = states[e.caseID]?.secret("evidence", e.fid, "key"), let kb = Hex.decode(keyHex),
                      let key = try? SymmetricKey(SecureBytes(kb)) else {
                    throw NodeError(.corrupt, "\(e.name): its file key is missing from the record", code: "evidence.no-key")
                }
                let strip = working && (MediaType(rawValue: e.type) ?? .unknown).canStrip
                let r = try reassemble(e, key: key, project: pid, into: dir + "/" + name, strip: strip)
                if working { result.working[e.fid] = (r.sha256, r.size) }
                result.written.append((e, name))
            } catch {
                result.failures.append(.init(fid: e.fid, name: e.name, code: error.code, message: error.message))
            }
        }
        let manifest = EvidenceManifest.json(project: pid, node: nodeID, files: result.written, working: result.working)
        let sig = identity.signing.sign(manifest)
        try mapped {
            try Data(manifest).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
            try Data(sig.bytes).write(to: URL(fileURLWithPath: dir + "/manifest.sig"))
        }
        return result
    }

    /// Writes the file to `path` through a `.partial` file, checked against the record's SHA-256.
    /// With `strip`, the bytes go through MetadataStripper on the way out; returns what it removed
    /// and the SHA-256 of what was written.
    @discardableResult
    private func reassemble(_ e: EvidenceEntry, key: SymmetricKey, project: ProjectID, into path: String, strip: Bool = false)
        throws(NodeError) -> (removed: [String], sha256: String, size: Int) {
        let partial = path + ".partial"
        guard let fid = Hex.decode(e.fid), FileManager.default.createFile(atPath: partial, contents: nil),
              let out = FileHandle(forWritingAtPath: partial) else {
            throw NodeError(.failure, "\(e.name): cannot write \(partial)", code: "evidence.io")
        }
        var keep = false
        defer {
            try? out.close()
            if !keep { unlink(partial) }
        }
        // Hashed on their own threads while this one opens and writes (Hash.swift). Without
        // `strip` the bytes written are the bytes read, so one hash serves for both.
        let sha = PipelinedSHA256()
        let written = strip ? PipelinedSHA256() : nil
        var writtenSize = 0
        var stripper = MetadataStripper()
        func emit(_ b: [UInt8]) throws(NodeError) {
            written?.update(b)
            writtenSize += b.count
            // An array is DataProtocol: written from its own storage, without a copy into Data.
            do { try out.write(contentsOf: b) } catch {
                throw NodeError(.failure, "\(e.name): writing \(partial) failed: \(error)", code: "evidence.io")
            }
        }
        for i in 0..<e.chunks {
            guard let bytes = try mapped({ try store.chunk(fid: fid, index: i) }) else {
                throw NodeError(.corrupt, "\(e.name): chunk \(i) is missing", code: "evidence.incomplete")
            }
            let chunk: EvidenceChunk
            do { chunk = try EvidenceChunk.decode(bytes) } catch {
                throw NodeError(.corrupt, "\(e.name): chunk \(i) is damaged (\(error))", code: "evidence.chunk-malformed")
            }
            guard chunk.project == project.bytes, chunk.fileID == fid, chunk.index == UInt32(i), chunk.count == UInt32(e.chunks) else {
                throw NodeError(.corrupt, "\(e.name): chunk \(i) belongs to another file or position", code: "evidence.chunk-misplaced")
            }
            let plain: [UInt8]
            do { plain = try chunk.open(key: key) } catch {
                throw NodeError(.corrupt, "\(e.name): chunk \(i) does not open under the file's key (changed or from another file)",
                                code: "evidence.chunk-unreadable")
            }
            sha.update(plain)
            if strip {
                do { try emit(try stripper.feed(plain)) } catch { throw NodeError.from(error) }
            } else {
                try emit(plain)
            }
        }
        if strip {
            do { try emit(try stripper.finish()) } catch { throw NodeError.from(error) }
        }
        let read = sha.finalize()
        let digest = Hex.encode(read)
        guard digest == e.sha256 else {
            throw NodeError(.corrupt, "\(e.name): reassembled SHA-256 \(digest) is not the recorded \(e.sha256)", code: "evidence.hash-mismatch")
        }
        try? out.synchronize()
        guard rename(partial, path) == 0 else {
            throw NodeError(.failure, "\(e.name): cannot move it into place at \(path)", code: "evidence.io")
        }
        keep = true
        return (stripper.removed, Hex.encode(written?.finalize() ?? read), writtenSize)
    }

    /// The file key from the case record.
    private func fileKey(_ e: EvidenceEntry, in state: CaseState?) throws(NodeError) -> SymmetricKey {
        guard let keyHex = state?.secret("evidence", e.fid, "key"), let kb = Hex.decode(keyHex), let key = try? SymmetricKey(SecureBytes(kb)) else {
            throw NodeError(.corrupt, "\(e.name): its file key is missing from the record", code: "evidence.no-key")
        }
        return key
    }

    /// Writes one attached file to `path` (which must not exist): by default a working copy,
    /// with its metadata removed where the format allows; the original only when asked.
    public func getEvidence(_ fileID: String, to path: String, original: Bool = false) throws(NodeError) -> EvidenceCopy {
        guard !isWriteOnly else {
            throw NodeError(.refused, "this node is write-only: it cannot read back the files it attached", code: "evidence.write-only")
        }
        let pid = try requireProject()
        let want = fileID.lowercased()
        let found = try evidence().filter { $0.fid.hasPrefix(want) }
        guard !want.isEmpty, let e = found.first else { throw NodeError(.notFound, "no attached file \(fileID)", code: "evidence.unknown-file") }
        guard found.count == 1 else {
            throw NodeError(.usage, "\(fileID) names \(found.count) files; give more of the file id", code: "evidence.ambiguous-file")
        }
        guard e.complete else {
            throw NodeError(.corrupt, "\(e.name): \(e.present) of \(e.chunks) chunks held; not written", code: "evidence.incomplete")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw NodeError(.usage, "\(path) exists: give a new path (nothing is overwritten)", code: "evidence.out-exists")
        }
        let key = try fileKey(e, in: try caseState(e.caseID.description))
        let strip = !original && (MediaType(rawValue: e.type) ?? .unknown).canStrip
        let r = try reassemble(e, key: key, project: pid, into: path, strip: strip)
        var note: String?
        if !original && !strip { note = "\(e.type): metadata of this format cannot be removed; the working copy is the original file" }
        return EvidenceCopy(entry: e, path: path, original: original || !strip, sha256: r.sha256, removed: r.removed, notice: note)
    }

    /// Checks `dir/manifest.sig` over `dir/manifest.json` and every file's SHA-256 and size.
    /// `members` (when a node checks) says whether the signer belongs to the project.
    public static func verifyManifest(_ dir: String, members: Set<SigningPublicKey>? = nil) throws(NodeError) -> ManifestCheck {
        guard let json = FileManager.default.contents(atPath: dir + "/manifest.json") else {
            throw NodeError(.notFound, "no manifest.json in \(dir)", code: "manifest.missing")
        }
        guard let sigBytes = FileManager.default.contents(atPath: dir + "/manifest.sig") else {
            throw NodeError(.notFound, "no manifest.sig in \(dir)", code: "manifest.missing")
        }
        let doc: EvidenceManifest.Document
        do { doc = try JSONDecoder().decode(EvidenceManifest.Document.self, from: json) } catch {
            throw NodeError(.corrupt, "manifest.json does not read as a manifest: \(error)", code: "manifest.malformed")
        }
        var check = ManifestCheck()
        check.signer = doc.node.signingKey
        check.files = doc.files.count
        if let kb = Hex.decode(doc.node.signingKey), let k = try? SigningPublicKey(bytes: kb), let sig = try? Signature(bytes: [UInt8](sigBytes)) {
            if !k.isValidSignature(sig, for: [UInt8](json)) {
                check.problems.append("manifest.json: the signature does not verify (the manifest was changed after it was signed)")
            }
            if let members { check.signerIsMember = members.contains(k) }
            if check.signerIsMember == false { check.problems.append("manifest.json: signed by \(NodeID.fingerprint(of: k)), not a member of this project") }
        } else {
            check.problems.append("manifest.sig: not a valid signature or signer key")
        }
        for f in doc.files {
            guard !f.path.isEmpty, !f.path.contains("/"), f.path != ".", f.path != "..", !f.path.hasPrefix(".") else {
                check.problems.append("\(f.path): not a plain file name in the export directory")
                continue
            }
            let p = dir + "/" + f.path
            guard FileManager.default.fileExists(atPath: p) else {
                check.problems.append("\(f.path): missing")
                continue
            }
            do {
                let d = try EvidenceFile.sha256(p)
                let want = f.workingSha256 ?? f.sha256
                if d != want { check.problems.append("\(f.path): SHA-256 \(d) is not the manifest's \(want) (changed or swapped)") }
            } catch {
                check.problems.append("\(f.path): \(error.message)")
            }
        }
        return check
    }
}

/// The signed manifest of an export. Layout: Protocol/evidence.md.
enum EvidenceManifest {
    struct Signer: Codable { var fingerprint: String; var signingKey: String }
    struct File: Codable {
        var caseId: String
        var caseRef: String?
        var fid: String
        var name: String
        var path: String
        var sha256: String
        var size: Int
        var type: String
        var attachedBy: String
        var attachedAt: String
        var op: String
        /// Only in an export of working copies: the copy written at `path` (`sha256` and `size`
        /// stay the original's, as recorded).
        var workingSha256: String? = nil
        var workingSize: Int? = nil
    }
    struct Document: Codable {
        var format: String
        var project: String
        var node: Signer
        var exportedAt: String
        var files: [File]
    }

    static func iso(_ millis: UInt64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func json(project: ProjectID, node: NodeID, files: [(entry: EvidenceEntry, path: String)],
                     working: [String: (sha256: String, size: Int)] = [:]) -> [UInt8] {
        let doc = Document(
            format: "sandyq-evidence-manifest-1", project: project.description,
            node: Signer(fingerprint: node.fingerprint, signingKey: Hex.encode(node.signingKey.bytes)),
            exportedAt: iso(Node.wallMillis()),
            files: files.map { e, p in
                File(caseId: e.caseID.description, caseRef: e.caseRef, fid: e.fid, name: e.name, path: p, sha256: e.sha256, size: e.size,
                     type: e.type, attachedBy: Hex.encode(e.attachedBy.bytes), attachedAt: iso(e.attachedAtMillis), op: e.op.description,
                     workingSha256: working[e.fid]?.sha256, workingSize: working[e.fid]?.size)
            })
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return [UInt8]((try? enc.encode(doc)) ?? Data()) + [10]
    }
}

/// A file read for attach or verify: a regular file only, opened so a FIFO cannot hang it,
/// and checked unchanged from first byte to last.
final class EvidenceFile {
    let path: String
    let fd: Int32
    let size: Int
    private let before: stat

    private init(path: String, fd: Int32, st: stat) {
        self.path = path
        self.fd = fd
        self.size = Int(st.st_size)
        self.before = st
    }

    static func open(_ path: String) throws(NodeError) -> EvidenceFile {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw NodeError(.notFound, "\(path): \(String(cString: strerror(errno)))", code: "evidence.not-found")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw NodeError(.corrupt, "\(path) is not a regular file (a directory, pipe or device): nothing to attach", code: "evidence.not-a-file")
        }
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw NodeError(.failure, "\(path): \(String(cString: strerror(errno)))", code: "evidence.io") }
        var now = stat()
        // The path may have been swapped between stat and open.
        guard fstat(fd, &now) == 0, now.st_mode & S_IFMT == S_IFREG, now.st_ino == st.st_ino, now.st_dev == st.st_dev else {
            Glibc.close(fd)
            throw NodeError(.corrupt, "\(path) is not a regular file (a directory, pipe or device): nothing to attach", code: "evidence.not-a-file")
        }
        guard now.st_size > 0 else {
            Glibc.close(fd)
            throw NodeError(.corrupt, "\(path) is empty: nothing to attach", code: "evidence.empty")
        }
        return EvidenceFile(path: path, fd: fd, st: now)
    }

    func close() { Glibc.close(fd) }

    /// After reading by offset: the position `checkUnchanged` expects.
    func seekToEnd() { lseek(fd, off_t(size), SEEK_SET) }

    static func changed(_ path: String) -> NodeError {
        NodeError(.corrupt, "\(path) changed while it was read: nothing was recorded; attach it again once it is complete", code: "evidence.changed")
    }

    /// Up to `n` bytes: fewer only at the end of the file.
    func read(_ n: Int) throws(NodeError) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, n - got) }
            if r < 0 {
                if errno == EINTR { continue }
                throw NodeError(.failure, "\(path): \(String(cString: strerror(errno)))", code: "evidence.io")
            }
            if r == 0 { break }
            got += r
        }
        if got < n { buf.removeLast(n - got) }
        return buf
    }

    /// Up to `count` bytes at `offset`, without moving the read position; fewer at the end or on error
    /// (the sealing pass and `checkUnchanged` catch a file that changes).
    func pread(at offset: Int, count: Int) -> [UInt8] {
        guard count > 0, offset >= 0 else { return [] }
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let r = buf.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got)) }
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { break }
            got += r
        }
        if got < count { buf.removeLast(count - got) }
        return buf
    }

    /// Refuses a file that grew, shrank, was replaced or written to while it was read.
    func checkUnchanged() throws(NodeError) {
        if try !read(1).isEmpty { throw Self.changed(path) }
        var after = stat()
        guard fstat(fd, &after) == 0, after.st_size == before.st_size, after.st_ino == before.st_ino,
              after.st_mtim.tv_sec == before.st_mtim.tv_sec, after.st_mtim.tv_nsec == before.st_mtim.tv_nsec else {
            throw Self.changed(path)
        }
        var named = stat()
        guard stat(path, &named) == 0, named.st_ino == before.st_ino, named.st_dev == before.st_dev else { throw Self.changed(path) }
    }

    /// The SHA-256 of a regular file, read a chunk at a time.
    static func sha256(_ path: String) throws(NodeError) -> String {
        let f = try open(path)
        defer { f.close() }
        let sha = SHA256()
        var left = f.size
        while left > 0 {
            let piece = try f.read(min(left, EvidenceChunk.plainSize))
            guard !piece.isEmpty else { throw changed(path) }
            sha.update(piece)
            left -= piece.count
        }
        try f.checkUnchanged()
        return Hex.encode(sha.finalize())
    }

    /// A name safe to create in the export directory: the last path part, no control
    /// characters, no leading dot.
    static func safeName(_ name: String, fid: String) -> String {
        let last = name.split(separator: "/").last.map(String.init) ?? ""
        var clean = String(last.unicodeScalars.filter { $0.value >= 0x20 && $0 != "\u{7F}" && $0 != "\\" })
        while clean.hasPrefix(".") { clean.removeFirst() }
        if clean.hasSuffix(".partial") || clean == "manifest.json" || clean == "manifest.sig" { clean = "file-" + clean }
        return clean.isEmpty ? fid : String(clean.prefix(200))
    }

    /// Creates `dir`, or accepts it when empty: an export never mixes with other files.
    static func prepareEmptyDirectory(_ dir: String) throws(NodeError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true else {
                throw NodeError(.usage, "\(dir) exists and is not an empty directory: give a new or empty one", code: "evidence.out-not-empty")
            }
            return
        }
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw NodeError(.failure, "cannot create \(dir): \(error)", code: "evidence.io")
        }
    }
}

/// The record's `meta` field: the findings as compact JSON, `[{"kind":"gps","value":"..."}]`
/// (layout: Protocol/evidence.md).
enum EvidenceMeta {
    struct Item: Codable {
        var kind: String
        var label: String?
        var value: String
    }

    static func encode(_ findings: [MediaFinding]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let items = findings.map { Item(kind: $0.kind.rawValue, label: $0.label, value: $0.value) }
        return String(decoding: (try? enc.encode(items)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func encodeList(_ items: [String]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? enc.encode(items)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeList(_ s: String) -> [String] {
        guard !s.isEmpty, let items = try? JSONDecoder().decode([String].self, from: Data(s.utf8)) else { return [] }
        return items
    }

    /// Unreadable or missing meta reads as no findings; an unknown kind reads as `other`.
    static func decode(_ s: String) -> [MediaFinding] {
        guard !s.isEmpty, let items = try? JSONDecoder().decode([Item].self, from: Data(s.utf8)) else { return [] }
        return items.map { MediaFinding(MediaFinding.Kind(rawValue: $0.kind) ?? .other, $0.label ?? "", $0.value) }
    }

    /// "50.460000, -30.520000" as "50.4600 N, 30.5200 W"; anything else as it is.
    static func place(_ v: String) -> String {
        let parts = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let lat = Double(parts[0]), let lon = Double(parts[1]) else { return v }
        func f(_ x: Double) -> String { String(format: "%.4f", abs(x)) }
        return "\(f(lat)) \(lat < 0 ? "S" : "N"), \(f(lon)) \(lon < 0 ? "W" : "E")"
    }

    static func warnings(_ findings: [MediaFinding]) -> [String] {
        func first(_ k: MediaFinding.Kind) -> MediaFinding? { findings.first { $0.kind == k } }
        var out: [String] = []
        if let g = findings.first(where: { $0.kind == .gps && $0.label.hasSuffix("GPS position") }) ?? first(.gps) {
            out.append("this file says where it was made: \(place(g.value))")
        }
        if let d = first(.device) { out.append("this file names the device that made it: \(d.value)") }
        if let p = first(.person) { out.append("this file names a person: \(p.value)") }
        if let t = first(.time) { out.append("this file says when it was made: \(t.value)") }
        if let s = first(.software) { out.append("this file names the software that edited it: \(s.value)") }
        return out
    }
}
