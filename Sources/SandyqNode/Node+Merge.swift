import SandyqCore
import SandyqSearch

extension Node {
    public typealias MergeResult = CaseMerge.Result

    /// Merges case OTHER into case KEEP with one ordinary op (`CaseMerge` says what it
    /// writes). Nothing is deleted: OTHER stays in the log and `--merged` shows it.
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
        let plan = try mapped { try CaseMerge.plan(keep: keep, other: other, names: .folded) }
        let env = try write(batch: plan.withheld.isEmpty ? [plan.mutations] : [plan.mutations, plan.withheld])[0]
        return plan.result(keep: keepID, other: otherID, op: env.id)
    }
}
