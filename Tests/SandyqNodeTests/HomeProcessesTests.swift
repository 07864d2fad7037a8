import Foundation
import Testing
import SandyqTestSupport
import SandyqCrypto
import SandyqNode

/// Panic finds a home's running processes by the lock each holds, never by a pid alone.
@Suite struct HomeProcessesTests {
    @Test("a stale pid file naming a live stranger is removed, and the stranger is not signalled")
    func stalePidFileIsNotSignalled() throws {
        let dir = try TempDir()
        let home = dir.sub("n")
        _ = try NodeFixture.make(dir, "n")
        let stranger = Process()
        stranger.executableURL = URL(fileURLWithPath: "/bin/sleep")
        stranger.arguments = ["30"]
        try stranger.run()
        defer {
            kill(stranger.processIdentifier, SIGKILL)
            let deadline = Date().addingTimeInterval(5)
            while stranger.isRunning && Date() < deadline { usleep(10_000) }
        }

        // What a crashed serve leaves behind, its pid since reused by an unrelated process.
        try FileManager.default.createDirectory(atPath: HomeProcesses.directory(home), withIntermediateDirectories: true)
        let stale = HomeProcesses.directory(home) + "/\(stranger.processIdentifier).pid"
        try Data("\(stranger.processIdentifier) serve\n".utf8).write(to: URL(fileURLWithPath: stale))

        let report = try Node.panic(home: home, bound: 1)
        #expect(report.processes.isEmpty, "\(report.processes)")
        #expect(report.keysDestroyed)
        usleep(200_000)
        #expect(stranger.isRunning, "panic signalled a process that held no lock")
        #expect(!FileManager.default.fileExists(atPath: stale), "the stale file is removed")
    }

    @Test("a registered process is found while it runs and forgotten when it ends")
    func registrationLifecycle() throws {
        let dir = try TempDir()
        let home = dir.sub("n")
        _ = try NodeFixture.make(dir, "n")
        let reg = try #require(HomeProcesses.register(home: home, command: "serve"))
        let file = HomeProcesses.directory(home) + "/\(getpid()).pid"
        let attrs = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let dattrs = try FileManager.default.attributesOfItem(atPath: HomeProcesses.directory(home))
        #expect((dattrs[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        reg.close()
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test("a process that ignores SIGTERM is killed after the bound", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func stubbornProcessIsKilled() throws {
        let dir = try TempDir()
        let home = dir.sub("n")
        _ = try NodeFixture.make(dir, "n")
        try FileManager.default.createDirectory(atPath: HomeProcesses.directory(home), withIntermediateDirectories: true)
        let stubborn = Process()
        stubborn.executableURL = URL(fileURLWithPath: "/bin/sh")
        // Registers the way serve does (an flock held on running/<pid>.pid), then ignores SIGTERM.
        stubborn.arguments = ["-c", "trap '' TERM; exec 9>\"$D/$$.pid\"; flock -x 9; printf '%s serve\\n' $$ >&9; exec sleep 30"]
        stubborn.environment = ["D": HomeProcesses.directory(home), "PATH": "/usr/bin:/bin"]
        try stubborn.run()
        defer {
            kill(stubborn.processIdentifier, SIGKILL)
            let deadline = Date().addingTimeInterval(5)
            while stubborn.isRunning && Date() < deadline { usleep(10_000) }
        }
        let file = HomeProcesses.directory(home) + "/\(stubborn.processIdentifier).pid"
        let ready = Date().addingTimeInterval(5)
        while ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").isEmpty && Date() < ready { usleep(10_000) }

        let started = Date()
        let report = try Node.panic(home: home, bound: 0.5)
        let took = Date().timeIntervalSince(started)
        #expect(report.processes.count == 1, "\(report.processes)")
        #expect(report.processes.first?.stoppedBy == "SIGKILL", "\(report.processes)")
        #expect(took < 3, "panic took \(took) s with a 0.5 s bound")
        let deadline = Date().addingTimeInterval(2)
        while stubborn.isRunning && Date() < deadline { usleep(10_000) }
        #expect(!stubborn.isRunning)
    }
}
