import ArgumentParser
import Foundation
import SandyqNode

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a node: keys sealed under a passphrase, and an empty store.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions

    enum KDF: String, ExpressibleByArgument, CaseIterable {
        case interactive, moderate, sensitive
        var parameters: PasswordKDFParameters {
            switch self {
            case .interactive: .interactive
            case .moderate: .moderate
            case .sensitive: .sensitive
            }
        }
    }

    @Option(help: "Argon2id cost for the key file: interactive (64 MiB), moderate (256 MiB), sensitive (1 GiB).")
    var kdf: KDF = .moderate

    @Flag(help: "Seal nothing to this node: what it records cannot be read back here once the command ends.")
    var writeOnly = false

    @Flag(help: "Also set a duress passphrase (prompted, or SANDYQ_DURESS_PASSPHRASE, or --duress-passphrase-file): typed at unlock, it silently destroys the keys and opens a fresh, empty node.")
    var duressPassphrase = false

    @Option(help: "Read the duress passphrase from FILE (implies --duress-passphrase).") var duressPassphraseFile: String?

    func run() throws {
        try sandyq.run {
            let home = node.resolvedHome
            if NodeHost.exists(home: home) {
                throw CLIError(.usage, "a node already exists in \(home); use another --home, or remove it first")
            }
            let pass = try node.passphrase(confirm: true)
            var duress: SecureBytes?
            if duressPassphrase || duressPassphraseFile != nil {
                var d = NodeOptions()
                d.passphraseFile = duressPassphraseFile
                duress = try d.passphrase(confirm: true, env: "SANDYQ_DURESS_PASSPHRASE", prompt: "Duress passphrase: ")
            }
            let n = try NodeHost.initialize(home: home, passphrase: pass, parameters: kdf.parameters, duress: duress, writeOnly: writeOnly)
            if output.json {
                try printJSON(["nodeId": n.nodeID.description, "fingerprint": n.nodeID.fingerprint, "home": home])
            } else {
                say("Created node \(n.nodeID.fingerprint) in \(home)")
                say("Node id (give it to a coordinator): \(n.nodeID)")
            }
        }
    }
}

struct StatusReport: Encodable {
    var nodeId: String
    var fingerprint: String
    var home: String
    var project: String?
    var projectName: String?
    var role: String?
    /// "write-only" or "read-write", from the key file's sealed payload.
    var mode: String
    var ops: Int
    var readableOps: Int
    var cases: Int
    var members: Int
    var conflicts: Int
    var schema: Int
    var version: String
    /// BLAKE2b of the merged view: equal on replicas that hold the same readable ops.
    var digest: String?
    /// Holes in authors' chains: a coordinator's may hide a withheld revocation.
    var gaps: [GapRow] = []
}

struct GapRow: Encodable {
    var author: String
    var role: String?
    var missing: String
    var warning: String

