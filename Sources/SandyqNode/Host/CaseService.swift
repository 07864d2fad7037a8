import SandyqCore

/// Recording, editing, listing and merging cases.
public struct CaseService: Sendable {
    let host: NodeHost

    public typealias MergeResult = Node.MergeResult

    @discardableResult
    public func add(_ doc: CaseDocument) throws(NodeError) -> CaseID {
        try host.withNode { n throws(NodeError) in try n.addCase(doc) }
    }

    public func importCases(_ docs: [CaseDocument]) throws(NodeError) -> [CaseID] {
        try host.withNode { n throws(NodeError) in try n.importCases(docs) }
    }

    public func state(_ ref: String) throws(NodeError) -> CaseState {
        try host.withNode { n throws(NodeError) in try n.caseState(ref) }
    }

    /// Every readable case, in the view's order.
    public func list() throws(NodeError) -> [CaseState] { try host.view().orderedCases }

    public func set(_ ref: String, fields: [(FieldPath, String)]) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.set(ref, fields: fields) }
    }

    public func set(_ ref: String, superseding fields: [(path: FieldPath, value: String, seen: [OpID])]) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.set(ref, superseding: fields) }
    }

    @discardableResult
    public func addElement(_ ref: String, collection: String, fields: [String: String], element: String? = nil) throws(NodeError) -> String {
        try host.withNode { n throws(NodeError) in try n.addElement(ref, collection: collection, fields: fields, element: element) }
    }

    public func removeElement(_ ref: String, collection: String, element: String) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.removeElement(ref, collection: collection, element: element) }
    }

    /// Every remove of the case's elements, oldest first: the part of its history the view lacks.
    public func removals(_ ref: String) throws(NodeError) -> [Node.Removal] {
        try host.withNode { n throws(NodeError) in try n.removals(ref) }
    }

    /// The element of `collection` in case `ref` that `prefix` names.
    public func element(_ prefix: String, of collection: String, inCase ref: String) throws(NodeError) -> String {
        try host.withNode { n throws(NodeError) in try n.element(prefix, of: collection, inCase: ref) }
    }

    public func archive(_ ref: String, archived: Bool = true) throws(NodeError) {
        try host.withNode { n throws(NodeError) in try n.archive(ref, archived: archived) }
    }

    public func conflicts() throws(NodeError) -> [(CaseState, [(path: FieldPath, writes: [Write])])] {
        try host.withNode { n throws(NodeError) in try n.conflicts() }
    }

    @discardableResult
    /// What withdrawing a case would take with it; nothing is written.
    public func withdrawalPlan(_ ref: String) throws(NodeError) -> Node.WithdrawalPlan {
        try host.withNode { n throws(NodeError) in try n.withdrawalPlan(ref) }
    }

    /// Withdraws a case on every node that syncs (Node.withdraw).
    public func withdraw(_ ref: String, withMerged: Bool = false, reason: String = "") throws(NodeError) -> WithdrawalReport {
        try host.withNode { n throws(NodeError) in try n.withdraw(ref, withMerged: withMerged, reason: reason) }
    }

    /// Withdraws one element of a case on every node that syncs.
    public func withdraw(_ ref: String, collection: String, element: String, reason: String = "") throws(NodeError) -> WithdrawalReport {
        try host.withNode { n throws(NodeError) in try n.withdraw(ref, collection: collection, element: element, reason: reason) }
    }

    public func merge(keep: String, other: String) throws(NodeError) -> Node.MergeResult {
        try host.withNode { n throws(NodeError) in try n.merge(keep: keep, other: other) }
    }

    /// Seals and stores one op per element of `batch` (the raw write the others build on).
    @discardableResult
    public func write(batch: [[Mutation]]) throws(NodeError) -> [Envelope] {
        try host.withNode { n throws(NodeError) in try n.write(batch: batch) }
    }
}
