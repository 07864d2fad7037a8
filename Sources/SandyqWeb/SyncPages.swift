import Foundation
import Hummingbird
import NIOPosix
import SandyqNode
import Synchronization

/// The sync centre: sync now with a computer on the network, let others sync with this one
/// (the same server as `sandyq serve`, run by the desk's own host), and the way to the stick.
/// Each run shows its progress while it runs and its result in plain words.
enum SyncPages {
    /// One sync with one address, run off the event loop; the page reads it while it runs.
    struct Job {
        var running = true
        var address: String
        var started = Date()
        var canWrite: Bool
        var outcome: Result<Done, NodeError>?
        /// Through Tor's client port (the form's box).
        var viaTor = false
        /// A search of the local network (`sync --lan`): each member heard, and its sync.
        var lan = false
        var lanResults: [(address: String, outcome: Result<Done, NodeError>)] = []
    }

    /// What a finished sync did, copied out of the session's summary.
    struct Done {
        var peer: String?
        var role: Role?
        var sent: Int
        var received: Int
        var known: Int
        var refused: Int
        var chunksSent: Int
        var chunksReceived: Int
        var chunksCut: Bool
    }

    static let jobs = Mutex<[String: Job]>([:])

    static func page(_ v: Visit, host: NodeHost, typed: [String: String] = [:], errors: [(String, String)] = [],
                     status: HTTPResponse.Status = .ok) -> Response {
        guard let sid = v.session?.id else { return Pages.redirect("/unlock") }
        let job = jobs.withLock { $0[sid] }
        var c: [String: Any]
        if let job, job.running {
            // The sync holds the node only briefly, but the frame need not wait for it.
            c = v.frame(title: v.t("sync.title"), unlocked: true, canWrite: job.canWrite)
            c["refresh"] = true
            c["running"] = true
            c["runningText"] = runningText(v, job)
        } else {
            c = v.frame(title: v.t("sync.title"), unlocked: true)
        }
        if let job, !job.running, job.lan { c.merge(lanResult(v, job: job)) { _, b in b } }
        else if let job, !job.running, let outcome = job.outcome { c.merge(result(v, job: job, outcome)) { _, b in b } }
        c["nodeID"] = host.nodeID.description
        c["fingerprint"] = host.nodeID.fingerprint
        c.merge(peerRows(v, host: host)) { _, b in b }
        c.merge(serveState(v, desk: v.desk, host: host)) { _, b in b }
        c["address"] = typed["address"] ?? ""
        if let node = typed["node"], !node.isEmpty { c["node"] = node }
        if typed["tor"] == "1" { c["torChecked"] = true }
        c["listen"] = typed["listen"] ?? v.desk.serveDefault
        Pages.setErrors(&c, errors)
        return Pages.html(Templates.render("sync", c), status: status)
    }

    /// The computers this node has an address for, with what each has not yet confirmed.
    static func peerRows(_ v: Visit, host: NodeHost) -> [String: Any] {
        let peers = ((try? host.exchange.peers()) ?? []).filter { $0.address != nil }
        let heard = (try? host.exchange.lastHeard()) ?? [:]
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let rows = peers.sorted { ($0.address ?? "", $0.node) < ($1.address ?? "", $1.node) }.enumerated().map { i, p -> [String: Any] in
            [
                "who": p.role.map { "\(v.t("role.\($0.rawValue)")) \(p.node.fingerprint)" } ?? p.node.fingerprint,
                "address": p.address ?? "",
                "node": p.node.description,
                "heard": heard[p.node].map { v.cat.ago(millis: $0, now: now, v.lang) } ?? v.t("delivery.never"),
                "waiting": p.undelivered == 0 ? v.t("delivery.peer.allDelivered") : v.t("delivery.peer.waiting", ["n": "\(p.undelivered)"]),
                "button": v.t("sync.peer.button", ["address": p.address ?? ""]),
                "id": "peer-\(i)",
            ]
        }
        return ["peers": rows, "hasPeers": !rows.isEmpty]
    }

