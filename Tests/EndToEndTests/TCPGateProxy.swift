import Foundation
import Testing

/// A loopback proxy for one connection that passes `limit` bytes in one direction, then holds
/// the rest unread: the sync it carries stops part-way and stays stopped until the test acts.
/// The cut is counted in bytes, not time, so a loaded machine cannot make it come too late.
/// Its threads hold it until `drop()`: call that in a defer.
final class TCPGateProxy: @unchecked Sendable {
    enum Direction { case toClient, toServer }

    let listener: TCPRawListener
    let limit: Int
    private let held = DispatchSemaphore(value: 0)
    private let release = DispatchSemaphore(value: 0)
    /// The two sockets while open; emptied (under the lock) once both pumps ended and they closed.
    private let sockets = TCPLocked<[TCPRawSocket]>([])
    /// Bytes passed in each direction so far.
    let toClient = TCPLocked(0), toServer = TCPLocked(0)

    var address: String { "127.0.0.1:\(listener.port)" }

    init(to upstreamPort: UInt16, holding direction: Direction, after limit: Int) throws {
        precondition(limit > 0, "a gate must pass some bytes")
        listener = try TCPRawListener()
        self.limit = limit
        Thread { [self] in
            guard let down = listener.accept(seconds: 60), let up = try? TCPRawSocket(connectTo: upstreamPort) else { return }
            sockets.with { $0 = [down, up] }
            let pumps = DispatchGroup()
            for (from, to, count, gated) in [(down, up, toServer, direction == .toServer), (up, down, toClient, direction == .toClient)] {
                pumps.enter()
                Thread {
                    defer { pumps.leave() }
                    self.pump(from, to, count, gated ? limit : nil)
                }.start()
            }
            pumps.wait()
            sockets.with { open in
                for s in open { s.close() }
                open = []
            }
        }.start()
    }

    private func pump(_ from: TCPRawSocket, _ to: TCPRawSocket, _ count: TCPLocked<Int>, _ limit: Int?) {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(from.fd, $0.baseAddress!, 65536, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { to.shutdownWrite(); return }
            let room = limit.map { max(0, $0 - count.value) } ?? n
            let pass = min(n, room)
            if (try? to.send(Array(buf[0..<pass]))) == nil { return }
            count.with { $0 += pass }
            if pass < n || (limit != nil && count.value >= limit!) {
                // The limit is reached: read nothing more from this side until dropped.
                held.signal()
                release.wait()
                return
            }
        }
    }

    /// Waits (bounded) until the limit is reached; false if the connection ended first.
    func waitUntilHeld(seconds: Double = 60) -> Bool { held.wait(timeout: .now() + seconds) == .success }

    /// Cuts both sides at once, as a network that vanished would.
    func drop() {
        // Under the lock, so a descriptor already closed (and maybe reused) is never touched.
        sockets.with { open in for s in open { Glibc.shutdown(s.fd, Int32(SHUT_RDWR)) } }
        release.signal()
    }
}
