import ArgumentParser
import Dispatch
import Foundation
import Logging
import SandyqNode

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accept peers over TCP until SIGINT or SIGTERM.")
    @OptionGroup var node: NodeOptions
    @Option(help: "HOST:PORT to listen on (port 0 picks a free one).") var listen: String = "127.0.0.1:7447"
    @Option(help: "At most this many members syncing at once, each on a thread of its own (a connection takes a slot only once its handshake proves a member); past it, members wait in turn (see --max-waiting).")
    var maxPeers: Int = 32
    @Option(help: "At most this many proven members waiting for a free slot (a socket each, no thread); past it, a member's connection is closed and its sync fails: it syncs again later. 0 waits for none.")
    var maxWaiting: Int = ExchangeService.defaultMaxWaiting
    @Option(help: "At most this many connections in the handshake at once; past it, the oldest of the busiest address is closed.")
    var maxHandshakes: Int = ExchangeService.defaultMaxHandshakes
    @Option(help: "At most this many connections in the handshake from one address; past it, that address's oldest is closed.")
    var maxPerAddress: Int = ExchangeService.defaultMaxPerAddress

    func validate() throws {
        guard maxPeers >= 1, maxHandshakes >= 1, maxPerAddress >= 1 else {
            throw ValidationError("--max-peers, --max-handshakes and --max-per-address must be at least 1")
        }
        guard maxWaiting >= 0 else { throw ValidationError("--max-waiting must be 0 or more") }
    }
    @Option(help: "Write the bound port to FILE once listening.") var portFile: String?
    @Flag(help: "Also publish this server as a Tor onion service: runs the system's tor as a child and prints the .onion address members sync with (`sync ADDRESS.onion:PORT --via tor`). Its key is sealed in the home.")
    var onion = false
    @Option(help: "The tor program for --onion.") var tor = "tor"
    @Option(name: .customLong("tor-option"), help: "A torrc line for --onion, repeatable: bridges and pluggable transports (\"UseBridges 1\", \"Bridge obfs4 ...\", \"ClientTransportPlugin obfs4 exec /usr/bin/obfs4proxy\").")
    var torOptions: [String] = []
    @Option(help: "With --onion, write the onion address (ADDRESS.onion:PORT) to FILE once published.") var onionFile: String?
    @Flag(help: "With --onion, let only members' tor reach the service (tor's client authorisation): a key per current member, derived from its box key and this node's, so nothing is handed out; each member runs `sandyq onion-auth ADDRESS.onion --peer THIS-NODE` once for its tor. Restart serve after admitting or revoking a member.")
    var onionMembersOnly = false
    @Flag(help: "Also announce this server to members on the same network, so `sync --lan` finds it. What goes on the wire is sealed with the network key and changes every 10 minutes: no name, no fixed bytes. Listen on 0.0.0.0:PORT so they can reach it.")
    var lan = false
    @Option(help: .hidden) var lanWindow: UInt64 = ExchangeService.defaultLanWindow

    func run() throws {
        try sandyq.run {
            let n = try node.open()
            let running = HomeProcesses.register(home: n.home, command: "serve")
            defer { running?.close() }
            let keyPath = NodeHost.keyPath(n.home)
            LoggingSystem.bootstrap { label in
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = .info
                return h
            }
            // Lines name peers by address and key fingerprint only: never plaintext, never keys.
            let logger = Logger(label: "sandyq.serve")
            let stop = StopFlag()
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                src.setEventHandler { stop.set() }
                src.resume()
                StopFlag.sources.append(src)
            }
            // Checked between accepts (every 0.2 s): without its key file the node stops, so a
            // panic that missed this process (no registration) still ends it.
            let keysGone: @Sendable () -> Bool = { access(keyPath, F_OK) != 0 }
            var service: OnionService?
            var onionError: Error?
            defer { service?.stop() }
            try n.exchange.serve(listen: listen, maxPeers: maxPeers, maxWaiting: maxWaiting, maxHandshakes: maxHandshakes, maxPerAddress: maxPerAddress,
                        shouldStop: { stop.isSet || keysGone() }, onListening: { port in
                if let portFile { try? NodeHost.writePrivateFile("\(port)\n", to: portFile) }
                guard onion else { return }
                do {
                    let s = try OnionService.start(host: n, port: port, tor: tor, options: torOptions, membersOnly: onionMembersOnly)
                    service = s
                    let address = "\(s.address):\(port)"
                    logger.info("onion service at \(address)")
                    // Written at once: a script reads it from a pipe while serve runs.
                    FileHandle.standardOutput.write(Data((address + "\n").utf8))
                    if let onionFile { try? NodeHost.writePrivateFile(address + "\n", to: onionFile) }
                } catch {
                    onionError = error
                    stop.set()
                }
            }, log: { line in logger.info("\(TerminalText.safe(line))") }, lanWindow: lan ? max(1, lanWindow) : nil)
            if let onionError { throw onionError }
            if keysGone() { throw CLIError(.failure, "the key file in \(n.home) is gone (panic?): stopped serving") }
        }
    }
}

