import SandyqCore
import SandyqSearch
import SandyqCrypto

/// Officials aggregated across every readable case: the list coordinators propose for
/// personal sanctions. One official spelled several ways (Масімов, Масимов, Massimov) is
/// one entry: names are grouped when they fold to nearly the same skeleton.
public struct SanctionsReport: Codable, Sendable {
    public struct CaseLink: Codable, Sendable {
        public var caseId: String
        public var ref: String?
        public var persons: [String]
        public var status: String?
        /// What the official did in this case, as recorded.
        public var act: String?
        public var position: String?
        public var provenance: ReportProvenance?
        /// The official's part in this case's violations (`perpetrators`), the gravest first.
        public var involvement: [String]?
        /// What was done in those violations (the acts' types).
        public var violations: [String]?
    }

    public struct Official: Codable, Sendable {
        /// The spelling used most often.
        public var name: String
        /// Every spelling seen, the main one first.
        public var variants: [String]
        public var agencies: [String]
        public var positions: [String]
        public var caseCount: Int
        public var cases: [CaseLink]
        /// Sources of the cases tied to the official, the most cited first.
        public var sources: [String]
        public var language: String
        /// Every part the official played across cases, the gravest first; the list is ordered by its first.
        public var involvement: [String]?
    }

    /// Degrees of involvement, gravest first: who gave the order before who carried it out.
    public static let degrees = ["gave_order", "carried_out", "complicit", "failed_to_prevent"]
    static func rank(_ degree: String?) -> Int { degree.flatMap { degrees.firstIndex(of: $0) } ?? degrees.count }

    public var generated: String
    public var generatedBy: String?
    public var project: String
    public var caseCount: Int
    public var officials: [Official]

    /// Builds the list from every case `view` shows, except cases merged into another.
    public init(view: ProjectView, generated: String, generatedBy: String? = nil) {
        self.generated = generated
        self.generatedBy = generatedBy
        project = view.project.description
        let cases = view.orderedCases.filter { $0.mergedTarget == nil }
        caseCount = cases.count

        func fingerprint(_ k: SigningPublicKey) -> String {
            view.membership.members[k]?.node.fingerprint ?? Hex.encode(Hash.blake2b(k.bytes, length: 16).prefix(6))
        }

        struct Group {
            var tokens: [[UInt8]]
            var spellings: [String: Int] = [:]
            var agencies: [String: Int] = [:]
            var positions: [String: Int] = [:]
            var links: [String: CaseLink] = [:]
            var order: [String] = []
            var sources: [String: Int] = [:]
        }
        var groups: [Group] = []
        var bySkeleton: [String: Int] = [:]

        for c in cases {
            let persons = c.elements("persons").compactMap { c.value("persons", $0, "name") }
            let caseSources = Set(c.elements("sources").compactMap { c.value("sources", $0, "reference") })
            for e in c.elements("officials") {
                guard let name = c.value("officials", e, "name"), !name.isEmpty else { continue }
                let skeleton = NameFolding.fold(name)
                let tokens = NameFolding.tokens(name)
                let g: Int
                if let i = bySkeleton[skeleton] {
                    g = i
                } else if let i = groups.firstIndex(where: { NameFolding.similarity($0.tokens, tokens) >= 0.9 }) {
                    g = i; bySkeleton[skeleton] = i
                } else {
                    groups.append(Group(tokens: tokens)); g = groups.count - 1; bySkeleton[skeleton] = g
                }
                groups[g].spellings[name, default: 0] += 1
                if let a = c.value("officials", e, "agency") { groups[g].agencies[a, default: 0] += 1 }
                let position = c.value("officials", e, "position")
                if let p = position { groups[g].positions[p, default: 0] += 1 }
                let id = c.id.description
                let w = c.register(FieldPath(collection: "officials", element: e, field: "name"))?.winner
                let act = c.value("officials", e, "act")
                // The violations this official took part in, by the case's perpetrators that name them.
                let parts = c.elements("perpetrators").filter { c.value("perpetrators", $0, "official") == e }
                let degrees = Set(parts.compactMap { c.value("perpetrators", $0, "involvement") }).sorted { Self.rank($0) < Self.rank($1) }
                let violations = Set(parts.compactMap { p in c.value("perpetrators", p, "violation").flatMap { c.value("acts", $0, "type") } }).sorted()
                if var link = groups[g].links[id] {
                    // The same official twice in one case: keep both acts.
                    if let act, link.act != act { link.act = [link.act, act].compactMap { $0 }.joined(separator: " / ") }
                    if !degrees.isEmpty {
                        link.involvement = Set((link.involvement ?? []) + degrees).sorted { Self.rank($0) < Self.rank($1) }
                        link.violations = Set((link.violations ?? []) + violations).sorted()
                    }
                    groups[g].links[id] = link
                } else {
                    groups[g].links[id] = CaseLink(
                        caseId: id, ref: c.value("ref"), persons: persons, status: c.value("status"), act: act, position: position,
                        provenance: w.map { ReportProvenance(op: $0.op.description, author: fingerprint($0.author),
                                                             time: ReportLabels.utc(millis: HybridClock.millis($0.clock))) },
                        involvement: degrees.isEmpty ? nil : degrees, violations: violations.isEmpty ? nil : violations)
                    groups[g].order.append(id)
                    for s in caseSources { groups[g].sources[s, default: 0] += 1 }
                }
            }
        }

        func ranked(_ d: [String: Int]) -> [String] { d.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key) }
        officials = groups.map { g in
            let variants = ranked(g.spellings)
            let links = g.order.map { g.links[$0]! }
            let degrees = Set(links.flatMap { $0.involvement ?? [] }).sorted { Self.rank($0) < Self.rank($1) }
            return Official(name: variants[0], variants: variants, agencies: ranked(g.agencies), positions: ranked(g.positions),
                            caseCount: g.order.count, cases: links, sources: ranked(g.sources),
                            language: ReportLabels.language(of: variants[0]) ?? "ru", involvement: degrees.isEmpty ? nil : degrees)
        }.sorted {
            // Who gave orders before who carried them out; then the most cases.
            (Self.rank($1.involvement?.first), $0.caseCount, $1.name) > (Self.rank($0.involvement?.first), $1.caseCount, $0.name)
        }
    }
}
