/// What merging case OTHER into case KEEP writes, as one ordinary op: OTHER's elements are
/// copied into KEEP as new elements (a person of OTHER who matches a person of KEEP becomes
/// aliases of that person instead; elements KEEP already has, by `sameElement`, are not
/// copied twice), fields KEEP lacks are filled from OTHER, and OTHER gets `mergedInto` =
/// KEEP, which hides it from lists, search, duplicates and reports. Nothing is deleted.
public enum CaseMerge {
    /// How names compare. Search's name folding supplies it, so Core holds no spelling rules.
    public struct Names: Sendable {
        /// Whether two names are one name written two ways.
        public var same: @Sendable (String, String) -> Bool
        /// How alike two names are, 0...1.
        public var similarity: @Sendable (String, String) -> Double
        /// The similarity from which two persons are taken to be one.
        public var threshold: Double

        public init(same: @escaping @Sendable (String, String) -> Bool,
                    similarity: @escaping @Sendable (String, String) -> Double, threshold: Double) {
            self.same = same; self.similarity = similarity; self.threshold = threshold
        }
    }

    /// What a merge did, as `case merge` prints it.
    public struct Result: Sendable, Codable {
        public var keep: String
        public var other: String
        public var op: String
        /// Elements copied into the kept case, by collection.
        public var copied: [String: Int]
        /// Names of OTHER's persons that became aliases of a matching person of KEEP.
        public var aliasesAdded: [String]
        /// Case fields KEEP lacked and took from OTHER.
        public var fieldsFilled: [String]

        public init(keep: String, other: String, op: String, copied: [String: Int], aliasesAdded: [String], fieldsFilled: [String]) {
            self.keep = keep; self.other = other; self.op = op
            self.copied = copied; self.aliasesAdded = aliasesAdded; self.fieldsFilled = fieldsFilled
        }
    }

    /// The mutations of a merge, and what they do before the op that carries them exists.
    public struct Plan: Sendable {
        public var mutations: [Mutation]
        public var copied: [String: Int]
        public var aliasesAdded: [String]
        public var fieldsFilled: [String]
        /// Copies of withheld fields (a source's identity), for an op of KEEP's alone: the merge op
        /// touches both cases, and its session is granted to the lawyers of either.
        public var withheld: [Mutation] = []

        /// The result once the mutations were written as op `op`.
        public func result(keep: CaseID, other: CaseID, op: OpID) -> Result {
            Result(keep: keep.description, other: other.description, op: op.description,
                   copied: copied, aliasesAdded: aliasesAdded, fieldsFilled: fieldsFilled)
        }
    }

    /// The mutations that merge `other` into `keep`. The caller checks that the two differ
    /// and that neither was merged already.
    public static func plan(keep: CaseState, other: CaseState, names: Names) throws(CoreError) -> Plan {
        let keepID = keep.id
        var ms: [Mutation] = []
        var filled: [String] = []
        for f in ["title", "status", "statusDate", "city", "region", "summary", "notes"] {
            if keep.value(f) == nil, let x = other.value(f) {
                ms.append(try CaseEditor.set(FieldPath(field: f), to: x, in: keep))
                filled.append(f)
            }
        }

        var copied: [String: Int] = [:]
        // OTHER's element ids to KEEP's, for the links of the collections that come later.
        var moved: [String: String] = [:]
        var withheld: [Mutation] = []
        var aliases: [String] = []
        // Evidence stays with the case it was attached to: its record is not a field to copy.
        for coll in CaseSchema.collections where !coll.system {
            if coll.name == "tags" {
                for t in other.elements("tags") where !keep.elements("tags").contains(t) {
                    ms += try CaseEditor.addElement(case: keepID, collection: "tags", fields: [:], element: t)
                    copied["tags", default: 0] += 1
                }
                continue
            }
            let existing = keep.elements(coll.name).map { ($0, keep.fields(coll, $0)) }
            for e in other.elements(coll.name) {
                var fields = other.fields(coll, e)
                var hidden: [String: String] = [:]
                for f in coll.withheld { hidden[f] = fields.removeValue(forKey: f) }
                // A link names OTHER's element; in KEEP it names the element that element became.
                for (f, _) in coll.links { fields[f] = fields[f].flatMap { moved[$0] } }
                guard !fields.isEmpty else { continue }
                if let same = existing.first(where: { sameElement(coll.name, $0.1, fields, names: names) }) {
                    moved[e] = same.0
                    continue
                }
                if coll.name == "persons", let (target, added) = matchingPerson(fields, in: keep, names: names) {
                    moved[e] = target
                    if !added.isEmpty {
                        let current = keep.value("persons", target, "aliases").map { [$0] } ?? []
                        let value = (current + added).joined(separator: "\n")
                        ms.append(try CaseEditor.set(FieldPath(collection: "persons", element: target, field: "aliases"), to: value, in: keep))
                        aliases += added
                    }
                    for f in ["birthYear", "city", "affiliation"] where keep.value("persons", target, f) == nil {
                        if let x = fields[f] {
                            ms.append(try CaseEditor.set(FieldPath(collection: "persons", element: target, field: f), to: x, in: keep))
                        }
                    }
                    continue
                }
                let id = CaseEditor.newElementID()
                moved[e] = id
                ms += try CaseEditor.addElement(case: keepID, collection: coll.name, fields: fields, element: id)
                for (f, v) in hidden.sorted(by: { $0.key < $1.key }) {
                    withheld.append(.put(case: keepID, path: FieldPath(collection: coll.name, element: id, field: f), value: v, supersedes: []))
                }
                copied[coll.name, default: 0] += 1
            }
        }
        ms.append(try CaseEditor.set(FieldPath(field: "mergedInto"), to: keepID.description, in: other))
        return Plan(mutations: ms, copied: copied, aliasesAdded: aliases, fieldsFilled: filled, withheld: withheld)
    }

    /// Whether two elements of a collection record the same thing: a source with the same
    /// reference, an official with the same name and agency, otherwise equal fields.
    public static func sameElement(_ collection: String, _ a: [String: String], _ b: [String: String], names: Names) -> Bool {
        switch collection {
        case "sources": return a["reference"] == b["reference"]
        case "officials":
            return a["agency"] == b["agency"] && names.same(a["name"] ?? "", b["name"] ?? "")
        default: return a == b
        }
    }

    /// The person of `keep` that the person `fields` probably is, and the names of it that
    /// `keep`'s person does not have yet.
    static func matchingPerson(_ fields: [String: String], in keep: CaseState, names: Names) -> (String, [String])? {
        let given = [fields["name"]].compactMap { $0 } + (fields["aliases"]?.split(separator: "\n").map(String.init) ?? [])
        var best: (String, Double)?
        for e in keep.elements("persons") {
            let theirs = [keep.value("persons", e, "name")].compactMap { $0 }
                + (keep.value("persons", e, "aliases")?.split(separator: "\n").map(String.init) ?? [])
            for a in given {
                for b in theirs {
                    let s = names.similarity(a, b)
                    if s >= names.threshold, s > (best?.1 ?? 0) { best = (e, s) }
                }
            }
        }
        guard let (e, _) = best else { return nil }
        let have = ([keep.value("persons", e, "name")].compactMap { $0 }
            + (keep.value("persons", e, "aliases")?.split(separator: "\n").map(String.init) ?? []))
        return (e, given.filter { !have.contains($0) })
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
