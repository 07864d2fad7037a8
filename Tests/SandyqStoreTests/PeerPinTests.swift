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
        do {
            let store = try OpStore(path: path)
            try store.db.execute("""
                INSERT INTO peers(node, address) VALUES('sqn-by-hand', '10.0.0.7:7447');
                INSERT INTO peers(node, acked) VALUES('sqn-ledger-only', x'00');
                ALTER TABLE peers DROP COLUMN pinned;
                PRAGMA user_version = 5;
                """)
        }
        let store = try OpStore(path: path)
        #expect(try store.schemaVersion() == 6)
        let rows = Dictionary(uniqueKeysWithValues: try store.peers().map { ($0.node, $0) })
        #expect(rows["sqn-by-hand"]?.pinned == true)
        #expect(rows["sqn-ledger-only"]?.pinned == false)
        #expect(try store.pinnedPeer(at: "10.0.0.7:7447") == "sqn-by-hand")
    }

    @Test func aNewPinForAnAddressReplacesTheOld() throws {
        let dir = try TempDir()
        let store = try OpStore(path: dir.file(OpStore.fileName))
        try store.setAddress("127.0.0.1:7447", for: "sqn-first")
        try store.setAddress("127.0.0.1:7447", for: "sqn-second")
        #expect(try store.pinnedPeer(at: "127.0.0.1:7447") == "sqn-second")
        #expect(try store.pinnedPeer(at: "127.0.0.1:7448") == nil)
        // The ledger leaves pins alone.
        try store.acknowledge(VersionVector(), by: "sqn-second")
        #expect(try store.pinnedPeer(at: "127.0.0.1:7447") == "sqn-second")
    }
}
