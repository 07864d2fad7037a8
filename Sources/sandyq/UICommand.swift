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
        let json = output.json
        // Registered like serve, so `panic` from a terminal stops an unlocked desk too.
        let running = HomeProcesses.register(home: home, command: "ui")
        defer { running?.close() }
        let done = DispatchSemaphore(value: 0), listening = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
        let address = Mutex<String?>(nil)
        Task {
            do {
                try await app.run { url in
                    Self.firstLine(json ? Self.jsonLine(["url": url]) : url)
                    address.withLock { $0 = url }
                    listening.signal()
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            listening.signal()
            done.signal()
        }
        listening.wait()
        // From the main thread, which lives as long as the process: the browser is told to die
        // with the thread that started it (PR_SET_PDEATHSIG), so a killed desk takes it along.
        let browser = noOpen ? nil : address.withLock({ $0 }).flatMap { Self.openBrowser($0, home: home) }
        done.wait()
        browser?.close()
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

    /// A browser of its own on a throwaway profile (`PrivateBrowser`); failing that, the
    /// desktop's opener, with a word on what that browser keeps. Without either the printed
    /// address is enough.
    static func openBrowser(_ url: String, home: String) -> PrivateBrowser? {
        if let b = PrivateBrowser.open(url, home: home) { return b }
        FileHandle.standardError.write(Data("sandyq: no Chromium or Firefox (outside a snap) started on a profile of its own; the address goes to your default browser, whose history and saved form data keep what the desk shows there (a private window keeps nothing)\n".utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["xdg-open", url]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        return nil
    }
}

/// The desk's browser: Chromium or Firefox started on a new profile in the home's scratch
/// directory, in a private window. The person's own profile would keep the desk's pages in its
/// history (addresses, titles), its cache and its saved form data, outside the home, where
/// neither the lock nor panic reaches. Closed and removed when the desk stops; a killed desk's
/// profile goes at the next open of the home, or with panic.
final class PrivateBrowser: @unchecked Sendable {
    let process: Process
    let profile: ScratchDirectory

    private init(process: Process, profile: ScratchDirectory) {
        self.process = process
        self.profile = profile
    }

    static let candidates = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "firefox"]

    static func arguments(_ browser: String, profile: String, url: String) -> [String] {
        if browser == "firefox" { return ["--no-remote", "--profile", profile, "--private-window", url] }
        return ["--user-data-dir=\(profile)", "--incognito", "--no-first-run", "--no-default-browser-check", "--disable-sync",
                "--password-store=basic", url]
    }

    /// The first of `candidates` on PATH that starts and stays up; nil when none does. A
    /// snap's browser is skipped: it cannot reach a profile in a hidden folder or the runtime
    /// directory, and would show an error instead of the desk.
    static func open(_ url: String, home: String) -> PrivateBrowser? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        for name in candidates {
            guard let exe = path.split(separator: ":").map({ "\($0)/\(name)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
                  !isSnap(exe), let profile = try? ScratchDirectory.make(home: home)
            else { continue }
            let p = Process()
            // setpriv execs the browser in place (same pid): it dies with this process.
            if let setpriv {
                p.executableURL = URL(fileURLWithPath: setpriv)
                p.arguments = ["--pdeathsig", "KILL", "--", exe] + arguments(name, profile: profile.path, url: url)
            } else {
                p.executableURL = URL(fileURLWithPath: exe)
                p.arguments = arguments(name, profile: profile.path, url: url)
            }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch {
                profile.remove()
                continue
            }
            // One that gives up at once (no display, a profile it cannot use) is no browser.
            let settle = Date().addingTimeInterval(1.5)
            while p.isRunning && Date() < settle { usleep(50_000) }
            guard p.isRunning else {
                profile.remove()
                continue
            }
            return PrivateBrowser(process: p, profile: profile)
        }
        return nil
    }

    /// A snap package's browser, or a wrapper script that starts one.
    static func isSnap(_ exe: String) -> Bool {
        let real = URL(fileURLWithPath: exe).resolvingSymlinksInPath().path
        if real.hasPrefix("/snap/") { return true }
        guard let h = FileHandle(forReadingAtPath: real), let head = try? h.read(upToCount: 4096) else { return false }
        try? h.close()
        return head.starts(with: Array("#!".utf8)) && String(decoding: head, as: UTF8.self).contains("/snap/")
    }

    /// Ends the browser (SIGTERM, then SIGKILL after 3 s) and removes its profile.
    func close() {
        if process.isRunning {
            process.terminate()
            let end = Date().addingTimeInterval(3)
            while process.isRunning && Date() < end { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        profile.remove()
    }
}