    static func runningText(_ v: Visit, _ job: Job) -> String {
        let s = "\(Int(Date().timeIntervalSince(job.started)))"
        return job.lan ? v.t("sync.lan.running", ["s": s]) : v.t("sync.running", ["address": job.address, "s": s])
    }

    /// A search of the local network: nobody heard, or each member's sync in a line or two.
    static func lanResult(_ v: Visit, job: Job) -> [String: Any] {
        if case .failure(let e) = job.outcome {
            return ["failed": v.t("sync.lan.failed"), "failedWhy": e.code == "lan.none" ? v.t("sync.lan.none") : v.t("sync.err.other")]
        }
        var lines: [String] = [], problems: [String] = []
        for r in job.lanResults {
            let one = result(v, job: Job(address: r.address, canWrite: job.canWrite), r.outcome)
            lines += (one["lines"] as? [String]) ?? []
            problems += (one["problems"] as? [String]) ?? []
            if let f = one["failed"] as? String, let why = one["failedWhy"] as? String { problems.append("\(f): \(why)") }
        }
        var c: [String: Any] = ["done": true, "lines": [v.t("sync.lan.found", ["n": "\(job.lanResults.count)"])] + lines]
        if !problems.isEmpty { c["problems"] = problems }
        return c
    }

    /// The result of the last sync, in words a person reads once.
    static func result(_ v: Visit, job: Job, _ outcome: Result<Done, NodeError>) -> [String: Any] {
        switch outcome {
        case .failure(let e):
            let why = job.viaTor && e.code == "sync.io" ? v.t("sync.err.tor", ["address": job.address]) : reason(v, e, address: job.address)
            return ["failed": v.t("sync.failed.title", ["address": job.address]), "failedWhy": why]
        case .success(let d):
            let who = [d.role.map { v.t("role.\($0.rawValue)") }, d.peer].compactMap { $0 }.joined(separator: " ")
            var lines = [v.t("sync.result.with", ["who": who.isEmpty ? "?" : who, "address": job.address])]
            lines.append(v.t("sync.result.ops", ["sent": "\(d.sent)", "received": "\(d.received)", "known": "\(d.known)"]))
            if d.chunksSent + d.chunksReceived > 0 {
                lines.append(v.t("sync.result.files", ["sent": "\(d.chunksSent)", "received": "\(d.chunksReceived)"]))
            }
            var c: [String: Any] = ["done": true, "lines": lines]
            var problems: [String] = []
            if d.refused > 0 { problems.append(v.t("sync.result.refused", ["n": "\(d.refused)"])) }
            if d.chunksCut { problems.append(v.t("sync.result.cut")) }
            if !problems.isEmpty { c["problems"] = problems }
            return c
        }
    }

    /// Why a sync failed, in the words of what the person can do about it.
    static func reason(_ v: Visit, _ e: NodeError, address: String) -> String {
        switch e.code {
        case "sync.io", "handshake.truncated", "handshake.stale": v.t("sync.err.io", ["address": address])
        case "handshake.not-allowed": v.t("sync.err.notAllowed", ["address": address])
        case "handshake.bad-network-key", "handshake.authentication-failed", "handshake.unsupported-version":
            v.t("sync.err.project", ["address": address])
        default: e.kind == .refused ? v.t("sync.err.notAllowed", ["address": address]) : v.t("sync.err.other")
        }
    }

