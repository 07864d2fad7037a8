import Foundation
import Testing
@testable import SandyqSync

/// The idle timeout ends a session whose peer went silent, but not one whose peer is still
/// reading what this side sends (busy importing before it can answer).
@Suite struct ConnectionTimeoutTests {
    func pair() throws -> (Connection, Connection) {
        let listener = try Listener(address: "127.0.0.1:0")
        let client = try Connection.connect(to: "127.0.0.1:\(listener.port)")
        guard let server = try listener.accept(timeout: 5) else { throw SyncError.io("nobody connected") }
        return (server, client)
    }

    @Test func aPeerStillReadingIsNotTimedOut() throws {
        let (a, b) = try pair()
        a.setTimeout(seconds: 0.3)
        // a streams for as long as b reads (b reads slowly for about 1.5 s, five read timeouts
        // of a), then b answers one byte; a's sending stops when b stops reading.
        let sender = Thread {
            let chunk = [UInt8](repeating: 7, count: 1 << 16)
            for _ in 0..<16_384 { do { try a.writeAll(chunk) } catch { return } }
        }
        sender.start()
        let reader = Thread {
            let start = Date()
            while Date().timeIntervalSince(start) < 1.5 { _ = try? b.readExactly(1 << 16); usleep(5_000) }
            try? b.writeAll([42])
        }
        reader.start()
        let got = try a.readExactly(1)
        #expect(got == [42])
        a.close(); b.close()
    }

    @Test func aSilentPeerIsTimedOut() throws {
        let (a, b) = try pair()
        a.setTimeout(seconds: 0.3)
        try a.writeAll([1, 2, 3])   // sent once, then nothing moves either way
        let start = Date()
        #expect(throws: SyncError.self) { _ = try a.readExactly(1) }
        #expect(Date().timeIntervalSince(start) < 3)
        b.close()
    }
}
