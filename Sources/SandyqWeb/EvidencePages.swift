import Foundation
import Hummingbird
import NIOCore
import SandyqNode

/// Attached files on the case page, and their copies to download.
enum EvidencePages {
    /// Types a browser may be told; anything else goes out as plain bytes.
    static let safeTypes: Set<String> = [
        "image/jpeg", "image/png", "application/pdf", "video/mp4", "video/quicktime", "video/webm", "audio/ogg", "audio/mpeg", "audio/wav",
    ]

    /// The case's attached files as the case page lists them.
    static func files(_ v: Visit, host: NodeHost, caseID: String, who: (SigningPublicKey) -> String) -> [[String: Any]] {
        let entries = (try? host.evidence.list(caseID)) ?? []
        let held = Dictionary(((try? host.evidence.held()) ?? []).map { ($0.fid, $0) }) { a, _ in a }
        return entries.sorted { $0.attachedAtMillis < $1.attachedAtMillis }.map { e in
            var r: [String: Any] = [
                "name": e.name.isEmpty ? v.t("evidence.unnamed") : e.name,
                "type": typeName(v, e.type),
                "size": size(v, e.size),
                "shaShort": String(e.sha256.prefix(12)),
                "sha": e.sha256,
                "who": who(e.attachedBy),
                "when": v.cat.moment(millis: e.attachedAtMillis, v.lang),
                "working": "/cases/\(caseID)/files/\(e.fid)",
                "original": "/cases/\(caseID)/files/\(e.fid)?original=1",
            ]
            if !e.note.isEmpty { r["note"] = e.note }
            let kept = keeping(v, e, held[e.fid], who: who)
            if e.complete { r["complete"] = kept.where } else { r["partial"] = kept.where }
            if !kept.checked.isEmpty { r["checked"] = kept.checked.map { ["text": $0] } }
            if e.strippedAtCapture { r["stripped"] = v.t("evidence.stripped") }
            let w = warnings(v, e)
            if !w.isEmpty { r["warnings"] = w.map { ["text": $0] } }
            return r
        }
    }

    /// Where a file is kept, as the case page says it: whole here or how much of it, how many
    /// other devices said, signed, they hold it whole; then who checked it against its fingerprint.
    static func keeping(_ v: Visit, _ e: EvidenceEntry, _ h: HeldFile?, who: (SigningPublicKey) -> String)
        -> (where: String, checked: [String]) {
        let others = h?.holders.count ?? 0
        var said: String
        if e.complete {
            said = others == 0 ? v.t("evidence.complete") : v.t("evidence.held.others", ["n": "\(others)"])
        } else {
            said = v.t("evidence.partial", ["n": "\(e.present)", "m": "\(e.chunks)"])
            if others > 0 { said += " " + v.t("evidence.held.elsewhere", ["n": "\(others)"]) }
        }
        var checked: [String] = []
        if (h?.verifiedMillis ?? 0) > 0 { checked.append(v.t("evidence.held.checkedHere")) }
        // Coordinators first: theirs is the word a reporter waits for.
        let checkers = (h?.holders ?? []).filter(\.verified).sorted { ($0.role == .coordinator ? 0 : 1) < ($1.role == .coordinator ? 0 : 1) }
        for x in checkers { checked.append(v.t("evidence.held.checkedBy", ["who": who(x.node)])) }
        return (said, checked)
    }

    /// One plain warning per kind of hidden detail, in the page's language.
    static func warnings(_ v: Visit, _ e: EvidenceEntry) -> [String] {
        func first(_ k: String) -> String? { e.findings.first { $0.kind.rawValue == k }?.value }
        var out: [String] = []
        let gps = e.findings.first { $0.kind.rawValue == "gps" && $0.label.hasSuffix("GPS position") }?.value ?? first("gps")
        if let g = gps { out.append(v.t("evidence.warn.gps", ["v": place(g)])) }
        for k in ["device", "person", "time", "software"] {
            if let x = first(k) { out.append(v.t("evidence.warn.\(k)", ["v": x])) }
        }
        return out
    }

    /// "50.46, 30.52" as "50.4600, 30.5200" with the hemisphere spelled by sign; anything else as it is.
    static func place(_ s: String) -> String {
        let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let lat = Double(parts[0]), let lon = Double(parts[1]) else { return s }
        return String(format: "%.4f, %.4f", lat, lon)
    }

    static func typeName(_ v: Visit, _ type: String) -> String {
        let key = "evidence.type.\(type)"
        let s = v.t(key)
        return s == key ? v.t("evidence.type.other") : s
    }

    /// A size as people read it, with the page language's decimal mark and unit names.
    static func size(_ v: Visit, _ n: Int) -> String {
        let units = ["b", "kb", "mb", "gb"]
        var x = Double(n), i = 0
        while x >= 1024 && i < units.count - 1 {
            x /= 1024
            i += 1
        }
        var num = i == 0 ? "\(n)" : String(format: "%.1f", x)
        if v.lang != "en" { num = num.replacingOccurrences(of: ".", with: ",") }
        return v.t("evidence.size.\(units[i])", ["n": num])
    }