final class StopFlag: @unchecked Sendable {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sync", abstract: "Sync once with a peer over TCP, both directions.")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "HOST:PORT of the peer (or --lan).") var address: String?
    @Flag(help: "Find members serving with `serve --lan` on this network, and sync with each.") var lan = false
    @Option(help: "With --lan, listen this many seconds for members.") var lanWait: Double = 6
    @Option(help: .hidden) var lanWindow: UInt64 = ExchangeService.defaultLanWindow
    @Option(help: "The peer's node id, if it is not yet known as a member (pins its key).") var peer: String?
    @Option(help: "Reach the peer through a SOCKS5 proxy at HOST:PORT (the peer's name, .onion included, is resolved by the proxy).")
    var socks5: String?
    @Option(help: "'tor': through Tor's client port (\(ExchangeService.torProxy)), as --socks5 \(ExchangeService.torProxy); 'direct' (the default): no proxy.")
    var via: String?

    /// The proxy the options name, or nil for a direct connection.
    func proxy() throws -> String? {
        switch (via, socks5) {
        case (nil, let p), ("direct", let p): return p
        case ("tor", nil): return ExchangeService.torProxy
        case ("tor", .some): throw CLIError(.usage, "--via tor and --socks5 name two proxies: give one")
        case (let v?, _): throw CLIError(.usage, "--via takes 'tor' or 'direct', not '\(v)'")
        }
    }

    func validate() throws {
        guard (address == nil) == lan else { throw ValidationError("give the peer's HOST:PORT, or --lan to find members on this network") }
        guard !lan || (socks5 == nil && (via == nil || via == "direct")) else { throw ValidationError("--lan finds members on this network: it takes no proxy") }
        guard lanWait > 0, lanWait <= 600 else { throw ValidationError("--lan-wait takes 0 to 600 seconds") }
    }

    struct Out: Encodable {
        var peer: String?; var sent: Int; var received: Int; var known: Int; var refused: Int; var bytesSent: Int; var bytesReceived: Int
        /// Holes in chains after the sync: a coordinator's may hide a withheld revocation.
        var gaps: [GapRow] = []
        /// Evidence chunks moved by the session after the ops, and why it did not run, if it did not.
        var chunksSent = 0
        var chunksReceived = 0
        var chunkError: String?
    }

    func run() throws {
        try sandyq.run {
            let expecting: NodeID?
            if let peer {
                guard let id = NodeID(string: peer) else { throw CLIError(.usage, "'\(peer)' is not a node id") }
                expecting = id
            } else { expecting = nil }
            let proxy = try self.proxy()
            let n = try node.open()
            let running = HomeProcesses.register(home: n.home, command: "sync")
            defer { running?.close() }
            guard let address else { return try syncLan(n) }
            let s = try PhaseFile.writing { try n.exchange.sync(with: address, expecting: expecting, proxy: proxy) }
            let o = Out(peer: s.peer.map { NodeID.fingerprint(of: $0) }, sent: s.sent, received: s.report.new, known: s.report.known,
                        refused: s.report.refused.count, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived,
                        gaps: try n.admin.chainGaps().map(GapRow.init), chunksSent: s.chunks?.sent ?? 0,
                        chunksReceived: s.chunks?.received ?? 0, chunkError: s.chunkError)
            if output.json { try printJSON(o) } else {
                say("synced with \(o.peer ?? "?") at \(address): sent \(o.sent) ops, received \(o.received) new (\(o.known) already known), \(o.refused) refused; \(o.bytesSent) bytes out, \(o.bytesReceived) in")
                for r in s.report.refused { say("  refused op \(r.id.short) seq \(r.seq): \(r.reason)") }
                for g in o.gaps { say("gap: \(g.warning)") }
                if o.chunksSent + o.chunksReceived > 0 { say("evidence: sent \(o.chunksSent) chunks, received \(o.chunksReceived)") }
                if let e = o.chunkError { say("evidence: \(e); run sync again to resume") }
            }
            if let first = s.report.refused.first {
                sayError("sandyq: \(s.report.refused.count) op(s) from \(o.peer ?? address) refused, the rest landed: \(first.reason)")
                throw ExitCode(10)
            }
        }
    }

