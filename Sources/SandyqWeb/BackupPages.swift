import Foundation
import Hummingbird
import SandyqCore
import SandyqNode

/// The split key backup on the coordinator's desk, as `backup split` does it: choose how many
/// pieces and how many rebuild the keys; then hand each piece out, as a file or on paper; then
/// forget them. The pieces live only in this process's memory, for the session that made them,
/// and go on "forget", on lock and when the session ends; they never sit in a URL.
/// A set made on the desk, and which of its pieces have left as a file or on paper: once all
/// have, the set becomes this node's pieces (`backup status`).
struct BackupHandOut: Sendable {
    let made: BackupSet
    var handed: Set<Int> = []
    var recorded = false
    var count: Int { made.pieces.count }
}

enum BackupPages {
    static func formPage(_ v: Visit, host: NodeHost, typed: [String: String] = ["shares": "5", "threshold": "3"],
                         errors: [(String, String)] = [], forgotten: Bool = false) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        var c = v.frame(title: v.t("backup.title"), unlocked: true)
        c["shares"] = typed["shares"] ?? ""
        c["threshold"] = typed["threshold"] ?? ""
        if forgotten { c["forgotten"] = true }
        if let sid = v.session?.id, v.desk.backupPieces.withLock({ $0[sid] != nil }) { c["waiting"] = true }
        if let s = try? host.admin.backupPiecesStatus(), let st = status(v, s) { c["status"] = st }
        Pages.setErrors(&c, errors)
        return Pages.html(Templates.render("backup", c), status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    /// Whether the last pieces still rebuild this node as it is (`backup status`).
    static func status(_ v: Visit, _ s: BackupPiecesStatus) -> [String: Any]? {
        // Rebuilt and not synced: nothing is known yet (and such a node is no coordinator here yet).
        guard !s.awaitingSync else { return nil }
        guard s.recorded else { return ["text": v.t("backup.status.none"), "warn": true] }
        guard !s.holdDestroyedKey else { return ["text": v.t("backup.status.destroyedKey"), "warn": true] }
        guard s.current else { return ["text": v.t("backup.status.stale"), "warn": true] }
        guard let made = s.madeAtMillis, let k = s.threshold, let n = s.shares else { return ["text": v.t("backup.status.restored")] }
        let when = v.cat.ago(millis: Int64(clamping: made), now: Int64(Date().timeIntervalSince1970 * 1000), v.lang)
        return ["text": v.t("backup.status.current", ["when": when, "k": "\(k)", "n": "\(n)"])]
    }

    /// Checks both numbers (each error names its field), then splits and shows the pieces.
    static func make(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let sid = v.session?.id else { return Pages.redirect("/unlock") }
        let typedShares = (fields["shares"] ?? "").trimmingCharacters(in: .whitespaces)
        let typedThreshold = (fields["threshold"] ?? "").trimmingCharacters(in: .whitespaces)
        var errors: [(String, String)] = []
        let shares = Int(typedShares)
        if typedShares.isEmpty {
            errors.append(("shares", v.t("backup.err.shares.missing")))
        } else if shares == nil || !(2...255).contains(shares!) {
            errors.append(("shares", v.t("backup.err.shares.range")))
        }
        let threshold = Int(typedThreshold)
        let most = shares.map { min(max($0, 2), 255) } ?? 255
        if typedThreshold.isEmpty {
            errors.append(("threshold", v.t("backup.err.threshold.missing")))
        } else if threshold == nil || !(2...most).contains(threshold!) {
            errors.append(("threshold", v.t("backup.err.threshold.range", ["n": "\(most)"])))
        }
        guard errors.isEmpty, let shares, let threshold else {
            return formPage(v, host: host, typed: ["shares": typedShares, "threshold": typedThreshold], errors: errors)
        }
        let split: BackupSet
        do { split = try host.admin.splitBackupSet(threshold: threshold, count: shares) } catch {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
        }
        v.desk.backupPieces.withLock { $0[sid] = BackupHandOut(made: split) }
        return Pages.redirect("/backup/pieces")
    }

    static func piecesPage(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let sid = v.session?.id, let m = v.desk.backupPieces.withLock({ $0[sid]?.made.pieces }), let first = m.first else {
            return Pages.redirect("/backup")
        }
        var c = v.frame(title: v.t("backup.pieces.title"), unlocked: true)
        c["lead"] = v.t("backup.pieces.lead", ["n": "\(first.count)", "k": "\(first.threshold)", "node": first.node])
        c["pieces"] = m.map { s -> [String: Any] in
            ["number": "\(s.number)", "label": v.t("backup.piece", ["i": "\(s.number)", "n": "\(s.count)"])]
        }
        return Pages.html(Templates.render("backupPieces", c))
    }

    static func share(_ v: Visit, fields: [String: String]) -> BackupShare? {
        guard let sid = v.session?.id, let n = fields["number"].flatMap(Int.init) else { return nil }
        return v.desk.backupPieces.withLock { $0[sid] }?.made.pieces.first { $0.number == n }
    }

    /// Notes that piece `number` left this computer; the last one to leave records the set.
    static func handedOut(_ v: Visit, host: NodeHost, number: Int) {
        guard let sid = v.session?.id else { return }
        let complete: BackupSet? = v.desk.backupPieces.withLock { m in
            guard var h = m[sid] else { return nil }
            h.handed.insert(number)
            let done = !h.recorded && h.handed.count == h.count
            if done { h.recorded = true }
            m[sid] = h
            return done ? h.made : nil
        }
        // Unrecorded, the status keeps the older set: it warns, which is the safe side.
        if let complete { try? host.admin.recordBackupPieces(complete) }
    }

    /// One piece as a file to carry: only from a posted form, like the invitation.
    static func file(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let s = share(v, fields: fields) else { return Pages.redirect("/backup") }
        let name = "sandyq-\(s.node)-share-\(s.number)-of-\(s.count).sqshare"
        handedOut(v, host: host, number: s.number)
        return Response(status: .ok,
                        headers: [.contentType: "application/octet-stream", .contentDisposition: "attachment; filename=\"\(name)\"",
                                  .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: s.bytes)))
    }

    /// One piece for paper: its numbered lines with their check letters, and the same as a QR code.
    static func print(_ v: Visit, host: NodeHost, fields: [String: String]) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let s = share(v, fields: fields) else { return Pages.redirect("/backup") }
        var c = v.frame(title: v.t("backup.piece", ["i": "\(s.number)", "n": "\(s.count)"]), unlocked: true)
        c["text"] = s.text
        if let q = QRCode.drawing(s.text) { c["qr"] = ["size": "\(q.size)", "px": "\(q.size * 5)", "path": q.path] }
        handedOut(v, host: host, number: s.number)
        return Pages.html(Templates.render("backupPrint", c))
    }

    static func forget(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        if let sid = v.session?.id { _ = v.desk.backupPieces.withLock { $0.removeValue(forKey: sid) } }
        return formPage(v, host: host, forgotten: true)
    }
}
