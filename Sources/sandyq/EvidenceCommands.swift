import ArgumentParser
import Foundation
import SandyqNode

/// `sandyq case attach`: seal files into a case.
struct CaseAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach", abstract: "Attach files to a case: each is sealed in 1 MiB chunks and recorded with its SHA-256.")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Case id (or a unique prefix of it, or its ref).") var caseRef: String
    @Argument(help: "The files to attach.") var files: [String]
    @Option(help: "A note kept with each file.") var note: String = ""
    @Flag(help: "Remove each file's metadata (place, device, names) before sealing it; a format that cannot be cleaned is refused.")
    var stripAtCapture = false

    func run() throws {
        try sandyq.run {
            // Every file is checked before the first is attached: a bad one leaves the case as it was.
            for f in files { try EvidenceService.checkAttachable(f, strip: stripAtCapture) }
            let n = try node.open()
            var out: [EvidenceJSON] = []
            for f in files {
                let e = try PhaseFile.writing { try n.evidence.attach(caseRef, path: f, note: note, stripAtCapture: stripAtCapture) }
                out.append(EvidenceJSON(e))
                if !output.json {
                    say("Attached \(e.name) to case \(e.caseID.short): \(e.size) bytes, \(e.chunks) chunk(s), sha256 \(e.sha256), file \(e.fid)")
                    if e.strippedAtCapture { say("  metadata removed before sealing: \(e.stripped.isEmpty ? "none found" : e.stripped.joined(separator: ", "))") }
                    for w in e.metadataWarnings { say("  warning: \(w)") }
                }
            }
            if output.json { try printJSON(out) }
        }
    }
}

/// One file as `--json` prints it; the file key is never part of it.
struct EvidenceJSON: Encodable {
    var caseId: String, caseRef: String?, fid: String, name: String, note: String, size: Int, type: String, sha256: String
    var chunks: Int, present: Int, complete: Bool, attachedBy: String, attachedAt: String, op: String
    /// What the file says about itself (place, device, person, time) and the plain warnings for it.
    var meta: [Finding], warnings: [String]
    /// Set only for a file cleaned before sealing: what was removed.
    var stripped: [String]?

    struct Finding: Encodable { var kind: String, label: String, value: String }

    init(_ e: EvidenceEntry) {
        caseId = e.caseID.description; caseRef = e.caseRef; fid = e.fid; name = e.name; note = e.note; size = e.size; type = e.type
        sha256 = e.sha256; chunks = e.chunks; present = e.present; complete = e.complete; attachedBy = e.attachedByFingerprint
        attachedAt = Self.iso(e.attachedAtMillis); op = e.op.description
        meta = e.findings.map { Finding(kind: $0.kind.rawValue, label: $0.label, value: $0.value) }; warnings = e.metadataWarnings
        stripped = e.strippedAtCapture ? e.stripped : nil
    }

    static func iso(_ millis: UInt64) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

struct HeldJSON: Encodable {
    struct Holder: Encodable { var node: String; var fingerprint: String; var role: String?; var verified: Bool; var at: String }
    var fid: String
    var chunks: Int
    var present: Int
    var verifiedAt: String?
    var releasedAt: String?
    /// "held", "sent", "received" (a coordinator checked it) or "removed" (this copy let go after that).
    var state: String
    var holders: [Holder]

    init(_ f: HeldFile) {
        fid = f.fid
        chunks = f.count
        present = f.present
        verifiedAt = f.verifiedMillis > 0 ? EvidenceJSON.iso(UInt64(f.verifiedMillis)) : nil
        releasedAt = f.releasedMillis > 0 ? EvidenceJSON.iso(UInt64(f.releasedMillis)) : nil
        state = f.state.rawValue
        holders = f.holders.map {
            Holder(node: Hex.encode($0.node.bytes), fingerprint: $0.fingerprint, role: $0.role?.rawValue, verified: $0.verified,
                   at: EvidenceJSON.iso(UInt64(max(0, $0.atMillis))))
        }
    }

