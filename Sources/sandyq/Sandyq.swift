import ArgumentParser
import SandyqNode

@main
struct Sandyq: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sandyq",
        abstract: "An encrypted, offline-first sync node for human-rights case records.",
        discussion: """
        Exit codes: 0 success; 1 failure; 10 partly refused; 64 usage error; 65 corrupt or unreadable data;
        66 not found; 68 not addressed to this node or its project; 77 wrong passphrase.
        Passphrase: --passphrase-file FILE, or SANDYQ_PASSPHRASE, or a terminal prompt.
        """,
        version: version,
        subcommands: [
            Init.self, Status.self, Check.self, ProjectCommand.self, Join.self, MemberCommand.self,
            CaseCommand.self, Log.self, BundleCommand.self, USBCommand.self, Peers.self, Serve.self, SyncCommand.self, Invite.self, Quarantine.self, Panic.self,
            SearchCommand.self, ReportCommand.self, ExportCommand.self,
        ]
    )
}
