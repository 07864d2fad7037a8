import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqStore

/// Schema 6: which peer addresses were pinned by hand. Until then only `peers add` wrote an
/// address, so migrating marks every stored address pinned and every ledger-only row not.
@Suite struct PeerPinTests {
    @Test func migrationSixPinsStoredAddressesOnly() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        let byHand = Founder().nodeID, ledgerOnly = Founder().nodeID
        do {
            let store = try OpStore(path: path)
            try store.db.execute(PeerLedgerTests.undoMigrationSeven + """
                INSERT INTO peers(node, address) VALUES('\(byHand)', '10.0.0.7:7447');
                INSERT INTO peers(node, acked) VALUES('\(ledgerOnly)', x'00');
                ALTER TABLE peers DROP COLUMN pinned;
                PRAGMA user_version = 5;
                """)
        }
        let store = try OpStore(path: path)
        #expect(try store.schemaVersion() == OpStore.supportedSchema)
        let rows = Dictionary(uniqueKeysWithValues: try store.peers().map { ($0.node, $0) })
        #expect(rows[byHand]?.pinned == true)
        #expect(rows[ledgerOnly]?.pinned == false)
        #expect(try store.pinnedPeer(at: "10.0.0.7:7447") == byHand)
    }

    @Test func aNewPinForAnAddressReplacesTheOld() throws {
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let first = Founder().nodeID, second = Founder().nodeID
        try store.setAddress("127.0.0.1:7447", for: first)
        try store.setAddress("127.0.0.1:7447", for: second)
        #expect(try store.pinnedPeer(at: "127.0.0.1:7447") == second)
        #expect(try store.pinnedPeer(at: "127.0.0.1:7448") == nil)
        // The ledger leaves pins alone.
        try store.acknowledge(VersionVector(), by: second)
        #expect(try store.pinnedPeer(at: "127.0.0.1:7447") == second)
    }
}