    /// The file's line, then one line per holder (`say` shows a newline inside a line as `\u{A}`).
    static func lines(_ f: HeldFile) -> [String] {
        let j = HeldJSON(f)
        let words = ["held": "held here", "sent": "held here and by others", "received": "sent, received and checked by a coordinator",
                     "removed": "sent, received, removed from this laptop"]
        var s = "\(f.fid)  \(f.present)/\(f.count) chunks  \(words[j.state]!)"
        if let v = j.verifiedAt { s += "  checked here \(v)" }
        return [s] + j.holders.map { h in "  held by \(h.fingerprint) (\(h.role ?? "not a member")\(h.verified ? ", checked" : "")) at \(h.at)" }
    }
}

struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence", abstract: "List, verify and export attached files.",
        subcommands: [List.self, Verify.self, Get.self, Export.self, VerifyManifest.self, Held.self, Release.self,
                      EvidenceInspect.self, EvidenceStrip.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List attached files, with chunks held and needed.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Only this case.") var caseRef: String?

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                if n.isWriteOnly {
                    // It cannot read its own records: only ids and chunk counts.
                    let sent = try n.evidence.sent()
                    if output.json {
                        struct Sent: Encodable { var fid: String; var chunks: Int; var present: Int }
                        try printJSON(sent.map { Sent(fid: $0.fid, chunks: $0.chunks, present: $0.present) })
                    } else {
                        if sent.isEmpty { say("No files sent from this node.") }
                        for s in sent { say("\(s.fid)  \(s.present)/\(s.chunks) chunks (write-only node: contents not readable here)") }
                    }
                    return
                }
                let all = try n.evidence.list(caseRef)
                if output.json { try printJSON(all.map(EvidenceJSON.init)); return }
                if all.isEmpty { say("No attached files.") }
                for e in all {
                    let state = e.complete ? "complete" : "incomplete"
                    say("\(e.caseRef ?? e.caseID.short)  \(e.fid)  \(e.name)  \(e.size) B  \(e.type)  sha256 \(e.sha256)  \(e.present)/\(e.chunks) chunks \(state)  by \(e.attachedByFingerprint) at \(EvidenceJSON.iso(e.attachedAtMillis))")
                    if e.strippedAtCapture { say("  metadata removed before sealing: \(e.stripped.isEmpty ? "none found" : e.stripped.joined(separator: ", "))") }
                    for w in e.metadataWarnings { say("  warning: \(w)") }
                }
            }
        }
    }

    struct Held: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the files this node holds chunks of, whether it checked them, and which nodes said they hold them.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try sandyq.run {
                let files = try node.open().evidence.held()
                if output.json { try printJSON(files.map(HeldJSON.init)); return }
                if files.isEmpty { say("No files held.") }
                for f in files { for l in HeldJSON.lines(f) { say(l) } }
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete this node's copy of files a coordinator said it holds and checked (sent, received, removed from this laptop).",
            discussion: "Without FILE-ID, every such file. A file no coordinator acknowledged is kept; naming one exits 10 and removes nothing.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "File ids (the first 8 hex digits are enough).") var fileIDs: [String] = []

        func run() throws {
            try sandyq.run {
                let files = try node.open().evidence.release(fileIDs.isEmpty ? nil : fileIDs)
                if output.json { try printJSON(files.map(HeldJSON.init)); return }
                if files.isEmpty { say("No file was acknowledged by a coordinator: nothing removed.") }
                for f in files { for l in HeldJSON.lines(f) { say(l) } }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say which case a file was attached to, by its SHA-256; exit 1 when none.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The file to look up.") var file: String

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let r = try n.evidence.verify(path: file)
                if output.json {
                    struct Out: Encodable { var sha256: String; var matches: [EvidenceJSON] }
                    try printJSON(Out(sha256: r.sha256, matches: r.matches.map(EvidenceJSON.init)))
                } else if r.matches.isEmpty {
                    say("no record of this file (sha256 \(r.sha256))")
                } else {
                    for e in r.matches {
                        say("matches \(e.name) in case \(e.caseRef ?? e.caseID.short) (\(e.caseID)), op \(e.op), attached by \(e.attachedByFingerprint) at \(EvidenceJSON.iso(e.attachedAtMillis))")
                    for w in e.metadataWarnings { say("  warning: \(w)") }
                    }
                }
                if r.matches.isEmpty { throw CLIError(.failure, "no record of this file") }
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one attached file: a working copy with its metadata removed where the format allows, or the original.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The file id (or a unique prefix of it), as `evidence list` prints it.") var fileID: String
        @Option(help: "Where to write it; must not exist.") var out: String
        @Flag(help: "Write the original, metadata and all, byte for byte as attached.") var original = false

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let c = try n.evidence.get(fileID, to: out, original: original)
                if let note = c.notice { sayError("sandyq: \(c.entry.name): \(note)") }
                if output.json {
                    struct Out: Encodable {
                        var fid: String, path: String, original: Bool, sha256: String, originalSha256: String, removed: [String], notice: String?
                    }
                    try printJSON(Out(fid: c.entry.fid, path: c.path, original: c.original, sha256: c.sha256, originalSha256: c.entry.sha256,
                                      removed: c.removed, notice: c.notice))
                } else {
                    let what = c.original ? "original" : "working copy (metadata removed: \(c.removed.isEmpty ? "none found" : c.removed.joined(separator: ", ")))"
                    say("wrote \(c.entry.name) to \(c.path): \(what), sha256 \(c.sha256)")
                }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reassemble complete files into DIR, each checked against its SHA-256, with a signed manifest.json.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Only this case.") var caseRef: String?
        @Option(help: "A new or empty directory.") var out: String
        @Flag(help: "Write working copies (metadata removed where the format allows) instead of the originals; the manifest records both SHA-256s.")
        var working = false

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let r = try n.evidence.export(caseRef, to: out, working: working)
                if output.json {
                    struct Fail: Encodable { var fid: String; var name: String; var code: String; var message: String }
                    struct Out: Encodable { var dir: String; var written: [String]; var failures: [Fail] }
                    try printJSON(Out(dir: out, written: r.written.map(\.path),
                                      failures: r.failures.map { Fail(fid: $0.fid, name: $0.name, code: $0.code, message: $0.message) }))
                } else {
                    for w in r.written {
                        if let c = r.working[w.entry.fid] {
                            say("exported \(w.path) (working copy sha256 \(c.sha256); original sha256 \(w.entry.sha256))")
                        } else {
                            say("exported \(w.path) (sha256 \(w.entry.sha256))")
                        }
                    }
                    for f in r.failures { sayError("sandyq: not exported: \(f.message) [\(f.code)]") }
                    say("\(r.written.count) file(s) and a signed manifest.json in \(out)")
                }
                if !r.failures.isEmpty { throw CLIError(.corrupt, "\(r.failures.count) file(s) not exported") }
            }
        }
    }

    struct VerifyManifest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-manifest", abstract: "Check an export's signature and every file's SHA-256.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The export directory.") var dir: String

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let c = try n.evidence.verifyManifest(dir)
                if output.json {
                    struct Out: Encodable { var ok: Bool; var signer: String; var signerIsMember: Bool?; var files: Int; var problems: [String] }
                    try printJSON(Out(ok: c.ok, signer: c.signer, signerIsMember: c.signerIsMember, files: c.files, problems: c.problems))
                } else if c.ok {
                    say("manifest verifies: \(c.files) file(s), signed by \(c.signer)")
                } else {
                    for p in c.problems { say("FAILED: \(p)") }
                }
                if !c.ok { throw CLIError(.corrupt, "the export does not verify: \(c.problems.count) problem(s)") }
            }
        }
    }
}
