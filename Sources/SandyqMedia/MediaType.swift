/// A file's type, told from its first bytes (never from its name).
public enum MediaType: String, Sendable, Codable, CaseIterable {
    case jpeg = "image/jpeg"
    case png = "image/png"
    case pdf = "application/pdf"
    case mp4 = "video/mp4"
    case mov = "video/quicktime"
    case webm = "video/webm"
    case ogg = "audio/ogg"
    case mp3 = "audio/mpeg"
    case wav = "audio/wav"
    case unknown = "application/octet-stream"

    /// How many leading bytes `sniff` looks at; fewer are fine for a shorter file.
    public static let sniffLength = 12

    public static func sniff(head: [UInt8]) -> MediaType {
        func at(_ i: Int, _ s: [UInt8]) -> Bool { head.count >= i + s.count && Array(head[i..<(i + s.count)]) == s }
        if at(0, [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if at(0, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if at(0, Array("%PDF-".utf8)) { return .pdf }
        if at(4, Array("ftyp".utf8)) { return at(8, Array("qt  ".utf8)) ? .mov : .mp4 }
        // Old QuickTime files open with a movie or data atom and no ftyp.
        if at(4, Array("moov".utf8)) || at(4, Array("mdat".utf8)) || at(4, Array("wide".utf8)) { return .mov }
        if at(0, [0x1A, 0x45, 0xDF, 0xA3]) { return .webm }
        if at(0, Array("OggS".utf8)) { return .ogg }
        if at(0, Array("RIFF".utf8)) && at(8, Array("WAVE".utf8)) { return .wav }
        if at(0, Array("ID3".utf8)) { return .mp3 }
        // An MPEG audio layer III frame sync.
        if head.count >= 2 && head[0] == 0xFF && head[1] & 0xE6 == 0xE2 { return .mp3 }
        return .unknown
    }

    /// Formats whose metadata `MetadataStripper` removes.
    public var canStrip: Bool {
        switch self {
        case .jpeg, .png, .mp4, .mov: true
        default: false
        }
    }
}
