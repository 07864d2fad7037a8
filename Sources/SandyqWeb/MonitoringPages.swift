import Foundation
import Hummingbird
import SandyqNode

/// The monitoring report as the coordinator reads it: cases by status, article, city and month,
/// each a bar chart drawn on the server as SVG (no script, nothing fetched) with the same
/// numbers in a table beside it for screen readers and for copying.
enum MonitoringPages {
    /// Bars shown per chart; the rest are summed into one "other" bar.
    static let most = 12

    static func page(_ v: Visit, host: NodeHost) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        guard let r = try? host.reports.monitoring() else {
            return Pages.message(v, title: v.t("failure.title"), body: v.t("failure.body"), status: .internalServerError, unlocked: true)
        }
        func label(_ chart: String, _ key: String) -> String {
            if key == "—" { return v.t("monitoring.notGiven") }
            switch chart {
            case "status": return v.cat.value("status", key, v.lang)
            case "charge":
                let p = key.split(separator: " ", maxSplits: 1).map(String.init)
                let code = v.cat.value("code", p[0], v.lang)
                return p.count > 1 && p[1] != "?" ? v.t("monitoring.article", ["code": code, "n": p[1]]) : code
            case "month": return v.cat.date(key, v.lang)
            default: return key
            }
        }
        let charts: [(String, [MonitoringReport.Bucket])] = [("status", r.byStatus), ("charge", r.byCharge), ("city", r.byCity), ("month", r.byMonth)]
        var c = v.frame(title: v.t("monitoring.title"), unlocked: true)
        c["total"] = v.t("monitoring.total", ["n": "\(r.totalCases)"])
        c["charts"] = charts.map { name, buckets -> [String: Any] in
            var rows = buckets.prefix(most).map { (label(name, $0.key), $0.count) }
            if buckets.count > most { rows.append((v.t("monitoring.other"), buckets.dropFirst(most).reduce(0) { $0 + $1.count })) }
            return chart(name, title: v.t("monitoring.by.\(name)"), rows: rows)
        }
        return Pages.html(Templates.render("monitoring", c))
    }

    /// One horizontal bar chart: a label column, bars scaled to the largest count, the count
    /// after each bar. Sizes are in the SVG's own units; CSS scales the whole to the page.
    static func chart(_ name: String, title: String, rows: [(String, Int)]) -> [String: Any] {
        let top = max(1, rows.map(\.1).max() ?? 1)
        let rowHeight = 28, labelWidth = 340, barWidth = 280
        let bars = rows.enumerated().map { i, row -> [String: Any] in
            let w = max(row.1 > 0 ? 2 : 0, row.1 * barWidth / top)
            let y = i * rowHeight
            // A label longer than its column is cut in the chart; the table below has it whole.
            let label = row.0.count > 40 ? String(row.0.prefix(39)) + "…" : row.0
            return ["label": label, "full": row.0, "count": "\(row.1)", "y": "\(y)", "textY": "\(y + 19)", "width": "\(w)",
                    "countX": "\(labelWidth + w + 6)", "labelX": "\(labelWidth - 8)", "barX": "\(labelWidth)"]
        }
        return ["id": "chart-\(name)", "title": title, "bars": bars, "height": "\(max(1, rows.count) * rowHeight)",
                "width": "\(labelWidth + barWidth + 60)", "empty": rows.isEmpty]
    }

    /// The reports module's own files, as attachments: the monitoring report and the sanctions list.
    static func download(_ v: Visit, host: NodeHost, file: String) -> Response {
        if let refused = v.coordinatorOnly(host) { return refused }
        let files: [String: (ReportService.Kind, ReportService.Format, String)] = [
            "report.html": (.monitoring, .html, "text/html; charset=utf-8"), "report.md": (.monitoring, .md, "text/markdown; charset=utf-8"),
            "sanctions.html": (.sanctions, .html, "text/html; charset=utf-8"), "sanctions.csv": (.sanctions, .csv, "text/csv; charset=utf-8"),
        ]
        guard let (kind, format, type) = files[file], let text = try? host.reports.render(kind, format: format) else {
            return Pages.message(v, title: v.t("notfound.title"), body: v.t("notfound.body"), status: .notFound, unlocked: true)
        }
        return Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"sandyq-\(file)\""],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
