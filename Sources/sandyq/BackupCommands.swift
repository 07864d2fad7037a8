import ArgumentParser
import Foundation
import SandyqNode
import SandyqWeb

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Split this node's keys into shares for trusted people, or rebuild the node from them.",
        subcommands: [Split.self, Restore.self, Status.self])

    struct SplitReport: Encodable {
        var node: String
        var backupId: String
        var threshold: Int
        var shares: Int
        /// One row per share: its number and its two files (binary, and text for paper).
        var files: [ShareFiles]
    }

    struct ShareFiles: Encodable {
        var number: Int
        var file: String
        var text: String
        /// The text form as a QR code (SVG), to print beside it; a phone's scan of it is the text.
        var qr: String?
    }

    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write N shares of this node's keys, project and network key; any K of them rebuild the node (`backup restore`), fewer reveal nothing.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "How many shares to write (at most 255).") var shares: Int
        @Option(help: "How many shares rebuild the node (at least 2, at most --shares).") var threshold: Int
        @Option(help: "The folder to write the share files into (default: the current folder). Existing files are never replaced.")
        var out: String = "."

        func validate() throws {
            guard threshold >= 2, threshold <= shares, shares <= 255 else {
                throw ValidationError("need 2 ≤ --threshold ≤ --shares ≤ 255, got --threshold \(threshold) --shares \(shares)")
            }
        }

        /// A share's files, without their extension: the check before splitting and the writing use it.
        static func base(_ dir: String, node: String, number: Int, count: Int) -> String {
            "\(dir)/sandyq-\(node)-share-\(number)-of-\(count)"
        }

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let dir = out.hasSuffix("/") ? String(out.dropLast()) : out
                // Refused before splitting, so that no set is half written.
                for i in 1...shares {
                    let base = Self.base(dir, node: n.nodeID.fingerprint, number: i, count: shares)
                    for path in [base + ".sqshare", base + ".txt", base + ".svg"] where FileManager.default.fileExists(atPath: path) {
                        throw NodeError(.usage, "\(path) already exists: nothing was written; choose another --out folder")
                    }
                }
                let set = try n.admin.splitBackupSet(threshold: threshold, count: shares)
                let made = set.pieces
                guard let first = made.first else { return }
                var rows: [ShareFiles] = []
                for s in made {
                    let base = Self.base(dir, node: s.node, number: s.number, count: s.count)
                    try NodeHost.writeNewPrivateFile(s.bytes, to: base + ".sqshare")
                    try NodeHost.writeNewPrivateFile(Array(s.text.utf8), to: base + ".txt")
                    var qr: String?
                    if let svg = QRCode.svg(s.text) {
                        try NodeHost.writeNewPrivateFile(Array(svg.utf8), to: base + ".svg")
                        qr = base + ".svg"
                    }
                    rows.append(ShareFiles(number: s.number, file: base + ".sqshare", text: base + ".txt", qr: qr))
                }
                // Only a set whose every file is written becomes this node's pieces (`backup status`).
                try n.admin.recordBackupPieces(set)
                let r = SplitReport(node: first.node, backupId: first.backup, threshold: first.threshold, shares: first.count, files: rows)
                if output.json { try printJSON(r); return }
                say("Wrote \(r.shares) shares of node \(r.node) (backup \(r.backupId)); any \(r.threshold) rebuild it:")
                for f in rows { say("  share \(f.number): \(f.file)  (paper: \(f.text)\(f.qr.map { ", QR code: \($0)" } ?? ""))") }
                say("Give each share to a different trusted person, print the .txt for paper, then delete these files here.")
                say("Any \(r.threshold) holders together can become this node: choose them as you would a coordinator.")
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the last backup pieces still rebuild this node with the reader key others seal to; exits 3 when they do not (or none are recorded).")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        /// Not 1, which is a failure to read: a script tells "split again" from "could not tell".
        static let outOfDate: Int32 = 3

        func run() throws {
            try sandyq.run {
                let s = try node.open().admin.backupPiecesStatus()
                if output.json { try printJSON(s) } else if s.awaitingSync {
                    say("This node was rebuilt from pieces and has not synced yet: sync first, then ask again.")
                } else if !s.recorded {
                    say("This home records no backup pieces of this node: split them (`sandyq backup split`).")
                } else {
                    let made = s.madeAtMillis.map { " made " + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? " (the pieces this home was rebuilt from)"
                    let how = s.threshold.map { t in " (any \(t) of \(s.shares ?? t))" } ?? ""
                    say("Last pieces\(s.backupId.map { " \($0)" } ?? "")\(how)\(made): reader key epoch \(s.piecesReaderEpoch ?? 0); this node's: \(s.readerEpoch).")
                    if s.holdDestroyedKey {
                        say("They hold a reader key this node destroyed after a withdrawal: with enough of them, a copy made before it (an old stick) opens what was withdrawn. Split new pieces, hand them out, and ask the holders to destroy the old ones.")
                    } else if s.current {
                        say("They rebuild this node as it is now.")
                    } else {
                        say("They no longer hold the key others seal to: split new pieces, hand them out, and ask the holders to destroy the old ones.")
                    }
                }
                if !s.current { throw ExitCode(Self.outOfDate) }
            }
        }
    }

    struct RestoreReport: Encodable {
        var nodeId: String
        var fingerprint: String
        var home: String
        var project: String
        var sharesGiven: Int
        var next: String
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild a node in a new --home from K of its backup shares (files, binary or text), under a new passphrase.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Argon2id cost for the new key file: interactive (64 MiB), moderate (256 MiB), sensitive (1 GiB).")
        var kdf: Init.KDF = .moderate
        @Argument(help: "Share files: the .sqshare files, or the .txt paper forms (typed back in).") var shares: [String]

        func run() throws {
            try sandyq.run {
                let home = node.resolvedHome
                if NodeHost.exists(home: home) {
                    throw CLIError(.usage, "a node already exists in \(home); restore into a new --home")
                }
                var read: [(name: String, content: [UInt8])] = []
                for path in shares {
                    guard let d = FileManager.default.contents(atPath: path) else {
                        throw CLIError(.notFound, "cannot read the share file \(path)")
                    }
                    read.append((path, [UInt8](d)))
                }
                // The shares are checked before the passphrase is asked for.
                let backup = try NodeHost.combineBackup(read)
                let pass = try node.passphrase(confirm: true)
                let n = try NodeHost.restore(backup, home: home, passphrase: pass, parameters: kdf.parameters)
                let project = try n.project()?.description ?? ""
                let next = "sync with a peer before anything else: sandyq sync ADDRESS --peer PEER-NODE-ID --home \(home)"
                if output.json {
                    try printJSON(RestoreReport(nodeId: n.nodeID.description, fingerprint: n.nodeID.fingerprint, home: home,
                                                project: project, sharesGiven: read.count, next: next))
                    return
                }
                say("Restored node \(n.nodeID.fingerprint) of project \(project) in \(home)")
                say("Its log is empty: \(next)")
                say("Write nothing before that sync, or this node's new ops would fork its own chain.")
            }
        }
    }
}
