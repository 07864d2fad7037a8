import Foundation
import SandyqCore
import SandyqCrypto

/// `serve --onion`: the system's `tor` as a child process, publishing an onion service that
/// forwards to the node's own listening port. The service's secret key is sealed in the store
/// under the node's storage key; while tor runs it is written, 0600, into a private runtime
/// directory outside the home (on a memory file system where there is one), and that
/// directory is removed when the service stops and by `panic`. Tor exits by itself when the
/// serving process dies (`__OwningControllerProcess`).
public final class OnionService: @unchecked Sendable {
    /// The service's address, `….onion` (56 base32 letters and the suffix).
    public let address: String
    private let process: Process
    private let dir: String

    private init(address: String, process: Process, dir: String) {
        self.address = address
        self.process = process
        self.dir = dir
    }

    /// Where a home's running service keeps tor's files: one directory per home, found again by
    /// `panic` from the home's path alone.
    public static func runtimeDirectory(home: String) -> String {
        let env = ProcessInfo.processInfo.environment
        var base = "/dev/shm"
        if let run = env["XDG_RUNTIME_DIR"], !run.isEmpty, access(run, W_OK) == 0 {
            base = run
        } else if access(base, W_OK) != 0 {
            base = NSTemporaryDirectory()
        }
        let path = (home as NSString).standardizingPath
        return base + "/sandyq-onion-" + Hex.encode(Array(Hash.blake2b(Array(path.utf8), length: 16).prefix(8)))
    }

    /// Removes a home's runtime directory, if any (what `panic` and a clean stop do).
    @discardableResult
    public static func removeRuntimeDirectory(home: String) -> Bool {
        let dir = runtimeDirectory(home: home)
        guard FileManager.default.fileExists(atPath: dir) else { return false }
        for name in ["hs/hs_ed25519_secret_key"] {
            // Overwritten before unlinking, as the key file is.
            if let h = FileHandle(forWritingAtPath: dir + "/" + name) {
                h.write(Data(count: 96))
                try? h.synchronize()
                try? h.close()
            }
        }
        return (try? FileManager.default.removeItem(atPath: dir)) != nil
    }

    static let keyLength = 96
    static let sealAD = Array("onion-key".utf8)
    static let clientAuthContext = Array("sandyq-onion-client-auth-v1".utf8)

    /// The x25519 key pair of tor's client authorisation between a server and one member:
    /// BLAKE2b-256, keyed with the X25519 secret of their two box keys, of a fixed context.
    /// Each side computes it from its own box key and the other's public one, so no key is
    /// handed out and tor never sees a box key (Protocol/transports.md, "Onion: members only").
    public static func clientAuthKeys(mine: BoxKeyPair, peer: BoxPublicKey) throws(NodeError) -> BoxKeyPair {
        do {
            let shared = try mine.sharedSecret(with: peer)
            let seed = Hash.blake2b(clientAuthContext, length: 32, key: shared)
            return try BoxKeyPair(secretKey: SecureBytes(seed))
        } catch {
            throw NodeError(.usage, "no onion client key with that node's box key: \(error)")
        }
    }

    /// A line of tor's `authorized_clients/NAME.auth`.
    static func authorizedClientLine(_ key: BoxPublicKey) -> String {
        "descriptor:x25519:" + Base32.encode(key.bytes).uppercased()
    }

    /// An onion address's 56 letters, without `.onion` and any `:PORT`; nil for anything else.
    public static func serviceName(_ address: String) -> String? {
        let host = address.split(separator: ":").first.map(String.init) ?? address
        let name = host.hasSuffix(".onion") ? String(host.dropLast(6)) : host
        guard name.count == 56, name.allSatisfy({ ("a"..."z").contains($0) || ("2"..."7").contains($0) }) else { return nil }
        return name
    }

    /// A line of a tor client's `ClientOnionAuthDir`: the service's name (`serviceName`),
    /// then the member's private key.
    public static func clientAuthLine(service name: String, keys: BoxKeyPair) -> String {
        name + ":descriptor:x25519:" + Base32.encode(keys.secretKey.unsafeCopy).uppercased()
    }

