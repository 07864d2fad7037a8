import Foundation
import SandyqCore
import SandyqReports
import SandyqCrypto

extension Node {
    /// Formats a report can be written in.
    public enum ReportFormat: String, Sendable, CaseIterable {
        case html, md, csv, json
    }

    /// Now, as the reports print it: `YYYY-MM-DD HH:MM UTC`.
    public static func reportDate(_ date: Date = Date()) -> String {
        ReportLabels.utc(millis: UInt64(max(0, date.timeIntervalSince1970 * 1000)))
    }

    /// The dossier of one case, each fact with its author's fingerprint and op id.
    public func dossier(_ ref: String, date: Date = Date()) throws(NodeError) -> DossierReport {
        let v = try view()
        let state = try caseState(ref)
        // Ops that wrote no field (a bare add or remove) are looked up in the store for their author.
        let authors = try mapped { () -> [OpID: SigningPublicKey] in
            var m: [OpID: SigningPublicKey] = [:]
            for e in try store.allEnvelopes() where state.ops.contains(e.id) { m[e.id] = e.author }
            return m
        }
        var r = DossierReport(state, view: v, generated: Self.reportDate(date), generatedBy: nodeID.fingerprint,
                              opAuthor: { authors[$0] })
        r.evidence = try dossierEvidence(state)
        return r
    }

    /// Each file of the case with the nodes that hold it: this node first when it holds the
    /// file whole, then each that said so, signed.
    func dossierEvidence(_ state: CaseState) throws(NodeError) -> [DossierReport.EvidenceFile] {
        let held = Dictionary(uniqueKeysWithValues: try heldFiles().map { ($0.fid, $0) })
        let m = try storedMembership()
        return try evidence(state.id.description).map { e in
            var holders: [DossierReport.EvidenceFile.Holder] = []
            let h = held[e.fid]
            if e.complete {
                holders.append(DossierReport.EvidenceFile.Holder(node: nodeID.fingerprint, role: m.role(of: nodeID.signingKey)?.rawValue,
                                     checked: (h?.verifiedMillis ?? 0) > 0,
                                     time: (h?.verifiedMillis ?? 0) > 0 ? EvidenceManifest.iso(UInt64(h!.verifiedMillis)) : nil))
            }
            for x in h?.holders ?? [] {
                holders.append(DossierReport.EvidenceFile.Holder(node: x.fingerprint, role: x.role?.rawValue, checked: x.verified,
                                                                 time: EvidenceManifest.iso(UInt64(max(0, x.atMillis)))))
            }
            let prov = ReportProvenance(op: e.op.description, author: e.attachedByFingerprint, time: EvidenceManifest.iso(e.attachedAtMillis))
            return DossierReport.EvidenceFile(id: e.fid, name: e.name, type: e.type, sha256: e.sha256, size: e.size, attached: prov,
                                              complete: e.complete, heldBy: holders)
        }
    }

    public func sanctionsReport(date: Date = Date()) throws(NodeError) -> SanctionsReport {
        SanctionsReport(view: try view(), generated: Self.reportDate(date), generatedBy: nodeID.fingerprint)
    }

    public func monitoringReport(date: Date = Date()) throws(NodeError) -> MonitoringReport {
        MonitoringReport(view: try view(), generated: Self.reportDate(date), generatedBy: nodeID.fingerprint)
    }

    /// A report rendered in `format`; the formats each report offers are listed in `formats(of:)`.
    public func renderReport(_ kind: ReportKind, format: ReportFormat, date: Date = Date()) throws(NodeError) -> String {
        guard Self.formats(of: kind).contains(format) else {
            throw NodeError(.usage, "the \(kind.name) report comes as \(Self.formats(of: kind).map(\.rawValue).joined(separator: ", ")), not \(format.rawValue)")
        }
        switch kind {
        case let .dossier(ref):
            let r = try dossier(ref, date: date)
            switch format {
            case .html: return ReportHTML.dossier(r)
            case .md: return ReportMarkdown.dossier(r)
            default: return try Self.json(r)
            }
        case .sanctions:
            let r = try sanctionsReport(date: date)
            switch format {
            case .html: return ReportHTML.sanctions(r)
            case .csv: return ReportCSV.sanctions(r)
            default: return try Self.json(r)
            }
        case let .wgad(ref):
            let r = WGADDraft(try dossier(ref, date: date))
            return format == .md ? r.markdown : try Self.json(r)
        case .monitoring:
            let r = try monitoringReport(date: date)
            switch format {
            case .html: return ReportHTML.monitoring(r)
            case .md: return ReportMarkdown.monitoring(r)
            default: return try Self.json(r)
            }
        case .export:
            let v = try view()
            switch format {
            case .csv: return ReportExport.csv(view: v)
            default: return try Self.json(ReportExport(view: v, generated: Self.reportDate(date)))
            }
        }
    }

    public enum ReportKind: Sendable {
        case dossier(String), sanctions, monitoring, export
        /// A draft communication to the UN Working Group on Arbitrary Detention about one case.
        case wgad(String)

        var name: String {
            switch self {
            case .dossier: "dossier"; case .sanctions: "sanctions"; case .monitoring: "monitoring"; case .export: "export"; case .wgad: "WGAD draft"
            }
        }
    }

    public static func formats(of kind: ReportKind) -> [ReportFormat] {
        switch kind {
        case .dossier: [.html, .md, .json]
        case .sanctions: [.html, .csv, .json]
        case .monitoring: [.html, .md, .json]
        case .export: [.json, .csv]
        case .wgad: [.md, .json]
        }
    }

    static func json<T: Encodable>(_ value: T) throws(NodeError) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try mapped { String(decoding: try enc.encode(value), as: UTF8.self) + "\n" }
    }
}
