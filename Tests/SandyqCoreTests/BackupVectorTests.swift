import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto

/// Protocol/vectors/backup/*.txt (scripts/vectors/gen_backup_vectors.py): share files given to a
/// restore, and what they rebuild or why they are refused, computed outside the Swift code.
@Suite struct BackupVectorTests {
    static let directory = Vectors.folder("backup")
    static let names: [String] = Vectors.names(in: directory)

    static func fields(_ name: String) throws -> [String: String] {
        try Vectors.header(String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8), name)
    }

    static func hexList(_ s: String?, _ name: String) throws -> [[UInt8]] {
        try #require(s, "\(name)").split(separator: " ").map { try Vectors.hex(String($0), context: name) }
    }

    /// What restoring from `given` gives: the backup, or the refusal's class.
    static func restore(_ given: [[UInt8]]) -> Result<NodeBackup, CoreError> {
        do {
            let shares = try given.enumerated().map { i, b throws(CoreError) in (name: "file \(i + 1)", share: try BackupShare(reading: b)) }
            return .success(try NodeBackup.combine(shares))
        } catch { return .failure(error) }
    }

    @Test func everyOutcomeIsCovered() throws {
        let seen = Set(try Self.names.map { try Self.fields($0)["expect"] ?? "" })
        #expect(seen == Set(BackupShare.Problem.allCases.map(\.rawValue) + ["ok"]), "\(seen)")
        #expect(Self.names.count >= 15)
    }

    @Test(arguments: names)
    func vector(_ name: String) throws {
        let f = try Self.fields(name)
        #expect(f["area"] == "backup")
        let expect = try #require(f["expect"])
        let given = try Self.hexList(f["given"], name)
        switch Self.restore(given) {
        case let .failure(e):
            guard case let .backupShare(problem, message) = e else { Issue.record("\(name): not a backup refusal: \(e)"); return }
            #expect(problem.rawValue == expect, "\(name): \(message)")
            #expect(e.code == "backup." + expect.replacingOccurrences(of: "_", with: "-"))
        case let .success(b):
            #expect(expect == "ok", "\(name): rebuilt a node, expected \(expect)")
            guard expect == "ok" else { return }
            #expect(b.secret.unsafeCopy == (try Vectors.hex(f["secret"] ?? "")), "\(name)")
            #expect(b.signingPublicKey.bytes == (try Vectors.hex(f["signing_public_key"] ?? "")), "\(name)")
            #expect(try BoxKeyPair(secretKey: b.boxSecret).publicKey.bytes == (try Vectors.hex(f["box_public_key"] ?? "")), "\(name)")
            #expect(b.project.bytes == (try Vectors.hex(f["project"] ?? "")), "\(name)")
            #expect(b.networkKey.secret.unsafeCopy == (try Vectors.hex(f["network_key"] ?? "")), "\(name)")
            #expect(b.writeOnly == (f["write_only"] == "1"), "\(name)")
            // Version 2 carries the reader key; version 1 none.
            #expect(b.reader.map { String($0.epoch) } == f["reader_epoch"], "\(name)")
            #expect(try b.reader.map { try BoxKeyPair(secretKey: $0.secret).publicKey.bytes } == f["reader_public_key"].map { try Vectors.hex($0) }, "\(name)")
            // Version 3 carries the retired reader keys, newest first; below it none.
            #expect(b.retired.map { String($0.epoch) }.joined(separator: " ") == (f["retired_epochs"] ?? ""), "\(name)")
            #expect(try b.retired.map { try BoxKeyPair(secretKey: $0.secret).publicKey.bytes } == (try f["retired_public_keys"].map { try Self.hexList($0, name) } ?? []), "\(name)")
            // A split to reproduce, byte for byte, from the generator's coefficients.
            if let k = f["threshold"].flatMap(Int.init), let n = f["count"].flatMap(Int.init) {
                let coefficients = try Vectors.hex(f["coefficients"] ?? "")
                let made = try b.split(threshold: k, count: n, backupID: try Vectors.hex(f["backup_id"] ?? ""), coefficients: { _ in coefficients })
                #expect(made.map(\.bytes) == (try Self.hexList(f["shares"], name)), "\(name): the split differs")
                // And the text form the generator printed for share 1 reads back to the same share.
                #expect(try BackupShare(text: made[0].text) == made[0])
            }
        }
    }

    /// The text forms in the vectors are what this build prints.
    @Test func textFormsAreWrittenAsTheGeneratorWritesThem() throws {
        let f = try Self.fields("backup_ok_text.txt")
        for file in try Self.hexList(f["given"], "backup_ok_text.txt") {
            let s = try BackupShare(reading: file)
            #expect(Array(s.text.utf8) == file)
        }
    }
}
