import Foundation
import SandyqCore
import SandyqCrypto
import SandyqNode

/// Issue 19's load test: one real `sandyq serve` process and `SANDYQ_LOAD_PEERS` members
/// (default 1,000), each a home of its own in this process, each writing its share of `ops`
/// and syncing with the server all at once. Members are reporters, as field devices are: each
/// pushes its own chain and pulls the membership, so the round moves every op once.
///
/// Reported: failed syncs, lost ops (what the members wrote that the server lacks), whether
/// the server's op set equals the union of everyone's (one digest), the round's wall time,
/// and the server process's peak threads and resident memory, sampled from /proc; and what
/// an idle connection costs the server (sockets that connect and say nothing).
enum ServeLoad {
    static func run(work: String, ops n: Int) throws -> PhaseReport {
        var r = PhaseReport(phase: "serve-load")
        let env = ProcessInfo.processInfo.environment
        let peers = max(1, env["SANDYQ_LOAD_PEERS"].flatMap { Int($0) } ?? 1000)
        let idle = max(0, env["SANDYQ_LOAD_IDLE"].flatMap { Int($0) } ?? peers)
        let maxPeers = env["SANDYQ_LOAD_MAX_PEERS"].flatMap { Int($0) } ?? 32
        let per = max(1, n / peers)
        raiseOpenFileLimit()

        var t = now()
        let founder = try NodeHost.initialize(home: "\(work)/founder", passphrase: passphrase(), parameters: .minimum)
        let pid = try founder.admin.createProject(name: "Нагрузка: \(peers) участников")
        guard let nk = try founder.admin.networkKey() else { throw NodeError(.usage, "the founder has no network key") }
        let members = try (0..<peers).map { i in
            let m = try NodeHost.initialize(home: "\(work)/member-\(i)", passphrase: passphrase(), parameters: .minimum)
            try m.admin.join(pid, networkKey: nk)
            _ = try founder.members.add(m.nodeID, role: .reporter)
            return m
        }
        // Every member holds the membership before the round, as after a first sync.
        let membership = try founder.exchange.envelopes(missingFrom: VersionVector())
        try parallel(members) { m in _ = try m.exchange.importEnvelopes(membership) }
        r.values["setup_s"] = now() - t
        t = now()
        try parallel(Array(members.enumerated())) { i, m in
            var rng = SplitMix(seed: 0x10AD_0000 + UInt64(i))
            try DeliveryFixture.write(m, ops: per, &rng)
        }
        r.values["write_s"] = now() - t
        let setupOps = try founder.opCount()
        let written = try members.reduce(0) { $0 + (try $1.opCount()) } - peers * membership.count

        let server = try Served(home: "\(work)/founder", work: work, maxPeers: maxPeers, waiting: peers)
        defer { server.stop() }
        r.values["server_threads_start"] = server.sample().threads
        let rssStart = server.sample().rssKiB

        // Idle connections: sockets that connect and send nothing sit in the handshake gate.
        var sockets: [Int32] = []
        for _ in 0..<idle { if let fd = server.connectRaw() { sockets.append(fd) } }
        usleep(500_000)
        let withIdle = server.sample()
        r.values["idle_connections"] = Double(sockets.count)
        r.values["idle_KiB_per_connection"] = sockets.isEmpty ? 0 : (withIdle.rssKiB - rssStart) / Double(sockets.count)
        r.values["server_threads_idle"] = withIdle.threads
        for fd in sockets { close(fd) }
        usleep(300_000)

        // The round: every member syncs at once.
        final class Outcomes: @unchecked Sendable {
            let lock = NSLock()
            var failed: [String] = []
            var seconds: [Double] = []
        }
        let out = Outcomes()
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        let sampler = server.startSampling()
        for m in members {
            done.enter()
            let th = Thread {
                defer { done.leave() }
                start.wait()
                let sw = now()
                do {
                    _ = try m.exchange.sync(with: server.address, expecting: founder.nodeID)
                    out.lock.lock(); out.seconds.append(now() - sw); out.lock.unlock()
                } catch {
                    out.lock.lock(); out.failed.append("\(m.nodeID.fingerprint): \(error)"); out.lock.unlock()
                }
            }
            th.stackSize = 1 << 20
            th.start()
        }
        t = now()
        for _ in members { start.signal() }
        done.wait()
        r.values["round_s"] = now() - t
        let peak = sampler.stop()
        r.values["server_peak_threads"] = peak.threads
        r.values["server_peak_rss_MiB"] = peak.rssKiB / 1024
        r.values["server_start_rss_MiB"] = rssStart / 1024
        r.values["sync_median_s"] = median(out.seconds)
        r.values["sync_max_s"] = out.seconds.max() ?? .nan
        r.values["failed"] = Double(out.failed.count)
        for (i, f) in out.failed.prefix(5).enumerated() { r.info["failure_\(i)"] = f }
        server.stop()
        r.info["server_log_tail"] = String(server.log.suffix(600))

        // Lost ops and one digest: the server holds its own ops and everything members wrote.
        let after = try NodeHost.open(home: "\(work)/founder", passphrase: passphrase())
        let held = try after.opCount()
        r.values["peers"] = Double(peers)
        r.values["ops_per_peer"] = Double(per)
        r.values["ops_written"] = Double(written)
        r.values["server_ops"] = Double(held)
        r.values["lost"] = Double(setupOps + written - held)
        var union = Set(try after.exchange.envelopes(missingFrom: VersionVector()).map(\.id))
        let serverDigest = digest(union)
        for m in members { union.formUnion(try m.exchange.envelopes(missingFrom: VersionVector()).map(\.id)) }
        r.values["one_digest"] = digest(union) == serverDigest ? 1 : 0
        r.info["digest"] = serverDigest
        Phases.finish(&r)
        return r
    }

