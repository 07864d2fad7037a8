import Foundation
import Testing
import SandyqTestSupport
@testable import SandyqCore
import SandyqCrypto
import SandyqStore
@testable import SandyqNode

/// The warm view (caught up import by import) and the snapshot a fresh process starts from
/// must say exactly what a rebuild from the log says.
@Suite struct WarmViewTests {
    static func expectMatchesRebuild(_ n: Node, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let warm = try n.view()
        let full = ProjectView(project: warm.project, envelopes: try n.store.allEnvelopes(), readers: try n.openingKeys())
        #expect(warm.digest == full.digest, "\(label): digest", sourceLocation: sourceLocation)
        #expect(warm.stats == full.stats, "\(label): stats", sourceLocation: sourceLocation)
        #expect(warm.quarantined == full.quarantined, "\(label): quarantined", sourceLocation: sourceLocation)
        #expect(Set(warm.sessionKeys.keys) == Set(full.sessionKeys.keys), "\(label): session keys", sourceLocation: sourceLocation)
        #expect(warm.caseSessions == full.caseSessions, "\(label): case sessions", sourceLocation: sourceLocation)
        #expect(warm.maxClock == full.maxClock, "\(label): clock", sourceLocation: sourceLocation)
        #expect(warm.membership.members == full.membership.members, "\(label): members", sourceLocation: sourceLocation)
        #expect(warm.membership.readerKeys == full.membership.readerKeys, "\(label): reader keys", sourceLocation: sourceLocation)
    }

    static func snapshot(_ n: Node) throws -> [(key: String, value: [UInt8])] {
        try n.store.settings(prefix: Node.snapshotPrefix)
    }

    /// Parts of a snapshot: one missing, or two swapped, and it is not trusted.
    @Test func aSnapshotWithAPartMissingOrMovedIsIgnored() throws {
        let dir = try TempDir()
        let (_, b) = try fixture(dir, cases: 30)
        let parts = try Self.snapshot(b)
        #expect(parts.count == 1)
        // Split the one part in two, as if written with a smaller part size: still one seal, so no.
        try b.store.setSetting(Node.snapshotKey(1), parts[0].value)
        let doubled = try NodeFixture.open(dir, "b")
        #expect(doubled.restoredView(try doubled.project()!) == nil)
        try b.store.deleteSetting(Node.snapshotKey(1))
        let whole = try NodeFixture.open(dir, "b")
        #expect(whole.restoredView(try whole.project()!) != nil)
        try b.store.deleteSetting(Node.snapshotKey(0))
        try b.store.setSetting(Node.snapshotKey(1), parts[0].value)
        let moved = try NodeFixture.open(dir, "b")
        #expect(moved.restoredView(try moved.project()!) == nil)
        try Self.expectMatchesRebuild(moved, "moved part")
    }

    static func doc(_ title: String) -> CaseDocument { var d = CaseDocument(); d.title = title; d.city = "Алматы"; return d }

    /// Random imports from several authors (members added and revoked, cases shared with a
    /// lawyer, a write-only reporter, partial deliveries that leave gaps): after each one, the
    /// warm views of a coordinator and a lawyer, and a fresh process's view, match a rebuild.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func warmAndSnapshotViewsMatchARebuild(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let dir = try TempDir()
        let a = try NodeFixture.make(dir, "a")
        _ = try a.createProject(name: "Тёплый")
        let pid = try a.project()!
        func joined(_ name: String, writeOnly: Bool = false) throws -> Node {
            let n = try Node.initialize(home: dir.sub(name), passphrase: SecureBytes(Array(NodeFixture.passphrase.utf8)),
                                        parameters: .minimum, writeOnly: writeOnly)
            try n.join(pid)
            return n
        }
        let b = try joined("b"), l = try joined("l"), r = try joined("r"), w = try joined("w", writeOnly: true), c = try joined("c")
        // B keeps a snapshot from its first op on; L never writes one.
        b.snapshotMinimumOps = 1; b.snapshotRefresh = 1
        let roles: [(Node, Role)] = [(b, .coordinator), (l, .lawyer), (r, .reporter), (w, .reporter), (c, .coordinator)]
        var added: [Node] = [a]
        var cases: [CaseID] = []
        var revoked = false
        let observers = [b, l]

