/// Removes a file's metadata as it streams through: bytes in, bytes out, never the whole file
/// in memory (except an MP4/MOV `moov` atom, at most `maxMoovLength`).
///
/// - JPEG: drops APP1 (EXIF, XMP), APP13 (IPTC) and COM segments before the first scan;
///   keeps every other segment and everything from SOS on verbatim.
/// - PNG: drops eXIf, tEXt, iTXt, zTXt and tIME chunks; keeps the rest verbatim.
/// - MP4/MOV: turns udta and meta atoms (top level, in moov and in each trak) and XMP uuid
///   atoms into zero-filled `free` atoms of the same size, so no sample offset moves.
/// - Other types: `feed` throws `MediaError.notStrippable`.
///
/// The output does not depend on how the input is split between `feed` calls.
public struct MetadataStripper: Sendable {
    public static let maxMoovLength = MediaInspector.maxMoovLength

    /// What was removed, one entry per segment, chunk or atom.
    public private(set) var removed: [String] = []
    /// The type, once the first bytes have been seen.
    public private(set) var type: MediaType?

    private var buf: [UInt8] = []
    private var state = State.start
    private var finished = false
    /// Set at a PNG's IEND: what follows its body is copied as it is.
    private var endAfterBody = false

    private enum State {
        case start
        case header
        /// Copies (or, when `drop`, skips; when `zero`, writes zeros for) `remaining` bytes.
        case body(remaining: Int, drop: Bool, zero: Bool)
        case moov(length: Int)
        /// Everything to the end, verbatim (or zeros).
        case rest(zero: Bool)
    }

    public init(type: MediaType? = nil) {
        self.type = type
    }

    public mutating func feed(_ bytes: some Collection<UInt8>) throws(MediaError) -> [UInt8] {
        precondition(!finished, "feed after finish")
        buf.append(contentsOf: bytes)
        return try run(final: false)
    }

    /// The output still held back; throws if the file ends inside a structure header.
    public mutating func finish() throws(MediaError) -> [UInt8] {
        precondition(!finished, "finish twice")
        defer { finished = true }
        return try run(final: true)
    }