    static func digest(_ ids: Set<OpID>) -> String {
        var all: [UInt8] = []
        for id in ids.sorted() { all += id.bytes }
        return Hex.encode(Hash.blake2b(all, length: 16))
    }

    /// Runs `body` over `items` on two threads (this machine's cores).
    static func parallel<T>(_ items: [T], _ body: @escaping (T) throws -> Void) throws {
        let box = ErrorBox()
        let items = UnsafeSendable(items), body = UnsafeSendable(body)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            var i = part
            while i < items.value.count {
                do { try body.value(items.value[i]) } catch { box.lock.lock(); box.error = error; box.lock.unlock(); return }
                i += 2
            }
        }
        if let e = box.error { throw e }
    }

    final class ErrorBox: @unchecked Sendable { var error: Error?; let lock = NSLock() }

    struct UnsafeSendable<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }

    static func raiseOpenFileLimit() {
        var l = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0 else { return }
        l.rlim_cur = l.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
    }

    /// `sandyq serve` on the founder's home, the binary beside this one.
    final class Served: @unchecked Sendable {
        let process = Process()
        let port: UInt16
        private let errFile: String
        private var stopped = false

        var address: String { "127.0.0.1:\(port)" }
        var log: String { (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "" }

        init(home: String, work: String, maxPeers: Int, waiting: Int) throws {
            let bin = URL(fileURLWithPath: SandyqBench.selfPath()).deletingLastPathComponent().appendingPathComponent("sandyq").path
            let portFile = work + "/serve.port"
            errFile = work + "/serve.log"
            FileManager.default.createFile(atPath: errFile, contents: nil)
            process.executableURL = URL(fileURLWithPath: bin)
            // Every member connects from 127.0.0.1 here, where the field's come from many
            // addresses: the per-address and handshake caps are raised to the member count.
            process.arguments = ["serve", "--home", home, "--listen", "127.0.0.1:0", "--port-file", portFile,
                                 "--max-peers", String(maxPeers), "--max-waiting", String(waiting),
                                 "--max-handshakes", String(waiting + 64), "--max-per-address", String(waiting + 64)]
            var env = ProcessInfo.processInfo.environment
            env["SANDYQ_PASSPHRASE"] = benchPassphrase
            process.environment = env
            process.standardError = FileHandle(forWritingAtPath: errFile)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            var found: UInt16?
            while found == nil && Date() < deadline && process.isRunning {
                if let s = try? String(contentsOfFile: portFile, encoding: .utf8),
                   let p = UInt16(s.trimmingCharacters(in: .whitespacesAndNewlines)), p != 0 { found = p } else { usleep(20_000) }
            }
            guard let found else {
                process.terminate()
                throw NodeError(.failure, "serve wrote no port within 30 s: \((try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "")")
            }
            port = found
        }

        func stop() {
            guard !stopped else { return }
            stopped = true
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            process.waitUntilExit()
        }

        struct Sample { var threads: Double; var rssKiB: Double }

        func sample() -> Sample {
            var s = Sample(threads: .nan, rssKiB: .nan)
            guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else { return s }
            for line in text.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard parts.count >= 2, let v = Double(parts[1]) else { continue }
                if parts[0] == "Threads:" { s.threads = v }
                if parts[0] == "VmRSS:" { s.rssKiB = v }
            }
            return s
        }

        /// The highest threads and resident memory seen every 20 ms until `stop`.
        final class Sampler: @unchecked Sendable {
            let lock = NSLock()
            var peak = Sample(threads: 0, rssKiB: 0)
            var running = true
            let finished = DispatchSemaphore(value: 0)
            func stop() -> Sample {
                lock.lock(); running = false; lock.unlock()
                finished.wait()
                lock.lock(); defer { lock.unlock() }
                return peak
            }
        }

        func startSampling() -> Sampler {
            let s = Sampler()
            Thread { [self] in
                while true {
                    let x = sample()
                    s.lock.lock()
                    if x.threads > s.peak.threads { s.peak.threads = x.threads }
                    if x.rssKiB > s.peak.rssKiB { s.peak.rssKiB = x.rssKiB }
                    let go = s.running
                    s.lock.unlock()
                    if !go { break }
                    usleep(20_000)
                }
                s.finished.signal()
            }.start()
            return s
        }

        /// A TCP connection to the server that sends nothing.
        func connectRaw() -> Int32? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc != 0 { close(fd); return nil }
            return fd
        }
    }
}
