import Foundation
import SandyqCore
import SandyqCrypto

/// Whether the last backup pieces of this node still rebuild it as it is: pieces split before
/// its reader key changed (a restore from older pieces, a damaged key row, a promotion) hold a
/// key nobody seals to any more, so a second loss would lose what was sealed since.
public struct BackupPiecesStatus: Sendable, Codable, Equatable {
    /// This home records pieces: split here, or the ones it was rebuilt from.
    public var recorded: Bool
    /// The pieces' backup id, as printed on each; nil for the pieces a restore was made from.
    public var backupId: String?
    /// When they were split (wall ms); nil for the pieces a restore was made from.
    public var madeAtMillis: UInt64?
    public var threshold: Int?
    public var shares: Int?
    /// The reader-key epoch the pieces hold; 0 when they hold none.
    public var piecesReaderEpoch: UInt32?
    /// This node's reader-key epoch: the later of the one its home holds and the one its
    /// project last heard it announce; 0 when it has none.
    public var readerEpoch: UInt32
    /// The pieces hold the reader key others seal to now.
    public var current: Bool
    /// Rebuilt from pieces and not synced yet: which key others seal to is known after the sync.
    public var awaitingSync: Bool = false
    /// The pieces were made before this home last destroyed its retired reader keys, so they
    /// hold a key it destroyed: with a copy made before the withdrawal (an old stick) they open
    /// what was withdrawn. Such pieces are never current.
    public var holdDestroyedKey: Bool = false
}

/// A set of pieces just split, with the reader-key epoch its secret holds: recorded as this
/// node's pieces (`recordBackupPieces`) only once every piece has left the computer, so a set
/// that failed to be written, or was forgotten unhanded, never reads as current.
public struct BackupSet: Sendable {
    public let pieces: [BackupShare]
    public let readerEpoch: UInt32
    /// When the secret was read and split (wall ms): recorded as when the pieces were made, so a
    /// set split before a destroy of retired keys holds them however late it is recorded.
    public let splitAtMillis: UInt64
}

extension Node {
    /// The last pieces' record (store.md, "backup-pieces"), sealed under the storage key: that a
    /// node was split, and how, is the seizer's lead to its holders.
    static let piecesSetting = "backup-pieces"
    static let piecesAD = Array("sandyq-backup-pieces".utf8)

    struct PiecesRecord {
        var backupID: [UInt8]?
        var threshold: Int
        var count: Int
        var epoch: UInt32
        var madeAt: UInt64?
    }

    func recordPieces(_ set: BackupSet) throws(NodeError) {
        guard let first = set.pieces.first else { return }
        let r = PiecesRecord(backupID: first.backupID, threshold: first.threshold, count: first.count,
                             epoch: set.readerEpoch, madeAt: set.splitAtMillis)
        try mapped { try store.setSetting(Self.piecesSetting, sealedPieces(r)) }
    }

    func sealedPieces(_ r: PiecesRecord) -> [UInt8] {
        var w = ByteWriter(capacity: 22)
        w.raw(r.backupID ?? [UInt8](repeating: 0, count: BackupShare.backupIDLength))
        w.u8(UInt8(clamping: r.threshold))
        w.u8(UInt8(clamping: r.count))
        w.u32(r.epoch)
        w.u64(r.madeAt ?? 0)
        return StorageSeal(identity).seal(SecureBytes(w.bytes), associatedData: Self.piecesAD)
    }

    /// A damaged record reads as none: the advice is then to split again, which is safe.
    func storedPieces() throws(NodeError) -> PiecesRecord? {
        guard let sealed = try mapped({ try store.setting(Self.piecesSetting) }),
              let plain = try? StorageSeal(identity).open(sealed, associatedData: Self.piecesAD),
              plain.count == BackupShare.backupIDLength + 14 else { return nil }
        var r = ByteReader(plain)
        do {
            let id = try r.raw(BackupShare.backupIDLength)
            let k = Int(try r.u8()), n = Int(try r.u8())
            let epoch = try r.u32(), made = try r.u64()
            return PiecesRecord(backupID: id.allSatisfy { $0 == 0 } ? nil : id, threshold: k, count: n, epoch: epoch, madeAt: made == 0 ? nil : made)
        } catch { return nil }
    }

    public func backupPiecesStatus() throws(NodeError) -> BackupPiecesStatus {
        // Another process may have imported a newer announcement of this node since.
        if changedElsewhere() { catchUpWarmView() }
        let restored = try mapped { try store.setting(Self.restoredSetting) } != nil
        let held = (try? storedReaderKey())??.epoch ?? 0
        let announced = try storedMembership().readerKeys[nodeID.signingKey]?.epoch ?? 0
        let r = try storedPieces()
        let epoch = max(held, announced)
        let destroyed = r != nil && keysDestroyedAt().map { (r?.madeAt ?? 0) < $0 } == true
        return BackupPiecesStatus(recorded: r != nil, backupId: r?.backupID.map(Hex.encode), madeAtMillis: r?.madeAt,
                                  threshold: r.map(\.threshold).flatMap { $0 > 0 ? $0 : nil }, shares: r.map(\.count).flatMap { $0 > 0 ? $0 : nil }, piecesReaderEpoch: r?.epoch,
                                  readerEpoch: epoch, current: !restored && r?.epoch == epoch && !destroyed, awaitingSync: restored,
                                  holdDestroyedKey: destroyed)
    }
}

extension AdminService {
    /// Splits this node's keys into `count` pieces, any `threshold` of which rebuild it; records nothing.
    public func splitBackupSet(threshold: Int, count: Int) throws(NodeError) -> BackupSet {
        try host.withNode { n throws(NodeError) in try n.splitBackupSet(threshold: threshold, count: count) }
    }

    /// Records `set` as this node's last pieces: call it once every piece is written or handed out.
    public func recordBackupPieces(_ set: BackupSet) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.recordPieces(set) }
    }

    public func backupPiecesStatus() throws(NodeError) -> BackupPiecesStatus {
        try host.withNode { n throws(NodeError) in try n.backupPiecesStatus() }
    }
}
