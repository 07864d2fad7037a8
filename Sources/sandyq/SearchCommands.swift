import ArgumentParser
import Foundation
import SandyqNode

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find cases by any word or name, however it was spelled.",
        discussion: """
        Names match across Kazakh, Russian, Ukrainian and Latin spellings (Мұхтар Жәкішев, Мухтар Джакишев,
        Mukhtar Dzhakishev and "Jakishev Mukhtar" are one name), and every other field is searched too.
        Each hit says why it matched. The index is built in memory when the node is unlocked and never stored.
        With no QUERY, lists the cases that pass the filters.

        --benchmark builds 10,000 synthetic cases in memory (no node needed), indexes them and times 1,000
        queries: it prints the index build time and the median and 99th-percentile query latency.
        """)

    @OptionGroup var node: NodeOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Words or a name, in any script.") var query: [String] = []
    @Option(help: "Only cases with this status.") var status: String?
    @Option(name: [.customLong("charge"), .customLong("article")], help: "Only cases with a charge under this article, e.g. 405.")
    var charge: String?
    @Option(help: "Only cases in this city (any script): the case's city or region, a person's city, an event's place.")
    var city: String?
    @Option(help: "Only cases with a dated fact on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).") var from: String?
    @Option(help: "Only cases with a dated fact on or before this date.") var to: String?
    @Option(help: "Only cases with an official of this agency involved: \(CaseSchema.collection("officials")!.choices["agency"]!.joined(separator: ", ")).")
    var agency: String?
    @Option(help: "At most this many hits.") var limit = 20
    @Flag(help: "Include cases merged into another.") var merged = false
    @Flag(help: "Include archived cases.") var archived = false
    @Flag(help: "Time the search over synthetic cases instead (no node is opened).") var benchmark = false
    @Option(help: "Cases for --benchmark.") var benchmarkCases = 10_000
    @Option(help: "Queries for --benchmark.") var benchmarkQueries = 1_000
    @Option(help: "With --benchmark: instead time duplicate scoring of one case whose person's name has this many words.")
    var benchmarkNameTokens: Int?

    func validate() throws {
        if let status, !CaseSchema.statuses.contains(status) {
            throw ValidationError("unknown status '\(status)'; use one of: \(CaseSchema.statuses.joined(separator: ", "))")
        }
        for (flag, d) in [("--from", from), ("--to", to)] {
            if let d, !CaseSchema.isDate(d) { throw ValidationError("\(flag) '\(d)' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)") }
        }
        let agencies = CaseSchema.collection("officials")!.choices["agency"]!
        if let agency, !agencies.contains(agency) {
            throw ValidationError("unknown agency '\(agency)'; use one of: \(agencies.joined(separator: ", "))")
        }
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        guard benchmarkCases > 0, benchmarkQueries > 0 else { throw ValidationError("--benchmark-cases and --benchmark-queries must be positive") }
    }

    func run() throws {
        try sandyq.run {
            if benchmark, let tokens = benchmarkNameTokens {
                let r = SearchBenchmark.longName(tokens: tokens, cases: min(benchmarkCases, 2_000))
                if output.json { try printJSON(r); return }
                say("duplicate scoring of one case with a \(r.tokens)-word name among \(r.cases) synthetic cases:")
                say(String(format: "  case add warnings %.3f s, index build %.3f s, case duplicates %.3f s (%d pairs), search %.3f s",
                           r.warningSeconds, r.indexSeconds, r.pairsSeconds, r.pairs, r.searchSeconds))
                return
            }
            if benchmark {
                let r = SearchBenchmark.run(cases: benchmarkCases, queries: benchmarkQueries)
                if output.json { try printJSON(r); return }
                say("search benchmark: \(r.cases) synthetic cases, \(r.terms) distinct terms, \(r.queries) queries")
                say(String(format: "  index build: %.3f s", r.buildSeconds))
                say(String(format: "  query latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%.1f hits per query on average)",
                             r.p50Millis, r.p99Millis, r.maxMillis, r.meanHits))
                say(String(format: "  case duplicates over the same cases: %.3f s (%d pairs; synthetic names repeat)",
                             r.duplicatePairsSeconds, r.duplicatePairs))
                for k in r.byKind {
                    say("    " + k.kind.padding(toLength: 38, withPad: " ", startingAt: 0)
                          + String(format: " p50 %8.3f ms, p99 %8.3f ms (%d queries, %.1f hits)", k.p50Millis, k.p99Millis, k.queries, k.meanHits))
                }
                return
            }
            let q = SearchQuery(text: query.joined(separator: " "), status: status, article: charge, city: city, from: from, to: to,
                                agency: agency, includeMerged: merged, includeArchived: archived, limit: limit)
            let n = try node.open()
            let hits = try n.search(q)
            if output.json { try printJSON(hits); return }
            if hits.isEmpty { say("no cases match"); return }
            for h in hits {
                let who = h.persons.joined(separator: ", ")
                var flags = ""
                if let m = h.mergedInto { flags += "  [merged into \(m.prefix(8))]" }
                if h.archived { flags += "  [archived]" }
                say("\(h.caseId.prefix(8))  \(String(format: "%.2f", h.score))  \(h.ref.map { "\($0)  " } ?? "")\(who.isEmpty ? (h.title ?? "") : who)  [\(h.status ?? "-")]\(flags)")
                for r in h.reasons {
                    let value = r.value.count > 120 ? String(r.value.prefix(120)) + "…" : r.value
                    say("          \(r.field): \(value)  (\(r.matched.isEmpty ? "" : "\(r.matched), ")\(String(format: "%.2f", r.score)))")
                }
            }
        }
    }
}