    /// A copy of one attached file: the working copy unless the original is asked for. Written by
    /// the node into a private directory, streamed, and removed once sent or failed.
    static func download(_ v: Visit, host: NodeHost, ref: String, fid: String, original: Bool) -> Response {
        if let screen = CasePages.roleScreen(v, host: host) { return screen }
        let notFound = Pages.message(v, title: v.t("evidence.notfound.title"), body: v.t("evidence.notfound.body"), status: .notFound, unlocked: true)
        guard ref.count >= 4, ref.allSatisfy(\.isHexDigit), fid.count >= 8, fid.allSatisfy(\.isHexDigit),
              let entries = try? host.evidence.list(ref), let e = entries.first(where: { $0.fid == fid.lowercased() })
        else { return notFound }
        guard e.complete else {
            return Pages.message(v, title: v.t("evidence.broken.title"), body: v.t("evidence.partial.body", ["n": "\(e.present)", "m": "\(e.chunks)"]),
                                 status: .conflict, unlocked: true)
        }
        // Never in $TMPDIR, which panic does not know (ScratchDirectory): what a killed desk leaves, the next open removes.
        let scratch: ScratchDirectory
        do { scratch = try ScratchDirectory.make(home: host.home, size: e.size) } catch {
            return Pages.message(v, title: v.t("evidence.broken.title"), body: v.t("evidence.broken.body"), status: .internalServerError, unlocked: true)
        }
        let path = scratch.path + "/copy"
        let copy: EvidenceCopy
        do { copy = try host.evidence.get(e.fid, to: path, original: original) } catch {
            scratch.remove()
            return Pages.message(v, title: v.t("evidence.broken.title"), body: v.t("evidence.broken.body"), status: .conflict, unlocked: true)
        }
        guard let fh = FileHandle(forReadingAtPath: path) else {
            scratch.remove()
            return Pages.message(v, title: v.t("evidence.broken.title"), body: v.t("evidence.broken.body"), status: .internalServerError, unlocked: true)
        }
        // The name is gone once open: nothing is left on disk even if the browser goes away.
        scratch.remove()
        let length = (try? fh.seekToEnd()).map(Int.init)
        try? fh.seek(toOffset: 0)
        let type = safeTypes.contains(e.type) ? e.type : "application/octet-stream"
        let body = ResponseBody(contentLength: length) { writer in
            defer { try? fh.close() }
            while let chunk = try fh.read(upToCount: 1 << 16), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        // DeskGuard adds no-store and nosniff to every answer.
        let headers: HTTPFields = [.contentType: type, .contentDisposition: disposition(e.name, working: !copy.original)]
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `attachment` with an ASCII fallback name and the real one in RFC 5987 form.
    static func disposition(_ name: String, working: Bool) -> String {
        var base = name.isEmpty ? "file" : name
        if working {
            let dot = base.lastIndex(of: ".")
            let stem = dot.map { String(base[..<$0]) } ?? base, ext = dot.map { String(base[$0...]) } ?? ""
            base = stem + "-working" + ext
        }
        let ascii = String(base.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0 != "/" ? Character($0) : "_" })
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~")).subtracting(CharacterSet(charactersIn: "\u{80}"..."\u{10FFFF}"))
        let encoded = base.addingPercentEncoding(withAllowedCharacters: allowed) ?? ascii
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    /// The case's full id for the attach form: a write-only device cannot read cases, so it gives the id it recorded.
    static func caseForAttach(_ host: NodeHost, _ ref: String) -> String? {
        if host.isWriteOnly { return CasePages.caseID(ref.lowercased())?.description }
        guard ref.count >= 4, ref.allSatisfy(\.isHexDigit) else { return nil }
        return (try? host.cases.state(ref))?.id.description
    }

    static func attachPage(_ v: Visit, host: NodeHost, ref: String, note: String = "", strip: Bool = false, error: String? = nil) -> Response {
        if let screen = CasePages.roleScreen(v, host: host, writing: true) { return screen }
        guard let id = caseForAttach(host, ref) else {
            return Pages.message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: true)
        }
        var c = v.frame(title: v.t("attach.title"), unlocked: true)
        c["id"] = id
        c["back"] = !host.isWriteOnly
        if !note.isEmpty { c["note"] = note }
        c["strip"] = strip
        if let error {
            c["fileError"] = error
            c["errors"] = [["field": "f-file", "message": error]]
            c["hasErrors"] = true
            c["title"] = v.t("error.prefix") + " " + v.t("attach.title")
        }
        return Pages.html(Templates.render("attach", c), status: error == nil ? .ok : .unprocessableContent)
    }

    /// Attaches a received upload; the caller removes its directory, whatever happens here.
    static func attach(_ v: Visit, host: NodeHost, ref: String, upload: Upload) -> Response {
        if let screen = CasePages.roleScreen(v, host: host, writing: true) { return screen }
        let note = upload.fields["note"] ?? "", strip = upload.fields["strip"] != nil
        func again(_ e: String) -> Response { attachPage(v, host: host, ref: ref, note: note, strip: strip, error: e) }
        guard let id = caseForAttach(host, ref) else { return attachPage(v, host: host, ref: ref) }
        if upload.filename.isEmpty { return again(v.t("attach.err.none")) }
        if upload.size == 0 { return again(v.t("attach.err.empty")) }
        do { try EvidenceService.checkAttachable(upload.path) } catch { return again(v.t("attach.err.failed", ["reason": Pages.reason(v, error)])) }
        if strip {
            do { try EvidenceService.checkAttachable(upload.path, strip: true) } catch { return again(v.t("attach.err.strip")) }
        }
        let entry: EvidenceEntry
        do { entry = try host.evidence.attach(id, path: upload.path, note: note, stripAtCapture: strip) } catch {
            return again(v.t("attach.err.failed", ["reason": Pages.reason(v, error)]))
        }
        if host.isWriteOnly {
            let lines = [v.t("attach.done", ["name": entry.name])] + warnings(v, entry)
            return Pages.message(v, title: v.t("attach.done.title"), body: lines.joined(separator: " "), status: .ok, unlocked: true)
        }
        return Pages.redirect("/cases/\(id)?attached=\(entry.fid)#s-files")
    }
}
