import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
@testable import SandyqNode

/// A row written into the store file by hand (someone who held the device), with a file id no
/// chunk could carry. Before, the node's holding statement signed it and trapped on
/// EvidenceHeld.sign's precondition: every sync that states holdings died.
@Suite("Node: a planted chunk row with a bad file id")
struct PlantedChunkRowTests {
    @Test("the holding statement leaves it out; the process lives")
    func plantedRowIsLeftOut() async {
        await #expect(processExitsWith: .success) {
            let dir = try TempDir()
            let (c, _) = try NodeFixture.founder(dir)
            try c.store.db.prepare("INSERT INTO evidence_chunks(fid, idx, count, chunk, pending) VALUES(x'0a0b0c', 0, 1, x'04', 0)").run([])
            let statement = try c.holdingStatement(for: nil)
            guard statement?.files.isEmpty ?? true else { exit(1) }
        }
    }
}
