import Foundation
import Synchronization
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
@testable import SandyqNode

@Suite("NodeHost shared between threads")
struct NodeHostTests {
    static func secret() -> SecureBytes { RoleKit.secret(RoleKit.passphrase) }

    @Test("two threads hammer one host (writes; reads and a bundle import) and the view equals a sequential rebuild from the log")
    func twoThreads() throws {
        let dir = try TempDir()
        let host = try NodeHost.initialize(home: dir.sub("c"), passphrase: Self.secret(), parameters: .minimum)
        let pid = try host.admin.createProject(name: "Общий узел")
        // A second coordinator records cases the host will import from a bundle.
        let o = try RoleKit.make(dir, "o")
        try o.join(pid)
        try host.members.add(o.nodeID, role: .coordinator)
        let toO = try host.exchange.exportBundle(to: [o.nodeID], out: dir.sub("to-o.sqb"))
        _ = try o.importBundle(toO.files[0])
        for i in 0..<10 { _ = try o.addCase(RoleKit.doc("Дело O-\(i)", person: "Человек O-\(i)")) }
        let bundle = try o.exportBundle(to: [host.nodeID], out: dir.sub("from-o.sqb")).files[0]
        let before = try host.opCount()

        let writes = 20
        let failures = Mutex<[String]>([])
        let written = Mutex<[CaseID]>([])
        let imported = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            do {
                if worker == 0 {
                    for i in 0..<writes {
                        let id = try host.cases.add(RoleKit.doc("Дело \(i)", person: "Человек \(i)"))
                        written.withLock { $0.append(id) }
                    }
                } else {
                    for i in 0..<writes {
                        // Every read sees a view consistent with the log at that moment.
                        let v = try host.view()
                        #expect(v.cases.count <= writes + 10)
                        _ = try host.cases.list()
                        _ = try host.exchange.versionVector()
                        if i == writes / 2 {
                            let r = try host.exchange.importBundle(bundle)
                            imported.withLock { $0 = r.report.new }
                        }
                    }
                }
            } catch {
                failures.withLock { $0.append("worker \(worker): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // O's ten cases and the reader-key announcement its first write carried.
        #expect(imported.withLock { $0 } == 11)
        let ids = written.withLock { $0 }
        #expect(ids.count == writes)
        #expect(try host.opCount() == before + writes + 11)

        // Sequentially, from the log alone: a fresh unlock derives the same view.
        let warm = try host.view()
        let fresh = try NodeHost.open(home: host.home, passphrase: Self.secret()).view()
        #expect(warm.digest == fresh.digest)
        #expect(fresh.cases.count == writes + 10)
        #expect(ids.allSatisfy { fresh.cases[$0] != nil })
        #expect(try host.admin.chainGaps().isEmpty)
    }
}
