import Foundation
import SandyqCore
import SandyqCrypto

/// The fuzz input as an array (libFuzzer passes a null pointer for the empty input).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A failed property: trap, so libFuzzer records the input as a crash.
public func fuzzCheck(_ ok: @autoclosure () -> Bool, _ what: @autoclosure () -> String) {
    if !ok() {
        FileHandle.standardError.write(Data("fuzz property failed: \(what())\n".utf8))
        abort()
    }
}

/// Reads fuzz bytes front to back; past the end it yields zeros, so every input is usable.
public struct FuzzReader {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { max(0, bytes.count - offset) }

    public mutating func u8() -> UInt8 {
        defer { offset += 1 }
        return offset < bytes.count ? bytes[offset] : 0
    }

    public mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }

    public mutating func u64() -> UInt64 { (0..<8).reduce(UInt64(0)) { acc, _ in acc << 8 | UInt64(u8()) } }

    /// Exactly `n` bytes, zero-padded past the end.
    public mutating func take(_ n: Int) -> [UInt8] { (0..<n).map { _ in u8() } }

    /// Up to `n` bytes, fewer at the end.
    public mutating func prefix(_ n: Int) -> [UInt8] {
        let k = min(n, remaining)
        defer { offset += k }
        return k > 0 ? Array(bytes[offset..<(offset + k)]) : []
    }

    public mutating func rest() -> [UInt8] { prefix(remaining) }
}

/// Keys fixed across runs, so a saved crash input replays the same way.
public enum Fixed {
    public static func secret(_ label: String) -> SecureBytes {
        SecureBytes(Hash.blake2b(Array("sandyq-fuzz \(label)".utf8), length: 32))
    }

    public static func signing(_ label: String) -> SigningKeyPair { SigningKeyPair(seed: secret(label)) }

    public static func box(_ label: String) -> BoxKeyPair {
        guard let k = try? BoxKeyPair(secretKey: secret(label)) else { fatalError("32-byte box secret refused") }
        return k
    }

    public static func box(secretHex: String) -> BoxKeyPair {
        guard let b = Hex.decode(secretHex), let k = try? BoxKeyPair(secretKey: SecureBytes(b)) else { fatalError("bad box secret") }
        return k
    }

    public static func symmetric(_ label: String) -> SymmetricKey {
        guard let k = try? SymmetricKey(secret(label)) else { fatalError("32-byte key refused") }
        return k
    }

    public static func symmetric(hex: String) -> SymmetricKey {
        guard let b = Hex.decode(hex), let k = try? SymmetricKey(SecureBytes(b)) else { fatalError("bad symmetric key") }
        return k
    }

    /// The recipient of every Protocol/vectors/bundle file, so their preambles open for the harness too.
    public static let bundleRecipientSecret = "a1484c2bb2abba5e1d27c7140e2d527cee0cde1fa5f014361a8e8ec9892f780a"
    /// handshake_ok's network key.
    public static let networkKeyHex = "94ecfe54a4e84e41c6d40bf05c5c6cffea2766bb0fb193818d655d5c5e0e954c"
}

/// A Protocol/vectors text file: `key: value` lines.
public struct VectorFile {
    public let name: String
    public let fields: [String: String]

    public func bytes(_ key: String) -> [UInt8]? { fields[key].flatMap(Hex.decode) }

    /// Every .txt file under `dir`, sorted by name.
    public static func all(in dir: String) -> [VectorFile] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".txt") }.sorted()
        return names.compactMap { name in
            guard let text = try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) else { return nil }
            var f: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                f[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            }
            return VectorFile(name: String(name.dropLast(4)), fields: f)
        }
    }
}

/// Seed corpora are made by the harness itself from Protocol/vectors, because the wrapped
/// targets need the vectors' inner layers (decrypted records, bodies, plaintexts).
/// With SANDYQ_FUZZ_SEEDS=DIR and SANDYQ_VECTORS=Protocol/vectors set, the first call
/// writes the seeds to DIR and exits.
public enum Seeds {
    public static func emitIfAsked(_ make: (_ vectors: String) -> [(String, [UInt8])]) {
        let env = ProcessInfo.processInfo.environment
        guard let out = env["SANDYQ_FUZZ_SEEDS"] else { return }
        let vectors = env["SANDYQ_VECTORS"] ?? "Protocol/vectors"
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let seeds = make(vectors)
        for (name, bytes) in seeds {
            FileManager.default.createFile(atPath: out + "/" + name, contents: Data(bytes))
        }
        FileHandle.standardError.write(Data("wrote \(seeds.count) seeds to \(out)\n".utf8))
        _exit(0) // not exit(): libFuzzer counts an exit during a run as a crash
    }
}
