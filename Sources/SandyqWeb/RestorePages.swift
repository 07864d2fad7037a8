import Foundation
import Hummingbird
import NIOPosix
import SandyqNode

/// Rebuilding a lost computer's node from its backup pieces, as `backup restore` does, for a
/// coordinator who has only the paper pieces and a browser. One decision per step: the pieces
/// (each problem named), then a new passphrase, then what to do first. Offered only while
/// this home holds no node. The combined keys wait in this process's memory, for the session
/// that gave the pieces, until the passphrase step or a lock.
enum RestorePages {
    /// The printed pieces, one after another in one box: each starts with its title line.
    static func split(_ text: String) -> [String] {
        var pieces: [[Substring]] = [[]]
        // A browser posts a text box's lines ending in CR LF: one Character, which `isNewline` matches.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.trimmingCharacters(in: .whitespaces).uppercased().hasPrefix("SANDYQ BACKUP SHARE") { pieces.append([]) }
            pieces[pieces.count - 1].append(line)
        }
        // Lines before the first title stay a piece of their own (its title left out), unless blank.
        return pieces.map { $0.joined(separator: "\n") }.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    static func piecesPage(_ v: Visit, typed: String = "", error: String? = nil) -> Response {
        if NodeHost.exists(home: v.desk.home) { return Pages.redirect("/unlock") }
        var c = v.frame(title: v.t("restore.title"), unlocked: false)
        c["pieces"] = typed
        Pages.setErrors(&c, error.map { [("pieces", $0)] } ?? [])
        return Pages.html(Templates.render("restore", c), status: error == nil ? .ok : .unprocessableContent)
    }

    /// Reads every piece, then combines them; the first problem is named, with the piece it is in.
    static func check(_ v: Visit, fields: [String: String]) -> Response {
        if NodeHost.exists(home: v.desk.home) { return Pages.redirect("/unlock") }
        guard let sid = v.session?.id else { return Pages.redirect("/unlock") }
        let typed = fields["pieces"] ?? ""
        let texts = split(typed)
        guard !texts.isEmpty else { return piecesPage(v, typed: typed, error: v.t("restore.err.empty")) }
        var read: [(name: String, share: BackupShare)] = []
        for (i, text) in texts.enumerated() {
            do {
                read.append(("\(i + 1)", try BackupShare(reading: Array(text.utf8))))
            } catch {
                return piecesPage(v, typed: typed, error: message(v, error, piece: i + 1, given: texts.count, needed: nil))
            }
        }
        let backup: NodeBackup
        do { backup = try NodeBackup.combine(read) } catch {
            return piecesPage(v, typed: typed, error: message(v, error, piece: nil, given: read.count, needed: read.first?.share.threshold))
        }
        v.desk.pendingRestore.withLock { $0[sid] = (backup, read[0].share.node) }
        return Pages.redirect("/restore/passphrase")
    }

    static func message(_ v: Visit, _ e: CoreError, piece: Int?, given: Int, needed: Int?) -> String {
        let problem: BackupShare.Problem
        if case let .backupShare(p, _) = e { problem = p } else { problem = .malformed }
        let i = ["i": "\(piece ?? 1)"]
        switch problem {
        case .malformed, .truncated, .unsupportedVersion: return v.t("restore.err.unreadable", i)
        case .damaged, .altered: return piece == nil ? v.t("restore.err.disagree") : v.t("restore.err.mistyped", i)
        case .mixedNode: return v.t("restore.err.mixedNode")
        case .mixedBackup: return v.t("restore.err.mixedBackup")
        case .duplicate: return v.t("restore.err.duplicate")
        case .tooFew: return v.t("restore.err.tooFew", ["n": "\(given)", "k": "\(needed ?? 0)"])
        }
    }

    static func passphrasePage(_ v: Visit, errors: [(String, String)] = []) -> Response {
        if NodeHost.exists(home: v.desk.home) { return Pages.redirect("/unlock") }
        guard let sid = v.session?.id, let pending = v.desk.pendingRestore.withLock({ $0[sid] }) else { return Pages.redirect("/restore") }
        var c = v.frame(title: v.t("restore.passphrase.title"), unlocked: false)
        c["lead"] = v.t("restore.passphrase.lead", ["node": pending.node])
        Pages.setErrors(&c, errors)
        return Pages.html(Templates.render("restorePassphrase", c), status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    /// Seals the keys under the new passphrase in this home, and opens the desk on the node.
    static func restore(_ v: Visit, fields: [String: String], parameters: PasswordKDFParameters) async throws -> Response {
        if NodeHost.exists(home: v.desk.home) { return Pages.redirect("/unlock") }
        guard let sid = v.session?.id, let backup = v.desk.pendingRestore.withLock({ $0[sid] })?.backup else { return Pages.redirect("/restore") }
        let pass = fields["passphrase"] ?? "", again = fields["confirm"] ?? ""
        var errors: [(String, String)] = []
        if pass.isEmpty {
            errors.append(("passphrase", v.t("restore.err.passphrase.empty")))
        } else if pass.count < minimumLength {
            errors.append(("passphrase", v.t("restore.err.passphrase.short", ["n": "\(minimumLength)"])))
        } else if again != pass {
            errors.append(("confirm", v.t("restore.err.confirm")))
        }
        guard errors.isEmpty else { return passphrasePage(v, errors: errors) }
        let home = v.desk.home
        // Argon2 takes a second or more: off the event loop.
        let result: Result<NodeHost, NodeError> = try await NIOThreadPool.singleton.runIfActive {
            let secret = SecureBytes(Array(pass.utf8))
            return Result { () throws(NodeError) -> NodeHost in
                try NodeHost.restore(backup, home: home, passphrase: secret, parameters: parameters)
            }
        }
        switch result {
        case .success(let host):
            v.desk.pendingRestore.withLock { $0[sid] = nil }
            v.desk.unlocked(host)
            return Pages.redirect("/restore/done")
        case .failure(let e):
            return Pages.message(v, title: v.t("restore.failed.title"), body: v.t("restore.failed.body", ["reason": Pages.reason(v, e)]),
                                 status: .internalServerError)
        }
    }

    /// Argon2 slows each guess at a seized key file; it cannot save a passphrase of a few letters.
    static let minimumLength = 8

    static func donePage(_ v: Visit, host: NodeHost) -> Response {
        var c = v.frame(title: v.t("restore.done.title"), unlocked: true)
        c["lead"] = v.t("restore.done.lead", ["node": host.nodeID.fingerprint])
        return Pages.html(Templates.render("restoreDone", c))
    }
}
