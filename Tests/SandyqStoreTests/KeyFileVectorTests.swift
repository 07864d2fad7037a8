import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqStore

/// Protocol/vectors/keyfile/*.txt (scripts/vectors/gen_keyfile_vectors.py): key files built
/// outside the Swift code, each opened as the spec says.
@Suite struct KeyFileVectorTests {
    static let directory = Vectors.folder("keyfile")

    static let names: [String] = Vectors.names(in: directory)

    static func fields(_ name: String) throws -> [String: String] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    @Test func everyOutcomeIsCovered() throws {
        let expects = Set(try Self.names.map { try Self.fields($0)["expect"] ?? "" })
        #expect(expects == ["ok", "authentication_failed", "malformed", "duress"], "\(expects)")
    }

    @Test(arguments: names)
    func vector(_ name: String) throws {
        let f = try Self.fields(name)
        #expect(f["area"] == "keyfile")
        let file = try #require(f["file"].flatMap(Hex.decode), "\(name)")
        let passphrase = SecureBytes(try #require(f["passphrase"].flatMap(Hex.decode), "\(name)"))
        switch f["expect"] {
        case "ok":
            let id = try KeyFile.open(file, passphrase: passphrase)
            #expect(Hex.encode(id.signing.publicKey.bytes) == f["signing_public_key"], "\(name)")
            #expect(Hex.encode(id.box.publicKey.bytes) == f["box_public_key"], "\(name)")
            #expect(Hex.encode(id.storageKey.secret.unsafeCopy) == f["storage_key"], "\(name)")
            #expect(id.writeOnly == (f["write_only"] == "1"), "\(name)")
            #expect(id.recordsMode == (f["records_mode"] == "1"), "\(name)")
            // What this build writes for the same identity opens to the same, at the spec's size.
            let again = try KeyFile.seal(id, passphrase: passphrase, parameters: .minimum)
            #expect(again.count == 232)
            let back = try KeyFile.open(again, passphrase: passphrase)
            #expect(back.writeOnly == id.writeOnly && back.recordsMode && back.signing.publicKey == id.signing.publicKey)
        case "authentication_failed":
            #expect(storeError { _ = try KeyFile.open(file, passphrase: passphrase) } == .wrongPassphrase, "\(name)")
        case "duress":
            #expect(storeError { _ = try KeyFile.open(file, passphrase: passphrase) } == .duress, "\(name)")
        case "malformed":
            guard case .corrupt? = storeError({ _ = try KeyFile.open(file, passphrase: passphrase) }) else {
                Issue.record("\(name): not corrupt"); return
            }
        default:
            Issue.record("\(name): unknown expect \(f["expect"] ?? "-")")
        }
    }
}
