import ArgumentParser
import Foundation
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
            CaseCommand.self, Log.self, BundleCommand.self, USBCommand.self, Peers.self, LossRiskCommand.self, Serve.self, SyncCommand.self, OnionAuth.self, Invite.self, Quarantine.self, Panic.self,
            SearchCommand.self, ReportCommand.self, ExportCommand.self, EvidenceCommand.self, UI.self, ProcessCheck.self, MediaCommand.self,
            BackupCommand.self,
        ]
    )

    /// Hardens the process before anything is parsed or unlocked (no core file, not
    /// dumpable, umask 077), and prints the parser's own messages neutralised: they echo
    /// arguments, which may carry terminal escapes.
    static func main() {
        for p in ProcessHardening.apply() { sayError("sandyq: warning: \(p)") }
        do {
            var command = try parseAsRoot(nil)
            try command.run()
        } catch {
            let message = fullMessage(for: error)
            let code = exitCode(for: error)
            if !message.isEmpty {
                if code == .success { say(message, multiline: true) } else { sayError(message, multiline: true) }
            }
            Foundation.exit(code.rawValue)
        }
    }
}

/// Prints what the kernel says of this process after start-up hardening (hidden: for tests
/// and for checking a deployment).
struct ProcessCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process-check", abstract: "Print whether this process can dump core (for tests).", shouldDisplay: false)

    func run() throws {
        try printJSON(ProcessHardening.current())
    }
}
