import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqStore

@Suite struct OpStoreOpeningTests {
    @Test func freshStoreUsesWALAndTheSupportedSchema() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        do {
            let store = try OpStore(path: path)
            let mode = try store.db.prepare("PRAGMA journal_mode")
            #expect(try mode.step())
            #expect(mode.text(0) == "wal")
            #expect(OpStore.supportedSchema >= 1)
            #expect(try store.schemaVersion() == OpStore.supportedSchema)
            var tables: Set<String> = []
            try store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").rows { tables.insert($0.text(0)) }
            #expect(tables.isSuperset(of: ["ops", "settings", "forks", "peers"]))
            #expect(try store.opCount == 0)
            #expect(try store.project() == nil)
            #expect(try store.versionVector().heads.isEmpty)
            #expect(try store.forks().isEmpty)
        }
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func newerSchemaIsRefusedWithAnUpgradeMessage() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        do {
            let store = try OpStore(path: path)
            try store.db.execute("PRAGMA user_version = 99")
            #expect(try store.schemaVersion() == 99)
        } // closed here
        let caught = storeError { _ = try OpStore(path: path) }
        #expect(caught == .newerSchema(found: 99, supported: OpStore.supportedSchema))
        let message = caught?.description ?? ""
        #expect(message.contains("upgrade"), "message was: \(message)")
        #expect(message.contains("99"))
        // Refusing must not have rewritten the version.
        do {
            let raw = try Database(path: path)
            let s = try raw.prepare("PRAGMA user_version")
            #expect(try s.step())
            #expect(s.int(0) == 99)
        }
    }

    @Test func migrationsAreIdempotentOnReopen() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        let pid = ProjectID.random()
        func schemaSQL(_ store: OpStore) throws -> [String] {
            var out: [String] = []
            try store.db.prepare("SELECT name || ':' || ifnull(sql, '') FROM sqlite_master ORDER BY name").rows { out.append($0.text(0)) }
            return out
        }
        let first: [String]
        do {
            let store = try OpStore(path: path)
            try store.setProject(pid)
            try store.setSetting("marker", [1, 2, 3])
            first = try schemaSQL(store)
        }
        #expect(!first.isEmpty)
        for _ in 0..<3 {
            let store = try OpStore(path: path)
            #expect(try store.schemaVersion() == OpStore.supportedSchema)
            #expect(try schemaSQL(store) == first)
            #expect(try store.project() == pid)
            #expect(try store.setting("marker") == [1, 2, 3])
        }
    }
}

@Suite struct ImportTests {
    @Test func importIsIdempotent() throws {
        let dir = try TempDir()
        let f = Founder()
        let envs = f.chain(sealed: 3)
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let first = try store.importEnvelopes(envs, project: f.project)
        #expect(first.new == envs.count)
        #expect(first.known == 0)
        #expect(first.refused.isEmpty)
        let second = try store.importEnvelopes(envs, project: f.project)
        #expect(second.new == 0)
        #expect(second.known == envs.count)
        #expect(second.refused.isEmpty)
        #expect(second.forks == 0)
        #expect(try store.opCount == envs.count)
        // Stored exactly as given.
        let stored = try store.allEnvelopes()
        #expect(stored.map(\.encoded) == envs.map(\.encoded))
        #expect(try store.versionVector()[f.author] == UInt64(envs.count))
        // Duplicates within one batch count once.
        let dir2 = try TempDir()
        let other = try OpStore(path: dir2.file(OpStore.fileName))
        let r = try other.importEnvelopes(envs + envs, project: f.project)
        #expect(r.new == envs.count)
        #expect(r.known == envs.count)
        #expect(try other.opCount == envs.count)
    }

    @Test func wrongProjectOpIsRefusedWhileNeighboursLand() throws {
        let dir = try TempDir()
        let f = Founder()
        let good = f.chain(sealed: 2)
        // Same author, a different project, otherwise a valid signed op.
        let foreign = f.writer(project: ProjectID.random())
            .sealed([.projectName("elsewhere")], readers: [f.identity.box.publicKey], wallMillis: 1_700_000_000_000)
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let r = try store.importEnvelopes([good[0], foreign, good[1], good[2]], project: f.project)
        #expect(r.new == good.count)
        #expect(r.refused.count == 1)
        #expect(r.refused.first?.id == foreign.id)
        #expect(r.refused.first?.reason == .wrongProject)
        #expect(try store.opCount == good.count)
        let ids = Set(try store.allEnvelopes().map(\.id))
        #expect(ids == Set(good.map(\.id)))
        #expect(!ids.contains(foreign.id))
    }

