import Foundation
import SandyqCore
import SandyqCrypto
import SandyqTestSupport
import Testing

/// Protocol/vectors/evidence/: each chunk object and what a reader must conclude from it.
@Suite struct EvidenceVectorTests {
    static let folder = Vectors.folder("evidence")

    static func verdict(_ h: [String: String]) throws -> (String, [UInt8]?) {
        let bytes = try Vectors.hex(h["chunk"] ?? "")
        let chunk: EvidenceChunk
        do { chunk = try EvidenceChunk.decode(bytes) } catch {
            if case .unsupportedVersion = error { return ("unsupported_version", nil) }
            return ("malformed", nil)
        }
        #expect(chunk.encoded() == bytes, "a decoded chunk encodes back to its bytes")
        let project = try Vectors.hex(h["project"] ?? ""), fid = try Vectors.hex(h["fid"] ?? "")
        guard chunk.project == project, chunk.fileID == fid, chunk.index == UInt32(h["index"] ?? ""),
              chunk.count == UInt32(h["count"] ?? "") else { return ("misplaced", nil) }
        let key = try SymmetricKey(SecureBytes(try Vectors.hex(h["key"] ?? "")))
        guard let plain = try? chunk.open(key: key) else { return ("authentication_failed", nil) }
        return ("ok", plain)
    }

    /// A holding statement's verdict; for one that reads, its fields as the vector writes them.
    static func heldVerdict(_ h: [String: String]) throws -> (String, [String: String]) {
        let bytes = try Vectors.hex(h["statement"] ?? "")
        let s: EvidenceHeld
        do { s = try EvidenceHeld.decode(bytes) } catch {
            switch error {
            case .unsupportedVersion: return ("unsupported_version", [:])
            case .badSignature: return ("bad_signature", [:])
            default: return ("malformed", [:])
            }
        }
        #expect(s.encoded() == bytes, "a decoded statement encodes back to its bytes")
        let files = s.files.map { "\(Hex.encode($0.fileID)):\($0.count):\($0.verified ? 1 : 0)" }.joined(separator: ",")
        return ("ok", ["holder": Hex.encode(s.holder.bytes), "created": String(s.createdMillis), "files": files])
    }

    @Test("every holding statement vector gives its verdict and its fields")
    func everyHeldVector() throws {
        let names = Vectors.names(in: Self.folder).filter { $0.hasPrefix("held_") }
        #expect(names.count >= 13, "the holding statement vectors are missing: run scripts/vectors/gen_evidence_vectors.py")
        var seen: Set<String> = []
        for name in names {
            let h = try Vectors.header(try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8), name)
            let (got, fields) = try Self.heldVerdict(h)
            #expect(got == h["expect"], "\(name): \(h["comment"] ?? "")")
            for (k, v) in fields { #expect(h[k] == v, "\(name): \(k)") }
            seen.insert(got)
        }
        #expect(seen == ["ok", "malformed", "unsupported_version", "bad_signature"])
    }

    @Test("signing the vector's files with the vector's key gives the vector's bytes")
    func heldSignMatchesTheVector() throws {
        let h = try Vectors.header(try String(contentsOf: Self.folder.appendingPathComponent("held_ok.txt"), encoding: .utf8), "held_ok.txt")
        let key = SigningKeyPair(seed: SecureBytes(Array(0x20..<0x40)))
        #expect(Hex.encode(key.publicKey.bytes) == h["holder"])
        let files = (h["files"] ?? "").split(separator: ",").map { f in
            let p = f.split(separator: ":")
            return EvidenceHeld.File(fileID: Hex.decode(String(p[0]))!, count: UInt32(p[1])!, verified: p[2] == "1")
        }
        let s = EvidenceHeld.sign(project: try ProjectID(bytes: Array(0x10..<0x20)), files: files.reversed(),
                                  createdMillis: UInt64(h["created"]!)!, by: key)
        #expect(s.encoded() == (try Vectors.hex(h["statement"]!)))
    }

    @Test func everyVectorGivesItsVerdict() throws {
        let names = Vectors.names(in: Self.folder).filter { $0.hasPrefix("chunk_") }
        #expect(names.count >= 15, "the evidence vectors are missing: run scripts/vectors/gen_evidence_vectors.py")
        var seen: Set<String> = []
        for name in names {
            let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
            let h = try Vectors.header(text, name)
            let (got, plain) = try Self.verdict(h)
            #expect(got == h["expect"], "\(name): \(h["comment"] ?? "")")
            if got == "ok" { #expect(plain == (try Vectors.hex(h["plaintext"] ?? "")), "\(name)") }
            seen.insert(got)
        }
        #expect(seen == ["ok", "malformed", "unsupported_version", "misplaced", "authentication_failed"])
    }

    @Test("sealing with the vector's nonce gives the vector's bytes")
    func sealMatchesTheVector() throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent("chunk_ok.txt"), encoding: .utf8)
        let h = try Vectors.header(text, "chunk_ok.txt")
        let bytes = try Vectors.hex(h["chunk"]!)
        let c = EvidenceChunk.seal(try Vectors.hex(h["plaintext"]!), key: try SymmetricKey(SecureBytes(try Vectors.hex(h["key"]!))),
                                   project: try ProjectID(bytes: try Vectors.hex(h["project"]!)), fileID: try Vectors.hex(h["fid"]!),
                                   index: 1, count: 3, nonce: Array(bytes[41..<65]))
        #expect(c.encoded() == bytes)
    }

    @Test func chunkCounts() {
        #expect(EvidenceChunk.chunkCount(size: 1) == 1)
        #expect(EvidenceChunk.chunkCount(size: 1 << 20) == 1)
        #expect(EvidenceChunk.chunkCount(size: (1 << 20) + 1) == 2)
    }

    @Test("SHA-256 streamed in pieces equals the known digests")
    func sha256() {
        #expect(Hex.encode(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let s = SHA256()
        for p in ["a", "b", "c"] { s.update(Array(p.utf8)) }
        #expect(Hex.encode(s.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("SHA-256 on its own thread gives the same digest, pieces in order, empty ones skipped")
    func pipelinedSHA256() {
        let p = PipelinedSHA256(depth: 2)
        for piece in ["a", "", "b", "c"] { p.update(Array(piece.utf8)) }
        #expect(Hex.encode(p.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(PipelinedSHA256().finalize()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // More pieces than the queue holds, of different sizes: order is kept.
        let pieces = (0..<40).map { i in [UInt8]((0..<(i * 997 % 70_000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) }) }
        let one = SHA256(), two = PipelinedSHA256(depth: 3)
        for q in pieces { one.update(q); two.update(q) }
        #expect(one.finalize() == two.finalize())
    }
}