    /// One `authorized_clients` file per current member but this node: with `membersOnly`,
    /// tor answers only clients holding one of their keys. None is refused: tor would then
    /// serve everyone.
    static func writeAuthorizedClients(host: NodeHost, into hs: String) throws(NodeError) -> Int {
        let (box, members) = try host.withNode { n throws(NodeError) in
            (n.identity.box, try n.storedMembership().members.values.filter { !$0.isRevoked && $0.node != n.nodeID }.map(\.node))
        }
        guard !members.isEmpty else {
            throw NodeError(.usage, "--onion-members-only: this project has no member but this node yet, so tor would answer anyone; add members first")
        }
        let dir = hs + "/authorized_clients"
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700]) } catch {
            throw NodeError(.failure, "cannot make tor's authorized_clients directory: \(error)")
        }
        for m in members {
            let line = authorizedClientLine(try clientAuthKeys(mine: box, peer: m.boxKey).publicKey) + "\n"
            guard fm.createFile(atPath: "\(dir)/\(m.fingerprint).auth", contents: Data(line.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw NodeError(.failure, "cannot write tor's authorized_clients file for \(m.fingerprint)")
            }
        }
        return members.count
    }

    /// Starts tor for the node in `host`, forwarding `port` of the onion address to
    /// 127.0.0.1:`port`. `options` are torrc lines passed on as given ("UseBridges 1",
    /// "Bridge obfs4 …", "ClientTransportPlugin obfs4 exec /usr/bin/obfs4proxy", "DisableNetwork 1").
    public static func start(host: NodeHost, port: UInt16, tor: String = "tor", options: [String] = [],
                             membersOnly: Bool = false, timeout: Double = 60) throws(NodeError) -> OnionService {
        for o in options where o.contains("\n") || o.contains("\r") || o.hasPrefix("__") {
            throw NodeError(.usage, "a tor option is one line of torrc, not '\(o)'")
        }
        let home = host.home
        let dir = runtimeDirectory(home: home)
        removeRuntimeDirectory(home: home)
        let fm = FileManager.default
        do {
            for d in [dir, dir + "/hs", dir + "/data"] {
                try fm.createDirectory(atPath: d, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw NodeError(.failure, "cannot make tor's private directory \(dir): \(error)")
        }
        if membersOnly {
            do { _ = try writeAuthorizedClients(host: host, into: dir + "/hs") } catch {
                removeRuntimeDirectory(home: home)
                throw error
            }
        }
        let sealed = try host.withNode { n throws(NodeError) in try n.onionKey() }
        if let key = sealed {
            guard fm.createFile(atPath: dir + "/hs/hs_ed25519_secret_key", contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
                removeRuntimeDirectory(home: home)
                throw NodeError(.failure, "cannot write the onion service's key into \(dir)")
            }
        }
        let torrc = ([
            "SocksPort 0",
            "DataDirectory \(dir)/data",
            "HiddenServiceDir \(dir)/hs",
            "HiddenServicePort \(port) 127.0.0.1:\(port)",
            "__OwningControllerProcess \(getpid())",
            "Log notice file \(dir)/tor.log",
        ] + options).joined(separator: "\n") + "\n"
        guard fm.createFile(atPath: dir + "/torrc", contents: Data(torrc.utf8), attributes: [.posixPermissions: 0o600]),
              fm.createFile(atPath: dir + "/defaults", contents: Data(), attributes: [.posixPermissions: 0o600]) else {
            removeRuntimeDirectory(home: home)
            throw NodeError(.failure, "cannot write tor's configuration into \(dir)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tor, "-f", dir + "/torrc", "--defaults-torrc", dir + "/defaults", "--RunAsDaemon", "0"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            removeRuntimeDirectory(home: home)
            throw NodeError(.failure, "cannot start tor (\(tor)): \(error); install Debian's tor package")
        }
        func fail(_ why: String) -> NodeError {
            if p.isRunning { p.terminate(); p.waitUntilExit() }
            let log = (try? String(contentsOfFile: dir + "/tor.log", encoding: .utf8)) ?? ""
            let last = log.split(separator: "\n").filter { $0.contains("[warn]") || $0.contains("[err]") }.suffix(3).joined(separator: "; ")
            removeRuntimeDirectory(home: home)
            return NodeError(.failure, "tor \(why)" + (last.isEmpty ? "" : ": \(last)"))
        }
        let end = Date().addingTimeInterval(timeout)
        var hostname: String?
        while Date() < end {
            if let h = try? String(contentsOfFile: dir + "/hs/hostname", encoding: .utf8), h.hasSuffix(".onion\n") {
                hostname = h.trimmingCharacters(in: .whitespacesAndNewlines)
                break
            }
            guard p.isRunning else { throw fail("stopped before it made the onion service (exit \(p.terminationStatus))") }
            usleep(50_000)
        }
        guard let hostname else { throw fail("made no onion service in \(Int(timeout)) s") }
        if sealed == nil {
            guard let key = fm.contents(atPath: dir + "/hs/hs_ed25519_secret_key").map(Array.init), key.count == keyLength else {
                throw fail("wrote an onion key of an unknown form")
            }
            do { try host.withNode { n throws(NodeError) in try n.setOnionKey(key) } } catch {
                _ = fail("stopped: the onion key could not be sealed in the store")
                throw error
            }
        }
        return OnionService(address: hostname, process: p, dir: dir)
    }

    /// Whether `pid` still runs: not gone, not a zombie.
    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Stops tor and removes its directory, the written-out key with it.
    public func stop() {
        if process.isRunning {
            process.terminate()
            // Tor exits on SIGTERM in milliseconds, unless it inherited SIGTERM blocked (a test
            // runner's or server's threads may block it): then SIGKILL, since tor holds nothing
            // here that needs a clean exit. A zombie or a reaped pid has exited too.
            let end = Date().addingTimeInterval(2)
            while process.isRunning && Self.alive(process.processIdentifier) && Date() < end { usleep(20_000) }
            if process.isRunning && Self.alive(process.processIdentifier) { kill(process.processIdentifier, SIGKILL) }
        }
        if FileManager.default.fileExists(atPath: dir) {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}

extension Node {
    /// The onion service's secret key (tor's `hs_ed25519_secret_key` file, 96 bytes), sealed in
    /// the store under this node's storage key; nil until `serve --onion` first ran.
    func onionKey() throws(NodeError) -> [UInt8]? {
        guard let sealed = try mapped({ try store.setting("onion-key") }) else { return nil }
        guard let plain = try? StorageSeal(identity).open(sealed, associatedData: OnionService.sealAD), plain.count == OnionService.keyLength else {
            throw NodeError(.corrupt, "the stored onion service key does not open with this node's keys")
        }
        return plain
    }

    func setOnionKey(_ key: [UInt8]) throws(NodeError) {
        let sealed = StorageSeal(identity).seal(key, associatedData: OnionService.sealAD)
        try mapped { try store.setSetting("onion-key", sealed) }
    }
}
