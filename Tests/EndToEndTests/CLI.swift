import Foundation
import Testing

/// Runs the real `sandyq` binary as a separate process.
enum CLI {
    struct Result: CustomStringConvertible {
        var code: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool

        var output: String { stdout + stderr }
        var description: String { "exit \(code)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    enum Input {
        case null
        case bytes([UInt8])
    }

    /// The package root, from this file's path (Tests/EndToEndTests/CLI.swift).
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// The `sandyq` built beside this test bundle: SANDYQ_BIN if set, else the test executable's
    /// directory (the products dir), else the newest `.build*/debug/sandyq` under the package root.
    static let binary: String = {
        let fm = FileManager.default
        func ok(_ p: String) -> Bool { fm.isExecutableFile(atPath: p) }
        if let p = ProcessInfo.processInfo.environment["SANDYQ_BIN"], ok(p) { return p }
        var dirs: [URL] = []
        if let exe = Bundle.main.executableURL { dirs.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        dirs.append(URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent())
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            dirs.append(URL(fileURLWithPath: b.bundlePath).deletingLastPathComponent())
        }
        for d in dirs {
            // A bundle directory (macOS): .../debug/X.xctest/Contents/MacOS -> .../debug
            var u = d
            for _ in 0..<4 {
                let candidate = u.appendingPathComponent("sandyq").path
                if ok(candidate) { return candidate }
                u = u.deletingLastPathComponent()
            }
        }
        let candidates = ((try? fm.contentsOfDirectory(atPath: packageRoot)) ?? [])
            .filter { $0.hasPrefix(".build") }
            .map { packageRoot + "/" + $0 + "/debug/sandyq" }
            .filter(ok)
        let newest = candidates.max { a, b in
            let da = (try? fm.attributesOfItem(atPath: a)[.modificationDate] as? Date) ?? .distantPast
            let db = (try? fm.attributesOfItem(atPath: b)[.modificationDate] as? Date) ?? .distantPast
            return da < db
        }
        return newest ?? "sandyq-binary-not-found"
    }()

    /// The environment every run starts from: the parent's, without any SANDYQ_* variable,
    /// with HOME pointed somewhere harmless so a default ~/.sandyq is never touched.
    static func baseEnvironment() -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SANDYQ_") }
        env["HOME"] = FileManager.default.temporaryDirectory.path + "/sandyq-e2e-nohome"
        return env
    }

    /// Runs `sandyq args`; `env` entries are added to the base environment (nil values remove).
    static func run(_ args: [String], env: [String: String?] = [:], stdin: Input = .null,
                    timeout: TimeInterval = 120, executable: String = binary) throws -> Result {
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.path + "/sandyq-run-\(UUID().uuidString)"
        try fm.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr", inPath = scratch + "/stdin"
        _ = fm.createFile(atPath: outPath, contents: nil)
        _ = fm.createFile(atPath: errPath, contents: nil)
        switch stdin {
        case .null: break
        case let .bytes(b): _ = fm.createFile(atPath: inPath, contents: Data(b))
        }

        var environment = baseEnvironment()
        for (k, v) in env { environment[k] = v }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = environment
        p.currentDirectoryURL = URL(fileURLWithPath: scratch)
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let inHandle: FileHandle
        switch stdin {
        case .null: inHandle = FileHandle(forReadingAtPath: "/dev/null")!
        case .bytes: inHandle = FileHandle(forReadingAtPath: inPath)!
        }
        defer { try? outHandle.close(); try? errHandle.close(); try? inHandle.close() }
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = inHandle
        try p.run()

        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while p.isRunning {
            if Date() > deadline {
                timedOut = true
                p.terminate()
                let hard = Date().addingTimeInterval(5)
                while p.isRunning && Date() < hard { usleep(20_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            usleep(5_000)
        }
        p.waitUntilExit()
        let out = fm.contents(atPath: outPath) ?? Data()
        let err = fm.contents(atPath: errPath) ?? Data()
        return Result(code: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self), timedOut: timedOut)
    }
}

/// A fresh node home in the temp dir, removed when the value goes away.
final class Home: @unchecked Sendable {
    static let passphrase = "correct horse battery staple"
    let path: String
    var passphrase = Home.passphrase

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/sandyq-e2e-\(UUID().uuidString)"
        // The directory itself is left for `init` to create (0700).
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var keyPath: String { path + "/identity.key" }
    var dbPath: String { path + "/sandyq.db" }

    /// `sandyq args --home HOME` with the passphrase in SANDYQ_PASSPHRASE.
    func run(_ args: [String], passphrase: String? = nil, env: [String: String?] = [:], stdin: CLI.Input = .null) throws -> CLI.Result {
        var e = env
        if e["SANDYQ_PASSPHRASE"] == nil { e["SANDYQ_PASSPHRASE"] = passphrase ?? self.passphrase }
        let r = try CLI.run(args + ["--home", path], env: e, stdin: stdin)
        #expect(!r.timedOut, "sandyq \(args.joined(separator: " ")) timed out")
        return r
    }

    /// `sandyq init --kdf interactive`, which must succeed.
    @discardableResult
    func initialize() throws -> CLI.Result {
        let r = try run(["init", "--kdf", "interactive"])
        try #require(r.code == 0, "init failed: \(r)")
        return r
    }

    /// Runs a command that must succeed and prints JSON; returns the parsed value.
    func json(_ args: [String]) throws -> Any {
        let r = try run(args + ["--json"])
        try #require(r.code == 0, "sandyq \(args.joined(separator: " ")) --json: \(r)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    func bytes(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty else { return true }
    guard haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
        i += 1
    }
    return false
}
