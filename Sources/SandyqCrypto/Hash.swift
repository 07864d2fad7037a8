internal import CSodium

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
