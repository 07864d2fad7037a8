import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqStore

/// The StoreError `body` throws; nil when it succeeds. Any other error is a test failure.
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch let e as StoreError {
        return e
    } catch {
        Issue.record("expected a StoreError, got \(error)")
        return .io("unexpected: \(error)")
    }
}

func pass(_ s: String) -> SecureBytes { SecureBytes(Array(s.utf8)) }

/// A founder with a genesis op, for building real signed envelopes.
struct Founder {
    let identity: Identity
    let nodeID: NodeID
    let project: ProjectID
    let nonce: [UInt8]

    init() {
        identity = Identity()
        nodeID = NodeID(signingKey: identity.signing.publicKey, boxKey: identity.box.publicKey)
        nonce = Random.bytes(16)
        project = ProjectID.derive(founder: nodeID, nonce: nonce)
    }

    var author: SigningPublicKey { identity.signing.publicKey }

    /// A writer at the start of this founder's chain in `project` (default: the founder's project).
    func writer(project: ProjectID? = nil, seq: UInt64 = 0, prev: OpID = .zero) -> OpWriter {
        OpWriter(keys: identity.signing, project: project ?? self.project, seq: seq, prev: prev, clock: HybridClock())
    }

    /// Genesis followed by `count` sealed ops, in chain order (seq 1 ... count + 1).
    func chain(sealed count: Int, writer w: OpWriter? = nil) -> [Envelope] {
        let w = w ?? writer()
        var out = [w.membership(.genesis(founder: nodeID, nonce: nonce))]
        for i in 0..<count {
            out.append(w.sealed([.projectName("name \(i)")], readers: [identity.box.publicKey], wallMillis: 1_700_000_000_000 + UInt64(i)))
        }
        return out
    }
}
