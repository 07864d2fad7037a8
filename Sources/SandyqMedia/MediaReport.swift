/// What a file says about who made it, where and with what.
public struct MediaFinding: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case gps, device, time, software, person, other
    }

    public let kind: Kind
    /// Where the value was found, e.g. "EXIF Make" or "PNG tEXt Author".
    public let label: String
    /// Readable value; control characters replaced, at most `maxValueLength` characters.
    public let value: String

    public static let maxValueLength = 256

    public init(_ kind: Kind, _ label: String, _ value: String) {
        self.kind = kind
        self.label = label
        self.value = MediaText.clean(value)
    }
}

/// The findings for one file.
public struct MediaReport: Sendable, Equatable, Codable {
    public let type: MediaType
    public let findings: [MediaFinding]

    /// Whether `MetadataStripper` can remove this format's metadata; if not, a working copy
    /// still carries whatever `findings` lists.
    public var canStrip: Bool { type.canStrip }

    public init(type: MediaType, findings: [MediaFinding]) {
        self.type = type
        self.findings = findings
    }
}

/// Why a file cannot be stripped.
public enum MediaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The format's metadata cannot be removed by this module (PDF, WebM, ...).
    case notStrippable(MediaType)
    /// The container's structure is broken where the stripper must read it.
    case malformed(String)
    /// The file ends inside a structure header.
    case truncated

    /// Stable, dotted, for callers and logs.
    public var code: String {
        switch self {
        case .notStrippable: "media.not_strippable"
        case .malformed: "media.malformed"
        case .truncated: "media.truncated"
        }
    }

    public var description: String {
        switch self {
        case .notStrippable(let t): "\(t.rawValue): metadata of this format cannot be removed"
        case .malformed(let what): "malformed file: \(what)"
        case .truncated: "the file ends inside a structure header"
        }
    }
}

enum MediaText {
    /// Text from a file, safe to show: controls replaced, length capped, padding trimmed.
    static func clean(_ s: String) -> String {
        var out = ""
        var n = 0
        for u in s.unicodeScalars {
            if n >= MediaFinding.maxValueLength {
                out += "…"
                break
            }
            let v = u.value
            let control = v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
                || v == 0x2028 || v == 0x2029
            out.unicodeScalars.append(control ? " " : u)
            n += 1
        }
        return out.trimmingSpaces()
    }

    /// Bytes as text: UTF-8 when valid, else Latin-1; trailing NULs dropped.
    static func string(_ b: ArraySlice<UInt8>) -> String {
        var b = b
        while let last = b.last, last == 0 { b = b.dropLast() }
        if let s = String(validating: b, as: UTF8.self) { return s }
        return String(b.map { Character(Unicode.Scalar($0)) })
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
