import Foundation
import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

// Bundles and the mailbox give only to members (issue 13): real `sandyq` processes on a shared
// mailbox folder, attacked by a client built on the project's own library.

/// Someone who read one seized store: it knows the project id and every member's node id
/// (they are in the membership ops any store holds), but holds no member's key. It makes its
/// own identity and writes bundles with the project's own writer.
struct MailboxStranger {
    let signing = SigningKeyPair()
    let box = BoxKeyPair()
    var id: NodeID { NodeID(signingKey: signing.publicKey, boxKey: box.publicKey) }

    /// A bundle to `recipients` whose header names `sender` (itself unless told otherwise) and
    /// claims `vector`, carrying `ops`; written into `dir` under a mailbox-style name. It signs
    /// with the only signing key it has, its own.
    @discardableResult
    func drop(in dir: String, to recipients: [BundleNode], project: ProjectID, sender: NodeID? = nil,
              vector: VersionVector = VersionVector(), ops: [Envelope] = []) throws -> String {
        let name = Hex.encode(Random.bytes(8)) + ".sqb"
        let to = try recipients.map { try #require(NodeID(string: $0.id)).boxKey }
        let header = BundleFormat.Header(project: project, sender: sender ?? id, senderVector: vector, bundleID: .random(),
                                         part: 1, createdMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        let w = try BundleWriter(path: dir + "/" + name, recipients: to, header: header, signer: signing)
        for e in ops { try w.append(e) }
        try w.finish()
        return name
    }

    /// What it can read in the folder with its own box key: files that open for it, and their ops.
    func harvest(_ dir: String) -> (files: [String], ops: Int) { MailboxReader(box: box).harvest(dir) }
}

@Suite struct BundleMembershipCLITests {
    static func mailbox(_ tag: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.path + "/sandyq-\(tag)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func sync(_ n: BundleNode, _ box: String, _ context: String) throws -> [String: Any] {
        try #require(try n.json(["usb", "sync", box], context) as? [String: Any])
    }

    /// A founder and a member that have settled over the mailbox, with the seed cases on both.
    static func settledPair(_ box: String) throws -> (a: BundleNode, b: BundleNode, project: ProjectID) {
        let a = try BundleNode("A"), b = try BundleNode("B")
        let p = try #require((try a.json(["project", "create", "Mailbox members"]) as? [String: Any])?["project"] as? String)
        try b.ok(["join", p])
        try a.ok(["member", "add", b.id, "--role", "coordinator"])
        try a.ok(["case", "import", BundleSeeds.path])
        for round in 1...3 { for n in [a, b] { _ = try sync(n, box, "settling \(round)") } }
        #expect(try b.opCount() == (try a.opCount()), "B did not get A's ops over the mailbox")
        return (a, b, try #require(ProjectID(string: p)))
    }

    // The stranger drops a bundle naming itself. Before: the next `usb sync` made it a peer and
    // wrote it the whole log, then every later op.
    @Test func aStrangersBundleEarnsItNothing() throws {
        let box = try Self.mailbox("stranger")
        defer { try? FileManager.default.removeItem(atPath: box) }
        let (a, b, project) = try Self.settledPair(box)
        let stranger = MailboxStranger()
        // It carries ops copied from the seized store, so the old code also owed it an answer.
        let copied = Array(try OpStore(path: b.home.dbPath).allEnvelopes().prefix(5))
        let dropped = try stranger.drop(in: box, to: [a, b], project: project, ops: copied)

        let t0 = Date()
        for n in [a, b] {
            let j = try Self.sync(n, box, "after the stranger's bundle")
            let entry = (j["imported"] as? [[String: Any]] ?? []).first { ($0["file"] as? String ?? "").hasSuffix(dropped) }
            #expect(entry?["senderMember"] as? Bool == false, "\(n.name) did not say the sender is no member: \(j)")
        }
        try a.ok(["case", "add", "--title", "Written after the stranger came", "--person", "Айгерим Тестова"])
        for n in [a, b, a] { _ = try Self.sync(n, box, "after a new case") }
        let seconds = Date().timeIntervalSince(t0)

        let got = stranger.harvest(box)
        print("BundleMembershipCLITests: a stranger's bundle in the mailbox: it can open \(got.files.count) file(s), \(got.ops) op(s) (of \(try a.opCount())), 5 syncs in \(String(format: "%.1f", seconds)) s")
        #expect(got.files.isEmpty, "files in the mailbox addressed to the stranger: \(got.files) carrying \(got.ops) ops")
        for n in [a, b] {
            let peers = try n.undelivered()
            #expect(peers[stranger.id.description] == nil, "\(n.name) lists the stranger as a peer: \(peers.keys)")
            #expect(peers.count == 1, "\(n.name) peers: \(peers)")
        }
    }

    // The stranger names a member as the sender and claims that member holds everything, for
    // ever. Before: A believed it and never sent B anything again.
    @Test func aForgedSenderIsRefusedAndTheLedgerUntouched() throws {
        let box = try Self.mailbox("forged")
        defer { try? FileManager.default.removeItem(atPath: box) }
        let (a, b, project) = try Self.settledPair(box)
        let bID = try #require(NodeID(string: b.id)), aID = try #require(NodeID(string: a.id))
        let stranger = MailboxStranger()
        let forged = try stranger.drop(in: box, to: [a], project: project, sender: bID,
                                       vector: VersionVector([aID.signingKey: 1 << 40, bID.signingKey: 1 << 40]))

        let j = try Self.sync(a, box, "with the forged bundle")
        let failed = j["failed"] as? [String] ?? []
        #expect(failed.contains { $0.hasPrefix(forged) && $0.contains("signed") }, "A did not refuse the forged header: \(j)")
        try a.ok(["case", "add", "--title", "After the forgery", "--person", "Данияр Проверкин"])
        let before = try b.caseIDs().count
        for n in [a, b, a, b] { _ = try Self.sync(n, box, "after a new case") }
        #expect(try b.caseIDs().count == before + 1, "B never got A's new case: A believed the forged acknowledgement")
        let owed = try a.undelivered()
        #expect(owed[b.id] == 0, "A still owes B ops: \(owed)")
    }

    // A revoked member (say, a seized laptop) gets no new bundle through the mailbox, and the
    // bundle already waiting for it is taken off the stick. Before: that bundle stayed until the
    // seized device picked it up.
    @Test func aRevokedMemberGetsNoNewMailboxBundle() throws {
        let box = try Self.mailbox("revoked")
        defer { try? FileManager.default.removeItem(atPath: box) }
        let (a, b, _) = try Self.settledPair(box)
        let c = try BundleNode("C")
        try c.ok(["join", try #require(a.status()["project"] as? String)])
        try a.ok(["member", "add", c.id, "--role", "coordinator"])
        for round in 1...3 { for n in [a, b, c] { _ = try Self.sync(n, box, "with C \(round)") } }
        #expect(try c.opCount() == (try a.opCount()), "C did not settle")
        let cKeys = try KeyFile.open(try #require(c.home.bytes(c.home.keyPath)), passphrase: SecureBytes(Array(Home.passphrase.utf8)))
        let seizedC = MailboxReader(box: cKeys.box)

        // A writes a case and leaves a bundle for C on the stick; C's laptop is seized before it syncs.
        let cCases = try c.caseIDs()
        try a.ok(["case", "add", "--title", "Written before the seizure", "--person", "Алия Ждущая"])
        let pending = try Self.sync(a, box, "before the revocation")
        #expect((pending["written"] as? [String] ?? []).count == 2, "A wrote no bundle to B and C: \(pending)")
        try #require(!seizedC.harvest(box).files.isEmpty, "no bundle for C waits on the stick")

        try a.ok(["member", "revoke", c.id])
        try a.ok(["case", "add", "--title", "Not for the seized laptop", "--person", "Ержан Секретов"])
        // C's node does not know it was revoked: it keeps syncing, and keeps writing to A and B.
        for n in [a, b, c, a, b, c] { _ = try Self.sync(n, box, "after the revocation") }
        let got = seizedC.harvest(box)
        print("BundleMembershipCLITests: after revocation the revoked member can open \(got.files.count) mailbox file(s), \(got.ops) op(s)")
        #expect(got.files.isEmpty, "mailbox files still addressed to the revoked member: \(got.files), \(got.ops) ops")
        #expect(try c.caseIDs() == cCases, "the revoked member received the case written after its revocation")
        for n in [a, b] {
            #expect(try n.undelivered()[c.id] == nil, "\(n.name) still lists the revoked member as a peer")
        }
    }

    // A FIFO named like a bundle would block `open` for ever; a device is not a file either.
    @Test func aFifoOrDeviceOnTheStickIsSkippedNotHungOn() throws {
        let box = try Self.mailbox("fifo")
        defer { try? FileManager.default.removeItem(atPath: box) }
        let (a, b, _) = try Self.settledPair(box)
        let fifo = box + "/0000000000000000.sqb"
        try #require(mkfifo(fifo, 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
        try #require(symlink("/dev/zero", box + "/0000000000000001.sqb") == 0)
        try a.ok(["case", "add", "--title", "Past the pipe"])

        let t0 = Date()
        let r = try CLI.run(["usb", "sync", box, "--json", "--home", a.home.path], env: ["SANDYQ_PASSPHRASE": a.home.passphrase], timeout: 30)
        let seconds = Date().timeIntervalSince(t0)
        print("BundleMembershipCLITests: usb sync with a FIFO and a device in the mailbox: exit \(r.code) in \(String(format: "%.2f", seconds)) s")
        #expect(!r.timedOut, "usb sync hung on the FIFO: \(r)")
        #expect(r.code == 0, "\(r)")
        let j = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
        let notes = (j?["notes"] as? [String] ?? []).joined(separator: "\n")
        #expect(notes.contains("0000000000000000.sqb") && notes.contains("0000000000000001.sqb"), "no note about the skipped files: \(r)")
        #expect((j?["written"] as? [String] ?? []).count == 1, "A wrote no bundle for B past the FIFO: \(r)")
        let before = try b.caseIDs().count
        let rb = try CLI.run(["usb", "sync", box, "--home", b.home.path], env: ["SANDYQ_PASSPHRASE": b.home.passphrase], timeout: 30)
        #expect(!rb.timedOut && rb.code == 0, "\(rb)")
        #expect(try b.caseIDs().count == before + 1)

        // Named directly, it is refused at once with a clear error.
        let direct = try CLI.run(["bundle", "import", fifo, "--home", a.home.path], env: ["SANDYQ_PASSPHRASE": a.home.passphrase], timeout: 30)
        #expect(!direct.timedOut, "bundle import hung on the FIFO: \(direct)")
        #expect(direct.code == 66 && direct.output.contains("not a regular file"), "\(direct)")
    }
}

/// Whoever holds a box key, reading every bundle in a mailbox folder that opens for it.
struct MailboxReader {
    let box: BoxKeyPair
    func harvest(_ dir: String) -> (files: [String], ops: Int) {
        var files: [String] = [], ops = 0
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where name.hasSuffix(".sqb") {
            guard let r = try? BundleReader(path: dir + "/" + name, keys: box) else { continue }
            files.append(name)
            while let batch = try? r.next() { ops += batch.count }
        }
        return (files, ops)
    }
}
