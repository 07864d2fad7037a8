import Foundation
import Testing
import SandyqCore
import SandyqSearch

@Suite struct SearchIndexTests {
    /// The seed cases, each under its ref as id.
    static func seedIndex(extra: [SearchIndex.Entry] = []) throws -> SearchIndex {
        if extra.isEmpty { return try plainSeedIndex.get() }
        return SearchIndex(try SeedNames.cases().map { SearchIndex.Entry(id: $0.ref!, document: $0) } + extra)
    }

    /// Built once: a debug build takes a good part of a second to index the seeds.
    static let plainSeedIndex = Result { SearchIndex(try SeedNames.cases().map { SearchIndex.Entry(id: $0.ref!, document: $0) }) }

    static func doc(_ name: String, _ configure: (inout CaseDocument) -> Void = { _ in }) -> CaseDocument {
        var d = CaseDocument()
        d.persons = [CaseDocument.Person(name: name)]
        configure(&d)
        return d
    }

    @Test func everySeedPersonIsFoundUnderAnotherScriptOrTransliteration() throws {
        let index = try Self.seedIndex()
        var checked = 0
        for doc in try SeedNames.cases() {
            for p in doc.persons ?? [] {
                let variants = [SeedNames.scientific(p.name), SeedNames.kazakhLatin(p.name), SeedNames.russified(p.name),
                                SeedNames.reversed(SeedNames.scientific(p.name))] + (p.aliases ?? []).map(SeedNames.scientific)
                for v in variants {
                    let hits = index.search(SearchQuery(text: v))
                    #expect(hits.first?.caseId == doc.ref,
                            "\(v) (for \(p.name)) found \(hits.prefix(3).map { "\($0.caseId) \($0.score)" })")
                    #expect((hits.first?.score ?? 0) >= NameFolding.duplicateThreshold, "\(v): \(hits.first?.score ?? 0)")
                    checked += 1
                }
            }
        }
        #expect(checked >= 41 * 4)
    }

    @Test(arguments: [
        ("Mukhtar Dzhakishev", "seed-02"), ("Jakishev Mukhtar", "seed-02"), ("Jakishev", "seed-02"), ("Мұхтар Жәкішев", "seed-02"),
        ("Max Bokayev", "seed-01"), ("Iskander Yerimbetov", "seed-03"), ("Yeskendir Yerimbetov", "seed-03"),
        ("Natalia Ulasik", "seed-04"), ("Muratkhan Tokmadi", "seed-05"), ("Zhanbolat Mamay", "seed-06"),
        ("Aset Abishev", "seed-10"), ("Abishev Aset", "seed-10"), ("Kenzhebek Abishev", "seed-30"),
        ("Lukpan Akhmediarov", "seed-16"), ("Dulat Agadil", "seed-17"), ("Zhanbolat Agadil", "seed-18"),
        ("Dametkan Aspandiyarova", "seed-22"), ("Gulzipa Jaukerova", "seed-24"), ("Bota Jardemali", "seed-25"),
        ("Mukhtar Ablyazov", "seed-26"), ("Barlyk Mendygaziev", "seed-28"), ("Asel Onlabekkyzy", "seed-35"),
        ("Marat Zhylanbayev", "seed-39"), ("Yerzhan Yelshibayev", "seed-40"), ("Temirlan Yensebek", "seed-41"),
        ("Yerbol Yeskhozin", "seed-33"), ("Seytkazy Mataev", "seed-07"), ("Saniya Toyken", "seed-15"),
    ])
    func handWrittenLatinFormsFindTheCase(_ query: String, _ ref: String) throws {
        let hits = try Self.seedIndex().search(SearchQuery(text: query))
        #expect(hits.first?.caseId == ref, "\(query): \(hits.prefix(3).map { "\($0.caseId) \($0.score)" })")
    }

    @Test func aMatchSaysWhy() throws {
        let index = try Self.seedIndex()
        let hit = try #require(index.search(SearchQuery(text: "Jakishev Mukhtar")).first)
        #expect(hit.caseId == "seed-02")
        #expect(hit.score == 1)
        let reason = try #require(hit.reasons.first)
        #expect(reason.field == "persons.name" || reason.field == "persons.aliases")
        #expect(reason.value == "Мухтар Джакишев" || reason.value == "Мұхтар Жәкішев")

        // A word of the summary in another script: the excerpt shows the word as written.
        let aktau = index.search(SearchQuery(text: "Aktau"))
        #expect(Set(aktau.map(\.caseId)).isSuperset(of: ["seed-08", "seed-09", "seed-10", "seed-11", "seed-15"]), "\(aktau.map(\.caseId))")
        let r = try #require(aktau.first?.reasons.first)
        // Kazakh or Russian spelling, as the seed wrote it; never the Latin query echoed back.
        #expect((r.value.contains("Ақтау") || r.value.contains("Актау")) && !r.value.contains("Aktau"), "\(r)")
    }

    /// The deeper model is searched too: a resolution's reference, what a detention was like.
    @Test func interventionsAndDetentionsAreSearched() throws {
        let index = try Self.seedIndex()
        let rsp = index.search(SearchQuery(text: "2021/2544", limit: nil))
        #expect(Set(rsp.map(\.caseId)).isSuperset(of: ["seed-01", "seed-02", "seed-03"]), "\(rsp.map(\.caseId))")
        #expect(rsp.first?.reasons.contains { $0.field == "interventions.reference" } == true, "\(rsp.first?.reasons ?? [])")
        var held = CaseDocument.Detention()
        held.facility = "Учреждение ЛА-155/14, Заречный"
        let colony = Self.doc("Ержан Тестов") { $0.detentions = [held] }
        let withColony = try Self.seedIndex(extra: [SearchIndex.Entry(id: "colony", document: colony)])
        let hit = try #require(withColony.search(SearchQuery(text: "Заречный")).first)
        #expect(hit.caseId == "colony" && hit.reasons.first?.field == "detentions.facility", "\(hit)")
    }

    @Test func officialsAreFoundAcrossScripts() throws {
        let index = try Self.seedIndex()
        // The seeds spell them with Ukrainian letters (Масімов, Нурдаулєтов, Тургумбаєв).
        for q in ["Масимов", "Massimov", "Nurdauletov", "Тургумбаев", "Turgumbayev"] {
            let hits = index.search(SearchQuery(text: q, limit: nil))
            #expect(hits.count == 13, "\(q): \(hits.count)")
            #expect(hits.allSatisfy { $0.reasons.contains { $0.field == "officials.name" } }, "\(q)")
        }
    }

    @Test func unrelatedNamesFindNothingStrong() throws {
        let index = try Self.seedIndex()
        for q in ["Nursultan Nazarbayev", "Ivan Petrenko", "Олена Шевченко", "Timur Kulibayev"] {
            let top = index.search(SearchQuery(text: q)).first?.score ?? 0
            #expect(top < NameFolding.duplicateThreshold, "\(q) scored \(top)")
        }
    }

    @Test func filtersNarrowTheResults() throws {
        var a = Self.doc("Айдос Садыков") { d in
            d.status = "detained"; d.city = "Алматы"
            var c = CaseDocument.Charge(); c.code = "criminal"; c.article = "405"; d.charges = [c]
            var e = CaseDocument.Event(type: "arrest"); e.date = "2022-01-06"; d.events = [e]
            var o = CaseDocument.Official(name: "Иван Иванов"); o.agency = "court"; d.officials = [o]
        }
        a.title = "Январские события"
        let b = Self.doc("Нурлан Садыков") { d in
            d.status = "sentenced"; d.city = "Шымкент"
            var c = CaseDocument.Charge(); c.code = "criminal"; c.article = "174"; d.charges = [c]
            var e = CaseDocument.Event(type: "verdict"); e.date = "2023"; d.events = [e]
        }
        let index = try Self.seedIndex(extra: [.init(id: "a", document: a), .init(id: "b", document: b)])
        func ids(_ q: SearchQuery) -> Set<String> { Set(index.search(q).map(\.caseId)) }
        #expect(ids(SearchQuery(text: "Sadykov")) == ["a", "b"])
        #expect(ids(SearchQuery(text: "Sadykov", status: "detained")) == ["a"])
        #expect(ids(SearchQuery(text: "Sadykov", article: "174")) == ["b"])
        #expect(ids(SearchQuery(text: "Sadykov", city: "Almaty")) == ["a"])
        #expect(ids(SearchQuery(text: "Sadykov", city: "Шымкент")) == ["b"])
        #expect(ids(SearchQuery(text: "Sadykov", from: "2022-01-01", to: "2022-12-31")) == ["a"])
        #expect(ids(SearchQuery(text: "Sadykov", from: "2023-06")) == ["b"])  // "2023" overlaps June 2023 on
        #expect(ids(SearchQuery(text: "Sadykov", agency: "court")) == ["a"])
        #expect(ids(SearchQuery(text: "Sadykov", agency: "knb")).isEmpty)
        // Filters alone: every seed case naming a KNB official, and nothing else.
        #expect(ids(SearchQuery(agency: "knb", limit: nil)).count == 13)
        #expect(ids(SearchQuery(status: "deceased", limit: nil)) == ["seed-17", "seed-18", "seed-19", "seed-20", "seed-21"])
        #expect(ids(SearchQuery(text: "405", limit: nil)) == ["a"])  // numbers match exactly: 405 never finds 406
        #expect(ids(SearchQuery(from: "2020", to: "2020", limit: nil)).isSuperset(of: ["seed-17", "seed-18"]))
    }

    @Test func mergedAndArchivedCasesAreHiddenUnlessAsked() throws {
        let dup = SearchIndex.Entry(id: "dup", document: Self.doc("Mukhtar Dzhakishev"), mergedInto: "seed-02")
        let old = SearchIndex.Entry(id: "old", document: Self.doc("Mukhtar Dzhakishev"), archived: true)
        let index = try Self.seedIndex(extra: [dup, old])
        // Other seed cases mention Джакишев in their text; the merged and the archived one are not listed.
        let shown = index.search(SearchQuery(text: "Dzhakishev", limit: nil)).map(\.caseId)
        #expect(shown.first == "seed-02")
        #expect(!shown.contains("dup") && !shown.contains("old"), "\(shown)")
        let all = Set(index.search(SearchQuery(text: "Dzhakishev", includeMerged: true, includeArchived: true, limit: nil)).map(\.caseId))
        #expect(all.isSuperset(of: ["seed-02", "dup", "old"]))
        #expect(Set(index.search(SearchQuery(text: "Dzhakishev", includeArchived: true, limit: nil)).map(\.caseId)) == all.subtracting(["dup"]))
        // A merged case's person is no longer a duplicate candidate (the keeper has it).
        #expect(index.duplicates(ofNames: ["Мұхтар Жәкішев"]).map(\.caseId).sorted() == ["old", "seed-02"])
    }

    @Test func duplicatesOfANewSpellingAreFoundAndUnrelatedOnesAreNot() throws {
        let index = try Self.seedIndex()
        let m = index.duplicates(ofNames: ["Mukhtar Dzhakishev"])
        #expect(m.map(\.caseId) == ["seed-02"])
        #expect(m.first.map { $0.score >= NameFolding.duplicateThreshold } == true)
        #expect(m.first?.name == "Мухтар Джакишев" || m.first?.name == "Мұхтар Жәкішев")
        #expect(index.duplicates(ofNames: ["Max Bokayev"]).map(\.caseId) == ["seed-01"])
        #expect(index.duplicates(ofNames: ["Мухтар Аблязов"]).map(\.caseId) == ["seed-26"])
        // Relatives and namesakes are not duplicates.
        #expect(index.duplicates(ofNames: ["Мухтар Сейтказиев"]).isEmpty)
        #expect(index.duplicates(ofNames: ["Серик Агадил"]).isEmpty)
        #expect(index.duplicates(ofNames: ["Абишев"]).isEmpty)
    }

    @Test func anImportIsCheckedAgainstTheLogAndItsOwnEarlierCases() throws {
        let batch = [SearchIndex.Entry(id: "#1", document: Self.doc("Max Bokayev")),
                     SearchIndex.Entry(id: "#2", document: Self.doc("Айдос Садыков")),
                     SearchIndex.Entry(id: "#3", document: Self.doc("Макс Боқаев")),
                     SearchIndex.Entry(id: "#4", document: Self.doc("Aidos Sadykov"))]
        let w = try Self.seedIndex(extra: batch).duplicatesOfEntries(from: 41)
        #expect(w.map { $0.map(\.caseId).sorted() } == [["seed-01"], [], ["#1", "seed-01"], ["#2"]])
    }

    @Test func pairsAcrossTheLog() throws {
        // The seeds hold 41 distinct persons: no pair.
        #expect(try Self.seedIndex().duplicatePairs().isEmpty)
        let again = SearchIndex.Entry(id: "again", document: Self.doc("Dzhakishev Mukhtar"))
        let pairs = try Self.seedIndex(extra: [again]).duplicatePairs()
        #expect(pairs.count == 1)
        #expect(pairs.first.map { [$0.first.caseId, $0.second.caseId].sorted() } == ["again", "seed-02"])
    }
}