    struct LanOut: Encodable {
        struct Row: Encodable {
            var peer: String; var address: String; var ok: Bool; var sent = 0; var received = 0; var known = 0; var refused = 0
            var error: String?
        }
        var found: Int
        var peers: [Row]
    }

    /// `sync --lan`: one sync per member heard, each on its own; one failing stops none.
    func syncLan(_ n: NodeHost) throws {
        if !output.json { say("listening \(Int(lanWait)) s for members on this network...") }
        let found = try n.exchange.discover(seconds: lanWait, windowLength: max(1, lanWindow))
        guard !found.isEmpty else {
            throw CLIError(.failure, "no member announced itself on this network in \(Int(lanWait)) s (they run `sandyq serve --lan`)")
        }
        var rows: [LanOut.Row] = []
        for f in found {
            do {
                let s = try PhaseFile.writing { try n.exchange.sync(with: f.address, expecting: f.node) }
                rows.append(.init(peer: f.node.fingerprint, address: f.address, ok: true, sent: s.sent, received: s.report.new,
                                  known: s.report.known, refused: s.report.refused.count))
            } catch {
                rows.append(.init(peer: f.node.fingerprint, address: f.address, ok: false, error: "\(error)"))
            }
        }
        if output.json { try printJSON(LanOut(found: found.count, peers: rows)) } else {
            for r in rows {
                if r.ok { say("synced with \(r.peer) at \(r.address): sent \(r.sent) ops, received \(r.received) new (\(r.known) already known), \(r.refused) refused") }
                else { say("could not sync with \(r.peer) at \(r.address): \(r.error ?? "")") }
            }
        }
        if rows.contains(where: { !$0.ok }) { throw ExitCode(1) }
        if rows.contains(where: { $0.refused > 0 }) { throw ExitCode(10) }
    }
}

struct OnionAuth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onion-auth",
        abstract: "The key your tor needs to reach a members-only onion service (`serve --onion --onion-members-only`).",
        discussion: "Prints one line for tor's ClientOnionAuthDir (a `ClientOnionAuthDir DIR` line in torrc), or writes it there with --write. The key is derived from this node's box key and the server's, as the server derives it: nothing is sent.")
    @OptionGroup var node: NodeOptions
    @Argument(help: "The service's ADDRESS.onion (a :PORT is ignored).") var address: String
    @Option(help: "The serving node's id (sqn-...), as `sandyq status` prints it there.") var peer: String
    @Option(help: "Write the line as ADDRESS.auth_private (0600) into this directory, tor's ClientOnionAuthDir, instead of printing it.")
    var write: String?

    func run() throws {
        try sandyq.run {
            let n = try node.open()
            guard let server = NodeID(string: peer) else { throw CLIError(.usage, "--peer takes the serving node's id (sqn-...)") }
            let line = try n.exchange.onionClientAuthLine(onion: address, server: server)
            guard let write else { print(line); return }
            let name = String(line.prefix(while: { $0 != ":" }))
            let path = (write as NSString).appendingPathComponent(name + ".auth_private")
            do { try NodeHost.writePrivateFile(line + "\n", to: path) } catch {
                throw CLIError(.failure, "cannot write \(path): \(error)")
            }
            print(path)
        }
    }
}
