import ArgumentParser
import Foundation
import SandyqNode

/// Text codes may be given inline or as a file holding one.
func codeArgument(_ s: String) -> String {
    if FileManager.default.fileExists(atPath: s), let d = FileManager.default.contents(atPath: s) {
        return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    return s.trimmingCharacters(in: .whitespacesAndNewlines)
}

struct Invite: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Invite a new member (coordinator only): prints a code, or writes it to --out, to carry by hand.")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "coordinator, reporter, lawyer or relay.") var role: String
    @Option(help: "Write the invitation to FILE.") var out: String?

    func run() throws {
        try sandyq.run {
            guard let r = Role(rawValue: role) else { throw CLIError(.usage, "unknown role '\(role)'; use coordinator, reporter, lawyer or relay") }
            let n = try node.open()
            let inv = try n.members.invite(role: r)
            if let out { try AtomicText.write(inv.text + "\n", to: out) }
            if output.json { try printJSON(["invitation": inv.text, "role": r.rawValue]); return }
            say(inv.text, multiline: true)
            say("Carry this to the new member by hand: it holds the project's network key. They run `sandyq join --invite FILE-OR-CODE`,")
            say("give you the reply, and you both compare the six digits each screen shows before you run `sandyq member add --request REPLY --sas DIGITS`.")
        }
    }
}

enum AtomicText {
    static func write(_ s: String, to path: String) throws {
        // An invitation holds the network key: owner-only, and never half-written over an old one.
        try NodeHost.writePrivateFile(s, to: path)
    }
}

struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke a member (say, a seized device): only its ops up to the last genuine one still count.",
        discussion: """
            By default the last genuine op is the last op this node holds from the member; name another with \
            --after OPID (its ops after that one, and any fork of its chain, are quarantined on every node). \
            --from SEQ names the op at that seq; --from 0 keeps none of its ops.
            """)
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The member's node id (sqn-...) or fingerprint.") var member: String
    @Option(help: "The member's last genuine op: its id, or at least 8 hex digits of it.") var after: String?
    @Option(help: "The member's last genuine op by seq (0: none of its ops count).") var from: UInt64?

    func validate() throws {
        if after != nil && from != nil { throw ValidationError("give --after or --from, not both") }
    }

    func run() throws {
        try sandyq.run {
            let n = try node.open()
            let id = try resolveMember(member, in: n)
            let choice: MemberService.RevokePoint = after.map { .op($0) } ?? from.map { .seq($0) } ?? .lastHeld
            let (env, point) = try n.members.revoke(id, after: choice)
            var named: String?, seq: UInt64 = 0
            if case let .op(op, s) = point { named = op.description; seq = s }
            if output.json {
                try printJSON(["op": env.id.description, "member": id.fingerprint, "from": String(seq), "after": named ?? ""])
            } else if let named {
                say("Revoked \(id.fingerprint): its ops up to op \(named.prefix(12)) (seq \(seq)) still count; every other op it signed, "
                      + "forks included, is quarantined (op \(env.id.short)). Sync it to every node.")
            } else {
                say("Revoked \(id.fingerprint): none of its ops count any more (op \(env.id.short)). Sync it to every node.")
            }
        }
    }
}

func resolveMember(_ s: String, in n: NodeHost) throws -> NodeID {
    if let id = NodeID(string: s) { return id }
    let hits = try n.view().membership.members.values.map(\.node).filter { $0.fingerprint.hasPrefix(s.lowercased()) }
    guard hits.count == 1 else {
        throw CLIError(.notFound, hits.isEmpty ? "no member matches '\(s)'; `sandyq member list` shows them" : "'\(s)' matches several members")
    }
    return hits[0]
}

struct Quarantine: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List ops kept but excluded from every view: revoked keys' later ops, and forks.")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions

    struct Row: Encodable { var op: String; var author: String?; var seq: UInt64 }
    struct Fork: Encodable { var author: String?; var seq: UInt64 }
    struct Out: Encodable { var quarantined: [Row]; var forks: [Fork] }

    func run() throws {
        try sandyq.run {
            let n = try node.open()
            let q = try n.members.quarantine().map { Row(op: $0.id.description, author: $0.author?.fingerprint, seq: $0.seq) }
            let f = try n.members.forks().map { Fork(author: $0.author?.fingerprint, seq: $0.seq) }
            if output.json { try printJSON(Out(quarantined: q, forks: f)); return }
            if q.isEmpty && f.isEmpty { say("nothing quarantined, no forks") }
            for r in q { say("quarantined  op \(r.op.prefix(12))  by \(r.author ?? "?") seq \(r.seq)") }
            for x in f { say("fork         two different ops by \(x.author ?? "?") at seq \(x.seq): its key was copied") }
        }
    }
}

struct Panic: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Destroy this node's keys now (no passphrase needed). The home can never be opened again.")
    @Option(name: .long, help: "The node's home directory (default: $SANDYQ_HOME or ~/.sandyq).") var home: String?
    @Flag(help: "Do not ask.") var yes = false
    @Flag(help: "Print machine-readable JSON.") var json = false

    func run() throws {
        try sandyq.run {
            var opts = NodeOptions()
            opts.home = home
            let h = opts.resolvedHome
            if !yes {
                guard let answer = Terminal.readLine(prompt: "Destroy the keys in \(h)? This cannot be undone. Type yes: "), answer == "yes" else {
                    throw CLIError(.usage, "not confirmed; nothing was destroyed (use --yes in scripts)")
                }
            }
            let report = try NodeHost.panic(home: h)
            if json { try printJSON(report) } else { say(PanicText.render(report), multiline: true) }
        }
    }
}

extension Terminal {
    static func readLine(prompt: String) -> String? {
        let fd = open("/dev/tty", O_RDWR)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var buf: [UInt8] = []
        var c: UInt8 = 0
        while read(fd, &c, 1) == 1, c != 10 { buf.append(c) }
        return String(decoding: buf, as: UTF8.self)
    }
}

struct Limits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or set how many MiB of ops one member (coordinators excepted) may make this node store.")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "MiB per member (reporters, lawyers, relays, revoked members).") var perMemberMib: Int?
    @Option(help: "MiB for all ops whose authors are not yet admitted, together.") var awaitingMib: Int?

    func validate() throws {
        for v in [perMemberMib, awaitingMib].compactMap({ $0 }) where !(1...1_048_576).contains(v) {
            throw ValidationError("a limit is between 1 and 1048576 MiB")
        }
    }

    func run() throws {
        try sandyq.run {
            let n = try node.open()
            var l = try n.members.limits()
            if perMemberMib != nil || awaitingMib != nil {
                if let m = perMemberMib { l.perMember = m << 20 }
                if let m = awaitingMib { l.awaitingAdmission = m << 20 }
                try n.members.setLimits(l)
            }
            if output.json {
                try printJSON(["perMemberMib": l.perMember >> 20, "awaitingMib": l.awaitingAdmission >> 20])
            } else {
                say("per member: \(l.perMember >> 20) MiB; awaiting admission, all together: \(l.awaitingAdmission >> 20) MiB")
            }
        }
    }
}