        func deliver(from src: Node, to dst: Node, all: Bool) throws {
            var missing = try src.envelopes(missingFrom: try dst.versionVector())
            if !all { missing = missing.filter { _ in rng.next() % 3 != 0 } }
            _ = try dst.importEnvelopes(missing)
        }

        for step in 0..<45 {
            switch rng.next() % 8 {
            case 0 where added.count <= roles.count:
                let (n, role) = roles[added.count - 1]
                _ = try a.addMember(n.nodeID, role: role)
                added.append(n)
            case 1 where !cases.isEmpty && added.contains(where: { $0 === l }):
                try a.share(rng.pick(cases).description, with: l.nodeID)
            case 2 where step > 30 && !revoked && added.contains(where: { $0 === r }):
                try deliver(from: r, to: a, all: true)
                _ = try a.revoke(r.nodeID)
                revoked = true
            case 3, 4:
                // A writer that holds its admission (and the case it edits) writes.
                let writers = added.filter { $0 !== l && !($0 === r && revoked) }
                let n = rng.pick(writers)
                if n !== a { try deliver(from: a, to: n, all: true) }
                guard (try n.view()).membership.members[n.nodeID.signingKey] != nil else { break }
                let known = cases.filter { (try? n.view().cases[$0]) != nil }
                if let id = known.isEmpty ? nil : rng.pick(known), rng.next() % 2 == 0 {
                    try n.set(id.description, fields: [(FieldPath(field: "city"), "Город \(step)")])
                } else {
                    cases += try n.importCases((0..<Int(1 + rng.next() % 3)).map { Self.doc("Дело \(step)-\($0)") })
                }
            default:
                let src = rng.pick(added + [b])
                let dst = rng.pick(observers + [a])
                if src !== dst { try deliver(from: src, to: dst, all: rng.next() % 2 == 0) }
            }
            for o in observers { try Self.expectMatchesRebuild(o, "seed \(seed) step \(step) \(o.home.suffix(1))") }
            if step % 9 == 8 {
                // B closes (which refreshes its snapshot) and a fresh process opens its home.
                b.saveSnapshotIfDue()
                let fresh = try NodeFixture.open(dir, "b")
                try Self.expectMatchesRebuild(fresh, "seed \(seed) step \(step) fresh b")
                // Restored cases decode when read: read some, import, and the view, the snapshot
                // written from it (unread cases copied as bytes) and a process after that match a rebuild.
                let lazy = try NodeFixture.open(dir, "b")
                lazy.snapshotMinimumOps = 1; lazy.snapshotRefresh = 1
                let v = try lazy.view()
                for id in cases where rng.next() % 3 == 0 { _ = v.cases[id]?.value("city") }
                try deliver(from: rng.pick(added), to: lazy, all: rng.next() % 2 == 0)
                lazy.saveSnapshotIfDue()
                try Self.expectMatchesRebuild(lazy, "seed \(seed) step \(step) lazy b")
                try Self.expectMatchesRebuild(try NodeFixture.open(dir, "b"), "seed \(seed) step \(step) after lazy b")
                // B's own view learns of what the other process stored, as at its next import.
                b.catchUpWarmView()
            }
        }
        for o in observers { try deliver(from: a, to: o, all: true); try Self.expectMatchesRebuild(o, "seed \(seed) end") }
        for o in observers { o.saveSnapshotIfDue() }
        #expect(!(try Self.snapshot(b)).isEmpty)
        #expect(try Self.snapshot(l).isEmpty)
        // A write-only node never keeps one: its view may show what it wrote.
        #expect(try Self.snapshot(w).isEmpty)
    }

    /// A lawyer's warm view holds ops it cannot read; the grants a share brings open them,
    /// as a rebuild would, and ordinary ops after that are absorbed without one.
    @Test func grantsOpenOpsTheWarmViewHeldUnread() throws {
        let dir = try TempDir()
        let a = try NodeFixture.make(dir, "a"), l = try NodeFixture.make(dir, "l")
        _ = try a.createProject(name: "Юрист")
        try l.join(try a.project()!)
        _ = try a.addMember(l.nodeID, role: .lawyer)
        let ids = try a.importCases((0..<4).map { Self.doc("Дело \($0)") })
        try NodeFixture.sync(a, to: l)
        #expect(try l.view().cases.isEmpty)
        #expect(try l.view().stats.unreadable > 0)
        let rebuilds = l.viewRebuilds

        try a.share(ids[1].description, with: l.nodeID)
        try NodeFixture.sync(a, to: l)
        try Self.expectMatchesRebuild(l, "after share")
        #expect(try l.view().cases[ids[1]]?.value("title") == "Дело 1")
        #expect(l.viewRebuilds == rebuilds + 1)

        try a.set(ids[1].description, fields: [(FieldPath(field: "city"), "Астана")])
        _ = try a.importCases([Self.doc("Не для юриста")])
        try NodeFixture.sync(a, to: l)
        try Self.expectMatchesRebuild(l, "after more edits")
        #expect(try l.view().cases[ids[1]]?.value("city") == "Астана")
        #expect(l.viewRebuilds == rebuilds + 1)
    }

    /// A project of `count` cases on coordinator B, with B's snapshot written.
    func fixture(_ dir: TempDir, cases count: Int = 20) throws -> (a: Node, b: Node) {
        let a = try NodeFixture.make(dir, "a"), b = try NodeFixture.make(dir, "b")
        b.snapshotMinimumOps = 1
        _ = try a.createProject(name: "Снимок")
        try b.join(try a.project()!)
        _ = try a.addMember(b.nodeID, role: .coordinator)
        _ = try a.importCases((0..<count).map { Self.doc("Дело \($0)") })
        try NodeFixture.sync(a, to: b)
        _ = try b.view()
        #expect(b.viewRebuilds == 1)
        #expect(!(try Self.snapshot(b)).isEmpty)
        return (a, b)
    }

    /// A fresh process decodes only the cases it reads; the rest stay as snapshot bytes.
    @Test func aRestoredViewDecodesOnlyTheCasesItReads() throws {
        let dir = try TempDir()
        _ = try fixture(dir)
        let v = try NodeFixture.open(dir, "b").view()
        let encoded = try #require(v.cases.encoded)
        #expect(v.cases.count == 20 && encoded.decodedCount == 0)
        let id = try #require(v.cases.keys.min())
        #expect(v.cases[id]?.value("title")?.hasPrefix("Дело") == true)
        #expect(try v.resolve(String(id.description.prefix(8))) == id)
        #expect(encoded.decodedCount == 1, "reading one case decoded others")
        #expect(v.cases.values.count == 20 && encoded.decodedCount == 20)
    }

    @Test func aFreshProcessStartsFromTheSnapshotAndCatchesUpOnWhatCameAfter() throws {
        let dir = try TempDir()
        let (a, _) = try fixture(dir)
        let fresh = try NodeFixture.open(dir, "b")
        try Self.expectMatchesRebuild(fresh, "fresh")
        #expect(fresh.viewRebuilds == 0)

        // Another process imports more: the snapshot covers less than the log, and the rest is applied.
        _ = try a.importCases((0..<5).map { Self.doc("Позже \($0)") })
        try NodeFixture.sync(a, to: NodeFixture.open(dir, "b"))
        let later = try NodeFixture.open(dir, "b")
        try Self.expectMatchesRebuild(later, "later")
        #expect(later.viewRebuilds == 0)
        #expect(try later.view().cases.count == 25)

        // A plain import into a warm view is applied, not rebuilt; a membership op rebuilds.
        _ = try a.importCases([Self.doc("Ещё")])
        try NodeFixture.sync(a, to: later)
        #expect(later.viewRebuilds == 0)
        try Self.expectMatchesRebuild(later, "warm import")
        let c = try NodeFixture.make(dir, "c")
        _ = try a.addMember(c.nodeID, role: .reporter)
        try NodeFixture.sync(a, to: later)
        _ = try later.view()
        #expect(later.viewRebuilds == 1)
        try Self.expectMatchesRebuild(later, "after member add")
    }

    /// A coordinator's first change carries its reader-key announcement, a membership op: the
    /// warm view takes it in place (it changes no member or standing) instead of rebuilding,
    /// so a delta exchange with a new coordinator does not cost a whole rebuild on every peer.
    @Test func aReaderKeyAnnouncementIsAbsorbedWithoutARebuild() throws {
        let dir = try TempDir()
        let (a, b) = try fixture(dir)
        _ = try b.addCase(Self.doc("Первое дело B"))
        try NodeFixture.sync(a, to: b)
        let rebuilds = a.viewRebuilds
        _ = try a.view()
        try NodeFixture.sync(b, to: a)
        #expect(try a.view().membership.readerKeys[b.nodeID.signingKey]?.epoch == 1)
        #expect(a.viewRebuilds == rebuilds, "the announcement made A rebuild its view")
        try Self.expectMatchesRebuild(a, "after B's announcement")
    }

    /// Sealing the whole view inside every import cost a delta exchange most of its time:
    /// an import leaves the snapshot alone, and the node refreshes it when it closes.
    @Test func anImportLeavesTheSnapshotToTheNodesClose() throws {
        let dir = try TempDir()
        let a: Node
        var b: Node?
        do { let f = try fixture(dir); a = f.a; b = f.b }
        b?.snapshotRefresh = 1
        let before = try Self.snapshot(b!).map(\.value)
        _ = try a.importCases((0..<3).map { Self.doc("Позже \($0)") })
        try NodeFixture.sync(a, to: b!)
        _ = try b!.view()
        #expect(try Self.snapshot(b!).map(\.value) == before, "an import sealed and stored the whole view")
        b = nil
        let reopened = try NodeFixture.open(dir, "b")
        #expect(try Self.snapshot(reopened).map(\.value) != before, "closing the node kept no snapshot of what the import added")
        try Self.expectMatchesRebuild(reopened, "after close")
        #expect(reopened.viewRebuilds == 0)
    }

    @Test func aTamperedOrForeignSnapshotIsIgnored() throws {
        let dir = try TempDir()
        // A copy of B's home before the last cases: the same keys, a shorter log.
        let (a, b) = try fixture(dir)
        try FileManager.default.copyItem(atPath: dir.sub("b"), toPath: dir.sub("old"))
        _ = try a.importCases((0..<3).map { Self.doc("Новое \($0)") })
        try NodeFixture.sync(a, to: b)
        _ = try b.view()
        // An import leaves the snapshot to the node's close, which writes it as this does.
        b.saveSnapshotIfDue()
        let snap = try Self.snapshot(b)
        #expect(!snap.isEmpty)

        // Any flipped byte: it does not open, and the view is rebuilt.
        var bad = snap[0].value
        bad[bad.count / 2] ^= 1
        try b.store.setSetting(snap[0].key, bad)
        let tampered = try NodeFixture.open(dir, "b")
        try Self.expectMatchesRebuild(tampered, "tampered")
        #expect(tampered.viewRebuilds == 1)

        // A genuine snapshot of a longer log, set into the older copy: its mark does not match.
        let old = try NodeFixture.open(dir, "old")
        for (k, v) in snap { try old.store.setSetting(k, v) }
        #expect(old.restoredView(try old.project()!) == nil)
        try Self.expectMatchesRebuild(old, "old copy")
        #expect(old.viewRebuilds == 1)
        #expect(try old.view().cases.count == 20)
    }
}