    @Test func twoOpsAtOneSeqAreBothKeptAndFlagged() throws {
        let dir = try TempDir()
        let f = Founder()
        let w = f.writer()
        let genesis = w.membership(.genesis(founder: f.nodeID, nonce: f.nonce))
        // Two writers that both believe they are at seq 1: a cloned key.
        let a = f.writer(seq: 1, prev: genesis.id).sealed([.projectName("A")], readers: [f.identity.box.publicKey], wallMillis: 1)
        let b = f.writer(seq: 1, prev: genesis.id).sealed([.projectName("B")], readers: [f.identity.box.publicKey], wallMillis: 2)
        #expect(a.seq == 2 && b.seq == 2)
        #expect(a.id != b.id)
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let r1 = try store.importEnvelopes([genesis, a], project: f.project)
        #expect(r1.new == 2 && r1.forks == 0)
        #expect(try store.forks().isEmpty)
        let r2 = try store.importEnvelopes([b], project: f.project)
        #expect(r2.new == 1)
        #expect(r2.forks == 1)
        #expect(r2.refused.isEmpty)
        #expect(try store.opCount == 3)
        let ids = Set(try store.allEnvelopes().map(\.id))
        #expect(ids.isSuperset(of: [a.id, b.id]))
        let forks = try store.forks()
        #expect(forks.count == 1)
        #expect(forks.first?.author == f.author)
        #expect(forks.first?.seq == 2)
        // Seeing the fork again flags nothing new.
        let r3 = try store.importEnvelopes([a, b], project: f.project)
        #expect(r3.new == 0 && r3.known == 2 && r3.forks == 0)
        #expect(try store.forks().count == 1)
    }

    @Test func forkInsideOneBatchIsFlaggedToo() throws {
        let dir = try TempDir()
        let f = Founder()
        let genesis = f.writer().membership(.genesis(founder: f.nodeID, nonce: f.nonce))
        let a = f.writer(seq: 1, prev: genesis.id).sealed([.projectName("A")], readers: [f.identity.box.publicKey], wallMillis: 1)
        let b = f.writer(seq: 1, prev: genesis.id).sealed([.projectName("B")], readers: [f.identity.box.publicKey], wallMillis: 2)
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let r = try store.importEnvelopes([b, genesis, a], project: f.project)
        #expect(r.new == 3)
        #expect(r.forks == 1)
        #expect(try store.forks().map(\.seq) == [2])
    }

    @Test func versionVectorReportsHighestContiguousSeq() throws {
        let dir = try TempDir()
        let f = Founder()
        let chain = f.chain(sealed: 3) // seq 1...4
        #expect(chain.map(\.seq) == [1, 2, 3, 4])
        let other = Founder()
        let otherChain = other.chain(sealed: 1) // seq 1...2, another author
        let store = try OpStore(path: dir.file(OpStore.fileName))
        let r = try store.importEnvelopes([chain[0], chain[1], chain[3]], project: f.project)
        #expect(r.new == 3)
        #expect(try store.versionVector()[f.author] == 2)
        // An author whose first op is missing has no head at all.
        let dir2 = try TempDir()
        let gap = try OpStore(path: dir2.file(OpStore.fileName))
        _ = try gap.importEnvelopes([chain[1], chain[2]], project: f.project)
        #expect(try gap.versionVector()[f.author] == 0)
        // Filling the gap moves the head to the end.
        _ = try store.importEnvelopes([chain[2]], project: f.project)
        #expect(try store.versionVector()[f.author] == 4)
        // Heads are per author.
        _ = try store.importEnvelopes(otherChain, project: other.project)
        let vv = try store.versionVector()
        #expect(vv[other.author] == 2)
        #expect(vv[f.author] == 4)
        #expect(vv.heads.count == 2)
    }

    @Test func chainHeadAndMissingEnvelopes() throws {
        let dir = try TempDir()
        let f = Founder()
        let chain = f.chain(sealed: 2)
        let store = try OpStore(path: dir.file(OpStore.fileName))
        _ = try store.importEnvelopes(chain, project: f.project)
        let head = try #require(try store.chainHead(of: f.author))
        #expect(head.seq == 3)
        #expect(head.id == chain[2].id)
        var known = VersionVector()
        known[f.author] = 1
        #expect(try store.envelopes(missingFrom: known).map(\.id) == [chain[1].id, chain[2].id])
    }
}

@Suite struct IntegrityCheckTests {
    /// An index that disagrees with its table (what a torn or overwritten index page leaves)
    /// breaks no read `check` makes of the ops themselves: only SQLite's integrity check sees it.
    @Test func anIndexThatDisagreesWithItsTableIsReported() throws {
        let f = Founder()
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        do {
            let store = try OpStore(path: path)
            _ = try store.importEnvelopes(f.chain(sealed: 3), project: f.project)
            #expect(try store.integrityProblems().isEmpty)
        }
        // Redefine ops_kind over another column without rebuilding it (SQLite's documented
        // writable_schema escape hatch): its entries now disagree with the rows.
        do {
            let db = try Database(path: path)
            try db.execute("PRAGMA writable_schema = ON")
            try db.execute("UPDATE sqlite_schema SET sql = 'CREATE INDEX ops_kind ON ops(seq) WHERE kind != 1' WHERE name = 'ops_kind'")
            try db.execute("PRAGMA writable_schema = OFF")
        }
        let store = try OpStore(path: path)
        #expect(try store.allEnvelopes().count == 4, "the ops still read")
        let problems = try store.integrityProblems()
        #expect(problems.contains { $0.hasPrefix("sqlite: ") && $0.contains("ops_kind") }, "\(problems)")
    }
}

