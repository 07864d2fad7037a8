import SandyqCore
import SandyqCrypto

/// The whole readable view, for other tools: `sandyq export --format json|csv`.
///
/// JSON is a `sandyq-cases/2` collection (so `sandyq case import` reads it back) whose
/// cases carry, besides the document, `mergedInto`, `archived`, open `conflicts` and the
/// number of `ops` behind the case. CSV is one row per shown field value (long format, so
/// nothing is lost and any spreadsheet can pivot it), with the op and author of each value.
public struct ReportExport: Encodable, Sendable {
    public struct Case: Encodable, Sendable {
        public var document: CaseDocument
        public var mergedInto: String?
        public var archived: Bool
        public var conflicts: [String: [String]]
        public var ops: Int

        enum Extra: String, CodingKey { case mergedInto, archived, conflicts, ops }

        /// The document's keys and the extra ones side by side in one object.
        public func encode(to encoder: any Encoder) throws {
            try document.encode(to: encoder)
            var c = encoder.container(keyedBy: Extra.self)
            try c.encodeIfPresent(mergedInto, forKey: .mergedInto)
            try c.encode(archived, forKey: .archived)
            if !conflicts.isEmpty { try c.encode(conflicts, forKey: .conflicts) }
            try c.encode(ops, forKey: .ops)
        }
    }

    public var format = CaseDocument.format
    public var project: String
    public var exported: String
    public var cases: [Case]

    public init(view: ProjectView, generated: String) {
        project = view.project.description
        exported = generated
        cases = view.orderedCases.map { s in
            var k: [String: [String]] = [:]
            for c in s.conflicts { k[c.path.description] = c.writes.map(\.value) }
            return Case(document: s.document, mergedInto: s.mergedTarget, archived: s.isArchived, conflicts: k, ops: s.ops.count)
        }
    }

    public static let csvHeader = ["case_id", "ref", "collection", "element", "field", "value", "conflict", "op", "author", "time"]

    /// One row per surviving field value of every case (a conflict gives a row per value).
    public static func csv(view: ProjectView) -> String {
        func fingerprint(_ k: SigningPublicKey) -> String {
            view.membership.members[k]?.node.fingerprint ?? Hex.encode(Hash.blake2b(k.bytes, length: 16).prefix(6))
        }
        var rows: [[String]] = [csvHeader]
        for s in view.orderedCases {
            let ref = s.value("ref") ?? ""
            for (path, reg) in s.registers.sorted(by: { $0.key < $1.key }) {
                if !path.collection.isEmpty, !s.elements(path.collection).contains(path.element) { continue }
                let survivors = reg.survivors
                for w in survivors {
                    rows.append([s.id.description, ref, path.collection, path.element, path.field, w.value,
                                 survivors.count > 1 ? "yes" : "", w.op.description, fingerprint(w.author),
                                 ReportLabels.utc(millis: HybridClock.millis(w.clock))])
                }
            }
            for t in s.elements("tags") { rows.append([s.id.description, ref, "tags", t, "", t, "", "", "", ""]) }
        }
        return ReportCSV.encode(rows)
    }
}
