import SandyqCrypto

/// One share of a split node backup (Protocol/backup.md): who it belongs to, which backup, its
/// place among the others, and its Shamir share of the node's secrets, under a checksum.
/// Binary: magic "SQSHR" ‖ version u8 ‖ fingerprint[6] ‖ backup id[8] ‖ threshold u8 ‖
/// count u8 ‖ x u8 ‖ length u16 ‖ y[length] ‖ checksum[8].
public struct BackupShare: Sendable, Equatable {
    /// Why shares do not rebuild a node: the closed list of Protocol/vectors/backup's `expect`.
    public enum Problem: String, Sendable, CaseIterable {
        case malformed, truncated, unsupportedVersion = "unsupported_version", damaged
        case mixedNode = "mixed_node", mixedBackup = "mixed_backup", duplicate, tooFew = "too_few", altered
    }

    public static let magic = Array("SQSHR".utf8)
    public static let version: UInt8 = 1
    public static let headerLength = 25
    public static let checksumLength = 8
    public static let fingerprintLength = 6
    public static let backupIDLength = 8

    public let fingerprint: [UInt8]
    public let backupID: [UInt8]
    public let threshold: Int
    public let count: Int
    public let share: Shamir.Share

    /// The node's fingerprint as `NodeID.fingerprint` prints it.
    public var node: String { Hex.encode(fingerprint) }
    public var backup: String { Hex.encode(backupID) }
    public var number: Int { Int(share.x) }

    public init(fingerprint: [UInt8], backupID: [UInt8], threshold: Int, count: Int, share: Shamir.Share) {
        precondition(fingerprint.count == Self.fingerprintLength && backupID.count == Self.backupIDLength)
        precondition(threshold >= 2 && threshold <= count && count <= 255 && share.x >= 1 && Int(share.x) <= count)
        self.fingerprint = fingerprint
        self.backupID = backupID
        self.threshold = threshold
        self.count = count
        self.share = share
    }

    static func checksum(_ body: ArraySlice<UInt8>) -> [UInt8] {
        Array(Hash.blake2b(body, length: 16).prefix(checksumLength))
    }

    public var bytes: [UInt8] {
        var b = Self.magic + [Self.version] + fingerprint + backupID
        b += [UInt8(threshold), UInt8(count), share.x, UInt8(share.y.count >> 8), UInt8(share.y.count & 0xff)]
        b += share.y
        return b + Self.checksum(b[...])
    }

    static func refuse(_ p: Problem, _ m: String) -> CoreError { .backupShare(p, m) }

    /// Reads the binary form. The checksum is checked before any field is believed.
    public init(bytes b: [UInt8]) throws(CoreError) {
        guard b.count >= Self.magic.count, Array(b[0..<5]) == Self.magic else {
            throw Self.refuse(.malformed, "not a sandyq backup share")
        }
        guard b.count > 5 else { throw Self.refuse(.truncated, "the share is cut short") }
        guard b[5] == Self.version else {
            throw Self.refuse(.unsupportedVersion, "share format version \(b[5]) is not read by this build; upgrade sandyq")
        }
        guard b.count >= Self.headerLength + Self.checksumLength else { throw Self.refuse(.truncated, "the share is cut short") }
        let length = Int(b[23]) << 8 | Int(b[24])
        guard b.count == Self.headerLength + length + Self.checksumLength else {
            throw Self.refuse(b.count < Self.headerLength + length + Self.checksumLength ? .truncated : .malformed,
                              b.count < Self.headerLength + length + Self.checksumLength ? "the share is cut short" : "the share has bytes after its end")
        }
        let end = b.count - Self.checksumLength
        guard Self.checksum(b[0..<end]) == Array(b[end...]) else {
            throw Self.refuse(.damaged, "the share is damaged (its checksum does not match)")
        }
        let k = Int(b[20]), n = Int(b[21]), x = b[22]
        guard k >= 2, k <= n, x >= 1, Int(x) <= n, length > 0 else {
            throw Self.refuse(.malformed, "the share's numbers are impossible (\(x) of \(n), any \(k))")
        }
        self.init(fingerprint: Array(b[6..<12]), backupID: Array(b[12..<20]), threshold: k, count: n,
                  share: Shamir.Share(x: x, y: Array(b[25..<end])))
    }

    // MARK: paper

    /// Bytes per text line: 20 bytes are exactly 32 base32 letters.
    static let lineBytes = 20

    /// The printable form: a title line, then numbered lines of base32 in groups of four, each
    /// ending in a two-letter check of that line, so a mistyped line is named.
    public var text: String {
        var out = "SANDYQ BACKUP SHARE \(number) OF \(count), ANY \(threshold) REBUILD NODE \(node) (BACKUP \(backup))\n"
        let b = bytes
        for (i, start) in stride(from: 0, to: b.count, by: Self.lineBytes).enumerated() {
            let chunk = Array(b[start..<min(start + Self.lineBytes, b.count)])
            let letters = Array(Base32.encode(chunk).uppercased())
            let groups = stride(from: 0, to: letters.count, by: 4).map { String(letters[$0..<min($0 + 4, letters.count)]) }
            let num = i + 1 < 10 ? "0\(i + 1)" : "\(i + 1)"
            out += num + "  " + groups.joined(separator: " ") + "  " + Self.lineCheck(i + 1, chunk) + "\n"
        }
        return out
    }

    /// Two base32 letters: the first byte of BLAKE2b-128(line number u8 ‖ line bytes).
    static func lineCheck(_ line: Int, _ chunk: [UInt8]) -> String {
        Base32.encode([Hash.blake2b([UInt8(line & 0xff)] + chunk, length: 16)[0]]).uppercased()
    }

    /// Reads the printable form: lines that start with a number are share lines; others are ignored.
    public init(text: String) throws(CoreError) {
        var bytes: [UInt8] = []
        var expected = 1
        // `isNewline`: a CR LF line end is one Character, neither "\r" nor "\n".
        for raw in text.split(whereSeparator: \.isNewline) {
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = words.first, let num = Int(first), first.allSatisfy(\.isASCII) else { continue }
            guard num == expected else {
                throw Self.refuse(.malformed, num > expected ? "line \(expected) of the share text is missing" : "line \(num) of the share text appears twice")
            }
            guard words.count >= 3 else { throw Self.refuse(.damaged, "line \(num) of the share text is incomplete") }
            guard let chunk = Base32.decode(words[1..<(words.count - 1)].joined()),
                  Self.lineCheck(num, chunk) == words[words.count - 1].uppercased() else {
                throw Self.refuse(.damaged, "line \(num) of the share text does not match its check letters: a letter was mistyped")
            }
            bytes += chunk
            expected += 1
        }
        guard !bytes.isEmpty else { throw Self.refuse(.malformed, "not a sandyq backup share (no numbered lines)") }
        try self.init(bytes: bytes)
    }

    /// A file's content in either form: binary when it starts with the magic, text otherwise.
    public init(reading content: [UInt8]) throws(CoreError) {
        if content.starts(with: Self.magic) { try self.init(bytes: content); return }
        guard let s = String(validating: content, as: UTF8.self) else {
            throw Self.refuse(.malformed, "not a sandyq backup share")
        }
        try self.init(text: s)
    }
}
