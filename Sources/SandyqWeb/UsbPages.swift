import Foundation
import Hummingbird
import NIOPosix
import SandyqCore
import SandyqNode
import Synchronization

/// "Sync with this stick": the person picks a mounted stick (or types its folder), presses one
/// button, watches a bar per bundle, and reads the result in plain words. The mailbox is the
/// `sandyq` folder on the stick, as `sandyq usb sync` documents it.
enum UsbPages {
    /// One sync of one session, run off the event loop; the pages read it while it runs.
    struct Job {
        struct Bundle {
            var file: String
            var writing: Bool
            var finished: Bool
        }
        var running = true
        var bundles: [Bundle] = []
        /// Computed before the sync holds the node, so pages shown meanwhile need not wait for it.
        var canWrite: Bool
        var before: Set<CaseID>
        var outcome: Result<ExchangeService.MailboxResult, NodeError>?
        var folder: String
    }

    struct State {
        var jobs: [String: Job] = [:]
        var folders: [String: String] = [:]
    }

    static let state = Mutex(State())

    /// Where removable media are mounted: each folder in them is a stick to offer.
    static func sticks() -> [String] {
        let user = ProcessInfo.processInfo.environment["USER"] ?? ""
        var roots = ["/media", "/run/media"]
        if !user.isEmpty { roots = ["/media/\(user)", "/run/media/\(user)"] + roots }
        var out: [String] = []
        let fm = FileManager.default
        for root in roots {
            for name in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where !name.hasPrefix(".") {
                let path = root + "/" + name
                var isDir: ObjCBool = false
                // /media/USER holds the user's sticks; it is not one itself.
                guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue, !roots.contains(path) else { continue }
                if !out.contains(path) { out.append(path) }
            }
        }
        return out
    }

    static func page(_ v: Visit, host: NodeHost, folder: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        guard let sid = v.session?.id else { return Pages.redirect("/unlock") }
        let (job, remembered) = state.withLock { ($0.jobs[sid], $0.folders[sid]) }
        var c: [String: Any]
        if let job, job.running {
            c = v.frame(title: v.t("usb.title"), unlocked: true, canWrite: job.canWrite)
            c["refresh"] = true
        } else {
            c = v.frame(title: v.t("usb.title"), unlocked: true)
        }
        if let job { c.merge(progress(v, job)) { _, b in b } }
        if let job, !job.running, let outcome = job.outcome { c.merge(result(v, host: host, job: job, outcome)) { _, b in b } }
        let chosen = folder ?? remembered ?? ""
        let found = sticks()
        c["sticks"] = found.map { ["path": $0, "id": "stick-\(Hex.encode(Array($0.utf8)).prefix(24))", "checked": $0 == chosen] }
        c["hasSticks"] = !found.isEmpty
        if !found.contains(chosen), !chosen.isEmpty { c["typed"] = chosen }
        if let error {
            c["error"] = error
            c["hasErrors"] = true
        }
        return Pages.html(Templates.render("usb", c), status: status)
    }

    /// The bars: one per bundle, full when it is done.
    static func progress(_ v: Visit, _ job: Job) -> [String: Any] {
        var c: [String: Any] = ["running": job.running]
        c["bundles"] = job.bundles.map { b -> [String: Any] in
            let label = v.t(b.writing ? (b.finished ? "usb.written" : "usb.writing") : (b.finished ? "usb.read" : "usb.reading"),
                            ["file": String(b.file.prefix(8))])
            return ["label": label, "value": b.finished ? "1" : "0", "id": "bundle-\(b.file.prefix(16))"]
        }
        c["hasBundles"] = !job.bundles.isEmpty
        return c
    }

