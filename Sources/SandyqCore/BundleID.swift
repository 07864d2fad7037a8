import SandyqCrypto

/// A bundle's id: 16 random bytes its writer picks, shared by every part of one export, by
/// which the mailbox learns which of its bundles a peer imported.
public struct BundleID: Hashable, Sendable, CustomStringConvertible {
    public static let length = 16
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    public static func random() -> BundleID { BundleID(uncheckedBytes: Random.bytes(length)) }

    private init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }

    public var description: String { Hex.encode(bytes) }
}
