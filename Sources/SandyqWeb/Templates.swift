import Mustache
import SandyqNode

/// The page templates, compiled once. Every one declares the SANDYQ_HTML content type, whose
/// escaping works on Unicode scalars: the stock HTML type compares whole characters, so a quote
/// followed by a combining mark is one character, is not escaped, and ends an attribute.
enum Templates {
    static let sources: [String: [UInt8]] = [
        "head": PackageResources.head_mustache,
        "foot": PackageResources.foot_mustache,
        "message": PackageResources.message_mustache,
        "unlock": PackageResources.unlock_mustache,
        "cases": PackageResources.cases_mustache,
        "caseRows": PackageResources.caseRows_mustache,
        "case": PackageResources.case_mustache,
        "entry": PackageResources.entry_mustache,
        "record": PackageResources.record_mustache,
        "dupList": PackageResources.dupList_mustache,
        "sent": PackageResources.sent_mustache,
        "release": PackageResources.release_mustache,
        "delivery": PackageResources.delivery_mustache,
        "people": PackageResources.people_mustache,
        "invite": PackageResources.invite_mustache,
        "invited": PackageResources.invited_mustache,
        "admit": PackageResources.admit_mustache,
        "seized": PackageResources.seized_mustache,
        "withdraw": PackageResources.withdraw_mustache,
        "quarantine": PackageResources.quarantine_mustache,
        "monitoring": PackageResources.monitoring_mustache,
        "panic": PackageResources.panic_mustache,
        "panicDone": PackageResources.panicDone_mustache,
        "dossier": PackageResources.dossier_mustache,
        "dossierBody": PackageResources.dossierBody_mustache,
        "dossierFact": PackageResources.dossierFact_mustache,
        "dossierPrint": PackageResources.dossierPrint_mustache,
        "usb": PackageResources.usb_mustache,
        "usbProgress": PackageResources.usbProgress_mustache,
        "sync": PackageResources.sync_mustache,
        "edit": PackageResources.edit_mustache,
        "add": PackageResources.add_mustache,
        "remove": PackageResources.remove_mustache,
        "change": PackageResources.change_mustache,
        "editField": PackageResources.editField_mustache,
        "errorSummary": PackageResources.errorSummary_mustache,
        "evidenceFiles": PackageResources.evidenceFiles_mustache,
        "attach": PackageResources.attach_mustache,
        "conflicts": PackageResources.conflicts_mustache,
        "merge": PackageResources.merge_mustache,
        "mergePair": PackageResources.mergePair_mustache,
        "merged": PackageResources.merged_mustache,
        "share": PackageResources.share_mustache,
        "shareCase": PackageResources.shareCase_mustache,
        "shared": PackageResources.shared_mustache,
        "backup": PackageResources.backup_mustache,
        "backupPieces": PackageResources.backupPieces_mustache,
        "backupPrint": PackageResources.backupPrint_mustache,
        "restore": PackageResources.restore_mustache,
        "restorePassphrase": PackageResources.restorePassphrase_mustache,
        "restoreDone": PackageResources.restoreDone_mustache,
    ]

    struct ScalarHTML: MustacheContentType {
        func escapeText(_ text: String) -> String { ReportHTML.esc(text) }
    }

    static let library: MustacheLibrary = {
        MustacheContentTypes.register(ScalarHTML(), named: "SANDYQ_HTML")
        var lib = MustacheLibrary()
        for (name, bytes) in sources {
            // A template that does not parse is a build mistake; the template test names it.
            if let t = try? MustacheTemplate(string: String(decoding: bytes, as: UTF8.self)) { lib.register(t, named: name) }
        }
        return lib
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }
}
