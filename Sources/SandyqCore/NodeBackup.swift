import SandyqCrypto

/// What a split backup holds (Protocol/backup.md, "The secret"): the node's two secret keys, its
/// mode, its project and the project's network key, and (version 2) its reader key, in a fixed
/// layout with no random bytes, so the same node always splits the same secret.
public struct NodeBackup: Sendable {
    /// Version 1: no reader key (114 bytes). Version 2: with one (150 bytes). Version 3: with
    /// the retired reader keys too (151 + 36 bytes each, 1 to 255 of them).
    public static let version: UInt8 = 1
    public static let length = 114
    public static let readerVersion: UInt8 = 2
    public static let readerLength = 150
    public static let retiredVersion: UInt8 = 3
    public static let maxRetired = 255

    public let signingSeed: SecureBytes
    public let boxSecret: SecureBytes
    public let writeOnly: Bool
    public let project: ProjectID
    public let networkKey: SymmetricKey
    /// The reader key's epoch and X25519 secret (Protocol/ops.md section 4, "Reader key"); nil
    /// for a node that has announced none: a version-1 secret.
    public let reader: (epoch: UInt32, secret: SecureBytes)?
    /// Reader keys a withdrawal retired (ops.md section 4, "Retiring the reader key"), newest
    /// first, each below the reader's epoch: they open what writers sealed to them before they
    /// saw the new key. Empty below version 3.
    public let retired: [(epoch: UInt32, secret: SecureBytes)]

    public init(signingSeed: SecureBytes, boxSecret: SecureBytes, writeOnly: Bool, project: ProjectID, networkKey: SymmetricKey,
                reader: (epoch: UInt32, secret: SecureBytes)? = nil, retired: [(epoch: UInt32, secret: SecureBytes)] = []) {
        precondition(signingSeed.count == 32 && boxSecret.count == 32 && (reader?.secret.count ?? 32) == 32)
        precondition(retired.isEmpty || (reader != nil && retired.count <= Self.maxRetired && retired.allSatisfy { $0.secret.count == 32 }))
        self.signingSeed = signingSeed
        self.boxSecret = boxSecret
        self.writeOnly = writeOnly
        self.project = project
        self.networkKey = networkKey
        self.reader = reader
        self.retired = retired
    }

    /// version ‖ signing seed[32] ‖ box secret[32] ‖ mode u8 ‖ project[16] ‖ network key[32],
    /// then for version 2 ‖ reader epoch u32 ‖ reader secret[32], and for version 3 also
    /// ‖ count u8 ‖ count × (retired epoch u32 ‖ retired secret[32]).
    public var secret: SecureBytes {
        let version = reader == nil ? Self.version : retired.isEmpty ? Self.readerVersion : Self.retiredVersion
        var b = [version] + signingSeed.unsafeCopy + boxSecret.unsafeCopy + [writeOnly ? 1 : 0]
        b += project.bytes + networkKey.secret.unsafeCopy
        func u32(_ e: UInt32) -> [UInt8] { [UInt8(e >> 24), UInt8(e >> 16 & 0xff), UInt8(e >> 8 & 0xff), UInt8(e & 0xff)] }
        if let reader {
            b += u32(reader.epoch) + reader.secret.unsafeCopy
            if !retired.isEmpty {
                b.append(UInt8(retired.count))
                for r in retired { b += u32(r.epoch) + r.secret.unsafeCopy }
            }
        }
        defer { b.zeroize() }
        return SecureBytes(b)
    }

    /// The length of a version-3 secret with `count` retired keys.
    static func retiredLength(_ count: Int) -> Int { readerLength + 1 + 36 * count }