    /// What the sync did, in words a person reads once.
    static func result(_ v: Visit, host: NodeHost, job: Job, _ outcome: Result<ExchangeService.MailboxResult, NodeError>) -> [String: Any] {
        var lines: [String] = []
        var problems: [String] = []
        switch outcome {
        case .failure(let e):
            return ["hasErrors": true, "error": v.t("usb.err.failed", ["reason": Pages.reason(v, e)])]
        case .success(let r):
            if let view = try? host.view(), !host.isWriteOnly {
                let new = view.cases.filter { !job.before.contains($0.key) }.map(\.value)
                let authors = Set(new.compactMap { s in s.registers.values.flatMap(\.history).min { $0.clock < $1.clock }?.author })
                lines.append(v.t("usb.result.cases", ["n": "\(new.count)", "p": "\(authors.count)"]))
            }
            let ops = r.imported.reduce(0) { $0 + $1.report.new }
            lines.append(ops == 0 ? v.t("usb.result.nothingNew", ["written": "\(r.written.count)"])
                : v.t("usb.result.items", ["n": "\(ops)", "read": "\(r.imported.count)", "written": "\(r.written.count)"]))
            let me = host.nodeID.signingKey
            let made = (try? host.exchange.versionVector())?[me] ?? 0
            let coordinators = ((try? host.exchange.peers()) ?? []).filter { $0.role == .coordinator }
            if !coordinators.isEmpty {
                let acked = coordinators.map { $0.acknowledged[me] }.max() ?? 0
                lines.append(made > acked ? v.t("usb.result.waiting", ["n": "\(made - acked)"]) : v.t("usb.result.allReceived"))
            }
            if !r.skipped.isEmpty { lines.append(v.t("usb.result.skipped", ["n": "\(r.skipped.count)"])) }
            for f in r.failures { problems.append(v.t("usb.result.failed", ["file": String(f.0.prefix(8)), "reason": Pages.reason(v, f.1)])) }
            if !r.notes.isEmpty { problems.append(v.t("usb.result.notes", ["n": "\(r.notes.count)"])) }
        }
        var c: [String: Any] = ["done": true, "lines": lines]
        if !problems.isEmpty { c["problems"] = problems }
        return c
    }

    /// The sync's progress alone, for the page's script to put in place of the bars.
    static func fragment(_ v: Visit) -> Response {
        guard let sid = v.session?.id, let job = state.withLock({ $0.jobs[sid] }) else { return Pages.html("") }
        var c = progress(v, job)
        c["t"] = v.cat.templateTable(v.lang)
        return Pages.html(Templates.render("usbProgress", c), status: job.running ? .accepted : .ok)
    }

    /// Checks the folder, then starts the sync and shows its page (which refreshes itself while it runs).
    static func start(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        guard let sid = v.session?.id else { return Pages.redirect("/unlock") }
        if state.withLock({ $0.jobs[sid]?.running == true }) { return Pages.redirect("/usb") }
        let typed = (fields["typed"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let picked = fields["stick"] ?? ""
        let folder = !typed.isEmpty ? typed : (picked == "typed" ? "" : picked)
        if folder.isEmpty { return page(v, host: host, error: v.t("usb.err.none"), status: .unprocessableContent) }
        state.withLock { $0.folders[sid] = folder }
        var isDir: ObjCBool = false
        guard folder.hasPrefix("/"), FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            return page(v, host: host, folder: folder, error: v.t("usb.err.missing", ["folder": folder]), status: .unprocessableContent)
        }
        let box = folder + "/sandyq"
        if !FileManager.default.fileExists(atPath: box) { try? FileManager.default.createDirectory(atPath: box, withIntermediateDirectories: false) }
        guard access(box, W_OK) == 0 else {
            return page(v, host: host, folder: folder, error: v.t("usb.err.readonly", ["folder": folder]), status: .unprocessableContent)
        }
        let before = host.isWriteOnly ? [] : Set((try? host.view())?.cases.keys ?? [])
        state.withLock { $0.jobs[sid] = Job(canWrite: Visit.canWrite(host), before: before, folder: folder) }
        Task.detached {
            let outcome = try? await NIOThreadPool.singleton.runIfActive {
                Result { () throws(NodeError) -> ExchangeService.MailboxResult in
                    try host.exchange.syncMailbox(box) { step in
                        state.withLock { s in
                            if let i = s.jobs[sid]?.bundles.firstIndex(where: { $0.file == step.file && $0.writing == step.writing }) {
                                s.jobs[sid]?.bundles[i].finished = step.finished
                            } else {
                                s.jobs[sid]?.bundles.append(.init(file: step.file, writing: step.writing, finished: step.finished))
                            }
                        }
                    }
                }
            }
            state.withLock { s in
                s.jobs[sid]?.running = false
                s.jobs[sid]?.outcome = outcome ?? .failure(NodeError(.failure, "-"))
            }
        }
        return Pages.redirect("/usb")
    }
}
