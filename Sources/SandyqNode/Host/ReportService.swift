import Foundation

/// Reports rendered from the view.
public struct ReportService: Sendable {
    let host: NodeHost

    public typealias Kind = Node.ReportKind
    public typealias Format = Node.ReportFormat

    /// The formats `kind` is rendered in.
    public static func formats(of kind: Kind) -> [Format] { Node.formats(of: kind) }

    public func render(_ kind: Kind, format: Format, date: Date = Date()) throws(NodeError) -> String {
        try host.withNode { n throws(NodeError) in try n.renderReport(kind, format: format, date: date) }
    }
}
