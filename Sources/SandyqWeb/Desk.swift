import Foundation
import SandyqNode
import Synchronization

/// What the desk remembers while it runs: the one-time login token, the browser sessions it
/// gave out, and the unlocked node. Locking drops the node, and with it the keys.
///
/// One person at one browser: the token printed at start opens one session and is then spent,
/// so a second browser (or a page that learnt the address) gets nothing.
public final class Desk: Sendable {
    public struct Session: Sendable {
        public let id: String
        public let csrf: String
        public var lang: String?
        /// Set once the page's script has checked in: from then on its silence means the
        /// browser has closed.
        var heartbeat: Bool = false
        /// The list's filters as last posted: kept here, not in the address, since the browser's
        /// history keeps addresses (a name searched for would outlive every lock there).
        var search: [String: String]?
        /// Stand-ins for element keys that are text (a tag is its own key) in the links of a
        /// page, so the address the browser keeps holds a random token instead; until the lock.
        var tokens: [String: String] = [:]
    }

    struct State {
        var token: String?
        var sessions: [String: Session] = [:]
        var host: NodeHost?
        var port: Int = 0
        var lastUse = ContinuousClock.now
        var lastHeartbeat = ContinuousClock.now
    }

    public let home: String
    /// Locks after this long without a request.
    public let idle: Duration
    /// Locks after this long without a heartbeat from a page that sent one (its tab has closed).
    public let heartbeatGrace: Duration
    private let state: Mutex<State>
    /// What the sync centre offers to listen on; `sandyq ui --serve` sets it and serves at unlock.
    public let serveDefault: String
    let serveAtUnlock: Bool
    private let server = Mutex<ServeJob?>(nil)
    /// Split key backups made on the desk, by session, until handed out (BackupPages).
    let backupPieces = Mutex<[String: BackupHandOut]>([:])
    /// Keys combined from backup pieces on a home with no node, by session, until a passphrase seals them (RestorePages).
    let pendingRestore = Mutex<[String: (backup: NodeBackup, node: String)]>([:])

    /// torrc lines for the onion service the sync centre can start (`ui --tor-option`).
    public let torOptions: [String]
    /// Argon2id cost of the key file a restore from backup pieces writes (`ui --kdf`).
    public let restoreParameters: PasswordKDFParameters

    public init(home: String, idle: Duration = .seconds(600), heartbeatGrace: Duration = .seconds(90),
                serve: String? = nil, torOptions: [String] = [], restoreParameters: PasswordKDFParameters = .moderate) {
        self.home = home
        self.restoreParameters = restoreParameters
        self.torOptions = torOptions
        self.idle = idle
        self.heartbeatGrace = heartbeatGrace
        serveDefault = serve ?? "0.0.0.0:7447"
        serveAtUnlock = serve != nil
        state = Mutex(State(token: Desk.randomToken()))
    }

    /// The server the sync centre started, running or ended, until the next start.
    func serving() -> ServeJob? { server.withLock { $0 } }

    /// Starts `serve` on the unlocked host unless one is running.
    func startServing(host: NodeHost, listen: String, lan: Bool = false, onion: Bool = false) {
        let job = server.withLock { s -> ServeJob? in
            if let old = s, old.snapshot().running, !old.isStopping { return nil }
            let j = ServeJob(listen: listen, lan: lan, onion: onion, torOptions: torOptions)
            s = j
            return j
        }
        job?.run(host: host, desk: self)
    }

    func stopServing() {
        server.withLock { $0?.requestStop() }
    }

    /// 32 random bytes in hex (getrandom underneath).
    static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }

    /// The one-time token, until it is spent.
    public var loginToken: String? { state.withLock { $0.token } }

    public var port: Int {
        get { state.withLock { $0.port } }
        set { state.withLock { $0.port = newValue } }
    }

    /// Spends the token: a matching one opens a session, any other is refused (and the real one
    /// keeps working, so a guess costs the guesser and not the owner).
    func login(token: String) -> Session? {
        state.withLock { s in
            guard let t = s.token, Self.same(t, token) else { return nil }
            s.token = nil
            let session = Session(id: Self.randomToken(), csrf: Self.randomToken())
            s.sessions[session.id] = session
            return session
        }
    }

    func session(_ id: String?) -> Session? {
        guard let id else { return nil }
        return state.withLock { $0.sessions[id] }
    }

    func setLanguage(_ lang: String, session id: String) {
        state.withLock { $0.sessions[id]?.lang = lang }
    }

    /// A random token standing for `element` in this session's links (the same one each time).
    func token(for element: String, session id: String) -> String {
        state.withLock { s in
            if let t = s.sessions[id]?.tokens.first(where: { $0.value == element })?.key { return t }
            let t = "~" + String(Self.randomToken().prefix(24))
            if s.host != nil, s.sessions[id]?.tokens.count ?? 0 < 10_000 { s.sessions[id]?.tokens[t] = element }
            return t
        }
    }

    /// The element a token of `token(for:session:)` stands for; any other text as it is.
    func element(for token: String, session id: String?) -> String {
        guard token.hasPrefix("~"), let id else { return token }
        return state.withLock { $0.sessions[id]?.tokens[token] } ?? ""
    }

    /// Keeps the filters only while unlocked: a search that raced the lock must not outlive it.
    func setSearch(_ filters: [String: String], session id: String) {
        state.withLock { s in
            guard s.host != nil else { return }
            s.sessions[id]?.search = filters
        }
    }

    func heartbeat(session id: String) {
        state.withLock { s in
            s.sessions[id]?.heartbeat = true
            s.lastHeartbeat = .now
        }
    }

    /// The unlocked node, noting the use; nil when locked.
    func use() -> NodeHost? {
        state.withLock { s in
            s.lastUse = .now
            return s.host
        }
    }

    var isUnlocked: Bool { state.withLock { $0.host != nil } }

    /// The unlocked node without counting a use (for what every page's frame shows).
    func peek() -> NodeHost? { state.withLock { $0.host } }

    func unlocked(_ host: NodeHost) {
        state.withLock { s in
            s.host = host
            s.lastUse = .now
            s.lastHeartbeat = .now
        }
        if serveAtUnlock { startServing(host: host, listen: serveDefault) }
    }

    /// Drops the node: its keys leave memory when the last request using it ends.
    public func lock() {
        // Backup pieces made on the desk live only until the keys leave memory.
        backupPieces.withLock { $0.removeAll() }
        pendingRestore.withLock { $0.removeAll() }
        // A server the sync centre started stops by itself within 0.2 s: its host is no longer the desk's.
        let host = state.withLock { s in
            let h = s.host
            s.host = nil
            for id in s.sessions.keys {
                s.sessions[id]?.search = nil
                s.sessions[id]?.tokens = [:]
            }
            return h
        }
        _ = host  // released here, outside the lock
    }

    /// Locks when nobody has used the desk for `idle`, or a page that sent heartbeats has gone quiet.
    @discardableResult
    public func lockIfIdle(now: ContinuousClock.Instant = .now) -> Bool {
        let expired = state.withLock { s -> Bool in
            guard s.host != nil else { return false }
            let watched = s.sessions.values.contains { $0.heartbeat }
            return now - s.lastUse > idle || (watched && now - s.lastHeartbeat > heartbeatGrace)
        }
        if expired { lock() }
        return expired
    }

    /// Compares in time independent of where the strings differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in x.indices { d |= x[i] ^ y[i] }
        return d == 0
    }
}