@Suite struct HeldBytesTests {
    /// The sum of each author's envelope bytes, read from every op the store holds.
    static func fullSum(_ s: OpStore) throws -> [SigningPublicKey: Int] {
        var out: [SigningPublicKey: Int] = [:]
        for e in try s.allEnvelopes() { out[e.author, default: 0] += e.encoded.count }
        return out
    }

    @Test("bytes held per author, kept between calls and read on from the last row seen, equal a full sum after imports on this connection and on another's, and after a transaction that rolled back")
    func keptSumsMatchAFullSum() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        let store = try OpStore(path: path), other = try OpStore(path: path)
        let a = Founder(), b = Founder()
        let envs = a.chain(sealed: 30)
        #expect(try store.bytesByAuthor().isEmpty)
        _ = try store.importEnvelopes(Array(envs[0..<10]), project: a.project)
        #expect(try store.bytesByAuthor() == (try Self.fullSum(store)))
        _ = try other.importEnvelopes(Array(envs[10..<20]), project: a.project)
        #expect(try store.bytesByAuthor() == (try Self.fullSum(store)), "rows another connection added were missed")
        // Rows read inside a transaction that then rolls back must not be kept: the rows that
        // land later take the same rowids.
        struct Undo: Error {}
        _ = try? store.atomically { () throws -> Void in
            _ = try store.importEnvelopes(Array(envs[20..<25]), project: a.project)
            #expect(try store.bytesByAuthor() == (try Self.fullSum(store)))
            throw Undo()
        }
        #expect(try store.opCount == 20)
        // Another author's ops take the rolled-back rows' rowids first.
        let foreign = b.chain(sealed: 3)
        _ = try other.importEnvelopes(foreign, project: b.project)
        _ = try other.importEnvelopes(Array(envs[20..<31]), project: a.project)
        let sums = try store.bytesByAuthor()
        #expect(sums == (try Self.fullSum(store)), "the kept sums drifted from the store")
        #expect(sums[a.author] == envs.reduce(0) { $0 + $1.encoded.count })
    }
}

@Suite struct ScrubMarkTests {
    /// Another connection inside a read transaction: a checkpoint cannot empty the log meanwhile.
    static func reader(_ path: String) throws -> Database {
        let r = try Database(path: path)
        try r.execute("BEGIN")
        _ = try r.prepare("SELECT count(*) FROM sqlite_master").step()
        return r
    }

    @Test("a process that saw an older scrub finish does not clear the mark of a newer scrub another process made meanwhile, whose checkpoint a reader held up")
    func aNewerScrubKeepsItsMark() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        let a = try OpStore(path: path), b = try OpStore(path: path)
        try a.setSetting("doomed-a", Array(repeating: 0xA5, count: 64))
        try a.setSetting("doomed-b", Array(repeating: 0x5A, count: 64))
        var held = try Self.reader(path)
        try a.scrubbing { try a.deleteSetting("doomed-a") }
        #expect(try a.scrubPending(), "premise: the reader held the first checkpoint up")
        try held.execute("COMMIT")
        // Between a's checkpoint and its clearing of the mark, b scrubs under a new reader.
        a.afterScrubCheckpointForTests = {
            held = try! Self.reader(path)
            try! b.scrubbing { try b.deleteSetting("doomed-b") }
        }
        #expect(try a.finishScrub(waitMillis: 200))
        a.afterScrubCheckpointForTests = nil
        #expect(try b.scrubPending() && a.scrubPending(), "b's scrub has not finished: its mark stays")
        try held.execute("COMMIT")
        #expect(try b.finishScrub(waitMillis: 200))
        #expect(try !a.scrubPending())
    }

    @Test("after a scrub, a later delete still overwrites what it frees: secure_delete stays on for the connection")
    func secureDeleteOutlivesAScrub() throws {
        let dir = try TempDir()
        let path = dir.file(OpStore.fileName)
        let store = try OpStore(path: path)
        try store.scrubbing {}
        let needle = Random.bytes(200)
        try store.setSetting("viewsnapshot:0000", needle)
        try store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try store.deleteSetting("viewsnapshot:0000")
        try store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ["", "-wal"] {
            let raw = [UInt8](FileManager.default.contents(atPath: path + suffix) ?? Data())
            let found = raw.count >= needle.count && raw.indices.dropLast(needle.count - 1).contains { raw[$0] == needle[0] && raw[$0..<($0 + needle.count)].elementsEqual(needle) }
            #expect(!found, "sandyq.db\(suffix) still holds the deleted value")
        }
    }
}
