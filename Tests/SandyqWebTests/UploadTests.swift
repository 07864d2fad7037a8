import Foundation
import NIOCore
import Testing

@testable import SandyqWeb

/// The attach form's body: the CSRF token first, before any file byte is kept, and a size cap.
@Suite struct UploadTests {
    static let boundary = "XyZ123"

    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let parts: [[UInt8]]
        struct Iterator: AsyncIteratorProtocol {
            var rest: [[UInt8]]
            mutating func next() async -> ByteBuffer? { rest.isEmpty ? nil : ByteBuffer(bytes: rest.removeFirst()) }
        }
        func makeAsyncIterator() -> Iterator { Iterator(rest: parts) }
    }

    static func body(_ parts: [(name: String, filename: String?, value: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for p in parts {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(p.name)\""
            if let f = p.filename { head += "; filename=\"\(f)\"\r\nContent-Type: application/octet-stream" }
            out += Array((head + "\r\n\r\n").utf8) + p.value + Array("\r\n".utf8)
        }
        return out + Array("--\(boundary)--\r\n".utf8)
    }

    /// A fresh private root, and what is left in it afterwards.
    static func root() throws -> String {
        let r = FileManager.default.temporaryDirectory.appendingPathComponent("upload-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: r, withIntermediateDirectories: false)
        return r
    }

    static func left(_ root: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] }

    func receive(_ bytes: [UInt8], csrf: String = "good", limit: Int = 1 << 20, root: String, split: Int = 7) async throws -> Upload {
        // Small pieces: a boundary or a header may be cut anywhere.
        let pieces = stride(from: 0, to: bytes.count, by: split).map { Array(bytes[$0..<min($0 + split, bytes.count)]) }
        return try await Upload.receive(Chunks(parts: pieces), boundary: Self.boundary, csrf: csrf, limit: limit, root: root)
    }

    @Test func theFileLandsPrivatelyWithItsFields() async throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = (0..<5000).map { UInt8($0 % 251) }
        let u = try await receive(Self.body([("csrf", nil, Array("good".utf8)), ("file", "../../фото.jpg", data),
                                             ("note", nil, Array("Сот алды".utf8)), ("strip", nil, Array("1".utf8))]), root: root)
        #expect(u.fields["note"] == "Сот алды" && u.fields["strip"] == "1")
        #expect(u.size == data.count && u.path.hasSuffix("/фото.jpg") && u.path.hasPrefix(root + "/"))
        #expect(FileManager.default.contents(atPath: u.path) == Data(data))
        let dirMode = try FileManager.default.attributesOfItem(atPath: u.dir)[.posixPermissions] as? Int
        let fileMode = try FileManager.default.attributesOfItem(atPath: u.path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700 && fileMode == 0o600)
    }

    @Test func aMissingOrWrongTokenKeepsNoByte() async throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = ("file", "a.jpg" as String?, [UInt8](repeating: 7, count: 3000))
        for parts in [[file], [("csrf", nil, Array("bad".utf8)), file], [file, ("csrf", nil, Array("good".utf8))]] {
            await #expect(throws: Upload.Failure.csrf) { try await receive(Self.body(parts), root: root) }
            #expect(Self.left(root).isEmpty, "a file part before or without the token left \(Self.left(root))")
        }
    }

    @Test func aFileOverTheCapIsRefusedAndRemoved() async throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let parts = [("csrf", nil as String?, Array("good".utf8)), ("file", "big.bin", [UInt8](repeating: 1, count: 1001))]
        await #expect(throws: Upload.Failure.tooLarge) { try await receive(Self.body(parts), limit: 1000, root: root) }
        #expect(Self.left(root).isEmpty)
        let ok = try await receive(Self.body([("csrf", nil, Array("good".utf8)), ("file", "big.bin", [UInt8](repeating: 1, count: 1000))]),
                                   limit: 1000, root: root)
        #expect(ok.size == 1000)
    }

    @Test func noFileChosenIsAnEmptyName() async throws {
        let root = try Self.root()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let u = try await receive(Self.body([("csrf", nil, Array("good".utf8)), ("file", "", [])]), root: root)
        #expect(u.filename.isEmpty && u.size == 0)
    }

    @Test func boundaryAndNames() {
        #expect(Upload.boundary("multipart/form-data; boundary=----abc") == "----abc")
        #expect(Upload.boundary("multipart/form-data; boundary=\"q r\"") == "q r")
        #expect(Upload.boundary("application/x-www-form-urlencoded") == nil)
        #expect(Upload.safeName("..") == "file" && Upload.safeName("a/b\\c.jpg") == "c.jpg" && Upload.safeName("x\u{0}y") == "xy")
    }
}
