import Foundation
import SandyqCore
import SandyqCrypto
@testable import SandyqNode
import Testing
import SandyqTestSupport

/// One member, or a stranger holding a node's box key, tries to fill every disk of the project.
@Suite("Per-author limits: no member or stranger fills the others' disks")
struct AuthorLimitTests {
    static func bigDoc(_ i: Int) -> CaseDocument {
        var d = RoleKit.doc("Дело \(i)", person: "Персона \(i)")
        d.summary = String(repeating: "ж", count: 300_000)      // 600 KB of UTF-8
        return d
    }

    @Test("a reporter's ops beyond the per-member limit are refused by the coordinator; a coordinator's are not")
    func reporterFlood() throws {
        let dir = try TempDir()
        let (c, _) = try RoleKit.founder(dir)
        let r = try RoleKit.make(dir, "r")
        try RoleKit.admit(r, as: .reporter, by: c)
        try c.setAuthorLimits(AuthorLimits(perMember: 2 << 20, awaitingAdmission: 1 << 20))
        for i in 0..<6 { _ = try r.addCase(Self.bigDoc(i)) }
        let report = try c.importEnvelopes(try r.envelopes(missingFrom: try c.versionVector()))
        #expect(report.new == 3, "3 × 600 KB fit in 2 MiB: \(report.new) stored")
        #expect(report.refused.count == 3 && report.refused.allSatisfy { $0.reason.failureClass == "not_allowed" }, "\(report.refused.map(\.reason))")
        let held = try c.store.bytesByAuthor()[r.nodeID.signingKey] ?? 0
        #expect(held <= 2 << 20, "the coordinator holds \(held) bytes of the reporter's")
        // Raising the limit lets the refused ops in at the next sync.
        try c.setAuthorLimits(AuthorLimits(perMember: 8 << 20, awaitingAdmission: 1 << 20))
        #expect(try c.importEnvelopes(try r.envelopes(missingFrom: try c.versionVector())).new == 3)
        // A coordinator in good standing is not limited.
        let c2 = try RoleKit.make(dir, "c2")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try c.setAuthorLimits(AuthorLimits(perMember: 1 << 20, awaitingAdmission: 1 << 20))
        for i in 0..<3 { _ = try c2.addCase(Self.bigDoc(10 + i)) }
        #expect(try c.importEnvelopes(try c2.envelopes(missingFrom: try c.versionVector())).refused.isEmpty)
    }

    @Test("a stranger's ops (never admitted) are stored only up to the awaiting-admission limit, all strangers together")
    func strangerFlood() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        try c.setAuthorLimits(AuthorLimits(perMember: 4 << 20, awaitingAdmission: 1 << 20))
        var stored = 0, refused = 0
        for k in 0..<4 {      // four fresh identities, 3 × 600 KB each
            let s = try RoleKit.make(dir, "s\(k)")
            try s.join(pid)
            let payload = String(repeating: "ы", count: 300_000)
            var w = OpWriter(keys: s.identity.signing, project: pid, seq: 0, prev: .zero, clock: HybridClock())
            var envs: [Envelope] = []
            for _ in 0..<3 {
                let e = w.sealed([.projectName(payload)], readers: [c.nodeID.boxKey], wallMillis: 1)
                envs.append(e)
                w = OpWriter(keys: s.identity.signing, project: pid, seq: e.seq, prev: e.id, clock: HybridClock())
            }
            let r = try c.importEnvelopes(envs)
            stored += r.new; refused += r.refused.count
        }
        #expect(stored == 1 && refused == 11, "stored \(stored), refused \(refused)")
    }

    @Test("a new node's first import holds the admissions of the authors it brings: nothing refused as awaiting admission")
    func firstImportAdmitsInStream() throws {
        let dir = try TempDir()
        let (c, pid) = try RoleKit.founder(dir)
        let c2 = try RoleKit.make(dir, "c2"), r = try RoleKit.make(dir, "r")
        try RoleKit.admit(c2, as: .coordinator, by: c)
        try r.join(pid)
        _ = try c2.addMember(r.nodeID, role: .reporter)      // admitted by a coordinator the new node also meets in this import
        try NodeFixture.sync(c2, to: r)
        for i in 0..<3 { _ = try c2.addCase(Self.bigDoc(i)) }
        for i in 3..<5 { _ = try r.addCase(Self.bigDoc(i)) }
        try NodeFixture.sync(c2, to: c); try NodeFixture.sync(r, to: c)
        // A coordinator admitted just now receives the whole log in one import, membership included.
        let n = try RoleKit.make(dir, "n")
        try n.join(pid)
        _ = try c.addMember(n.nodeID, role: .coordinator)
        try n.setAuthorLimits(AuthorLimits(perMember: 2 << 20, awaitingAdmission: 1 << 20))
        let all = try c.envelopes(missingFrom: try n.versionVector())
        let report = try n.importEnvelopes(all)
        #expect(report.refused.isEmpty, "refused \(report.refused.count): \(report.refused.prefix(2).map(\.reason))")
        #expect(report.new == all.count)
    }
}