    /// The server's state: off, or on with the address others use and its recent sessions.
    static func serveState(_ v: Visit, desk: Desk, host: NodeHost) -> [String: Any] {
        guard let job = desk.serving() else { return [:] }
        let s = job.snapshot()
        var c: [String: Any] = [:]
        if let failure = s.failure {
            c["serveFailed"] = v.t("sync.serve.failed", ["listen": s.listen, "reason": failure])
            return c
        }
        guard s.running else { return c }
        c["serving"] = true
        c["servingText"] = s.port.map { v.t("sync.serve.on", ["listen": s.listen, "port": "\($0)"]) } ?? v.t("sync.serve.starting")
        if s.lan { c["servingLan"] = v.t("sync.serve.lanOn") }
        if s.onion {
            if let a = s.onionAddress {
                c["onionAddress"] = a
            } else if let f = s.onionFailure {
                c["onionFailed"] = v.t("sync.onion.failed", ["reason": Pages.reason(v, f)])
            } else {
                c["onionStarting"] = v.t("sync.onion.starting")
                c["refresh"] = true
            }
        }
        // Still binding: the page looks again by itself.
        if s.port == nil { c["refresh"] = true }
        let fmt = DateFormatter()
        fmt.dateFormat = "HH:mm:ss"
        fmt.timeZone = TimeZone(identifier: "UTC")
        let members = (try? host.view())?.membership
        c["sessions"] = s.sessions.map { when, one -> [String: Any] in
            let role = one.peer.flatMap { members?.role(of: $0.signingKey) }.map { v.t("role.\($0.rawValue)") + " " } ?? ""
            let who = one.peer.map { role + $0.fingerprint } ?? one.address
            let text: String
            if one.failed {
                text = v.t("sync.serve.session.failed", ["who": who])
            } else if one.chunksSent + one.chunksReceived > 0 {
                text = v.t("sync.serve.session.files", ["who": who, "sent": "\(one.chunksSent)", "received": "\(one.chunksReceived)"])
            } else {
                text = v.t("sync.serve.session", ["who": who, "sent": "\(one.sent)", "received": "\(one.received)", "known": "\(one.known)"])
            }
            var row: [String: Any] = ["when": fmt.string(from: when) + " UTC", "text": text]
            if one.refused > 0 { row["refused"] = v.t("sync.result.refused", ["n": "\(one.refused)"]) }
            return row
        }
        c["hasSessions"] = !s.sessions.isEmpty
        return c
    }

    /// One sync, its result copied out; the address is remembered for the peer list.
    static func syncOnce(_ host: NodeHost, address: String, pinned: NodeID?, proxy: String? = nil) -> Result<Done, NodeError> {
        Result { () throws(NodeError) -> Done in
            let s = try host.exchange.sync(with: address, expecting: pinned, proxy: proxy)
            let members = (try? host.view())?.membership
            // Next time the address is in the list, with the key it proved there.
            if let key = s.peer, let id = members?.members[key]?.node ?? pinned, id.signingKey == key {
                try? host.exchange.rememberPeer(id, address: address)
            }
            return Done(peer: s.peer.map { NodeID.fingerprint(of: $0) }, role: s.peer.flatMap { members?.role(of: $0) }, sent: s.sent, received: s.report.new, known: s.report.known,
                        refused: s.report.refused.count, chunksSent: s.chunks?.sent ?? 0,
                        chunksReceived: s.chunks?.received ?? 0, chunksCut: s.chunkError != nil)
        }
    }

