import Foundation
import SandyqNode

/// Case text from stdin, a file or a prompt, so it need not pass through argv (shell history,
/// `ps`, /proc/PID/cmdline) on a device that may be seized.
enum ContentInput {
    static let argvWarning = "this text is now in your shell history and process list"

    /// Whether stdin is a terminal (then a command may prompt for what it lacks).
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// On a write-only node, warns that content came as flags; `flags` are the ones used.
    static func warnIfWriteOnly(_ n: NodeHost, flags: [String]) {
        guard n.isWriteOnly, !flags.isEmpty else { return }
        let names = flags.map { "--" + $0 }.joined(separator: ", ")
        FileHandle.standardError.write(Data(("sandyq: warning: \(names) on a write-only node: \(argvWarning). "
            + "Next time give the content with --stdin, --file PATH or at the prompt.\n").utf8))
    }

    /// One line typed at the terminal; nil or empty when skipped.
    static func prompt(_ label: String) -> String? {
        guard let s = Terminal.readLine(prompt: label) else { return nil }
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? nil : t
    }

    /// Camel-case option names as flags: statusDate -> status-date.
    static func flagName(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}

/// `case add` at a terminal with no flags: a few questions, each skippable with Enter.
enum CaseAddPrompt {
    static func read() -> CaseDocument {
        var d = CaseDocument()
        d.title = ContentInput.prompt("Title (empty to skip): ")
        while let name = ContentInput.prompt("Person's name (empty when done): ") {
            d.persons = (d.persons ?? []) + [CaseDocument.Person(name: name)]
        }
        d.status = ContentInput.prompt("Status (\(CaseSchema.statuses.joined(separator: ", ")); empty to skip): ")
        d.city = ContentInput.prompt("City (empty to skip): ")
        d.summary = ContentInput.prompt("Summary (empty to skip): ")
        d.notes = ContentInput.prompt("Notes (empty to skip): ")
        return d
    }
}
