import Foundation
import Testing
import SandyqCore
import SandyqCrypto

/// Split backups as a person meets them: every share damaged in any byte is refused, and each
/// wrong set of shares is named for what is wrong with it.
@Suite struct BackupShareTests {
    static func node(writeOnly: Bool = false) -> NodeBackup {
        NodeBackup(signingSeed: SecureBytes(randomCount: 32), boxSecret: SecureBytes(randomCount: 32), writeOnly: writeOnly,
                   project: ProjectID.random(), networkKey: SymmetricKey())
    }

    static func named(_ shares: [BackupShare]) -> [(name: String, share: BackupShare)] {
        shares.map { (name: "s\($0.number).txt", share: $0) }
    }

    static func problem(_ body: () throws -> Void) -> (BackupShare.Problem, String)? {
        do { try body() } catch let e as CoreError {
            if case let .backupShare(p, m) = e { return (p, m) }
        } catch {}
        return nil
    }

    @Test func threeOfFiveRoundTripsThroughBytesAndText() throws {
        let b = Self.node(writeOnly: true)
        let shares = try b.split(threshold: 3, count: 5)
        for s in shares {
            #expect(try BackupShare(bytes: s.bytes) == s)
            #expect(try BackupShare(text: s.text) == s)
            #expect(try BackupShare(text: s.text.lowercased()) == s, "letters typed in lower case")
            #expect(try BackupShare(reading: Array(s.text.utf8)) == s)
            // Typed back in on Windows, or posted from a browser's text box: lines end in CR LF,
            // which Swift reads as one Character, neither "\r" nor "\n".
            #expect(try BackupShare(text: s.text.replacingOccurrences(of: "\n", with: "\r\n")) == s, "CR LF line ends")
            #expect(try BackupShare(text: s.text.replacingOccurrences(of: "\n", with: "\r")) == s, "CR line ends")
        }
        let back = try NodeBackup.combine(Self.named([shares[4], shares[0], shares[2]]))
        #expect(back.secret == b.secret && back.writeOnly)
    }

    /// Any one byte of a share file changed is refused before it is combined.
    @Test func everyByteOfAShareIsCovered() throws {
        let s = try Self.node().split(threshold: 2, count: 3)[1]
        let good = s.bytes
        for i in good.indices {
            var bad = good
            bad[i] ^= 0x04
            #expect(Self.problem { _ = try BackupShare(bytes: bad) } != nil, "byte \(i) changed was read")
        }
    }

    /// Every prefix of a share file is refused: as not a share while the magic is incomplete,
    /// then as cut short.
    @Test func everyPrefixIsRefused() throws {
        let good = try Self.node().split(threshold: 2, count: 2)[0].bytes
        for n in 0..<good.count {
            let p = Self.problem { _ = try BackupShare(bytes: Array(good.prefix(n))) }
            #expect(p?.0 == (n < 5 ? .malformed : .truncated), "\(n) bytes: \(String(describing: p))")
        }
    }

    /// Each other letter typed in one place is refused. The line's check is one byte, so about one
    /// typo in 256 passes it (the keys are random: this is what made the single-typo version of
    /// this test fail once in a few hundred runs); the share's own checksum then refuses it,
    /// without naming the line. Every other typo names line 4.
    @Test func aMistypedLetterNamesItsLine() throws {
        let s = try Self.node().split(threshold: 2, count: 2)[0]
        let lines = s.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var named = 0, collided = 0
        for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" {
            var chars = Array(lines[4])
            guard chars[5] != letter else { continue }
            chars[5] = letter
            var typed = lines
            typed[4] = String(chars)
            let found = Self.problem { _ = try BackupShare(text: typed.joined(separator: "\n")) }
            #expect(found?.0 == .damaged, "\(letter): \(String(describing: found))")
            if found?.1.contains("line 4") == true { named += 1 } else if found?.1.contains("checksum") == true { collided += 1 }
        }
        #expect(named + collided == 31)
        #expect(named >= 27, "\(collided) of 31 typos passed the line check")
    }

    @Test func wrongSetsOfSharesAreNamed() throws {
        let a = Self.node(), other = Self.node()
        let s = try a.split(threshold: 3, count: 5), again = try a.split(threshold: 3, count: 5)
        let o = try other.split(threshold: 3, count: 5)
        let fp = s[0].node

        let few = Self.problem { _ = try NodeBackup.combine(Self.named([s[0], s[2]])) }
        #expect(few?.0 == .tooFew && few?.1 == "need 3 shares of this backup, got 2", "\(String(describing: few))")

        let mixed = Self.problem { _ = try NodeBackup.combine(Self.named([s[0], o[1], s[4]])) }
        #expect(mixed?.0 == .mixedNode, "\(String(describing: mixed))")
        #expect(mixed?.1.hasPrefix("share 2 (s2.txt) is of node \(o[1].node), the others of node \(fp)") == true, "\(String(describing: mixed))")

        let twoBackups = Self.problem { _ = try NodeBackup.combine(Self.named([s[0], again[1], s[4]])) }
        #expect(twoBackups?.0 == .mixedBackup && twoBackups?.1.contains("share 2 (s2.txt) is from backup \(again[1].backup)") == true,
                "\(String(describing: twoBackups))")

        let twice = Self.problem { _ = try NodeBackup.combine(Self.named([s[0], s[2], s[0]])) }
        #expect(twice?.0 == .duplicate, "\(String(describing: twice))")

        // A share changed by someone who recomputed its checksum rebuilds nothing.
        var forged = s[2].share.y
        forged[40] ^= 1
        let f = BackupShare(fingerprint: s[2].fingerprint, backupID: s[2].backupID, threshold: 3, count: 5,
                            share: Shamir.Share(x: 3, y: forged))
        let altered = Self.problem { _ = try NodeBackup.combine(Self.named([s[0], f, s[4]])) }
        #expect(altered?.0 == .altered, "\(String(describing: altered))")
    }
}
