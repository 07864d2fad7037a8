import Foundation
import SandyqCore
import SandyqCrypto
import SandyqStore

extension Node {
    /// The rule for handing ops to `recipients`, from the membership ops this node holds.
    public func carryRule(to recipients: [SigningPublicKey]) throws(NodeError) -> CarryRule {
        guard try project() != nil else { return .everything }
        return CarryRule(to: recipients, from: nodeID.signingKey, in: try storedMembership(), writeOnly: isWriteOnly)
    }

    /// How many ops `peer` lacks that `rule` lets through.
    func undelivered(above acked: VersionVector, mine: VersionVector, rule: CarryRule) throws(NodeError) -> Int {
        guard rule.restricts else { return mine.missing(from: acked) }
        var n = 0
        try mapped { try store.forEachEnvelope(missingFrom: acked) { if rule.allows($0) { n += 1 } } }
        return n
    }
}
