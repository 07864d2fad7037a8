internal import CSodium
import Dispatch

/// BLAKE2b (libsodium's generichash).
public enum Hash {
    public static let defaultLength = Int(crypto_generichash_BYTES)
    public static let keyLength = Int(crypto_generichash_KEYBYTES)

    public static func blake2b<C: Collection>(_ data: C, length: Int = defaultLength, key: SecureBytes? = nil) -> [UInt8] where C.Element == UInt8 {
        Sodium.ensure()
        precondition(length >= Int(crypto_generichash_BYTES_MIN) && length <= Int(crypto_generichash_BYTES_MAX))
        // libsodium rejects keys over 64 bytes by returning -1 and leaving `out` untouched (all zeros):
        // never hand back that zero "digest".
        precondition((key?.count ?? 0) <= Int(crypto_generichash_KEYBYTES_MAX), "BLAKE2b key must be at most 64 bytes")
        var out = [UInt8](repeating: 0, count: length)
        let input: [UInt8] = (data as? [UInt8]) ?? Array(data)
        let rc = input.withUnsafeBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                if let key, key.count > 0 {
                    return key.withUnsafeBytes { k in
                        crypto_generichash(o.baseAddress!, length, inp.baseAddress, UInt64(inp.count),
                                           k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
                    }
                } else {
                    return crypto_generichash(o.baseAddress!, length, inp.baseAddress, UInt64(inp.count), nil, 0)
                }
            }
        }
        precondition(rc == 0, "crypto_generichash failed")
        return out
    }

    /// Hashes several parts as one message, without concatenating them first.
    public static func blake2b(parts: [[UInt8]], length: Int = defaultLength) -> [UInt8] {
        Sodium.ensure()
        precondition(length >= Int(crypto_generichash_BYTES_MIN) && length <= Int(crypto_generichash_BYTES_MAX))
        // The state struct is over-aligned, so Swift sees it as opaque: allocate it by size.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        defer { raw.deallocate() }
        let state = OpaquePointer(raw)
        _ = crypto_generichash_init(state, nil, 0, length)
        for p in parts {
            p.withUnsafeBufferPointer { _ = crypto_generichash_update(state, $0.baseAddress, UInt64($0.count)) }
        }
        var out = [UInt8](repeating: 0, count: length)
        out.withUnsafeMutableBufferPointer { _ = crypto_generichash_final(state, $0.baseAddress!, length) }
        return out
    }
}

/// Streaming SHA-256: the digest courts and forensic tools expect for a file, computed a
/// piece at a time so a large file is never held whole.
public final class SHA256 {
    public static let length = Int(crypto_hash_sha256_BYTES)
    private let state = UnsafeMutablePointer<crypto_hash_sha256_state>.allocate(capacity: 1)
    private var finished = false

    public init() {
        Sodium.ensure()
        _ = crypto_hash_sha256_init(state)
    }

    deinit { state.deallocate() }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(!finished, "SHA256 already finalized")
        _ = crypto_hash_sha256_update(state, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public func finalize() -> [UInt8] {
        precondition(!finished, "SHA256 already finalized")
        finished = true
        var out = [UInt8](repeating: 0, count: Self.length)
        out.withUnsafeMutableBufferPointer { _ = crypto_hash_sha256_final(state, $0.baseAddress!) }
        return out
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        let h = SHA256()
        h.update(bytes)
        return h.finalize()
    }
}

/// SHA-256 on a thread of its own, so a caller that also seals and writes each piece does not
/// wait for the hash: `update` hands the piece over and returns at once, unless `depth` pieces
/// already wait (so memory stays at a few pieces, never the file). The pieces are hashed in the
/// order given. Hashing is the slowest step of an attach (libsodium's SHA-256 is portable C, a
/// fifth of XChaCha20-Poly1305's rate), so on two cores this takes it out of the sum.
public final class PipelinedSHA256: @unchecked Sendable {
    // `sha` is touched only on `queue`; `room` bounds the pieces handed over and not yet hashed.
    private let sha = SHA256()
    private let queue = DispatchQueue(label: "sandyq.sha256")
    private let room: DispatchSemaphore

    public init(depth: Int = 2) {
        precondition(depth > 0)
        room = DispatchSemaphore(value: depth)
    }

    /// The array is shared with the hashing thread, not copied.
    public func update(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        room.wait()
        queue.async { [self] in
            sha.update(bytes)
            room.signal()
        }
    }

    /// Waits for every piece handed over, then gives the digest. Once only.
    public func finalize() -> [UInt8] {
        queue.sync { sha.finalize() }
    }
}
