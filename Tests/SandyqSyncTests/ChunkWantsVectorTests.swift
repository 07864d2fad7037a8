import Foundation
import SandyqCore
import SandyqSync
import SandyqTestSupport
import Testing

/// Protocol/vectors/evidence/want_*.txt: a chunk session's `want` body, read and written.
@Suite struct ChunkWantsVectorTests {
    static let folder = Vectors.folder("evidence")

    static func summary(_ w: ChunkWants) -> [String: String] {
        ["everything": w.everything ? "1" : "0",
         "files": w.files.map { "\(Hex.encode($0.fileID)):\($0.count):\($0.missing.map(String.init).joined(separator: "."))" }
            .joined(separator: ",")]
    }

    @Test func everyVectorGivesItsVerdict() throws {
        let names = Vectors.names(in: Self.folder).filter { $0.hasPrefix("want_") }
        #expect(names.count >= 10, "the want vectors are missing: run scripts/vectors/gen_evidence_vectors.py")
        var seen: Set<String> = []
        for name in names {
            let h = try Vectors.header(try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8), name)
            let body = try Vectors.hex(h["body"] ?? "")
            guard let w = try? ChunkWants.decode(body) else {
                #expect(h["expect"] == "malformed", "\(name): \(h["comment"] ?? "")")
                seen.insert("malformed")
                continue
            }
            #expect(h["expect"] == "ok", "\(name): \(h["comment"] ?? "")")
            for (k, v) in Self.summary(w) { #expect(h[k] == v, "\(name): \(k)") }
            #expect(w.encoded() == body, "\(name): a decoded want encodes back to its bytes")
            seen.insert("ok")
        }
        #expect(seen == ["ok", "malformed"])
    }
}
