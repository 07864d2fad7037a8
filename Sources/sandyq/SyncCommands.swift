import ArgumentParser
import Foundation
import SandyqNode

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Encrypted bundle files for carrying ops on a USB stick.",
        subcommands: [Export.self, Import.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the ops the recipients are not known to have into a bundle.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Option(parsing: .upToNextOption, help: "Recipients: node ids (sqn-...) or roles (coordinators, reporters, lawyers, relays).")
        var to: [String] = []
        @Option(help: "The bundle file to write (parts beyond the first get .2, .3, ...).") var out: String
        @Flag(help: "Every op, not only what the recipients lack.") var all = false
        @Option(help: "Split into parts of at most this many bytes (default 3.8 GB, below FAT32's 4 GiB).")
        var maxSize: Int = ExchangeService.defaultMaxBundleSize

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let recipients = try n.exchange.recipients(to)
                let r = try PhaseFile.writing { try n.exchange.exportBundle(to: recipients, out: out, all: all, maxSize: maxSize) }
                if output.json {
                    try printJSON(ExportJSON(files: r.files, ops: r.ops, bytes: r.bytes, evidenceChunks: r.chunks))
                } else {
                    say("Wrote \(r.ops) ops\(r.chunks > 0 ? " and \(r.chunks) evidence chunks" : "") in \(r.files.count) file(s), \(r.bytes) bytes: \(r.files.joined(separator: ", "))")
                }
            }
        }
        struct ExportJSON: Encodable { var files: [String]; var ops: Int; var bytes: Int; var evidenceChunks: Int }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify and apply bundles. Exit 0: all applied; 10: some ops or chunks refused; 65: unreadable; 68: not for this node or project.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Bundle files.") var files: [String]

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                var results: [ImportJSON] = []
                var worst: Int32 = 0
                var errors: [String] = []
                PhaseFile.writing {
                    for f in files {
                        do {
                            let r = try n.exchange.importBundle(f)
                            results.append(ImportJSON(r))
                            if !r.report.refused.isEmpty || !r.intact || r.chunks.refused > 0 || !r.chunks.failed.isEmpty { worst = max(worst, 10) }
                        } catch {
                            let c = CLIError(error)
                            errors.append(c.message)
                            results.append(ImportJSON(file: f, error: c.message))
                            worst = max(worst, c.code)
                        }
                    }
                }
                if output.json { try printJSON(results) } else {
                    for r in results {
                        if let e = r.error { say("\(r.file): \(e)"); continue }
                        say("\(r.file): \(r.new) new, \(r.known) already known, \(r.refused.count) refused\(r.sender.map { " (from \($0))" } ?? "")")
                        if r.senderMember == false { say("  \(Self.notMember)") }
                        for x in r.refused { say("  refused op \(x.op.prefix(12)) (author \(x.author), seq \(x.seq)): \(x.reason)") }
                        if r.damagedChunks > 0 { say("  \(r.damagedChunks) damaged chunk(s): the ops in them were lost; the rest landed") }
                        if r.truncated { say("  the file is truncated: the ops in the part that arrived landed") }
                        if let e = r.evidence {
                            say("  evidence: \(e.stored) chunks stored, \(e.known) already held, \(e.refused) refused, \(e.withdrawn) of withdrawn files dropped; \(e.verified.count) files now whole and checked")
                            for f in e.failed { say("  file \(f.prefix(8)) did not match its record: its chunks will be fetched again") }
                        }
                    }
                }
                for e in errors where output.json { sayError("sandyq: \(e)") }
                if worst != 0 { throw ExitCode(worst) }
            }
        }

        static let notMember = "its sender is not a member of this project: nothing was acknowledged to it, and nothing will be written to it"
    }
}

struct ImportJSON: Encodable {
    struct Refusal: Encodable { var op: String; var author: String; var seq: UInt64; var reason: String; var code: String }
    var file: String
    var sender: String?
    var new = 0
    var known = 0
    var forks = 0
    var refused: [Refusal] = []
    var damagedChunks = 0
    var truncated = false
    /// Whether the signed sender is an admitted, unrevoked member (absent when no header survived).
    var senderMember: Bool?
    struct Evidence: Encodable { var stored: Int; var known: Int; var refused: Int; var withdrawn: Int; var verified: [String]; var failed: [String]; var holdings: Int }
    /// Evidence chunks and holding statements the bundle carried (absent when none).
    var evidence: Evidence?
    var error: String?

