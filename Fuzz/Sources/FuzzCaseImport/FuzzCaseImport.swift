import Foundation
import FuzzSupport
import SandyqCore
import SandyqSearch

// What `sandyq case import FILE` does before it writes: the JSON decoded as a case
// collection (with the CLI's plain JSONDecoder), each case turned into mutations by
// `CaseEditor.create` (the schema checks), and the duplicate search over the batch and
// five cases already held. Properties: a collection that decodes re-encodes to JSON that
// decodes to the same cases; `create` starts every case with its add mutation.

let cap = 32

/// seeds/cases.json beside Protocol/: the file the README imports.
func seedCases(_ vectors: String) -> [CaseDocument] {
    let path = vectors + "/../../seeds/cases.json"
    guard let data = FileManager.default.contents(atPath: path),
          let coll = try? JSONDecoder().decode(CaseDocument.Collection.self, from: data) else { return [] }
    return coll.cases
}

let held: [SearchIndex.Entry] = {
    let vectors = ProcessInfo.processInfo.environment["SANDYQ_VECTORS"] ?? "../Protocol/vectors"
    return seedCases(vectors).prefix(5).enumerated().map { SearchIndex.Entry(id: "held-\($0.offset)", document: $0.element) }
}()

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    // One case a file keeps inputs small, so libFuzzer's length limit stays low.
    for (i, c) in seedCases(vectors).enumerated() {
        if let d = try? enc.encode(CaseDocument.Collection(cases: [c])) { out.append(("case-\(i)", Array(d))) }
    }
    out.append(("empty", Array(#"{"cases": []}"#.utf8)))
    out.append(("no-format", Array(#"{"cases": [{"title": "x", "persons": [{"name": "Әсет Әбішев"}]}]}"#.utf8)))
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCaseImport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    let bytes = fuzzInput(data, size)
    guard let coll = try? JSONDecoder().decode(CaseDocument.Collection.self, from: Data(bytes)) else { return 0 }
    guard let json = try? JSONEncoder().encode(coll) else { fuzzCheck(false, "a decoded collection encodes"); return 0 }
    let again = try? JSONDecoder().decode(CaseDocument.Collection.self, from: json)
    fuzzCheck(again?.cases == coll.cases && again?.format == coll.format, "cases survive encode then decode")

    let docs = Array(coll.cases.prefix(cap))
    for d in docs {
        let id = CaseID.random()
        guard let ms = try? CaseEditor.create(d, id: id) else { continue }
        fuzzCheck(ms.first == .add(case: id, collection: "", element: ""), "a created case starts with its add")
    }
    let batch = docs.enumerated().map { SearchIndex.Entry(id: "#\($0.offset + 1)", document: $0.element) }
    let warnings = SearchIndex(held + batch).duplicatesOfEntries(from: held.count)
    fuzzCheck(warnings.count == batch.count, "one warning list per imported case")
    for w in warnings.joined() { fuzzCheck(w.score.isFinite, "a duplicate score is a number") }
    return 0
}
