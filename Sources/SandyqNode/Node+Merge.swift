import SandyqCore
import SandyqSearch

extension Node {
    public struct MergeResult: Sendable, Codable {
        public var keep: String
        public var other: String
        public var op: String
        /// Elements copied into the kept case, by collection.
        public var copied: [String: Int]
        /// Names of OTHER's persons that became aliases of a matching person of KEEP.
        public var aliasesAdded: [String]
        /// Case fields KEEP lacked and took from OTHER.
        public var fieldsFilled: [String]
    }

    /// Merges case OTHER into case KEEP with one ordinary op: OTHER's elements are copied
    /// into KEEP as new elements (a person of OTHER who matches a person of KEEP becomes
    /// aliases of that person instead; elements KEEP already has, by `sameElement`, are not
    /// copied twice), fields KEEP lacks are filled from OTHER, and OTHER gets `mergedInto`
    /// = KEEP, which hides it from lists, search, duplicates and reports. Nothing is deleted:
    /// OTHER stays in the log and `--merged` shows it.
    @discardableResult
    public func merge(keep keepRef: String, other otherRef: String) throws(NodeError) -> MergeResult {
        let v = try view()
        let keepID = try mapped { try v.resolve(keepRef) }
        let otherID = try mapped { try v.resolve(otherRef) }
        guard keepID != otherID else { throw NodeError(.usage, "KEEP and OTHER are the same case (\(keepID.short))") }
        let keep = v.cases[keepID]!, other = v.cases[otherID]!
        if let m = other.mergedTarget { throw NodeError(.usage, "case \(otherID.short) was already merged into \(m.prefix(8))") }
        if let m = keep.mergedTarget {
            throw NodeError(.usage, "case \(keepID.short) was itself merged into \(m.prefix(8)); merge into that case instead")
        }

        var ms: [Mutation] = []
        var filled: [String] = []
        for f in ["title", "status", "statusDate", "city", "region", "summary", "notes"] {
            if keep.value(f) == nil, let x = other.value(f) {
                ms.append(try mapped { try CaseEditor.set(FieldPath(field: f), to: x, in: keep) })
                filled.append(f)
            }
        }

        var copied: [String: Int] = [:]
        var aliases: [String] = []
        for coll in CaseSchema.collections {
            if coll.name == "tags" {
                for t in other.elements("tags") where !keep.elements("tags").contains(t) {
                    ms += try mapped { try CaseEditor.addElement(case: keepID, collection: "tags", fields: [:], element: t) }
                    copied["tags", default: 0] += 1
                }
                continue
            }
            let existing = keep.elements(coll.name).map { keep.fields(coll, $0) }
            for e in other.elements(coll.name) {
                let fields = other.fields(coll, e)
                guard !fields.isEmpty, !existing.contains(where: { Self.sameElement(coll.name, $0, fields) }) else { continue }
                if coll.name == "persons", let (target, added) = matchingPerson(fields, in: keep) {
                    if !added.isEmpty {
                        let current = keep.value("persons", target, "aliases").map { [$0] } ?? []
                        let value = (current + added).joined(separator: "\n")
                        ms.append(try mapped { try CaseEditor.set(FieldPath(collection: "persons", element: target, field: "aliases"), to: value, in: keep) })
                        aliases += added
                    }
                    for f in ["birthYear", "city", "affiliation"] where keep.value("persons", target, f) == nil {
                        if let x = fields[f] {
                            ms.append(try mapped { try CaseEditor.set(FieldPath(collection: "persons", element: target, field: f), to: x, in: keep) })
                        }
                    }
                    continue
                }
                ms += try mapped { try CaseEditor.addElement(case: keepID, collection: coll.name, fields: fields) }
                copied[coll.name, default: 0] += 1
            }
        }
        ms.append(try mapped { try CaseEditor.set(FieldPath(field: "mergedInto"), to: keepID.description, in: other) })
        let env = try write(ms)
        return MergeResult(keep: keepID.description, other: otherID.description, op: env.id.description,
                           copied: copied, aliasesAdded: aliases, fieldsFilled: filled)
    }

    /// Whether two elements of a collection record the same thing: a source with the same
    /// reference, an official with the same name (folded) and agency, otherwise equal fields.
    static func sameElement(_ collection: String, _ a: [String: String], _ b: [String: String]) -> Bool {
        switch collection {
        case "sources": return a["reference"] == b["reference"]
        case "officials":
            return a["agency"] == b["agency"] && NameFolding.fold(a["name"] ?? "") == NameFolding.fold(b["name"] ?? "")
        default: return a == b
        }
    }

    /// The person of `keep` that the person `fields` probably is, and the names of it that
    /// `keep`'s person does not have yet.
    private func matchingPerson(_ fields: [String: String], in keep: CaseState) -> (String, [String])? {
        let names = [fields["name"]].compactMap { $0 } + (fields["aliases"]?.split(separator: "\n").map(String.init) ?? [])
        var best: (String, Double)?
        for e in keep.elements("persons") {
            let theirs = [keep.value("persons", e, "name")].compactMap { $0 }
                + (keep.value("persons", e, "aliases")?.split(separator: "\n").map(String.init) ?? [])
            for a in names {
                for b in theirs {
                    let s = NameFolding.similarity(a, b)
                    if s >= NameFolding.duplicateThreshold, s > (best?.1 ?? 0) { best = (e, s) }
                }
            }
        }
        guard let (e, _) = best else { return nil }
        let have = ([keep.value("persons", e, "name")].compactMap { $0 }
            + (keep.value("persons", e, "aliases")?.split(separator: "\n").map(String.init) ?? []))
        return (e, names.filter { !have.contains($0) })
    }
}

extension CaseState {
    /// An element's fields as shown (winners), without empty values.
    func fields(_ c: CaseSchema.Collection, _ element: String) -> [String: String] {
        var out: [String: String] = [:]
        for f in c.fields { if let v = value(c.name, element, f), !v.isEmpty { out[f] = v } }
        return out
    }
}