    private mutating func run(final: Bool) throws(MediaError) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        defer { buf.removeFirst(i) }
        while true {
            let avail = buf.count - i
            switch state {
            case .start:
                if type == nil {
                    guard avail >= MediaType.sniffLength || final else { return out }
                    type = MediaType.sniff(head: Array(buf[i..<(i + min(avail, MediaType.sniffLength))]))
                }
                guard let t = type, t.canStrip else { throw .notStrippable(type ?? .unknown) }
                let sig = t == .jpeg ? 2 : t == .png ? 8 : 0
                guard avail >= sig else {
                    if final { throw .truncated }
                    return out
                }
                if t == .jpeg, buf[i] != 0xFF || buf[i + 1] != 0xD8 { throw .malformed("no JPEG start marker") }
                out += buf[i..<(i + sig)]
                i += sig
                state = .header
            case .header:
                guard let step = try header(at: i, avail: avail, final: final) else {
                    if final && avail > 0 { throw .truncated }
                    return out
                }
                out += step.emit
                i += step.consumed
                state = step.next
            case .body(let remaining, let drop, let zero):
                let n = min(remaining, avail)
                if !drop { out += zero ? [UInt8](repeating: 0, count: n) : Array(buf[i..<(i + n)]) }
                i += n
                if n == remaining {
                    state = endAfterBody ? .rest(zero: false) : .header
                } else {
                    state = .body(remaining: remaining - n, drop: drop, zero: zero)
                    return out
                }
            case .moov(let length):
                guard avail >= length || final else { return out }
                var atom = Array(buf[i..<(i + min(avail, length))])
                try blankMetadata(&atom, path: "moov", depth: 0)
                out += atom
                i += atom.count
                state = .header
            case .rest(let zero):
                out += zero ? [UInt8](repeating: 0, count: avail) : Array(buf[i...])
                i += avail
                return out
            }
        }
    }

    private struct Step {
        var emit: [UInt8]
        var consumed: Int
        var next: State
    }

    /// The next structure header at `buf[i...]`, or nil when more bytes are needed.
    private mutating func header(at i: Int, avail: Int, final: Bool) throws(MediaError) -> Step? {
        switch type {
        case .jpeg: try jpegHeader(at: i, avail: avail, final: final)
        case .png: try pngHeader(at: i, avail: avail)
        default: try mp4Header(at: i, avail: avail, final: final)
        }
    }

    private func be(_ o: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 << 8 | Int(buf[o + $1]) } }

    /// More fill bytes (0xFF) than this before one marker is not a JPEG.
    static let maxFill = 1 << 16

    private mutating func jpegHeader(at i: Int, avail: Int, final: Bool) throws(MediaError) -> Step? {
        guard avail >= 2 else { return nil }
        guard buf[i] == 0xFF else { throw .malformed("no JPEG marker where one must be") }
        // Fill bytes (0xFF) may precede a marker; they go or stay with it, so a dropped
        // segment leaves no dangling 0xFF behind.
        var p = i
        while p + 1 < buf.count, buf[p + 1] == 0xFF {
            p += 1
            if p - i > Self.maxFill { throw .malformed("more than \(Self.maxFill) JPEG fill bytes") }
        }
        guard p + 1 < buf.count else { return nil }
        let fill = p - i
        let m = buf[p + 1]
        let avail = avail - fill
        func keep(_ n: Int, then next: State) -> Step { Step(emit: Array(buf[i..<(p + n)]), consumed: fill + n, next: next) }
        // Start of scan or end of image: entropy-coded data follows, kept as it is.
        if m == 0xDA || m == 0xD9 { return keep(2, then: .rest(zero: false)) }
        if (0xD0...0xD7).contains(m) || m == 0x01 { return keep(2, then: .header) }
        guard avail >= 4 else { return nil }
        let len = be(p + 2, 2)
        guard len >= 2 else { throw .malformed("JPEG segment length \(len)") }
        let drop = m == 0xE1 || m == 0xED || m == 0xFE
        if !drop { return keep(4, then: .body(remaining: len - 2, drop: false, zero: false)) }
        // The name needs the segment's first bytes; the decision does not.
        let idLength = min(len - 2, MediaInspector.xmpExtID.count)
        guard avail >= 4 + idLength || final else { return nil }
        let id = buf[(p + 4)..<(p + 4 + min(idLength, avail - 4))]
        let name: String
        switch m {
        case 0xE1:
            name = id.starts(with: MediaInspector.exifID) ? "JPEG APP1 EXIF" : id.starts(with: MediaInspector.xmpID) ? "JPEG APP1 XMP"
                : id.starts(with: MediaInspector.xmpExtID) ? "JPEG APP1 extended XMP" : "JPEG APP1"
        case 0xED: name = "JPEG APP13 IPTC"
        default: name = "JPEG COM comment"
        }
        removed.append("\(name) (\(len + 2) bytes)")
        return Step(emit: [], consumed: fill + 4, next: .body(remaining: len - 2, drop: true, zero: false))
    }

    static let pngDropped: Set<String> = ["eXIf", "tEXt", "iTXt", "zTXt", "tIME"]

    private mutating func pngHeader(at i: Int, avail: Int) throws(MediaError) -> Step? {
        guard avail >= 8 else { return nil }
        let len = be(i, 4)
        guard len <= 0x7FFF_FFFF else { throw .malformed("PNG chunk length \(len)") }
        let type = String(decoding: buf[(i + 4)..<(i + 8)], as: UTF8.self)
        let drop = Self.pngDropped.contains(type)
        if drop { removed.append("PNG \(type) (\(len + 12) bytes)") }
        // After IEND nothing is an image chunk; trailing bytes are kept as they are.
        if type == "IEND" { endAfterBody = true }
        return Step(emit: drop ? [] : Array(buf[i..<(i + 8)]), consumed: 8, next: .body(remaining: len + 4, drop: drop, zero: false))
    }

    static let mp4Blanked: Set<String> = ["udta", "meta"]

    private mutating func mp4Header(at i: Int, avail: Int, final: Bool) throws(MediaError) -> Step? {
        guard avail >= 8 else { return nil }
        var size = be(i, 4)
        var header = 8
        let type = String(decoding: buf[(i + 4)..<(i + 8)], as: UTF8.self)
        if size == 1 {
            guard avail >= 16 else { return nil }
            guard be(i + 8, 4) < 0x8000_0000 else { throw .malformed("MP4 atom size past 2^63") }
            size = be(i + 8, 8)
            header = 16
        }
        let toEnd = size == 0
        guard toEnd || size >= header else { throw .malformed("MP4 atom \(MediaText.clean(type)) of size \(size)") }
        if type == "moov" {
            guard !toEnd else { return Step(emit: [], consumed: 0, next: .moov(length: Self.maxMoovLength + 1)) }
            guard size <= Self.maxMoovLength else { throw .malformed("MP4 moov atom of \(size) bytes") }
            return Step(emit: [], consumed: 0, next: .moov(length: size))
        }
        var blank = Self.mp4Blanked.contains(type)
        if type == "uuid" && !blank {
            guard avail >= header + 16 || final else { return nil }
            blank = avail >= header + 16 && Array(buf[(i + header)..<(i + header + 16)]) == MediaInspector.xmpUUID
        }
        var head = Array(buf[i..<(i + header)])
        if blank {
            head.replaceSubrange(4..<8, with: Array("free".utf8))
            removed.append("MP4 \(type) (\(toEnd ? "to the end" : "\(size) bytes"))")
        }
        let next: State = toEnd ? .rest(zero: blank) : .body(remaining: size - header, drop: false, zero: blank)
        return Step(emit: head, consumed: header, next: next)
    }

    /// Rewrites, inside a held atom, metadata children as zero-filled `free` atoms.
    private mutating func blankMetadata(_ a: inout [UInt8], path: String, depth: Int) throws(MediaError) {
        if a.count > Self.maxMoovLength { throw .malformed("MP4 moov atom larger than \(Self.maxMoovLength) bytes") }
        guard let top = MediaInspector.atom(Array(a.prefix(16)), at: 0, end: a.count) else {
            throw .malformed("MP4 \(path) atom size")
        }
        try blankChildren(&a, from: top.header, to: a.count, path: path, depth: depth)
    }

    private mutating func blankChildren(_ a: inout [UInt8], from: Int, to: Int, path: String, depth: Int) throws(MediaError) {
        let (atoms, broken) = MediaInspector.children(a, from: from, to: to)
        if broken { throw .malformed("MP4 atom sizes inside \(path)") }
        for c in atoms {
            let t = c.type
            if Self.mp4Blanked.contains(t) || (t == "uuid" && c.size >= c.header + 16
                && Array(a[(c.offset + c.header)..<(c.offset + c.header + 16)]) == MediaInspector.xmpUUID)
            {
                a.replaceSubrange((c.offset + 4)..<(c.offset + 8), with: Array("free".utf8))
                for k in (c.offset + c.header)..<(c.offset + c.size) { a[k] = 0 }
                removed.append("MP4 \(path)/\(t) (\(c.size) bytes)")
            } else if t == "trak" && depth == 0 {
                try blankChildren(&a, from: c.offset + c.header, to: c.offset + c.size, path: path + "/trak", depth: depth + 1)
            }
        }
    }
}