    init(_ g: AdminService.ChainGap) {
        author = g.member?.fingerprint ?? Hex.encode(g.author.bytes)
        role = g.role?.rawValue
        missing = g.ranges
        warning = g.warning
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show this node's id, project and counts.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try sandyq.run {
            let n = try node.open()
            let project = try n.project()
            let view = project == nil ? nil : try n.view()
            let facts = try n.admin.storeFacts()
            let r = StatusReport(
                nodeId: n.nodeID.description, fingerprint: n.nodeID.fingerprint, home: n.home,
                project: project?.description, projectName: view?.projectName.winner?.value,
                role: view?.membership.role(of: n.nodeID.signingKey)?.rawValue,
                mode: n.isWriteOnly ? "write-only" : "read-write",
                ops: facts.ops, readableOps: view?.stats.readable ?? 0,
                cases: view?.cases.count ?? 0, members: view?.membership.members.count ?? 0,
                conflicts: view?.cases.values.reduce(0) { $0 + $1.conflicts.count } ?? 0,
                schema: facts.schema, version: Sandyq.version, digest: view?.digest,
                gaps: project == nil ? [] : try n.admin.chainGaps().map(GapRow.init))
            if output.json { try printJSON(r); return }
            say("node      \(r.fingerprint)")
            say("node id   \(r.nodeId)")
            say("home      \(r.home)")
            say("project   \(r.project ?? "none (sandyq project create NAME, or sandyq join PROJECT-ID)")\(r.projectName.map { " — \($0)" } ?? "")")
            if let role = r.role { say("role      \(role)") }
            say("mode      \(n.isWriteOnly ? "write-only: what this node records cannot be read back here" : "read-write")")
            say("ops       \(r.ops) held, \(r.readableOps) readable here")
            say("cases     \(r.cases)\(r.conflicts > 0 ? " (\(r.conflicts) open conflicts)" : "")")
            say("members   \(r.members)")
            if let d = r.digest { say("digest    \(d.prefix(16))") }
            for g in r.gaps { say("gap       \(g.warning)") }
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the integrity of the store and the key file.")

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Report what this node still holds of withdrawn cases: their ops, file chunks and keys.") var withdrawn = false

    func run() throws {
        if withdrawn { return try runWithdrawn() }
        try sandyq.run {
            let problems: [String]
            do {
                problems = try node.open().admin.check()
            } catch let e as CLIError where e.code == CLIError(.corrupt, "").code {
                // Damage that stops the node opening (a page it reads at start-up) is a finding
                // of `check`, with the same advice, not a bare failure.
                problems = [e.message]
            }
            if output.json {
                try printJSON(["ok": problems.isEmpty ? "true" : "false", "problems": problems.joined(separator: "\n")])
            } else if problems.isEmpty {
                say("ok: key file opens, store passes SQLite's integrity check, every op verifies")
            } else {
                for p in problems { say("problem: \(p)") }
                say("The store is damaged. Keep a copy of \(node.resolvedHome), then resync from a peer into a fresh node.")
            }
            if !problems.isEmpty { throw CLIError(.corrupt, "\(problems.count) problem(s) found") }
        }
    }

    func runWithdrawn() throws {
        try sandyq.run {
            let c = try node.open().admin.checkWithdrawn()
            if output.json {
                struct Out: Encodable { let clean: Bool; let check: WithdrawnCheck }
                try printJSON(Out(clean: c.clean, check: c))
            } else {
                say("\(c.withdrawals) withdrawal(s) naming \(c.opsNamed) op(s) and \(c.filesNamed) file(s)")
                say("held here: \(c.opsHeld) of those ops, \(c.chunksHeld) file chunk(s), \(c.keysHeld) key(s) that open nothing held")
                if c.rotationDue || c.retiredKeys > 0 {
                    say("reader key: epoch \(c.readerEpoch)" + (c.rotationDue ? ", replaced at this node's next change" : "")
                        + (c.retiredKeys > 0 ? "; \(c.retiredKeys) older key(s) kept: they open what writers sealed to them before they saw the new key, and also a copy of withdrawn ops made before the withdrawal (an old stick)" : ""))
                }
                if c.retiredKeys > 0 {
                    say(c.retiredKeysWaitOn.isEmpty
                        ? "every writer known here has shown it holds the new key: the older keys open only old copies now, and are destroyed at this node's next sync or start"
                        : "writers that have not yet shown they hold the new key (an op sealed to it, or for a coordinator its acknowledgement): \(c.retiredKeysWaitOn.joined(separator: ", "))")
                }
                if c.oldCopiesShut == true && c.withdrawals > 0 && c.readerEpoch > 1 {
                    say("reader key: epoch \(c.readerEpoch); no older key kept: a copy made before a withdrawal (an old stick) no longer opens with this node's reader keys (what was sealed to its node id before it had one still does)")
                }
                if c.opsUnnamed > 0 && c.casesReturned.isEmpty {
                    say("\(c.opsUnnamed) op(s) read here write an element that was withdrawn (\(c.elementsReturned.map(\.name).joined(separator: ", "))), and no withdrawal names them (written after it, or unreadable to whoever withdrew it): the element shows again; withdraw it again (`sandyq case withdraw CASE --element COLLECTION/ELEMENT`) to take them")
                } else if c.opsUnnamed > 0 {
                    say("\(c.opsUnnamed) op(s) read here write a case that was withdrawn (\((c.casesReturned + c.elementsReturned.map(\.name)).joined(separator: ", "))), and no withdrawal names them (written after it, or unreadable to whoever withdrew it): the case shows again; withdraw it again (`sandyq case withdraw CASE`, with `--element COLLECTION/ELEMENT` for an element) to take them")
                }
                if c.scrubPending {
                    say("the store file may still hold bytes deleted a moment ago (a withdrawal, released evidence): another program was reading it; close the desk and other sandyq commands on this home, then run this again")
                }
                for m in c.members where c.withdrawals > 0 {
                    let word = m.confirmed ? "confirmed: holds every withdrawal" : m.showsByVector ? "not yet confirmed" : "cannot show it by its vector: ask it to run `sandyq check --withdrawn`"
                    say("  \(m.fingerprint) (\(m.role)): \(word)")
                }
                for r in c.records {
                    let when = r.atMillis.map { " on " + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? ""
                    say("withdrawal \(r.withdrawal.prefix(16)) by \(r.by)\(when): \(r.ops) op(s), \(r.files) file(s)")
                    if let what = r.what { say("  what: \(what)") }
                    if let why = r.why { say("  why: \(why.isEmpty ? "(no reason given)" : why)") }
                }
                say(c.clean ? "ok: nothing withdrawn is readable here"
                    : c.opsHeld + c.chunksHeld + c.keysHeld == 0 && c.opsUnnamed > 0 ? "problem: withdrawn content is readable again here"
                    : c.opsHeld + c.chunksHeld + c.keysHeld == 0 ? "problem: deleted content may still be in the store file"
                    : "problem: withdrawn content is still held here")
            }
            if !c.clean { throw CLIError(.corrupt, "withdrawn content still held") }
        }
    }
}

struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "Create a project, or show its network key.", subcommands: [Create.self, Key.self])

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the project's network key, for `join --network-key` on a new member's node.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let k = try n.admin.networkKeyText()
                if output.json { try printJSON(["networkKey": k, "project": try n.project()?.description ?? ""]) } else { say(k) }
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Found a project with this node as its first coordinator.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The project's name (sealed; never stored in the clear).") var name: String

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let p = try n.admin.createProject(name: name)
                if output.json { try printJSON(["project": p.description]) } else {
                    say("Created project \(p)")
                    say("Others join with: sandyq join \(p)")
                }
            }
        }
    }
}

