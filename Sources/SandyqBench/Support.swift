import Foundation
import SandyqCrypto
import SandyqCore

/// Monotonic seconds.
@inline(__always) func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU seconds of this thread (limits) or this process (phases): unlike wall time, other
/// processes competing for the two cores do not inflate it.
@inline(__always) func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

@inline(__always) func processCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Wall and CPU time of one region.
struct Stopwatch {
    let wall0 = now(), cpu0 = processCPU()
    var wall: Double { now() - wall0 }
    var cpu: Double { processCPU() - cpu0 }
}

func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

/// Keeps results alive so the optimiser cannot drop the work that made them.
enum Sink {
    nonisolated(unsafe) static var value: UInt64 = 0
    @inline(never) static func eat(_ bytes: [UInt8]) { if let b = bytes.first { value &+= UInt64(b) } }
    @inline(never) static func eat(_ x: Int) { value &+= UInt64(truncatingIfNeeded: x) }
}

/// Deterministic workload choices; the keys themselves still come from libsodium.
typealias SplitMix = SplitMix64

/// What one phase reports; the child prints it as JSON on stdout.
struct PhaseReport: Codable, Sendable {
    var phase: String
    var values: [String: Double] = [:]
    var info: [String: String] = [:]

    init(phase: String) { self.phase = phase }

    subscript(_ k: String) -> Double { values[k] ?? .nan }
}

/// Peak and current resident set of this process, from /proc/self/status (MiB).
enum Memory {
    static func status(_ field: String) -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
        for line in s.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first
            if let d = digits, let kb = Double(d) { return kb / 1024 }
        }
        return .nan
    }

    /// Hands freed heap pages back to the kernel, so a later peak measures only what is live.
    static func releaseFreed() {
        // glibc's malloc_trim is not in Swift's Glibc module; look it up at run time.
        typealias Trim = @convention(c) (Int) -> Int32
        guard let sym = dlsym(nil, "malloc_trim") else { return }
        _ = unsafeBitCast(sym, to: Trim.self)(0)
    }

    static var peakMiB: Double { status("VmHWM") }
    static var currentMiB: Double { status("VmRSS") }

    /// Resets VmHWM to the current RSS (Linux >= 4.0), so a phase's peak excludes its unlock
    /// (Argon2id touches 64 MiB and gives it back). Returns false when the kernel refuses.
    @discardableResult
    static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }
}

func stderrLine(_ s: String) {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}

func fmt(_ x: Double, _ digits: Int = 0) -> String {
    guard x.isFinite else { return "n/a" }
    if digits == 0 {
        // Thousands separators for readability in the table.
        let n = Int(x.rounded())
        let s = String(abs(n))
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }
    return String(format: "%.\(digits)f", x)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

let benchPassphrase = "bench: correct horse battery staple"

func passphrase() -> SecureBytes { SecureBytes(Array(benchPassphrase.utf8)) }

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

func shell(_ exe: String, _ args: [String]) -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [exe] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    let d = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    return String(data: d, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines)
}
