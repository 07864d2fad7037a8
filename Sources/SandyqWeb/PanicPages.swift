import Foundation
import Hummingbird
import NIOPosix
import SandyqNode

/// Panic in two deliberate steps: a page that says what will happen, then the button. Needs a
/// session but not the passphrase: the person may be past unlocking.
enum PanicPages {
    static func ask(_ v: Visit) -> Response {
        Pages.html(Templates.render("panic", v.frame(title: v.t("panic.title"), unlocked: v.desk.isUnlocked)))
    }

    static func destroy(_ v: Visit, desk: Desk) async -> Response {
        desk.lock()
        let home = desk.home
        let result = try? await NIOThreadPool.singleton.runIfActive {
            Result { () throws(NodeError) -> PanicReport in try NodeHost.panic(home: home) }
        }
        var c = v.frame(title: v.t("panic.done"), unlocked: false)
        var lines: [String] = []
        switch result {
        case .success(let r)?:
            c["heading"] = v.t(r.keysDestroyed ? "panic.done" : "panic.done.none")
            if r.keysDestroyed { lines.append(v.t("panic.done.body", ["s": String(format: "%.2f", r.seconds)])) }
            if let s = r.store { lines.append(v.t("panic.done.residue", ["ops": "\(s.ops)"])) }
            if r.processes.contains(where: { $0.stoppedBy == "still running" }) { c["alarm"] = v.t("panic.done.stillRunning") }
        case .failure?:
            c["heading"] = v.t("failure.title")
            // No reason and no "try again": in a raid the one thing left to do is to switch off.
            c["alarm"] = v.t("panic.failed")
        case nil:
            c["heading"] = v.t("failure.title")
            c["alarm"] = v.t("panic.failed")
        }
        c["lines"] = lines
        return Pages.html(Templates.render("panicDone", c))
    }
}
