import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqNode

extension NodeFixture {
    /// Sends `from` what `to` lacks, the way a transport does; returns how many ops were new to `to`.
    @discardableResult
    static func sync(_ from: Node, to: Node) throws -> Int {
        let missing = try from.envelopes(missingFrom: try to.versionVector())
        let report = try to.importEnvelopes(missing)
        #expect(report.refused.isEmpty, "refused: \(report.refused.map { "\($0.reason)" })")
        return report.new
    }

    static func syncBothWays(_ a: Node, _ b: Node) throws {
        try sync(a, to: b)
        try sync(b, to: a)
    }

    /// The repository's seeds/cases.json.
    static var seedCasesURL: URL { PackagePaths.seedCases }

    /// A digest of what a view shows of its cases (every register's survivors, every set's
    /// present elements), comparable across readers: unlike `ProjectView.digest` it leaves out
    /// the project name, which createProject seals to the founder alone.
    static func caseDigest(_ v: ProjectView) -> String {
        var w = ByteWriter()
        for id in v.cases.keys.sorted() { write(v.cases[id]!, into: &w) }
        return Hex.encode(Hash.blake2b(w.bytes))
    }

    /// One case as `caseDigest` hashes it: its id, every register's survivors, every set's present elements.
    static func write(_ c: CaseState, into w: inout ByteWriter) {
        w.raw(c.id.bytes)
        for (path, reg) in c.registers.sorted(by: { $0.key < $1.key }) {
            w.string(path.collection); w.string(path.element); w.string(path.field)
            let s = reg.survivors
            w.varint(UInt64(s.count))
            for x in s { w.raw(x.op.bytes); w.string(x.value) }
        }
        for coll in c.sets.keys.sorted() {
            w.string(coll)
            let present = c.elements(coll)
            w.varint(UInt64(present.count))
            for e in present { w.string(e) }
        }
    }
}
