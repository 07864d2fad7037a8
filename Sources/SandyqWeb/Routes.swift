import Foundation
import Hummingbird
import NIOPosix
import SandyqNode

struct Routes: Sendable {
    let desk: Desk

    func register(on router: Router<BasicRequestContext>) {
        router.get("/login") { req, _ in login(req) }
        router.get("/static/app.css") { _, _ in asset(PackageResources.app_css, "text/css; charset=utf-8") }
        router.get("/static/app.js") { _, _ in asset(PackageResources.app_js, "text/javascript; charset=utf-8") }
        router.get("/") { req, _ in gate(req) { _, _ in Pages.redirect("/cases") } }
        router.get("/unlock") { req, _ in withSession(req) { v in unlockPage(v) } }
        router.get("/restore") { req, _ in withSession(req) { v in RestorePages.piecesPage(v) } }
        router.post("/restore") { req, _ in try await posted(req) { v, fields in RestorePages.check(v, fields: fields) } }
        router.get("/restore/passphrase") { req, _ in withSession(req) { v in RestorePages.passphrasePage(v) } }
        router.post("/restore/passphrase") { req, _ in
            try await posted(req) { v, fields in try await RestorePages.restore(v, fields: fields, parameters: desk.restoreParameters) }
        }
        router.get("/restore/done") { req, _ in gate(req) { v, host in RestorePages.donePage(v, host: host) } }
        router.post("/unlock") { req, _ in try await unlock(req) }
        router.post("/lock") { req, _ in try await posted(req) { v, _ in desk.lock(); return Pages.redirect("/unlock") } }
        router.post("/alive") { req, _ in
            try await posted(req) { v, _ in
                if let s = v.session { desk.heartbeat(session: s.id) }
                return Response(status: desk.isUnlocked ? .noContent : .unauthorized)
            }
        }
        router.get("/cases") { req, _ in
            gate(req) { v, host in
                // Filters in the address still work (links and scripts written for them); the form posts.
                let query = Form.query(req)
                let asked = CasePages.filterKeys.contains { query[$0] != nil }
                return CasePages.list(v, host: host, query: asked ? query : (v.session?.search ?? [:]))
            }
        }
        router.post("/cases") { req, _ in try await changing(req) { v, host, fields in CasePages.search(v, host: host, fields: fields) } }
        router.get("/record") { req, _ in gate(req) { v, host in RecordPages.page(v, host: host) } }
        router.post("/record") { req, _ in
            try await changing(req) { v, host, fields in RecordPages.record(v, host: host, fields: fields) }
        }
        router.get("/duplicates") { req, _ in
            gate(req) { v, host in RecordPages.duplicates(v, host: host, name: Form.query(req)["name"] ?? "") }
        }
        router.get("/people") { req, _ in gate(req) { v, host in DeliveryPages.people(v, host: host) } }
        router.get("/people/invite") { req, _ in gate(req) { v, host in InvitePages.rolePage(v, host: host) } }
        router.post("/people/invite") { req, _ in try await changing(req) { v, host, fields in InvitePages.make(v, host: host, fields: fields) } }
        router.post("/people/invite/file") { req, _ in try await changing(req) { v, host, fields in InvitePages.file(v, host: host, fields: fields) } }
        // The split key backup: the pieces stay in memory, reached only by posted forms.
        router.get("/backup") { req, _ in gate(req) { v, host in BackupPages.formPage(v, host: host) } }
        router.post("/backup") { req, _ in try await changing(req) { v, host, fields in BackupPages.make(v, host: host, fields: fields) } }
        router.get("/backup/pieces") { req, _ in gate(req) { v, host in BackupPages.piecesPage(v, host: host) } }
        router.post("/backup/file") { req, _ in try await changing(req) { v, host, fields in BackupPages.file(v, host: host, fields: fields) } }
        router.post("/backup/print") { req, _ in try await changing(req) { v, host, fields in BackupPages.print(v, host: host, fields: fields) } }
        router.post("/backup/forget") { req, _ in try await changing(req) { v, host, _ in BackupPages.forget(v, host: host) } }
        router.get("/people/admit") { req, _ in gate(req) { v, host in InvitePages.replyPage(v, host: host) } }
        router.post("/people/admit") { req, _ in try await changing(req) { v, host, fields in InvitePages.admit(v, host: host, fields: fields) } }
        // Sharing cases with a lawyer: several from the people page, one from a case's page.
        router.get("/people/share") { req, _ in
            let lawyer = Form.query(req)["lawyer"] ?? ""
            return gate(req) { v, host in SharePages.casesPage(v, host: host, lawyer: lawyer) }
        }
        router.post("/people/share") { req, _ in try await changing(req) { v, host, fields in SharePages.shareCases(v, host: host, fields: fields) } }
        router.get("/seized") { req, _ in gate(req) { v, host in SeizedPages.pick(v, host: host) } }
        router.post("/seized") { req, _ in try await changing(req) { v, host, fields in SeizedPages.post(v, host: host, fields: fields) } }
        router.get("/quarantine") { req, _ in gate(req) { v, host in SeizedPages.quarantine(v, host: host) } }
        router.get("/monitoring") { req, _ in gate(req) { v, host in MonitoringPages.page(v, host: host) } }
        router.get("/monitoring/:file") { req, ctx in
            let file = ctx.parameters.get("file") ?? ""
            return gate(req) { v, host in MonitoringPages.download(v, host: host, file: file) }
        }
        router.get("/delivery") { req, _ in gate(req) { v, host in DeliveryPages.page(v, host: host) } }
        // The coordinator's desk: conflicts settled one field at a time, likely duplicates merged one pair at a time.
        router.get("/conflicts") { req, _ in
            let q = Form.query(req)
            let resolved = q["resolved"].map { (caseID: $0, field: q["field"] ?? "") }
            return gate(req) { v, host in ConflictPages.page(v, host: host, resolved: resolved) }
        }
        router.post("/conflicts") { req, _ in try await changing(req) { v, host, fields in ConflictPages.resolve(v, host: host, fields: fields) } }
        router.get("/merge") { req, _ in gate(req) { v, host in MergePages.list(v, host: host) } }
        router.get("/merge/:a/:b") { req, ctx in
            let a = ctx.parameters.get("a") ?? "", b = ctx.parameters.get("b") ?? ""
            return gate(req) { v, host in MergePages.pair(v, host: host, a: a, b: b) }
        }
        router.post("/merge/:a/:b") { req, ctx in
            let a = ctx.parameters.get("a") ?? "", b = ctx.parameters.get("b") ?? ""
            return try await changing(req) { v, host, fields in MergePages.merge(v, host: host, a: a, b: b, fields: fields) }
        }
        router.get("/sync") { req, _ in gate(req) { v, host in SyncPages.page(v, host: host) } }
        router.get("/sync/progress") { req, _ in gate(req) { v, _ in SyncPages.fragment(v) } }
        router.post("/sync/peer") { req, _ in try await changing(req) { v, host, fields in SyncPages.start(v, host: host, fields: fields) } }
        router.post("/sync/lan") { req, _ in try await changing(req) { v, host, _ in SyncPages.startLan(v, host: host) } }
        router.post("/sync/serve") { req, _ in try await changing(req) { v, host, fields in await SyncPages.serve(v, host: host, fields: fields) } }
        router.get("/usb") { req, _ in gate(req) { v, host in UsbPages.page(v, host: host) } }
        router.get("/usb/progress") { req, _ in gate(req) { v, _ in UsbPages.fragment(v) } }
        router.post("/usb") { req, _ in
            try await changing(req) { v, host, fields in UsbPages.start(v, host: host, fields: fields) }
        }
        // A reporter removes its copies of the files a coordinator checked: one question, then the POST.
        router.get("/files/release") { req, _ in gate(req) { v, host in WrittenPages.releasePage(v, host: host) } }
        router.post("/files/release") { req, _ in try await changing(req) { v, host, _ in WrittenPages.release(v, host: host) } }
        router.get("/panic") { req, _ in withSession(req) { v in PanicPages.ask(v) } }
        router.post("/panic") { req, _ in try await posted(req) { v, _ in await PanicPages.destroy(v, desk: desk) } }
        router.get("/cases/:id/edit") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return gate(req) { v, host in EditPages.fieldsPage(v, host: host, ref: id) }
        }
        router.post("/cases/:id/edit") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return try await changing(req) { v, host, fields in EditPages.saveFields(v, host: host, ref: id, fields: fields) }
        }
        router.get("/cases/:id/add/:collection") { req, ctx in
            let id = ctx.parameters.get("id") ?? "", coll = ctx.parameters.get("collection") ?? ""
            return gate(req) { v, host in EditPages.addPage(v, host: host, ref: id, collection: coll) }
        }
        router.post("/cases/:id/add/:collection") { req, ctx in
            let id = ctx.parameters.get("id") ?? "", coll = ctx.parameters.get("collection") ?? ""
            return try await changing(req) { v, host, fields in EditPages.add(v, host: host, ref: id, collection: coll, fields: fields) }
        }
        router.get("/cases/:id/edit/:collection/:element") { req, ctx in
            let (id, coll, elem) = elementPath(ctx)
            return gate(req) { v, host in EditPages.changePage(v, host: host, ref: id, collection: coll, element: elem) }
        }
        router.post("/cases/:id/edit/:collection/:element") { req, ctx in
            let (id, coll, elem) = elementPath(ctx)
            return try await changing(req) { v, host, fields in
                EditPages.change(v, host: host, ref: id, collection: coll, element: elem, fields: fields)
            }
        }
        // The element is in the query: a tag's id is the tag itself, any text.
        router.get("/cases/:id/remove") { req, ctx in
            let id = ctx.parameters.get("id") ?? "", q = Form.query(req)
            return gate(req) { v, host in
                EditPages.removePage(v, host: host, ref: id, collection: q["c"] ?? "", element: desk.element(for: q["e"] ?? "", session: v.session?.id))
            }
        }
        router.post("/cases/:id/remove") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return try await changing(req) { v, host, fields in EditPages.remove(v, host: host, ref: id, fields: fields) }
        }
        router.get("/cases/:id") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return gate(req) { v, host in CasePages.show(v, host: host, ref: id, attached: Form.query(req)["attached"]) }
        }
        router.get("/cases/:id/attach") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return gate(req) { v, host in EvidencePages.attachPage(v, host: host, ref: id) }
        }
        router.get("/cases/:id/withdraw") { req, ctx in
            let id = ctx.parameters.get("id") ?? "", q = Form.query(req)
            return gate(req) { v, host in WithdrawPages.page(v, host: host, ref: id, collection: q["c"] ?? "", element: q["e"] ?? "") }
        }
        router.post("/cases/:id/withdraw") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return try await changing(req) { v, host, fields in WithdrawPages.post(v, host: host, ref: id, fields: fields) }
        }
        router.get("/withdrawn") { req, _ in gate(req) { v, host in WithdrawPages.status(v, host: host) } }
        router.get("/cases/:id/share") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return gate(req) { v, host in SharePages.lawyerPage(v, host: host, ref: id) }
        }
        router.post("/cases/:id/share") { req, ctx in
            let id = ctx.parameters.get("id") ?? ""
            return try await changing(req) { v, host, fields in SharePages.shareCase(v, host: host, ref: id, fields: fields) }
        }
        router.post("/cases/:id/attach") { req, ctx in try await attach(req, ref: ctx.parameters.get("id") ?? "") }
        router.get("/cases/:id/files/:fid") { req, ctx in
            let id = ctx.parameters.get("id") ?? "", fid = ctx.parameters.get("fid") ?? ""
            return gate(req) { v, host in EvidencePages.download(v, host: host, ref: id, fid: fid, original: Form.query(req)["original"] != nil) }
        }
        // `dossier` is the page; `dossier.html|md|json` the files to download.
        router.get("/cases/:id/:file") { req, ctx in
            let id = ctx.parameters.get("id") ?? "", file = ctx.parameters.get("file") ?? ""
            return gate(req) { v, host in
                if file == "dossier" { return DossierPages.show(v, host: host, ref: id, print: Form.query(req)["print"] != nil) }
                if file == "wgad.md" { return DossierPages.wgad(v, host: host, ref: id) }
                guard file.hasPrefix("dossier.") else { return DossierPages.notFound(v) }
                return DossierPages.download(v, host: host, ref: id, format: String(file.dropFirst(8)))
            }
        }
    }

    /// A case, a collection and one of its elements, as an element's change link names them.
    func elementPath(_ ctx: BasicRequestContext) -> (String, String, String) {
        let elem = ctx.parameters.get("element") ?? ""
        return (ctx.parameters.get("id") ?? "", ctx.parameters.get("collection") ?? "", elem.removingPercentEncoding ?? elem)
    }

    func asset(_ bytes: [UInt8], _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The printed link: spends the token, gives the browser its session, shows the unlock page.
    func login(_ req: Request) -> Response {
        guard let token = req.uri.queryParameters["token"], let s = desk.login(token: String(token)) else {
            return Pages.noSession(req, desk: desk)
        }
        return Pages.redirect("/unlock", cookie: "\(Pages.cookie)=\(s.id); Path=/; HttpOnly; SameSite=Strict")
    }

    /// A page for a browser with a session; anyone else sees only how to get one.
    func withSession(_ req: Request, _ body: (Visit) -> Response) -> Response {
        let v = Visit(req, desk: desk)
        guard v.session != nil else { return Pages.noSession(req, desk: desk) }
        return body(v)
    }

    /// A page that needs the unlocked node.
    func gate(_ req: Request, _ body: (Visit, NodeHost) -> Response) -> Response {
        withSession(req) { v in
            guard let host = desk.use() else { return Pages.redirect("/unlock") }
            return body(v, host)
        }
    }

    /// A posted form: a session, its CSRF token, and the fields.
    func posted(_ req: Request, _ body: (Visit, [String: String]) async throws -> Response) async throws -> Response {
        var req = req
        let v = Visit(req, desk: desk)
        guard let s = v.session else { return Pages.noSession(req, desk: desk) }
        let buffer = try await req.collectBody(upTo: 1 << 20)
        let fields = Form.parse(String(buffer: buffer))
        guard let csrf = fields["csrf"], Desk.same(csrf, s.csrf) else { return Pages.refused(req, desk: desk) }
        return try await body(v, fields)
    }

    /// A posted form that works on the unlocked node.
    func changing(_ req: Request, _ body: (Visit, NodeHost, [String: String]) async throws -> Response) async throws -> Response {
        try await posted(req) { v, fields in
            guard let host = desk.use() else { return Pages.redirect("/unlock") }
            return try await body(v, host, fields)
        }
    }

    /// A file posted from the attach form, streamed to a private temporary file: the CSRF token is
    /// the form's first part and is checked before a byte of the file is kept.
    func attach(_ req: Request, ref: String) async throws -> Response {
        let v = Visit(req, desk: desk)
        guard let s = v.session else { return Pages.noSession(req, desk: desk) }
        guard let host = desk.use() else { return Pages.redirect("/unlock") }
        if let screen = CasePages.roleScreen(v, host: host, writing: true) { return screen }
        guard let boundary = req.headers[.contentType].flatMap(Upload.boundary) else { return Pages.refused(req, desk: desk) }
        func tooLarge() -> Response {
            Pages.message(v, title: v.t("attach.tooLarge.title"), body: v.t("attach.tooLarge.body", ["size": EvidencePages.size(v, Upload.limit)]),
                          status: .contentTooLarge, unlocked: true)
        }
        // A body announced far beyond the cap is refused before it is read; the form's fields add little.
        if let n = req.headers[.contentLength].flatMap({ Int($0) }), n > Upload.limit + Upload.fieldLimit * 4 { return tooLarge() }
        // Never in $TMPDIR, which panic does not know (ScratchDirectory): what a killed desk leaves, the next open removes.
        let scratch: ScratchDirectory
        let announced = req.headers[.contentLength].flatMap { Int($0) } ?? Upload.limit
        do { scratch = try ScratchDirectory.make(home: host.home, size: announced) } catch {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
        }
        defer { scratch.remove() }
        let upload: Upload
        do {
            upload = try await Upload.receive(req.body, boundary: boundary, csrf: s.csrf, limit: Upload.limit, root: scratch.path)
        } catch Upload.Failure.csrf {
            return Pages.refused(req, desk: desk)
        } catch Upload.Failure.tooLarge {
            return tooLarge()
        }
        return EvidencePages.attach(v, host: host, ref: ref, upload: upload)
    }

    func unlockPage(_ v: Visit, error: String? = nil) -> Response {
        if desk.isUnlocked && error == nil { return Pages.redirect("/cases") }
        var c = v.frame(title: v.t("unlock.title"), unlocked: false)
        if let error { c["error"] = error }
        // A computer that lost its node: the way back is the backup pieces.
        if !NodeHost.exists(home: desk.home) { c["noNode"] = true }
        return Pages.html(Templates.render("unlock", c), status: error == nil ? .ok : .unprocessableContent)
    }

    /// Opens the node with the passphrase from the page, as the command line does: a duress
    /// passphrase opens a fresh, empty node and looks exactly like a real unlock.
    func unlock(_ req: Request) async throws -> Response {
        try await posted(req) { v, fields in
            let pass = fields["passphrase"] ?? ""
            if pass.isEmpty { return unlockPage(v, error: v.t("unlock.empty")) }
            let home = desk.home
            guard NodeHost.exists(home: home) else { return unlockPage(v, error: v.t("unlock.nonode")) }
            // Argon2 takes a second or more: off the event loop.
            let result: Result<NodeHost, NodeError> = try await NIOThreadPool.singleton.runIfActive {
                let secret = SecureBytes(Array(pass.utf8))
                return Result { () throws(NodeError) -> NodeHost in try NodeHost.open(home: home, passphrase: secret) }
            }
            switch result {
            case .success(let host):
                desk.unlocked(host)
                return Pages.redirect("/cases")
            case .failure(let e) where e.kind == .wrongPassphrase:
                return unlockPage(v, error: v.t("unlock.wrong"))
            case .failure(let e):
                return unlockPage(v, error: v.t("unlock.failed", ["reason": Pages.reason(v, e)]))
            }
        }
    }
}
