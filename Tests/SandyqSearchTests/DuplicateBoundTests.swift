import Testing
import SandyqCore
@testable import SandyqSearch

/// A hostile case cannot make duplicate scoring quadratic in the length of its names: name
/// scoring sees at most `maxNameTokens` words of a name, each at most `maxNameTokenLength`
/// letters, and at most `maxNamesPerCase` names of a case. (The time a 4,000-word name
/// costs is measured by `sandyq search --benchmark --benchmark-name-tokens 4000`.)
@Suite struct DuplicateBoundTests {
    static func entry(_ id: String, _ names: [String], aliases: [String] = []) -> SearchIndex.Entry {
        var d = CaseDocument()
        d.persons = names.map { CaseDocument.Person(name: $0) }
        if !aliases.isEmpty { d.persons?[0].aliases = aliases }
        return SearchIndex.Entry(id: id, document: d)
    }

    @Test func aFourThousandWordNameIsScoredOnItsFirstWords() {
        let filler = (0..<4_000).map { ["Асқар", "Ерлан", "Бокаев", "Серік", "Тоқмадиев"][$0 % 5] + String($0 % 7) }
        let hostile = Self.entry("hostile", [(["Мұхтар", "Жәкішев"] + filler).joined(separator: " ")])
        let index = SearchIndex([Self.entry("real", ["Mukhtar Dzhakishev"]), hostile])
        #expect(index.docs[1].names[0].tokens.count == NameFolding.maxNameTokens, "\(index.docs[1].names[0].tokens.count) tokens kept")
        // Its first words still make it a candidate duplicate of the real case.
        let w = index.duplicatesOfEntries(from: 1)
        #expect(w.count == 1)
        let pairs = index.duplicatePairs(threshold: 0.5)
        #expect(pairs.count <= 1)
    }

    @Test func longWordsAndManyNamesAreCut() {
        let long = String(repeating: "а", count: 100_000)
        #expect(NameFolding.nameTokens(long + " b").allSatisfy { $0.count <= NameFolding.maxNameTokenLength })
        let crowd = Self.entry("crowd", (0..<1_000).map { "Айдос Садыков\($0)" }, aliases: (0..<1_000).map { "Aidos \($0)" })
        let index = SearchIndex([crowd])
        #expect(index.docs[0].names.count == SearchIndex.maxNamesPerCase)
        #expect(SearchIndex.personNames(crowd.document).count == SearchIndex.maxNamesPerCase)
    }

    @Test func ordinaryNamesAreUntouched() {
        let n = "Мұхтар Әбілқасымұлы Жәкішев"
        #expect(NameFolding.nameTokens(n) == NameFolding.tokens(n))
    }
}