    init(file: String, error: String) { self.file = file; self.error = error }

    init(_ r: ExchangeService.BundleImport) {
        file = r.file
        sender = r.sender?.fingerprint
        new = r.report.new; known = r.report.known; forks = r.report.forks
        refused = r.report.refused.map {
            Refusal(op: $0.id.description, author: Hex.encode($0.author.bytes.prefix(6)), seq: $0.seq, reason: $0.reason.description, code: $0.reason.failureClass ?? $0.reason.code)
        }
        damagedChunks = r.damagedChunks + r.malformedRecords
        truncated = r.truncated
        senderMember = r.senderIsMember
        let c = r.chunks
        if c.stored + c.known + c.refused + r.holdings > 0 {
            evidence = Evidence(stored: c.stored, known: c.known, refused: c.refused, withdrawn: c.withdrawn, verified: c.verified, failed: c.failed, holdings: r.holdings)
        }
    }
}

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each peer and what it is not yet known to hold.", subcommands: [List.self, Add.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Peers and undelivered ops.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions

        struct Row: Encodable {
            var nodeId: String; var fingerprint: String; var role: String?; var address: String?; var undelivered: Int; var inSync: Bool
            /// `sync ADDRESS` accepts this key as the server at `address` even if it is not a member.
            var pinned: Bool
        }

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let pins = try n.exchange.pinnedPeers()
                let rows = try n.exchange.peers().map {
                    Row(nodeId: $0.node.description, fingerprint: $0.node.fingerprint, role: $0.role?.rawValue,
                        address: $0.address, undelivered: $0.undelivered, inSync: $0.undelivered == 0, pinned: pins[$0.node] != nil)
                }
                if output.json { try printJSON(rows); return }
                if rows.isEmpty { say("no peers yet") }
                for r in rows {
                    let state = r.undelivered == 0 ? "has everything this node holds" : "\(r.undelivered) ops not yet acknowledged by \(r.fingerprint)"
                    say("\(r.fingerprint)  \(r.role ?? "-")  \(r.address.map { r.pinned ? "\($0) (pinned)" : $0 } ?? "")  \(state)")
                }
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remember a peer's network address and pin its key there: `sync ADDRESS` then accepts that key as the server, member or not (never a revoked one).")
        @OptionGroup var node: NodeOptions
        @Argument(help: "The peer's node id (sqn-...).") var nodeID: String
        @Argument(help: "HOST:PORT") var address: String

        func run() throws {
            try sandyq.run {
                guard let id = NodeID(string: nodeID) else { throw CLIError(.usage, "'\(nodeID)' is not a node id") }
                let n = try node.open()
                try n.exchange.rememberPeer(id, address: address)
                say("Remembered \(id.fingerprint) at \(address)")
            }
        }
    }
}

struct USBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usb", abstract: "The USB mailbox folder.", subcommands: [Sync.self])

    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import the bundles in DIR addressed to this node, write fresh ones for each peer, delete delivered ones.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The mailbox folder, e.g. a directory on a USB stick.") var dir: String

        struct Out: Encodable {
            var imported: [ImportJSON]; var skipped: [String]; var failed: [String]; var written: [String]; var deleted: [String]
            var notes: [String]
            var gaps: [GapRow]
        }

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let running = HomeProcesses.register(home: n.home, command: "usb sync")
                defer { running?.close() }
                let r = try n.exchange.syncMailbox(dir)
                let gaps = try n.admin.chainGaps().map(GapRow.init)
                if output.json {
                    try printJSON(Out(imported: r.imported.map(ImportJSON.init), skipped: r.skipped,
                                      failed: r.failed.map { "\($0.0): \($0.1)" }, written: r.written, deleted: r.deleted, notes: r.notes,
                                      gaps: gaps))
                    return
                }
                defer { for g in gaps { say("gap: \(g.warning)") } }
                for i in r.imported {
                    say("imported \((i.file as NSString).lastPathComponent): \(i.report.new) new, \(i.report.known) known, \(i.report.refused.count) refused")
                    if i.senderIsMember == false { say("  \(BundleCommand.Import.notMember)") }
                }
                if !r.skipped.isEmpty { say("left alone (not for this node, or imported before): \(r.skipped.count)") }
                for f in r.failed { say("could not read \(f.0): \(f.1)") }
                for n in r.notes { say(n) }
                say("wrote \(r.written.count) bundle(s), deleted \(r.deleted.count) delivered or replaced")
            }
        }
    }
}