    /// Checks the address, then starts the sync and shows its page (which refreshes itself while it runs).
    static func start(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        guard let sid = v.session?.id else { return Pages.redirect("/unlock") }
        if jobs.withLock({ $0[sid]?.running == true }) { return Pages.redirect("/sync") }
        let address = (fields["address"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let nodeText = (fields["node"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [(String, String)] = []
        if address.isEmpty {
            errors.append(("address", v.t("sync.err.noAddress")))
        } else if !validAddress(address) {
            errors.append(("address", v.t("sync.err.badAddress", ["address": address])))
        }
        let viaTor = fields["tor"] == "1"
        if errors.isEmpty, !viaTor, Self.isOnion(address) {
            errors.append(("address", v.t("sync.err.onionNeedsTor")))
        }
        var expecting: NodeID?
        if !nodeText.isEmpty {
            if let id = NodeID(string: nodeText) { expecting = id } else { errors.append(("node", v.t("sync.err.badNode"))) }
        }
        if !errors.isEmpty {
            return page(v, host: host, typed: ["address": address, "node": nodeText, "tor": viaTor ? "1" : ""], errors: errors,
                        status: .unprocessableContent)
        }
        var job = Job(address: address, canWrite: Visit.canWrite(host))
        job.viaTor = viaTor
        jobs.withLock { [job] in $0[sid] = job }
        let pinned = expecting
        Task.detached {
            let outcome = try? await NIOThreadPool.singleton.runIfActive {
                syncOnce(host, address: address, pinned: pinned, proxy: viaTor ? ExchangeService.torProxy : nil)
            }
            jobs.withLock { j in
                j[sid]?.running = false
                j[sid]?.outcome = outcome ?? .failure(NodeError(.failure, "-"))
            }
        }
        return Pages.redirect("/sync")
    }

    /// Finds the members that announce themselves on this network (`serve --lan`, or the switch
    /// below with its box ticked), then syncs with each, one after another, as `sync --lan` does.
    static func startLan(_ v: Visit, host: NodeHost) -> Response {
        guard let sid = v.session?.id else { return Pages.redirect("/unlock") }
        if jobs.withLock({ $0[sid]?.running == true }) { return Pages.redirect("/sync") }
        var job = Job(address: "", canWrite: Visit.canWrite(host))
        job.lan = true
        jobs.withLock { $0[sid] = job }
        Task.detached {
            let outcome = try? await NIOThreadPool.singleton.runIfActive { () -> (Result<Done, NodeError>, [(address: String, outcome: Result<Done, NodeError>)]) in
                let found: [(node: NodeID, address: String)]
                do throws(NodeError) { found = try host.exchange.discover(seconds: lanWait).map { ($0.node, $0.address) } } catch { return (.failure(error), []) }
                guard !found.isEmpty else { return (.failure(NodeError(.notFound, "no member heard", code: "lan.none")), []) }
                var results: [(address: String, outcome: Result<Done, NodeError>)] = []
                for f in found { results.append((f.address, syncOnce(host, address: f.address, pinned: f.node))) }
                return (.success(Done(peer: nil, role: nil, sent: 0, received: 0, known: 0, refused: 0, chunksSent: 0, chunksReceived: 0, chunksCut: false)), results)
            }
            jobs.withLock { j in
                j[sid]?.running = false
                j[sid]?.outcome = outcome?.0 ?? .failure(NodeError(.failure, "-"))
                j[sid]?.lanResults = outcome?.1 ?? []
            }
        }
        return Pages.redirect("/sync")
    }

    /// Seconds the desk listens for members on the network.
    static let lanWait = 6.0

    /// An onion service's address: reached only through Tor.
    static func isOnion(_ address: String) -> Bool {
        guard let colon = address.lastIndex(of: ":") else { return false }
        return address[..<colon].lowercased().hasSuffix(".onion")
    }

    /// HOST:PORT, with a port; the host as typed (a name, IPv4, or [IPv6]).
    static func validAddress(_ s: String) -> Bool {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else { return false }
        let h = s[..<colon]
        return !h.isEmpty && !h.contains(where: { $0.isWhitespace || $0 == "/" })
    }

    /// The serve switch: on starts the server on the desk's host, off stops it.
    static func serve(_ v: Visit, host: NodeHost, fields: [String: String]) async -> Response {
        if fields["action"] == "stop" {
            v.desk.stopServing()
            return Pages.redirect("/sync")
        }
        let listen = (fields["listen"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard listen.hasSuffix(":0") || validAddress(listen) else {
            let key = listen.isEmpty ? "sync.err.noListen" : "sync.err.badListen"
            return page(v, host: host, typed: ["listen": listen], errors: [("listen", v.t(key, ["listen": listen]))], status: .unprocessableContent)
        }
        v.desk.startServing(host: host, listen: listen, lan: fields["lan"] == "1", onion: fields["onion"] == "1")
        // The port is known once the server is bound: a moment, not a refresh (and not a wait on the event loop).
        for _ in 0..<50 {
            guard let s = v.desk.serving()?.snapshot(), s.running, s.port == nil, s.failure == nil else { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Tor writes the onion address within a few seconds, online or not: show it at once.
        for _ in 0..<300 {
            guard let s = v.desk.serving()?.snapshot(), s.running, s.onion, s.onionAddress == nil, s.onionFailure == nil else { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return Pages.redirect("/sync")
    }

    /// The progress alone, for the page's script: 202 while the sync runs, 200 once it ended.
    static func fragment(_ v: Visit) -> Response {
        guard let sid = v.session?.id, let job = jobs.withLock({ $0[sid] }) else { return Pages.html("") }
        let text = runningText(v, job)
        let escaped = text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return Pages.html("<p>\(escaped)</p>", status: job.running ? .accepted : .ok)
    }
}

/// The desk's own server: `ExchangeService.serve` on a thread, with the desk's host. It stops
/// when asked, when the desk locks (the host it holds is no longer the desk's), and when the
/// key file is gone (a panic from another process).
final class ServeJob: Sendable {
    struct State {
        var listen: String
        /// Also announced on the local network (`serve --lan`).
        var lan = false
        /// Also published as a Tor onion service (`serve --onion`): asked, then its address or why not.
        var onion = false
        var onionAddress: String?
        var onionFailure: NodeError?
        var port: Int?
        var running = true
        var failure: String?
        /// Newest first, the last 20.
        var sessions: [(Date, ExchangeService.ServedSession)] = []
    }

    private let state: Mutex<State>
    private let stop = Atomic<Bool>(false)

    private let torOptions: [String]

    init(listen: String, lan: Bool = false, onion: Bool = false, torOptions: [String] = []) {
        state = Mutex(State(listen: listen, lan: lan, onion: onion))
        self.torOptions = torOptions
    }

    func snapshot() -> State { state.withLock { $0 } }
    func requestStop() { stop.store(true, ordering: .sequentiallyConsistent) }
    var isStopping: Bool { stop.load(ordering: .sequentiallyConsistent) }

    func run(host: NodeHost, desk: Desk) {
        let (listen, lan, onion) = state.withLock { ($0.listen, $0.lan, $0.onion) }
        let keyPath = NodeHost.keyPath(host.home)
        let options = torOptions
        Thread { [self] in
            // Tor runs only while the server does: stopped with it, on lock and on panic alike.
            let service = Mutex<OnionService?>(nil)
            defer { service.withLock { $0?.stop(); $0 = nil } }
            do {
                try host.exchange.serve(listen: listen, shouldStop: { [self] in
                    isStopping || desk.peek() !== host || access(keyPath, F_OK) != 0
                }, onListening: { [self] port in
                    state.withLock { $0.port = Int(port) }
                    guard onion else { return }
                    do throws(NodeError) {
                        let s = try OnionService.start(host: host, port: port, options: options)
                        service.withLock { $0 = s }
                        state.withLock { $0.onionAddress = "\(s.address):\(port)" }
                    } catch {
                        state.withLock { $0.onionFailure = error }
                    }
                }, log: { _ in }, onSession: { [self] one in
                    state.withLock { s in
                        s.sessions.insert((Date(), one), at: 0)
                        if s.sessions.count > 20 { s.sessions.removeLast() }
                    }
                }, lanWindow: lan ? ExchangeService.defaultLanWindow : nil)
                state.withLock { $0.running = false }
            } catch {
                state.withLock { s in
                    s.running = false
                    s.failure = "\(error)"
                }
            }
        }.start()
    }
}