extension CaseCommand {
    struct Duplicates: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List pairs of cases that probably concern the same person (names folded across scripts).")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Report pairs scoring at least this (0...1).") var threshold = NameFolding.duplicateThreshold

        func validate() throws {
            guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be between 0 and 1") }
        }

        func run() throws {
            try sandyq.run {
                let pairs = try node.open().search.duplicatePairs(threshold: threshold)
                if output.json { try printJSON(pairs); return }
                if pairs.isEmpty { say("no likely duplicates"); return }
                for p in pairs {
                    say("\(String(format: "%.2f", p.score))  \(p.first.caseId.prefix(8))\(p.first.ref.map { " (\($0))" } ?? "") \(p.first.name)"
                          + "  ~  \(p.second.caseId.prefix(8))\(p.second.ref.map { " (\($0))" } ?? "") \(p.second.name)")
                }
                say("Merge a pair with: sandyq case merge KEEP OTHER")
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge case OTHER into case KEEP (one op; OTHER stays in the log, hidden from lists, search and reports).",
            discussion: """
            OTHER's charges, events, officials, sources, aid and tags are copied into KEEP as new elements (those KEEP
            already has field for field are not copied twice); a person of OTHER who matches a person of KEEP becomes
            other spellings (aliases) of that person; fields KEEP lacks are filled from OTHER; OTHER gets mergedInto=KEEP.
            """)
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The case to keep (id, prefix or ref).") var keep: String
        @Argument(help: "The case merged into it (id, prefix or ref).") var other: String

        func run() throws {
            try sandyq.run {
                let r = try node.open().cases.merge(keep: keep, other: other)
                if output.json { try printJSON(r); return }
                let copied = r.copied.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                say("Merged case \(r.other.prefix(8)) into \(r.keep.prefix(8)) (op \(r.op.prefix(12)))")
                if !copied.isEmpty { say("  copied: \(copied)") }
                if !r.aliasesAdded.isEmpty { say("  other spellings added: \(r.aliasesAdded.joined(separator: ", "))") }
                if !r.fieldsFilled.isEmpty { say("  fields filled: \(r.fieldsFilled.joined(separator: ", "))") }
            }
        }
    }
}

/// A duplicate warning as `case add --json` and `case import --json` print it.
struct DuplicateWarningJSON: Encodable {
    /// For `case import`: the position of the new case in the file (from 1) and its new id.
    var index: Int?
    var caseId: String?
    var ref: String?
    /// The case that probably has the same person already.
    var sameAs: String
    var sameAsRef: String?
    var name: String
    var existingName: String
    var score: Double
}

enum DuplicateWarnings {
    /// Warnings a `case import` prints before it only counts the rest.
    static let shownAtMost = 100

    /// "probably the same person as in case 7f3a1b2c…: Мухтар Джакишев, score 0.91"
    static func text(_ m: DuplicateMatch, ids: [CaseID] = []) -> String {
        let target = resolve(m.caseId, ids)
        let shown = target.hasPrefix("#") ? "case \(target) of this import" : "case \(target.prefix(8))…"
        return "probably the same person as in \(shown)\(m.ref.map { " (\($0))" } ?? ""): \(m.name), score \(String(format: "%.2f", m.score))"
    }

    /// Turns a batch placeholder (#3) into the id the import gave it.
    static func resolve(_ id: String, _ ids: [CaseID]) -> String {
        if id.hasPrefix("#"), let k = Int(id.dropFirst()), k >= 1, k <= ids.count { return ids[k - 1].description }
        return id
    }

    static func printToStderr(_ lines: [String]) {
        for l in lines { sayError("warning: \(l)") }
    }
}
