import ArgumentParser
import Foundation
import SandyqNode

/// `sandyq loss-risk`: what a seizure of one device tomorrow would take with it.
struct LossRiskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss-risk",
        abstract: "List the ops and evidence files only one device is known to hold (exit 0 either way).",
        discussion: "From this node's knowledge: its own ops, what each member last said it holds, and who said they hold which file. A member not heard from lately may hold more than it shows.")
    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions

    struct Replica: Encodable { var node: String; var fingerprint: String; var role: String?; var held: UInt64; var behind: UInt64; var heardAt: String?; var thisNode: Bool }
    struct Author: Encodable {
        var author: String; var fingerprint: String; var role: String?; var known: UInt64; var soleOps: UInt64; var soleHolder: String?
        var replicas: [Replica]
    }
    struct File: Encodable { var fid: String; var name: String?; var caseRef: String?; var holders: [String]; var here: Bool }
    struct Out: Encodable { var authors: [Author]; var files: [File] }

    static func iso(_ ms: Int64?) -> String? {
        guard let ms else { return nil }
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    func run() throws {
        try sandyq.run {
            let r = try node.open().exchange.lossRisk()
            let out = Out(
                authors: r.authors.map { a in
                    Author(author: Hex.encode(a.author.bytes), fingerprint: a.fingerprint, role: a.role?.rawValue, known: a.known,
                           soleOps: a.soleOps, soleHolder: a.soleHolder?.node.fingerprint,
                           replicas: a.replicas.map {
                               Replica(node: $0.node.description, fingerprint: $0.node.fingerprint, role: $0.role?.rawValue, held: $0.held,
                                       behind: $0.behind, heardAt: Self.iso($0.heardAtMillis), thisNode: $0.isThisNode)
                           })
                },
                files: r.files.map { File(fid: $0.fid, name: $0.name, caseRef: $0.caseRef, holders: $0.holders.map(\.fingerprint), here: $0.here) })
            if output.json { try printJSON(out); return }
            let risky = r.atRisk
            if risky.isEmpty && r.files.isEmpty { say("Nothing is known to be held by one device only."); return }
            for a in risky {
                guard let h = a.soleHolder else { continue }
                let who = "\(a.role?.rawValue ?? "author") \(a.fingerprint)"
                if h.isThisNode {
                    say("\(a.soleOps) op(s) by \(who) exist only on this device: sync or carry a stick")
                } else {
                    let since = Self.iso(h.heardAtMillis).map { ", last heard from \($0)" } ?? ""
                    say("\(a.soleOps) op(s) by \(who) exist only on \(h.node.fingerprint) (\(h.role?.rawValue ?? "?"))\(since)")
                }
            }
            for f in r.files {
                let what = "file \(f.fid.prefix(8))\(f.name.map { " (\($0)" + (f.caseRef.map { ", case \($0)" } ?? "") + ")" } ?? "")"
                if f.here { say("\(what): held whole only on this device") }
                else if let h = f.holders.first { say("\(what): held whole only on \(h.fingerprint)") }
                else { say("\(what): no device said it holds it whole") }
            }
        }
    }
}
