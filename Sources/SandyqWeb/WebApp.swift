import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import SandyqNode

/// The node's web app: served to its own browser on loopback, unlocked in the page.
public struct WebApp: Sendable {
    public let desk: Desk
    public let host: String
    public let port: Int

    /// Refuses any address but loopback: the desk shows decrypted cases to whoever reaches it.
    public init(desk: Desk, listen: String) throws(WebError) {
        let (h, p) = try Self.parseListen(listen)
        self.desk = desk
        self.host = h
        self.port = p
    }

    public static func parseListen(_ s: String) throws(WebError) -> (String, Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw WebError("'\(s)' is not HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)")
        }
        var h = String(s[..<colon])
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        guard isLoopback(h) else {
            throw WebError("the desk listens on loopback only (127.0.0.1, ::1 or localhost), not '\(h)': it shows cases to whoever reaches it")
        }
        return (h == "localhost" ? "127.0.0.1" : h, port)
    }

    static func isLoopback(_ h: String) -> Bool {
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Serves until SIGINT or SIGTERM; `ready` gets the address with the login token once bound.
    public func run(ready: @escaping @Sendable (String) -> Void) async throws {
        let desk = self.desk
        let bindHost = host
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: DeskGuard(desk: desk))
        Routes(desk: desk).register(on: router)
        var logger = Logger(label: "sandyq.desk")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(bindHost, port: port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                desk.port = port
                let h = bindHost.contains(":") ? "[\(bindHost)]" : bindHost
                ready("http://\(h):\(port)/login?token=\(desk.loginToken ?? "")")
            },
            logger: logger
        )
        let tick = min(Duration.seconds(5), desk.idle / 3)
        let watch = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                desk.lockIfIdle()
            }
        }
        defer {
            watch.cancel()
            desk.lock()
        }
        // SIGHUP too: a closed terminal must lock the desk and close its browser, not leave them.
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint, .sighup])
    }
}

public struct WebError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}
