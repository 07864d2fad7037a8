import Foundation
import Testing
import SandyqTestSupport

/// One test vector from Protocol/vectors/bundle/ (scripts/vectors/gen_bundle_vectors.py) or
/// Protocol/vectors/handshake/ (scripts/vectors/gen_handshake_vectors.py).
///
/// The format of Protocol/vectors/ops/: `key: value` header lines, one blank line, then
/// nothing. Byte strings are lowercase hex (empty: `key:`), integers decimal, lists of byte
/// strings comma-separated hex. A bundle vector names its bundle, a binary file next to it,
/// with `file:`. The shared format is read by SandyqTestSupport's `Vectors`; this adds the
/// keys and `expect` lists of these two folders.
struct SyncVectorFile: Sendable, VectorRecord {
    enum Folder: String, Sendable {
        case bundle, handshake

        var url: URL { Vectors.folder(rawValue) }

        var areas: [String] { self == .bundle ? ["bundle"] : ["handshake", "frame"] }

        /// All `.txt` vector names, sorted; empty when the folder is missing (the catalog tests then fail).
        var names: [String] { Vectors.names(in: url) }

        /// Every file in the folder, sorted.
        var files: [String] { Vectors.files(in: url) }
    }

    typealias FormatError = VectorFormatError

    /// The closed lists of `expect` values (bundles.md "Classifying a bundle", handshake.md "Vectors").
    static let expects: [String: Set<String>] = [
        "bundle": ["ok", "truncated", "malformed", "not_for_me", "unsupported_version", "wrong_project", "bad_signature"],
        "handshake": ["ok", "truncated", "unsupported_version", "bad_network_key", "stale", "replayed", "authentication_failed"],
        "frame": ["ok", "authentication_failed", "bad_length", "unknown_message", "truncated"],
    ]

    static let requiredKeys: [String: [String]] = [
        "bundle": ["area", "expect", "comment", "project", "recipient_box_secret", "file", "file_blake2b"],
        "handshake": ["area", "expect", "comment", "network_key", "now_millis", "message1"],
        "frame": ["area", "expect", "comment", "key", "stream", "messages"],
    ]

    static let optionalKeys: [String: [String]] = [
        "bundle": ["file_key", "header", "op_ids", "declared_ops", "damaged_chunks", "malformed_records"],
        "handshake": ["earlier_message1", "client_identity_seed", "client_identity", "client_ephemeral_secret",
                      "server_identity_seed", "server_identity", "server_ephemeral_secret",
                      "mask1", "padding1", "dh", "h1", "k2", "padding2", "message2", "h2", "k3", "padding3", "message3",
                      "h3", "c2s", "s2c", "c2s_len", "s2c_len"],
        "frame": ["length_key"],
    ]

    let folder: Folder
    let header: VectorHeader

    var expect: String { header.expect }

    init(_ folder: Folder, _ name: String) throws {
        self.folder = folder
        header = try VectorHeader(named: name, in: folder.url, keys: Self.keys(folder), expects: Self.expects)
    }

    init(_ folder: Folder, name: String, text: String) throws {
        self.folder = folder
        header = try VectorHeader(name: name, text: text, keys: Self.keys(folder), expects: Self.expects)
    }

    /// The keys of the areas that belong in `folder`.
    private static func keys(_ folder: Folder) -> [String: VectorHeader.Keys] {
        Dictionary(uniqueKeysWithValues: folder.areas.map { ($0, VectorHeader.Keys(required: requiredKeys[$0]!, optional: optionalKeys[$0]!)) })
    }

    /// A decimal integer, digits only.
    func int(_ key: String) throws -> UInt64 {
        let s = try string(key)
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let v = UInt64(s) else {
            throw FormatError(description: "\(name): \(key) is not a decimal integer")
        }
        return v
    }

    func optionalInt(_ key: String) throws -> UInt64? { has(key) ? try int(key) : nil }

    /// Comma-separated hex; an empty value is the empty list.
    func byteList(_ key: String) throws -> [[UInt8]] {
        let s = try string(key)
        if s.isEmpty { return [] }
        return try s.split(separator: ",", omittingEmptySubsequences: false).map {
            try Self.hex(String($0), context: "\(name): \(key)")
        }
    }

    /// A `file:` value: the binary file next to this vector.
    func fileURL(_ key: String = "file") throws -> URL {
        let file = try string(key)
        guard !file.isEmpty, !file.contains("/"), file != name else {
            throw FormatError(description: "\(name): \(key) must name another file in the same folder")
        }
        return folder.url.appendingPathComponent(file)
    }

    /// Strict lowercase hex.
    static func hex(_ s: String, context: String = "hex") throws -> [UInt8] { try Vectors.hex(s, context: context) }
}

// The loader's own tests, in BundleVectorTests so that the filter
// `BundleVectorTests|HandshakeVectorTests` runs them with the vectors they guard.
extension BundleVectorTests {
    // The loader must refuse what the generators never write, or a broken file would pass as empty.
    @Test(arguments: [
        ("trailing text", "area: frame\nexpect: ok\ncomment: c\nkey:\nstream:\nmessages:\n\nx"),
        ("no blank line", "area: frame\nexpect: ok\ncomment: c\nkey:\nstream:\nmessages:\n"),
        ("unknown area", "area: op\nexpect: ok\ncomment: c\nkey:\nstream:\nmessages:\n\n"),
        ("unknown expect", "area: frame\nexpect: fine\ncomment: c\nkey:\nstream:\nmessages:\n\n"),
        ("missing key", "area: frame\nexpect: ok\ncomment: c\nkey:\nstream:\n\n"),
        ("unknown key", "area: frame\nexpect: ok\ncomment: c\nkey:\nstream:\nmessages:\nextra: 00\n\n"),
        ("repeated key", "area: frame\nexpect: ok\ncomment: c\nkey:\nkey:\nstream:\nmessages:\n\n"),
        ("empty comment", "area: frame\nexpect: ok\ncomment:\nkey:\nstream:\nmessages:\n\n"),
    ])
    func loaderRefusesMalformedFiles(_ why: String, _ text: String) {
        #expect(throws: SyncVectorFile.FormatError.self, "\(why)") {
            try SyncVectorFile(.handshake, name: "frame_x.txt", text: text)
        }
    }

    @Test func loaderRefusesAFileNamedForAnotherArea() {
        #expect(throws: SyncVectorFile.FormatError.self) {
            try SyncVectorFile(.handshake, name: "handshake_x.txt", text: "area: frame\nexpect: ok\ncomment: c\nkey:\nstream:\nmessages:\n\n")
        }
    }

    @Test func loaderParsesValues() throws {
        let v = try SyncVectorFile(.handshake, name: "frame_x.txt",
                                   text: "area: frame\nexpect: ok\ncomment: c\nkey: 00ff\nstream:\nmessages: 01,0203\n\n")
        #expect(try v.bytes("key") == [0, 255])
        #expect(try v.bytes("stream") == [])
        #expect(try v.byteList("messages") == [[1], [2, 3]])
        #expect(throws: SyncVectorFile.FormatError.self) { try SyncVectorFile.hex("0A") }
        #expect(throws: SyncVectorFile.FormatError.self) { try SyncVectorFile.hex("0") }
    }
}