/// The network key and cached session keys are sealed under the storage key by one helper;
/// these rows were written by the code before it (a `sandyq` built from the earlier tree).
@Suite struct StorageSealTests {
    static let passphrase = "fixture passphrase"
    static let keyFile = "53514b4559010100000000000000020000000004000000fc0a5e95013b9bc3e60ac8ce8f5512fcbcb148f0bc358f526aa8ef8f06d2809df13b4077d89e8e87c63e702b5e3fc13d63b7eadcb2457596423dd78963cd2cebd0a34a3b20e378e2420b59d301e041cd687cd87b3c4cda514ce8c48e9fa53699a3238356c2ca90efda40342706a5338631fea0d69f1a735ddd351aa22a912ea3f5dcf8a07dec200b3c45f7baaaff16ee57b21923193267edc5319ba318474abb804c900088948a8c356b11a1c8a1ebbf0dc73c530cf02330c16bad44534b7c7053f0b35099722191722fc517cadc57a4e4"
    static let netkeyRow = "D2AB8DFA23D71D68EF6A59902D37628E52493B789FF5B7C30C47E4BDC49BE021B1A275CB545053E1F7BFD3135E4B0B9E39D6EF04DBF3AEB35F50D8968036BBDE897876C2237D32A2"
    static let networkKey = "016f5bce32c51514f9487e6e98b4f8bd55ce9f7df50f2f421e55e37265e60dd7"
    static let sessionTag = "EAFACA8B0955A0711BAB9FC49FBDC6069BE272ACCD7F5EA9E93616DDD0237CE3"
    static let sessionRow = "7C35219772229BFE209E3ACFA77FCD5E6FA83FCB40FD4D887BE6B6B00587D3E1D93E9E328043BB48E771284CAF62FA446C3799C29C4B23BBC58C854D5895E8B70D9AD8E660A66395D95CA175018C2E0595C7546FB006C02CC10090F8B5EED08CC0E20E5A256F87E9FD0E4F4D48106554"