struct Join: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make this node part of a project (a coordinator must also add it).")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The project id (sqp-...); not needed with --invite.") var projectID: String?
    @Option(help: "The project's network key (64 hex digits, from `sandyq project key`), needed for TCP sync. Prefer --network-key-file or the prompt: a flag stays in shell history.") var networkKey: String?
    @Option(help: "Read the network key from FILE ('-' for stdin). Without either, a terminal prompts for it.") var networkKeyFile: String?

    func validate() throws {
        if networkKey != nil && networkKeyFile != nil { throw ValidationError("give --network-key or --network-key-file, not both") }
    }

    /// From the file, the flag, or (stdin a terminal) a prompt with echo off; nil when skipped.
    func resolvedNetworkKey() throws -> SymmetricKey? {
        if let networkKeyFile {
            var data = [UInt8](try readInput(networkKeyFile))
            defer { data.zeroize() }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return try NodeHost.parseNetworkKey(text)
        }
        if let networkKey {
            FileHandle.standardError.write(Data("sandyq: warning: the network key is now in your shell history and process list; next time use --network-key-file or the prompt\n".utf8))
            return try NodeHost.parseNetworkKey(networkKey)
        }
        guard ContentInput.stdinIsTerminal, let typed = Terminal.readSecret(prompt: "Network key (64 hex digits from `sandyq project key`; Enter to skip): ") else { return nil }
        let text = String(decoding: typed.unsafeCopy, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : try NodeHost.parseNetworkKey(text)
    }
    @Option(help: "An invitation from a coordinator (a file or the sqi-... code).") var invite: String?
    @Option(help: "With --invite: write the reply for the coordinator to FILE.") var out: String?

    func run() throws {
        try sandyq.run {
            if let invite {
                guard let inv = Invitation(text: codeArgument(invite)) else { throw CLIError(.usage, "'\(invite)' is not an invitation (sqi-...)") }
                let n = try node.open()
                let (req, sas) = try n.members.accept(inv)
                if let out { try AtomicText.write(req.text + "\n", to: out) }
                if output.json { try printJSON(["project": inv.project.description, "reply": req.text, "sas": sas, "role": inv.role.rawValue]); return }
                say("Joined \(inv.project) as a future \(inv.role.rawValue). Give the coordinator this reply\(out.map { " (written to \($0))" } ?? ""):")
                say(req.text, multiline: true)
                say("Then compare these digits with the coordinator's screen: \(sas)")
                return
            }
            guard let projectID else { throw CLIError(.usage, "give a project id, or --invite FILE-OR-CODE") }
            guard let p = ProjectID(string: projectID) else { throw CLIError(.usage, "'\(projectID)' is not a project id (sqp-...)") }
            let nk = try resolvedNetworkKey()
            let n = try node.open()
            try n.admin.join(p, networkKey: nk)
            if output.json { try printJSON(["project": p.description, "nodeId": n.nodeID.description]) } else {
                say("Joined \(p). Give a coordinator this node id to add:")
                say(n.nodeID.description)
            }
        }
    }
}

struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Manage who belongs to the project.", subcommands: [Add.self, List.self, Revoke.self, Limits.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Admit a node (a signed membership op): by node id, or by the reply to an invitation (--request) after comparing --sas.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The node id (sqn-...) its owner printed.") var nodeID: String?
        @Option(help: "coordinator, reporter, lawyer or relay.") var role: String = "coordinator"
        @Option(help: "The new member's reply to `sandyq invite` (a file or the sqr-... code).") var request: String?
        @Option(help: "The six digits the new member's screen shows; must match this node's.") var sas: String?

        func run() throws {
            try sandyq.run {
                if let request {
                    guard let req = JoinRequest(text: codeArgument(request)) else { throw CLIError(.usage, "'\(request)' is not a join reply (sqr-...)") }
                    let n = try node.open()
                    let mine = try n.members.authenticationString(for: req)
                    if let sas {
                        guard sas.filter(\.isNumber) == mine.filter(\.isNumber) else {
                            throw CLIError(.refused, "the digits differ (this node shows \(mine)): the reply or the invitation was swapped. Nothing was added.")
                        }
                    } else {
                        guard let answer = Terminal.readLine(prompt: "Does the new member's screen show \(mine)? Type yes: "), answer == "yes" else {
                            throw CLIError(.usage, "not confirmed: compare the digits and pass --sas \(mine.filter(\.isNumber)) in scripts. Nothing was added.")
                        }
                    }
                    let (env, r) = try n.members.admit(req)
                    if output.json { try printJSON(["op": env.id.description, "member": req.node.fingerprint, "role": r.rawValue]) } else {
                        say("Added \(req.node.fingerprint) as \(r.rawValue) (op \(env.id.short)); sync so it receives the project.")
                    }
                    return
                }
                guard let nodeID else { throw CLIError(.usage, "give a node id, or --request REPLY") }
                guard let id = NodeID(string: nodeID) else { throw CLIError(.usage, "'\(nodeID)' is not a valid node id (sqn-..., checksum included)") }
                guard let r = Role(rawValue: role) else { throw CLIError(.usage, "unknown role '\(role)'; use coordinator, reporter, lawyer or relay") }
                let n = try node.open()
                let env = try n.members.add(id, role: r)
                if output.json { try printJSON(["op": env.id.description, "member": id.fingerprint, "role": r.rawValue]) } else {
                    say("Added \(id.fingerprint) as \(r.rawValue) (op \(env.id.short))")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List members and their roles.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions

        struct Row: Encodable {
            var nodeId: String; var fingerprint: String; var role: String; var revokedAfter: UInt64?
            /// Ops it signed that this node holds, and when it last said what it holds (absent: never heard, or this node).
            var ops: UInt64; var lastHeard: String?
            /// The epoch of the reader key it announced (absent: none, so it is sealed to by its node id),
            /// and whether two keys were announced for that epoch.
            var readerKeyEpoch: UInt32?; var readerKeyForked: Bool?
        }

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let mine = try n.exchange.versionVector()
                let heard = try n.exchange.lastHeard()
                let readers = try n.members.readerKeys()
                let rows = try n.members.list().sorted { ($0.role, $0.node) < ($1.role, $1.node) }.map {
                    Row(nodeId: $0.node.description, fingerprint: $0.node.fingerprint, role: $0.role.rawValue, revokedAfter: $0.revokedAfter,
                        ops: mine[$0.node.signingKey], lastHeard: heard[$0.node].map { LossRiskCommand.iso($0) } ?? nil,
                        readerKeyEpoch: readers[$0.node.signingKey]?.epoch, readerKeyForked: readers[$0.node.signingKey]?.forked)
                }
                if output.json { try printJSON(rows); return }
                for r in rows {
                    let seen = r.lastHeard.map { "  last heard \($0)" } ?? ""
                    let reader = r.readerKeyEpoch.map { "  reader key \($0)\(r.readerKeyForked == true ? " (forked)" : "")" } ?? ""
                    say("\(r.fingerprint)  \(r.role)\(r.revokedAfter.map { "  revoked after seq \($0)" } ?? "")  \(r.ops) ops\(seen)\(reader)  \(r.nodeId)")
                }
            }
        }
    }
}

struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the ops this node holds: author, seq, time, what changed.")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions

    struct Row: Encodable {
        var id: String; var author: String; var seq: UInt64; var kind: String; var time: String?; var summary: String
    }

    func run() throws {
        try sandyq.run {
            let n = try node.open()
            let rows = try n.admin.log().map { e in
                Row(id: e.id.description, author: e.author?.fingerprint ?? Hex.encode(e.authorKey.bytes.prefix(6)),
                    seq: e.seq, kind: e.kind, time: e.timeMillis.map(isoTime), summary: e.summary)
            }.sorted { ($0.time ?? "", $0.author, $0.seq) < ($1.time ?? "", $1.author, $1.seq) }
            if output.json { try printJSON(rows); return }
            for r in rows { say("\(r.time ?? "-                  ")  \(r.author) #\(r.seq)  \(r.id.prefix(12))  \(r.summary)") }
        }
    }
}

func isoTime(_ millis: UInt64) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
}
