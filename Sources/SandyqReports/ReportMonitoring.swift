import SandyqCore

/// Counts of cases by status, charge, city and month, with the cases behind each count.
public struct MonitoringReport: Codable, Sendable {
    public struct CaseRef: Codable, Sendable, Equatable {
        public var caseId: String
        public var ref: String?
        public var persons: [String]
    }

    public struct Bucket: Codable, Sendable {
        public var key: String
        /// The key as a person reads it (both languages for the model's closed lists).
        public var label: String
        public var count: Int
        public var cases: [CaseRef]
    }

    public var generated: String
    public var generatedBy: String?
    public var project: String
    public var totalCases: Int
    public var byStatus: [Bucket]
    public var byCharge: [Bucket]
    public var byCity: [Bucket]
    /// By the month of the case's events (YYYY-MM; YYYY where only the year is known).
    public var byMonth: [Bucket]

    /// Counts every case `view` shows, except cases merged into another.
    public init(view: ProjectView, generated: String, generatedBy: String? = nil) {
        self.generated = generated
        self.generatedBy = generatedBy
        project = view.project.description
        let cases = view.orderedCases.filter { $0.mergedTarget == nil }
        totalCases = cases.count
        let notGiven = "—"

        var status: [String: [CaseRef]] = [:], charge: [String: [CaseRef]] = [:]
        var city: [String: [CaseRef]] = [:], month: [String: [CaseRef]] = [:]
        func add(_ d: inout [String: [CaseRef]], _ k: String, _ r: CaseRef) {
            if d[k]?.last != r { d[k, default: []].append(r) }
        }
        for c in cases {
            let r = CaseRef(caseId: c.id.description, ref: c.value("ref"),
                            persons: c.elements("persons").compactMap { c.value("persons", $0, "name") })
            add(&status, c.value("status") ?? notGiven, r)
            let charges = c.elements("charges")
            if charges.isEmpty { add(&charge, notGiven, r) }
            var seen: Set<String> = []
            for e in charges {
                let code = c.value("charges", e, "code") ?? "criminal"
                let k = "\(code) \(c.value("charges", e, "article") ?? "?")"
                if seen.insert(k).inserted { add(&charge, k, r) }
            }
            add(&city, c.value("city") ?? notGiven, r)
            var months: Set<String> = []
            for e in c.elements("events") {
                guard let d = c.value("events", e, "date"), CaseSchema.isDate(d) else { continue }
                months.insert(String(d.prefix(7)))
            }
            if months.isEmpty { add(&month, notGiven, r) }
            for m in months.sorted() { add(&month, m, r) }
        }
        func buckets(_ d: [String: [CaseRef]], label: (String) -> String, byKey: Bool = false) -> [Bucket] {
            d.map { Bucket(key: $0.key, label: $0.key == notGiven ? ReportLabels.notGiven.plain : label($0.key), count: $0.value.count, cases: $0.value) }
                .sorted { a, b in
                    if (a.key == notGiven) != (b.key == notGiven) { return b.key == notGiven }
                    return byKey ? a.key < b.key : (a.count, b.key) > (b.count, a.key)
                }
        }
        byStatus = buckets(status) { ReportLabels.value("status", $0) }
        byCharge = buckets(charge) { k in
            let parts = k.split(separator: " ", maxSplits: 1).map(String.init)
            let article = parts.count > 1 && parts[1] != "?" ? " art. \(parts[1]) · ст. \(parts[1])" : " (article not given · статья не указана)"
            return ReportLabels.value("code", parts[0]) + article
        }
        byCity = buckets(city) { $0 }
        byMonth = buckets(month, label: { $0.count == 4 ? "\($0) (month not given · месяц не указан)" : $0 }, byKey: true)
    }
}
