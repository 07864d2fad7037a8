import Foundation
import SandyqNode

/// A value shared with a server thread.
public final class ServeFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var _set = false, _value = 0
    public init() {}
    public var isSet: Bool {
        get { lock.lock(); defer { lock.unlock() }; return _set }
        set { lock.lock(); _set = newValue; lock.unlock() }
    }
    public var value: Int {
        get { lock.lock(); defer { lock.unlock() }; return _value }
        set { lock.lock(); _value = newValue; lock.unlock() }
    }
}

/// A node's home unlocked again in a host and served on a loopback port, as `sandyq serve`
/// runs beside other commands. `stop()` stops the server and waits for its sessions.
public final class ServedHost: Sendable {
    public let host: NodeHost
    public let address: String
    private let stopping = ServeFlag()
    private let done = DispatchSemaphore(value: 0)

    public init(home: String, configure: (NodeHost) -> Void = { _ in }) throws {
        host = try NodeHost.open(home: home, passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)))
        configure(host)
        let port = ServeFlag()
        let (host, stopping, done) = (host, stopping, done)
        Thread {
            try? host.exchange.serve(listen: "127.0.0.1:0", shouldStop: { stopping.isSet }, onListening: { port.value = Int($0) }, log: { _ in })
            done.signal()
        }.start()
        while port.value == 0 { usleep(5_000) }
        address = "127.0.0.1:\(port.value)"
    }

    public func stop() {
        stopping.isSet = true
        done.wait()
    }
}
