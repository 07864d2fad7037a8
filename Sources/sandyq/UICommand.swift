import ArgumentParser
import Dispatch
import Foundation
import SandyqNode
import SandyqWeb
import Synchronization

/// `sandyq ui`: the node's web app, for people who will never open a terminal.
struct UI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Serve the node's web app to this computer's browser (loopback only).",
        discussion: """
        The first line printed is the address with a one-time login token; open it in the browser \
        (done for you unless --no-open). Unlock with the passphrase in the page. Runs until Ctrl-C \
        or SIGTERM; stopping, locking, or leaving the page idle drops the keys from memory.
        """
    )

    @Option(name: .long, help: "The node's home directory (default: $SANDYQ_HOME or ~/.sandyq).") var home: String?
    @Option(help: "HOST:PORT on loopback (127.0.0.1, ::1 or localhost); port 0 picks a free one.") var listen = "127.0.0.1:0"
    @Option(help: "Lock after this many minutes without use.") var idleMinutes = 10
    @Option(help: .hidden) var idleSeconds: Int?
    @Flag(help: "Do not open the browser.") var noOpen = false
    @Option(help: "Also accept peers over TCP on HOST:PORT while unlocked (as `serve` does, on the desk's own node); the sync centre's switch stops and starts it.")
    var serve: String?
    @Option(name: .customLong("tor-option"), help: "A torrc line for the onion service the sync centre can start, repeatable (bridges, pluggable transports).")
    var torOptions: [String] = []
    @Option(help: "Argon2id cost of the key file when the page rebuilds a node from backup pieces: interactive (64 MiB), moderate (256 MiB), sensitive (1 GiB).")
    var kdf: Init.KDF = .moderate
    @OptionGroup var output: OutputOptions

    func run() throws {
        try sandyq.run { try runDesk() }
    }

    func runDesk() throws {
        guard idleMinutes > 0 else { throw CLIError(.usage, "--idle-minutes must be at least 1") }
        let home = NodeOptions.resolve(home: self.home)
        let desk = Desk(home: home, idle: .seconds(idleSeconds ?? idleMinutes * 60), serve: self.serve, torOptions: torOptions, restoreParameters: kdf.parameters)
        let app: WebApp
        do { app = try WebApp(desk: desk, listen: listen) } catch { throw CLIError(.usage, error.description) }
        let json = output.json, open = !noOpen
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
        Task {
            do {
                try await app.run { url in
                    Self.firstLine(json ? Self.jsonLine(["url": url]) : url)
                    if open { Self.openBrowser(url) }
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            done.signal()
        }
        done.wait()
        if let f = failure.withLock({ $0 }) { throw CLIError(.failure, "the web app stopped: \(f)") }
    }

    /// One line, written at once: scripts read it from a pipe while the server runs.
    static func firstLine(_ s: String) {
        FileHandle.standardOutput.write(Data((TerminalText.safe(s, keepNewlines: false) + "\n").utf8))
    }

    static func jsonLine(_ v: [String: String]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? enc.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The desktop's own opener; without one the printed address is enough.
    static func openBrowser(_ url: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["xdg-open", url]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
    }
}
