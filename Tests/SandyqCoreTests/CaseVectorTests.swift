import Foundation
import Testing
@testable import SandyqCore
import SandyqCrypto

/// Protocol/cases.md's merge, read two ways: the vectors of Protocol/vectors/cases/
/// (scripts/vectors/gen_case_vectors.py, written from the spec) against the real payload
/// decoder and CaseState, in several arrival orders.
@Suite struct CaseVectorTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Protocol/vectors/cases", isDirectory: true)
    static let names: [String] = {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".txt") }.sorted()
    }()

    struct Bad: Error, CustomStringConvertible { let description: String }

    static func fields(_ name: String) throws -> [String: String] {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        guard text.hasSuffix("\n\n"), !text.dropLast(2).contains("\n\n") else { throw Bad(description: "\(name): one blank line at the end") }
        var out: [String: String] = [:]
        for line in text.dropLast(2).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { throw Bad(description: "\(name): \(line)") }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        return out
    }

    static func hex(_ s: String, _ what: String) throws -> [UInt8] {
        guard let b = Hex.decode(s) else { throw Bad(description: "\(what) is not hex") }
        return b
    }

    @Test func catalog() {
        #expect(Self.names == ["cases_create.txt", "cases_markers.txt", "cases_orset_add_wins.txt", "cases_register_conflict.txt"])
    }

    @Test(arguments: names)
    func vector(_ name: String) throws {
        let f = try Self.fields(name)
        #expect(f["area"] == "cases" && f["expect"] == "ok", "\(name)")
        let cid = try CaseID(bytes: try Self.hex(f["case"] ?? "", "case"))
        var ops: [(op: OpID, author: SigningPublicKey, payload: Payload)] = []
        for item in (f["ops"] ?? "").split(separator: ",") {
            let b = try Self.hex(String(item), "op")
            ops.append((try OpID(bytes: Array(b[0..<32])), try SigningPublicKey(bytes: Array(b[32..<64])), try Payload(decoding: Array(b[64...]))))
        }
        #expect(!ops.isEmpty)
        let canonical = try Self.hex(f["canonical"] ?? "", "canonical")
        let present = try (f["present"] ?? "").split(separator: ",").map { String(decoding: try Self.hex(String($0), "present"), as: UTF8.self) }
        let rotated = Array(ops.dropFirst(ops.count / 2) + ops.prefix(ops.count / 2))
        for order in [ops, ops.reversed(), rotated] {
            var state = CaseState(id: cid)
            for o in order {
                for m in o.payload.mutations {
                    switch m {
                    case let .put(c, _, _, _), let .add(c, _, _), let .remove(c, _, _, _):
                        if c == cid { state.apply(m, op: o.op, author: o.author, clock: o.payload.clock) }
                    case .projectName, .grant, .withdrawalNote, .withdrawnCases, .withdrawnElement: break
                    }
                }
            }
            var w = ByteWriter()
            state.canonical(into: &w)
            #expect(w.bytes == canonical, "\(name): canonical form")
            let shown = state.sets.keys.sorted().flatMap { coll in state.elements(coll).map { "\(coll)/\($0)" } }
            #expect(shown == present, "\(name): present elements")
        }
    }
}
