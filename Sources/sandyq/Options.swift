import ArgumentParser
import Foundation
import SandyqNode

/// Options every command that opens a node shares.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: "The node's home directory (default: $SANDYQ_HOME or ~/.sandyq).")
    var home: String?

    @Option(name: .long, help: "Read the passphrase from the first line of FILE.")
    var passphraseFile: String?

    var resolvedHome: String { Self.resolve(home: home) }

    static func resolve(home: String?) -> String {
        if let home { return absolute(home) }
        if let env = ProcessInfo.processInfo.environment["SANDYQ_HOME"], !env.isEmpty { return absolute(env) }
        return NSHomeDirectory() + "/.sandyq"
    }

    private static func absolute(_ p: String) -> String {
        p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
    }

    /// From --passphrase-file, then SANDYQ_PASSPHRASE, then the terminal.
    func passphrase(confirm: Bool = false, env envName: String = "SANDYQ_PASSPHRASE", prompt: String = "Passphrase: ") throws -> SecureBytes {
        if let path = passphraseFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError(.usage, "cannot read passphrase file \(path)")
            }
            var bytes = [UInt8](data)
            defer { bytes.zeroize() }
            let line = bytes.split(separator: 10, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            let trimmed = line.last == 13 ? line.dropLast() : line
            guard !trimmed.isEmpty else { throw CLIError(.usage, "passphrase file \(path) is empty") }
            return SecureBytes(trimmed)
        }
        if let env = ProcessInfo.processInfo.environment[envName] {
            guard !env.isEmpty else { throw CLIError(.usage, "\(envName) is set but empty") }
            return SecureBytes(Array(env.utf8))
        }
        guard let first = Terminal.readSecret(prompt: prompt) else {
            throw CLIError(.usage, "no passphrase: use --passphrase-file FILE or SANDYQ_PASSPHRASE when there is no terminal")
        }
        if confirm {
            guard let again = Terminal.readSecret(prompt: "Repeat: ") else {
                throw CLIError(.usage, "no terminal to confirm the passphrase")
            }
            guard first == again else { throw CLIError(.usage, "the two passphrases differ; nothing was created") }
        }
        guard first.count > 0 else { throw CLIError(.usage, "the passphrase is empty") }
        return first
    }

    func open() throws -> NodeHost {
        do {
            let n = try NodeHost.open(home: resolvedHome, passphrase: try passphrase())
            PhaseFile.mark("unlocked")
            n.setWarning { line in FileHandle.standardError.write(Data(("warning: " + line + "\n").utf8)) }
            return n
        }
        catch let e as NodeError { throw CLIError(e) }
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false
}

/// An error with its exit code, printed as one plain line.
struct CLIError: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    init(_ kind: NodeError.Kind, _ message: String) {
        self.message = message
        switch kind {
        case .usage: code = 64
        case .corrupt: code = 65
        case .notFound: code = 66
        case .notForMe: code = 68
        case .wrongPassphrase: code = 77
        case .refused: code = 10
        case .conflict, .failure: code = 1
        }
    }

    init(_ e: NodeError) { self.init(e.kind, e.message) }

    init(_ e: any Error) {
        switch e {
        case let c as CLIError: self = c
        case let n as NodeError: self.init(n)
        default: self.init(.failure, "\(e)")
        }
    }

    var description: String { message }
}

/// Runs a command body: prints a failure as one line on stderr and exits with its code.
func run(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as CLIError {
        sayError("sandyq: \(e.message)")
        throw ExitCode(e.code)
    } catch let e as NodeError {
        let c = CLIError(e)
        sayError("sandyq: \(c.message)")
        throw ExitCode(c.code)
    }
}

enum Terminal {
    /// Reads a line from /dev/tty with echo off; nil when there is no terminal.
    static func readSecret(prompt: String) -> SecureBytes? {
        let fd = open("/dev/tty", O_RDWR)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var old = termios()
        let hasTermios = tcgetattr(fd, &old) == 0
        if hasTermios {
            var raw = old
            raw.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(fd, TCSAFLUSH, &raw)
        }
        defer {
            if hasTermios { tcsetattr(fd, TCSAFLUSH, &old) }
            _ = "\n".withCString { write(fd, $0, 1) }
        }
        var buf: [UInt8] = []
        var c: UInt8 = 0
        while read(fd, &c, 1) == 1, c != 10 { buf.append(c) }
        defer { buf.zeroize() }
        return SecureBytes(buf)
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try enc.encode(value)
    print(jsonForTerminal(String(decoding: data, as: UTF8.self)))
}

/// JSON with C1 controls, DEL, bidi controls and line separators written as `\uXXXX`: the
/// same JSON to a parser (they occur only inside strings), inert on a terminal. The encoder
/// already escapes C0 controls.
func jsonForTerminal(_ json: String) -> String {
    guard json.unicodeScalars.contains(where: { TerminalText.isNeutralised($0, keepNewlines: true) }) else { return json }
    var o = ""
    for u in json.unicodeScalars {
        if TerminalText.isNeutralised(u, keepNewlines: true) {
            let hex = String(u.value, radix: 16)
            o += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
            o.unicodeScalars.append(u)
        }
    }
    return o
}
