import Foundation

/// Reports rendered from the view.
public struct ReportService: Sendable {
    let host: NodeHost

    public typealias Kind = Node.ReportKind
    public typealias Format = Node.ReportFormat

    /// The formats `kind` is rendered in.
    public static func formats(of kind: Kind) -> [Format] { Node.formats(of: kind) }

    /// The dossier of one case as data, for a page that words it in its own language.
    public func dossier(_ ref: String, date: Date = Date()) throws(NodeError) -> DossierReport {
        try host.withNode { n throws(NodeError) in try n.dossier(ref, date: date) }
    }

    /// The monitoring report as data, for a page that draws and words it itself.
    public func monitoring(date: Date = Date()) throws(NodeError) -> MonitoringReport {
        try host.withNode { n throws(NodeError) in try n.monitoringReport(date: date) }
    }

    public func render(_ kind: Kind, format: Format, date: Date = Date()) throws(NodeError) -> String {
        try host.withNode { n throws(NodeError) in try n.renderReport(kind, format: format, date: date) }
    }
}
