/// Big-endian, length-prefixed binary writing and reading for every Sandyq format.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff))
    }

    public mutating func u32(_ v: UInt32) {
        for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(s)) & 0xff)) }
    }

    public mutating func u64(_ v: UInt64) {
        for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(s)) & 0xff)) }
    }

    /// LEB128 unsigned varint.
    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    public mutating func raw<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }

    /// varint length, then the bytes.
    public mutating func blob(_ b: [UInt8]) { varint(UInt64(b.count)); bytes.append(contentsOf: b) }

    public mutating func string(_ s: String) { blob(Array(s.utf8)) }
}

public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) { self.bytes = bytes; self.offset = offset }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func u8() throws -> UInt8 {
        guard remaining >= 1 else { throw CoreError.decodeTruncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16() throws -> UInt16 { UInt16(try bigEndian(2)) }

    public mutating func u32() throws -> UInt32 { UInt32(try bigEndian(4)) }

    public mutating func u64() throws -> UInt64 { try bigEndian(8) }

    /// Read in place: a view restored from a snapshot reads hundreds of thousands of these.
    private mutating func bigEndian(_ n: Int) throws -> UInt64 {
        guard remaining >= n else { throw CoreError.decodeTruncated }
        defer { offset += n }
        var v: UInt64 = 0
        for i in offset..<(offset + n) { v = v << 8 | UInt64(bytes[i]) }
        return v
    }

    public mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64, !(shift == 63 && b > 1) else { throw CoreError.decodeMalformed("varint overflows 64 bits") }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 {
                // Minimal encoding only, so every value has exactly one byte form.
                if b == 0 && shift > 0 { throw CoreError.decodeMalformed("varint not minimally encoded") }
                return result
            }
            shift += 7
        }
    }

    public mutating func raw(_ n: Int) throws -> [UInt8] {
        guard n >= 0, remaining >= n else { throw CoreError.decodeTruncated }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    /// Steps over `n` bytes without copying them.
    public mutating func skip(_ n: Int) throws {
        guard n >= 0, remaining >= n else { throw CoreError.decodeTruncated }
        offset += n
    }

    public mutating func blob(max: Int) throws -> [UInt8] {
        let n = try varint()
        guard n <= UInt64(max) else { throw CoreError.decodeMalformed("length \(n) exceeds limit \(max)") }
        return try raw(Int(n))
    }

    public mutating func string(max: Int = 1 << 20) throws -> String {
        let n = try varint()
        guard n <= UInt64(max) else { throw CoreError.decodeMalformed("length \(n) exceeds limit \(max)") }
        guard remaining >= Int(n) else { throw CoreError.decodeTruncated }
        // Validated straight from the buffer, without an array in between.
        guard let s = String(validating: bytes[offset..<(offset + Int(n))], as: UTF8.self) else {
            throw CoreError.decodeMalformed("invalid UTF-8")
        }
        offset += Int(n)
        return s
    }

    public func expectEnd() throws {
        guard isAtEnd else { throw CoreError.decodeMalformed("\(remaining) trailing bytes") }
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []; out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []; out.reserveCapacity(u.count / 2)
        func val(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var i = 0
        while i < u.count {
            guard let h = val(u[i]), let l = val(u[i + 1]) else { return nil }
            out.append(h << 4 | l); i += 2
        }
        return out
    }
}

/// RFC 4648 base32, lowercase, no padding: node ids must survive being read aloud and retyped.
public enum Base32 {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for b in bytes {
            buffer = buffer << 8 | UInt32(b); bits += 8
            while bits >= 5 { out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)]); bits -= 5 }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for c in s.lowercased().utf8 {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = buffer << 5 | UInt32(v); bits += 5
            if bits >= 8 { out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff)); bits -= 8 }
        }
        return out
    }
}
