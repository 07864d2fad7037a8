import ArgumentParser
import Foundation
import SandyqNode

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Dossiers, the sanctions list and the monitoring report, from the cases this node can read.",
        discussion: """
        HTML reports are one self-contained file each (no script, nothing loaded from outside), printable and
        readable on a phone, with headings in English and Russian. A report holds case data in the clear:
        --out writes it owner-only (0600); keep it as carefully as the cases themselves.
        """,
        subcommands: [Dossier.self, Sanctions.self, Monitoring.self, WGAD.self])

    /// Where and how a report is written.
    struct ReportOutput: ParsableArguments {
        @Option(help: "Write to FILE (created owner-only) instead of standard output.") var out: String?

        func write(_ text: String, what: String) throws {
            guard let out else {
                // On a terminal, case data must not drive it; into a pipe or file the report stays exact.
                let shown = isatty(STDOUT_FILENO) == 1 ? TerminalText.safe(text, keepNewlines: true) : text
                print(shown, terminator: shown.hasSuffix("\n") ? "" : "\n")
                return
            }
            let path = out.hasPrefix("/") ? out : FileManager.default.currentDirectoryPath + "/" + out
            try NodeHost.writePrivateFile(text, to: path)
            sayError("Wrote \(what) to \(out)")
        }
    }

    static func format(_ s: String, _ kind: ReportService.Kind) throws -> ReportService.Format {
        let allowed = ReportService.formats(of: kind)
        guard let f = ReportService.Format(rawValue: s.lowercased() == "markdown" ? "md" : s.lowercased()), allowed.contains(f) else {
            throw ValidationError("--format '\(s)': use one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return f
    }

    struct Dossier: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One case for a court or a UN body: person, status history, charges, timeline, officials, sources, aid, open conflicts, and who recorded each fact in which op.")
        @OptionGroup var node: NodeOptions
        @Argument(help: "Case id, prefix or ref.") var caseRef: String
        @Option(help: "html (default), md or json.") var format = "html"
        @OptionGroup var output: ReportOutput

        func validate() throws { _ = try ReportCommand.format(format, .dossier(caseRef)) }

        func run() throws {
            try sandyq.run {
                let f = try ReportCommand.format(format, .dossier(caseRef))
                let text = try node.open().reports.render(.dossier(caseRef), format: f)
                try output.write(text, what: "the dossier")
            }
        }
    }

    struct WGAD: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "wgad",
            abstract: "A draft communication about one case to the UN Working Group on Arbitrary Detention, in its questionnaire's sections (I-VI), for a lawyer to complete.")
        @OptionGroup var node: NodeOptions
        @Argument(help: "Case id, prefix or ref.") var caseRef: String
        @Option(help: "md (default) or json.") var format = "md"
        @OptionGroup var output: ReportOutput

        func validate() throws { _ = try ReportCommand.format(format, .wgad(caseRef)) }

        func run() throws {
            try sandyq.run {
                let text = try node.open().reports.render(.wgad(caseRef), format: try ReportCommand.format(format, .wgad(caseRef)))
                try output.write(text, what: "the WGAD draft")
            }
        }
    }

    struct Sanctions: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Officials across all readable cases (name, agency, position, cases and acts, involvement, sources): who gave orders first, then who carried them out; most cases first within each.")
        @OptionGroup var node: NodeOptions
        @Option(help: "html (default), csv or json.") var format = "html"
        @OptionGroup var output: ReportOutput

        func validate() throws { _ = try ReportCommand.format(format, .sanctions) }

        func run() throws {
            try sandyq.run {
                let text = try node.open().reports.render(.sanctions, format: try ReportCommand.format(format, .sanctions))
                try output.write(text, what: "the sanctions list")
            }
        }
    }

    struct Monitoring: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts of cases by status, charge, city and month, with the cases behind each count.")
        @OptionGroup var node: NodeOptions
        @Option(help: "html (default), md or json.") var format = "html"
        @OptionGroup var output: ReportOutput

        func validate() throws { _ = try ReportCommand.format(format, .monitoring) }

        func run() throws {
            try sandyq.run {
                let text = try node.open().reports.render(.monitoring, format: try ReportCommand.format(format, .monitoring))
                try output.write(text, what: "the monitoring report")
            }
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "The whole readable view for other tools: JSON (sandyq-cases/2, which case import reads back) or CSV (one row per field value).",
        discussion: "The output is plaintext case data: --out writes it owner-only (0600).")
    @OptionGroup var node: NodeOptions
    @Option(help: "json or csv.") var format: String
    @OptionGroup var output: ReportCommand.ReportOutput

    func validate() throws { _ = try ReportCommand.format(format, .export) }

    func run() throws {
        try sandyq.run {
            let text = try node.open().reports.render(.export, format: try ReportCommand.format(format, .export))
            try output.write(text, what: "the export")
        }
    }
}
