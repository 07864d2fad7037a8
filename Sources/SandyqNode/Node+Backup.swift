import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

extension Node {
    /// What this node needs to be itself on a fresh home (Protocol/backup.md, "The secret").
    /// The storage key is left out: it only protects this home's caches, which a new home rebuilds.
    func backup() throws(NodeError) -> NodeBackup {
        let pid = try requireProject()
        guard let key = try networkKey() else {
            throw NodeError(.usage, "this node has no network key for its project, so a backup could not sync: `sandyq join PROJECT --network-key KEY` first")
        }
        // Without the reader key a restored coordinator could not open what was sealed to it. A
        // row that no longer opens opens nothing here either: the node announces a new key.
        var held: (epoch: UInt32, keys: BoxKeyPair)?
        do { held = try storedReaderKey() } catch {
            guard error.kind == .corrupt else { throw error }
            warn?("\(error.message): the pieces hold no reader key; the node announces a new one with its next change, then split again")
        }
        let reader = held.map { (epoch: $0.epoch, secret: $0.keys.secretKey) }
        // Retired keys open what writers that have not seen the new key still seal to it: a node
        // restored without them would lose that (backup.md, version 3). Only below the reader's
        // epoch, as the format orders them.
        var retired: [(epoch: UInt32, secret: SecureBytes)] = []
        if let reader {
            retired = try retiredReaderKeys().filter { $0.epoch < reader.epoch }.map { (epoch: $0.epoch, secret: $0.keys.secretKey) }
        }
        guard retired.count <= NodeBackup.maxRetired else {
            throw NodeError(.usage, "this node keeps \(retired.count) retired reader keys; pieces hold at most \(NodeBackup.maxRetired)")
        }
        return NodeBackup(signingSeed: identity.signing.seed, boxSecret: identity.box.secretKey, writeOnly: identity.writeOnly,
                          project: pid, networkKey: key, reader: reader, retired: retired)
    }

    /// Splits this node's backup into `count` shares, any `threshold` of which rebuild it.
    func splitBackup(threshold: Int, count: Int) throws(NodeError) -> [BackupShare] {
        try splitBackupSet(threshold: threshold, count: count).pieces
    }

    func splitBackupSet(threshold: Int, count: Int) throws(NodeError) -> BackupSet {
        guard threshold >= 2, threshold <= count, count <= 255 else {
            throw NodeError(.usage, "--threshold must be at least 2 and at most --shares (at most 255), got \(threshold) of \(count)")
        }
        // A coordinator that has not announced its reader key yet does so now, so the pieces
        // hold the key others will seal to (nothing is written when nothing is owed).
        try announceReaderKeyIfDue()
        let splitAt = Self.wallMillis()
        let b = try backup()
        return BackupSet(pieces: try mapped { try b.split(threshold: threshold, count: count) }, readerEpoch: b.reader?.epoch ?? 0,
                         splitAtMillis: splitAt)
    }

    /// Rebuilds a node from its backup in a new home: its keys sealed under a new passphrase,
    /// a fresh storage key, its project and network key, and an empty log that a sync fills.
    static func restore(_ b: NodeBackup, home: String, passphrase: SecureBytes, parameters: PasswordKDFParameters) throws(NodeError) -> Node {
        let box: BoxKeyPair
        do { box = try BoxKeyPair(secretKey: b.boxSecret) } catch { throw NodeError.from(error) }
        let id = Identity(signing: SigningKeyPair(seed: b.signingSeed), box: box, storageKey: SymmetricKey(), writeOnly: b.writeOnly)
        let n = try initialize(home: home, passphrase: passphrase, parameters: parameters, duress: nil, identity: id)
        try n.join(b.project, networkKey: b.networkKey)
        var row: [UInt8]?
        if let r = b.reader {
            let keys: BoxKeyPair
            do { keys = try BoxKeyPair(secretKey: r.secret) } catch { throw NodeError.from(error) }
            row = n.storeReaderKey(epoch: r.epoch, keys)
        }
        var retiredRows: [(String, [UInt8])] = []
        for r in b.retired {
            let keys: BoxKeyPair
            do { keys = try BoxKeyPair(secretKey: r.secret) } catch { throw NodeError.from(error) }
            retiredRows.append((retiredReaderKeyName(r.epoch), n.storeReaderKey(epoch: r.epoch, keys, associatedData: retiredReaderKeyAD)))
        }
        // Together: a home with the key and not marked restored could write and fork its chain.
        try mapped {
            try n.store.atomically {
                if let row { try n.store.setSetting(readerKeySetting, row) }
                for (name, value) in retiredRows { try n.store.setSetting(name, value) }
                try n.store.setSetting(restoredSetting, [1])
                // The pieces that rebuilt it are its pieces until new ones are split.
                try n.store.setSetting(piecesSetting, n.sealedPieces(PiecesRecord(threshold: 0, count: 0, epoch: b.reader?.epoch ?? 0)))
            }
        }
        return n
    }

    /// Set by `restore`, cleared by the first import that shows this node admitted: until then
    /// it writes nothing (`writer()`).
    static let restoredSetting = "restored"

    func clearRestoredIfAdmitted() throws(NodeError) {
        guard try mapped({ try store.setting(Self.restoredSetting) }) != nil,
              try storedMembership().members[nodeID.signingKey] != nil else { return }
        try mapped { try store.deleteSetting(Self.restoredSetting) }
    }
}

extension NodeHost {
    /// Reads and combines backup shares, each named as the person gave it (a file). Every
    /// refusal names the share at fault.
    public static func combineBackup(_ shares: [(name: String, content: [UInt8])]) throws(NodeError) -> NodeBackup {
        var read: [(name: String, share: BackupShare)] = []
        for s in shares {
            do { read.append((s.name, try BackupShare(reading: s.content))) } catch {
                throw NodeError.from(CoreError.backupShare(Self.problem(error), "\(s.name): \(error.description)"))
            }
        }
        return try mapped { try NodeBackup.combine(read) }
    }

    /// Rebuilds the node in `home`, which must hold no node (see `Node.restore`).
    public static func restore(_ backup: NodeBackup, home: String, passphrase: SecureBytes,
                               parameters: PasswordKDFParameters) throws(NodeError) -> NodeHost {
        NodeHost(try Node.restore(backup, home: home, passphrase: passphrase, parameters: parameters))
    }

    static func problem(_ e: CoreError) -> BackupShare.Problem {
        if case let .backupShare(p, _) = e { return p }
        return .malformed
    }
}

extension AdminService {
    /// `count` shares of this node's keys, project and network key; any `threshold` rebuild it.
    public func splitBackup(threshold: Int, count: Int) throws(NodeError) -> [BackupShare] {
        try splitBackupSet(threshold: threshold, count: count).pieces
    }
}

extension NodeHost {
    /// Writes bytes owner-only (0600), refusing to replace a file already there: an earlier
    /// share overwritten by a new backup's would be lost without anyone noticing.
    public static func writeNewPrivateFile(_ bytes: [UInt8], to path: String) throws(NodeError) {
        if FileManager.default.fileExists(atPath: path) {
            throw NodeError(.usage, "\(path) already exists: nothing was written; choose another --out folder")
        }
        do { try PrivateFile.write(bytes, to: path) } catch { throw NodeError(.failure, error.description) }
    }
}
