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

/// A vector's header with the checks every folder makes: a known area, a file named
/// `<area>_<case>.txt`, the area's keys and no others, an `expect` from the area's closed
/// list, and a comment.
public struct VectorHeader: Sendable, CustomStringConvertible {
    /// An area's keys beyond `area`, `expect` and `comment`.
    public struct Keys: Sendable {
        public var required: [String]
        public var optional: [String]
        public init(required: [String], optional: [String] = []) { self.required = required; self.optional = optional }
    }

    public let name: String
    public let area: String
    public let expect: String
    public let comment: String
    private let fields: [String: String]

    public var description: String { "\(name) (\(comment))" }

    public init(name: String, text: String, keys: [String: Keys], expects: [String: Set<String>]) throws {
        let fields = try Vectors.header(text, name)
        guard let area = fields["area"], let k = keys[area], let allowed = expects[area] else {
            throw VectorFormatError("\(name): missing or unknown area \(fields["area"] ?? "(none)")")
        }
        guard name.hasPrefix(area + "_"), name.hasSuffix(".txt") else {
            throw VectorFormatError("\(name): file name must be \(area)_<case>.txt")
        }
        let required = ["area", "expect", "comment"] + k.required
        for key in required where fields[key] == nil {
            throw VectorFormatError("\(name): missing key \(key)")
        }
        let unknown = Set(fields.keys).subtracting(required + k.optional)
        guard unknown.isEmpty else { throw VectorFormatError("\(name): unknown keys \(unknown.sorted())") }
        guard let expect = fields["expect"], allowed.contains(expect) else {
            throw VectorFormatError("\(name): expect is not in the closed list for \(area)")
        }
        guard let comment = fields["comment"], !comment.isEmpty else {
            throw VectorFormatError("\(name): empty comment")
        }
        self.name = name
        self.area = area
        self.expect = expect
        self.comment = comment
        self.fields = fields
    }

    /// The header of file `name` in `folder`.
    public init(named name: String, in folder: URL, keys: [String: Keys], expects: [String: Set<String>]) throws {
        try self.init(name: name, text: String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8),
                      keys: keys, expects: expects)
    }

    public func has(_ key: String) -> Bool { fields[key] != nil }

    public func string(_ key: String) throws -> String {
        guard let v = fields[key] else { throw VectorFormatError("\(name): no key \(key)") }
        return v
    }

    public func bytes(_ key: String) throws -> [UInt8] { try Vectors.hex(string(key), context: "\(name): \(key)") }

    /// nil when the key is absent.
    public func optionalBytes(_ key: String) throws -> [UInt8]? { has(key) ? try bytes(key) : nil }
}

/// A folder's vector type: its header, and what every header offers.
public protocol VectorRecord: CustomStringConvertible {
    var header: VectorHeader { get }
}

extension VectorRecord {
    public var name: String { header.name }
    public var area: String { header.area }
    public var comment: String { header.comment }
    public var description: String { header.description }
    public func has(_ key: String) -> Bool { header.has(key) }
    public func string(_ key: String) throws -> String { try header.string(key) }
    public func bytes(_ key: String) throws -> [UInt8] { try header.bytes(key) }
    /// nil when the key is absent.
    public func optionalBytes(_ key: String) throws -> [UInt8]? { try header.optionalBytes(key) }
}

/// A vector type read from one folder with one set of keys and `expect` lists.
public protocol VectorFolderRecord: VectorRecord {
    static var directory: URL { get }
    static var keys: [String: VectorHeader.Keys] { get }
    static var expects: [String: Set<String>] { get }
    init(header: VectorHeader)
}

extension VectorFolderRecord {
    public init(named name: String) throws {
        self.init(header: try VectorHeader(named: name, in: Self.directory, keys: Self.keys, expects: Self.expects))
    }

    public init(name: String, text: String) throws {
        self.init(header: try VectorHeader(name: name, text: text, keys: Self.keys, expects: Self.expects))
    }
}
