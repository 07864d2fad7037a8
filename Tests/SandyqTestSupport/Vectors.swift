import Foundation

/// Where the package's files are, from this file's path (tests read the repo's files, never copies).
public enum PackagePaths {
    /// Tests/SandyqTestSupport/Vectors.swift -> <package>
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // SandyqTestSupport
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // package root

    /// seeds/cases.json.
    public static var seedCases: URL { root.appendingPathComponent("seeds/cases.json") }
}

/// A vector file that breaks the format every Protocol/vectors folder shares.
public struct VectorFormatError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
    public init(_ description: String) { self.description = description }
}

/// What every vector folder shares (Protocol/README.md): `key: value` header lines, one blank
/// line, then nothing; byte strings in lowercase hex, an empty one `key:` alone. Each folder's
/// loader adds its own keys and closed list of `expect` values.
public enum Vectors {
    /// <package>/Protocol/vectors
    public static let root = PackagePaths.root.appendingPathComponent("Protocol/vectors", isDirectory: true)

    /// Protocol/vectors/<name>
    public static func folder(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }

    /// Every file in `folder`, sorted; empty when it is missing (the catalog tests then fail).
    public static func files(in folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    /// The `.txt` vector names in `folder`, sorted.
    public static func names(in folder: URL) -> [String] { files(in: folder).filter { $0.hasSuffix(".txt") } }

    /// The header of vector `name`: each key once, a single space after the colon dropped.
    public static func header(_ text: String, _ name: String) throws -> [String: String] {
        guard text.hasSuffix("\n\n"), !text.dropLast(2).contains("\n\n") else {
            throw VectorFormatError("\(name): header must end with exactly one blank line and nothing after it")
        }
        var fields: [String: String] = [:]
        for line in text.dropLast(2).split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                throw VectorFormatError("\(name): not a `key: value` line: \(line)")
            }
            let key = String(line[..<colon])
            var value = line[line.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            guard !key.isEmpty, fields[key] == nil else {
                throw VectorFormatError("\(name): empty or repeated key \(key)")
            }
            fields[key] = String(value)
        }
        return fields
    }

    /// Strict lowercase hex.
    public static func hex(_ s: String, context: String = "hex") throws -> [UInt8] {
        let digits = Array(s.utf8)
        guard digits.count % 2 == 0 else { throw VectorFormatError("\(context): odd-length hex") }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: throw VectorFormatError("\(context): not lowercase hex")
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            out.append(try nibble(digits[i]) << 4 | nibble(digits[i + 1]))
            i += 2
        }
        return out
    }
}