    static func hex(_ s: String) -> [UInt8] { Hex.decode(s.lowercased())! }

    @Test func rowsWrittenBeforeOpenAndSealAgainToTheSameBytes() throws {
        let dir = try TempDir()
        let home = dir.sub("n")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try Data(Self.hex(Self.keyFile)).write(to: URL(fileURLWithPath: Node.keyPath(home)))
        let store = try OpStore(path: Node.databasePath(home))
        try store.setSetting("netkey", Self.hex(Self.netkeyRow))
        try store.cacheSessionKeys([(Self.hex(Self.sessionTag), Self.hex(Self.sessionRow))])
        let node = try Node.open(home: home, passphrase: SecureBytes(Array(Self.passphrase.utf8)))

        #expect(try node.networkKeyText() == Self.networkKey)
        let keys = node.cachedSessionKeys()
        #expect(keys.count == 1)

        let seal = StorageSeal(node.identity)
        let row = Self.hex(Self.netkeyRow)
        let plain = try seal.open(row, associatedData: Node.networkKeyAD)
        #expect(seal.seal(plain, associatedData: Node.networkKeyAD, nonce: Array(row[0..<AEAD.nonceLength])) == row)
        let session = Self.hex(Self.sessionRow)
        let ad = Node.sessionRowAD + Self.hex(Self.sessionTag)
        let sessionPlain = try seal.open(session, associatedData: ad)
        #expect(seal.seal(sessionPlain, associatedData: ad, nonce: Array(session[0..<AEAD.nonceLength])) == session)
        // Bound to its use: a row does not open as another.
        #expect(throws: CryptoError.authenticationFailed) { try seal.open(row, associatedData: ad) }
    }
}
