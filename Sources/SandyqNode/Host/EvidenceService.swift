import SandyqCore

/// Attaching, listing, verifying and exporting evidence files.
public struct EvidenceService: Sendable {
    let host: NodeHost

    public func attach(_ ref: String, path: String, note: String = "", stripAtCapture: Bool = false) throws(NodeError) -> EvidenceEntry {
        try host.withNode { n throws(NodeError) in try n.attach(ref, path: path, note: note, stripAtCapture: stripAtCapture) }
    }

    /// See `Node.checkAttachable`.
    public static func checkAttachable(_ path: String, strip: Bool = false) throws(NodeError) { try Node.checkAttachable(path, strip: strip) }

    public func list(_ ref: String? = nil) throws(NodeError) -> [EvidenceEntry] {
        try host.withNode { n throws(NodeError) in try n.evidence(ref) }
    }

    public func sent() throws(NodeError) -> [(fid: String, chunks: Int, present: Int)] {
        try host.withNode { n throws(NodeError) in try n.sentEvidence() }
    }

    public func verify(path: String) throws(NodeError) -> (sha256: String, matches: [EvidenceEntry]) {
        try host.withNode { n throws(NodeError) in try n.verifyEvidence(path: path) }
    }

    public func get(_ fileID: String, to path: String, original: Bool = false) throws(NodeError) -> EvidenceCopy {
        try host.withNode { n throws(NodeError) in try n.getEvidence(fileID, to: path, original: original) }
    }

    public func export(_ ref: String? = nil, to dir: String, working: Bool = false) throws(NodeError) -> EvidenceExport {
        try host.withNode { n throws(NodeError) in try n.exportEvidence(ref, to: dir, working: working) }
    }

    /// Every file this node holds chunks of, has checked or let go, with who else said they hold it.
    public func held() throws(NodeError) -> [HeldFile] {
        try host.withNode { n throws(NodeError) in try n.heldFiles() }
    }

    /// Lets go of this node's copy of files a coordinator acknowledged (all such, or `fids`).
    public func release(_ fids: [String]? = nil) throws(NodeError) -> [HeldFile] {
        try host.withNode { n throws(NodeError) in try n.releaseAcknowledged(fids) }
    }

    /// Checks an export; the signer is checked against this project's members.
    public func verifyManifest(_ dir: String) throws(NodeError) -> ManifestCheck {
        let members = Set(try host.view().membership.members.keys)
        return try Node.verifyManifest(dir, members: members)
    }
}

extension NodeHost {
    public var evidence: EvidenceService { EvidenceService(host: self) }
}
