import SandyqCore

/// Finding cases by name and spotting probable duplicates.
public struct SearchService: Sendable {
    let host: NodeHost

    public func callAsFunction(_ query: SearchQuery) throws(NodeError) -> [SearchHit] {
        try host.withNode { n throws(NodeError) in try n.search(query) }
    }

    /// How many cases match, and the first `first` of them: the desk's list shows a page.
    public func page(_ query: SearchQuery, first: Int) throws(NodeError) -> (count: Int, hits: [SearchHit]) {
        try host.withNode { n throws(NodeError) in try n.searchPage(query, first: first) }
    }

    public func duplicateWarnings(for docs: [CaseDocument]) throws(NodeError) -> [[DuplicateMatch]] {
        try host.withNode { n throws(NodeError) in try n.duplicateWarnings(for: docs) }
    }

    public func duplicatePairs(threshold: Double = NameFolding.duplicateThreshold) throws(NodeError) -> [DuplicatePair] {
        try host.withNode { n throws(NodeError) in try n.duplicatePairs(threshold: threshold) }
    }
}
