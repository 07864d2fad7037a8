import SandyqCore

/// Finding cases by name and spotting probable duplicates.
public struct SearchService: Sendable {
    let host: NodeHost

    public func callAsFunction(_ query: SearchQuery) throws(NodeError) -> [SearchHit] {
        try host.withNode { n throws(NodeError) in try n.search(query) }
    }

    public func duplicateWarnings(for docs: [CaseDocument]) throws(NodeError) -> [[DuplicateMatch]] {
        try host.withNode { n throws(NodeError) in try n.duplicateWarnings(for: docs) }
    }

    public func duplicatePairs(threshold: Double = NameFolding.duplicateThreshold) throws(NodeError) -> [DuplicatePair] {
        try host.withNode { n throws(NodeError) in try n.duplicatePairs(threshold: threshold) }
    }
}