    public init(secret s: SecureBytes) throws(CoreError) {
        var b = s.unsafeCopy
        defer { b.zeroize() }
        let altered = CoreError.backupShare(.altered, "the shares do not rebuild a node's keys: one of them was altered")
        let withRetired = b.count > Self.readerLength && b.first == Self.retiredVersion && b[Self.readerLength] >= 1
            && b.count == Self.retiredLength(Int(b[Self.readerLength]))
        let withReader = withRetired || (b.count == Self.readerLength && b.first == Self.readerVersion)
        guard withReader || (b.count == Self.length && b.first == Self.version), b[65] <= 1,
              let project = try? ProjectID(bytes: Array(b[66..<82])),
              let key = try? SymmetricKey(SecureBytes(b[82..<114])) else { throw altered }
        func u32(_ at: Int) -> UInt32 { b[at..<(at + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        var reader: (epoch: UInt32, secret: SecureBytes)?
        var retired: [(epoch: UInt32, secret: SecureBytes)] = []
        if withReader {
            // Epochs start at 1 (ops.md): a 0 is no epoch a node announced.
            guard u32(114) >= 1 else { throw altered }
            reader = (u32(114), SecureBytes(b[118..<150]))
        }
        if withRetired {
            // Newest first, each below the one before and the reader's own.
            var above = u32(114)
            for i in 0..<Int(b[Self.readerLength]) {
                let at = Self.readerLength + 1 + 36 * i
                guard u32(at) >= 1, u32(at) < above else { throw altered }
                above = u32(at)
                retired.append((above, SecureBytes(b[(at + 4)..<(at + 36)])))
            }
        }
        self.init(signingSeed: SecureBytes(b[1..<33]), boxSecret: SecureBytes(b[33..<65]), writeOnly: b[65] == 1,
                  project: project, networkKey: key, reader: reader, retired: retired)
    }

    /// What is split: the secret and the first 8 bytes of its BLAKE2b-128, so that shares altered
    /// with their checksums recomputed rebuild nothing rather than wrong keys.
    var checkedSecret: SecureBytes {
        var b = secret.unsafeCopy
        defer { b.zeroize() }
        return SecureBytes(b + Self.check(b))
    }

    static let checkLength = 8
    static func check(_ b: [UInt8]) -> [UInt8] { Array(Hash.blake2b(b, length: 16).prefix(checkLength)) }

    /// The signing public key the seed gives: what the shares' fingerprint must name.
    public var signingPublicKey: SigningPublicKey { SigningKeyPair(seed: signingSeed).publicKey }

    /// Splits into `count` shares under a fresh backup id, any `threshold` of which rebuild this.
    public func split(threshold: Int, count: Int, backupID: [UInt8] = Random.bytes(BackupShare.backupIDLength),
                      coefficients: (Int) -> [UInt8] = Random.bytes) throws(CoreError) -> [BackupShare] {
        let fp = Self.fingerprint(signingPublicKey)
        let shares: [Shamir.Share]
        do { shares = try Shamir.split(checkedSecret, threshold: threshold, count: count, coefficients: coefficients) }
        catch { throw .backupShare(.malformed, "\(error)") }
        return shares.map { BackupShare(fingerprint: fp, backupID: backupID, threshold: threshold, count: count, share: $0) }
    }

    static func fingerprint(_ key: SigningPublicKey) -> [UInt8] {
        Array(Hash.blake2b(key.bytes, length: 16).prefix(BackupShare.fingerprintLength))
    }

    /// Rebuilds the node from shares, each with the name a person knows it by (its file, or its
    /// place on the command line). Every refusal names the share at fault.
    public static func combine(_ given: [(name: String, share: BackupShare)]) throws(CoreError) -> NodeBackup {
        // Named by number and file: "share 3 (alma.txt)".
        let given = given.map { (name: "share \($0.share.number) (\($0.name))", share: $0.share) }
        guard let first = given.first else { throw .backupShare(.tooFew, "no shares given") }
        // The node most shares name is "the others"; a share naming another node is named.
        let byNode = Dictionary(grouping: given, by: \.share.node)
        if byNode.count > 1 {
            let main = byNode.max { a, b in a.value.count < b.value.count || (a.value.count == b.value.count && a.key != first.share.node) }!.key
            let odd = given.filter { $0.share.node != main }
            let list = odd.map { "\($0.name) is of node \($0.share.node)" }.joined(separator: "; ")
            throw .backupShare(.mixedNode, "\(list), the others of node \(main): shares of different nodes do not combine")
        }
        let byBackup = Dictionary(grouping: given, by: \.share.backup)
        if byBackup.count > 1 {
            let main = byBackup.max { a, b in a.value.count < b.value.count || (a.value.count == b.value.count && a.key != first.share.backup) }!.key
            let odd = given.filter { $0.share.backup != main }
            let list = odd.map { "\($0.name) is from backup \($0.share.backup)" }.joined(separator: "; ")
            throw .backupShare(.mixedBackup, "\(list), the others from backup \(main) of the same node: shares of two backups do not combine; use shares of one backup")
        }
        if let odd = given.first(where: { $0.share.threshold != first.share.threshold || $0.share.count != first.share.count
            || $0.share.share.y.count != first.share.share.y.count }) {
            throw .backupShare(.altered, "\(odd.name) disagrees with \(first.name) on how the backup was split: one of them was altered")
        }
        var seen: [UInt8: String] = [:]
        for g in given {
            if let other = seen[g.share.share.x] {
                throw .backupShare(.duplicate, "\(other) and \(g.name) are the same share (number \(g.share.number)); give \(first.share.threshold) different shares")
            }
            seen[g.share.share.x] = g.name
        }
        let need = first.share.threshold
        guard given.count >= need else {
            throw .backupShare(.tooFew, "need \(need) shares of this backup, got \(given.count)")
        }
        let secret: SecureBytes
        do { secret = try Shamir.combine(given.prefix(need).map(\.share.share)) }
        catch { throw .backupShare(.altered, "the shares do not combine: \(error)") }
        var plain = secret.unsafeCopy
        defer { plain.zeroize() }
        let n = plain.count - checkLength
        guard n == length || n == readerLength || (n > readerLength && (n - readerLength - 1) % 36 == 0),
              SecureBytes(check(Array(plain[0..<n]))) == SecureBytes(Array(plain[n...])) else {
            throw .backupShare(.altered, "the shares do not rebuild node \(first.share.node)'s keys: one of them was altered (its checksum was made to match)")
        }
        let backup = try NodeBackup(secret: SecureBytes(plain[0..<n]))
        guard fingerprint(backup.signingPublicKey) == first.share.fingerprint else {
            throw .backupShare(.altered, "the shares do not rebuild node \(first.share.node)'s keys: one of them was altered (its checksum was made to match)")
        }
        return backup
    }
}
