import Foundation
import Testing
@testable import SandyqNode

/// A flood of refused connections writes a bounded number of log lines, and says how many it left out.
@Suite struct RefusalLogTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [String] = []
        func add(_ l: String) { lock.lock(); all.append(l); lock.unlock() }
        var value: [String] { lock.lock(); defer { lock.unlock() }; return all }
    }

    @Test func aBurstIsCutAndCounted() {
        let lines = Lines()
        let log = RefusalLog { lines.add($0) }
        for i in 0..<10_000 { log.log("peer 127.0.0.2:\(i): connection ended: sent nothing within 5 s") }
        let written = lines.value.count
        #expect(written >= Int(RefusalLog.burst) && written <= Int(RefusalLog.burst) + 2, "\(written) lines for 10,000 refusals")
        log.summarise(force: true)
        let last = lines.value.last ?? ""
        #expect(last.contains("not logged"), "\(last)")
        let counted = Int(last.split(separator: " ").first ?? "") ?? 0
        #expect(counted + written == 10_000, "\(written) written and \(counted) counted of 10,000")
    }
}
