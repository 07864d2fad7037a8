import Hummingbird

/// `application/x-www-form-urlencoded` and query strings, and the cookie header.
enum Form {
    /// The query's parameters, the first of each name.
    static func query(_ req: Request) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in req.uri.queryParameters where out[String(k)] == nil { out[String(k)] = String(v) }
        return out
    }

    static func parse(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = decode(kv[0]), v = kv.count > 1 ? decode(kv[1]) : ""
            if out[k] == nil { out[k] = v }
        }
        return out
    }

    static func decode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if b == UInt8(ascii: "%"), it.count >= 2, let h = hex(it[it.startIndex]), let l = hex(it[it.startIndex + 1]) {
                bytes.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let h = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [h[Int(b >> 4)], h[Int(b & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    static func cookies(_ header: String?) -> [String: String] {
        var out: [String: String] = [:]
        for part in (header ?? "").split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            out[kv[0].trimmingCharacters(in: " ")] = kv[1].trimmingCharacters(in: " ")
        }
        return out
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
