import Foundation
import SandyqCore
import SandyqTestSupport
import Testing

@testable import SandyqNode

/// Protocol/vectors/evidence/manifest_*.txt: an export directory, written out as the vector
/// gives it, and what `evidence verify-manifest` must say of it.
@Suite struct ManifestVectorTests {
    static let folder = Vectors.folder("evidence")

    static func verdict(_ c: ManifestCheck) -> String {
        if c.ok { return "ok" }
        if c.problems.contains(where: { $0.contains("signature does not verify") }) { return "bad_signature" }
        if c.problems.contains(where: { $0.contains("not a plain file name") }) { return "bad_path" }
        if c.problems.contains(where: { $0.hasSuffix(": missing") }) { return "missing" }
        if c.problems.contains(where: { $0.contains("is not the manifest's") }) { return "file_mismatch" }
        return "other: \(c.problems)"
    }

    @Test func everyVectorGivesItsVerdict() throws {
        let names = Vectors.names(in: Self.folder).filter { $0.hasPrefix("manifest_") }
        #expect(names.count >= 8, "the manifest vectors are missing: run scripts/vectors/gen_evidence_vectors.py")
        var seen: Set<String> = []
        for name in names {
            let h = try Vectors.header(try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8), name)
            let dir = try TempDir()
            try Data(try Vectors.hex(h["manifest"] ?? "")).write(to: URL(fileURLWithPath: dir.file("manifest.json")))
            try Data(try Vectors.hex(h["sig"] ?? "")).write(to: URL(fileURLWithPath: dir.file("manifest.sig")))
            for (k, v) in h where k.hasPrefix("file.") {
                try Data(try Vectors.hex(v)).write(to: URL(fileURLWithPath: dir.file(String(k.dropFirst(5)))))
            }
            let got = Self.verdict(try Node.verifyManifest(dir.path))
            #expect(got == h["expect"], "\(name): \(h["comment"] ?? "")")
            seen.insert(got)
        }
        #expect(seen == ["ok", "bad_signature", "file_mismatch", "missing", "bad_path"])
    }
}
