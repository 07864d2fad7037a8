import Foundation
import MultipartKit
import NIOCore

/// A posted file, streamed from a multipart body into a private temporary file: the CSRF token
/// must come first and match before a byte of the file is written, and the file stops at `limit`.
struct Upload {
    enum Failure: Error, Equatable {
        case csrf, tooLarge, malformed
    }

    /// The fields, the file's name as the browser gave it, and where its bytes are.
    var fields: [String: String] = [:]
    var filename = ""
    var size = 0
    /// The private directory holding the file; the caller removes it.
    let dir: String
    var path: String { dir + "/" + Self.safeName(filename) }

    /// Text fields are short; a longer one is not a form of ours.
    static let fieldLimit = 64 << 10

    /// The boundary of a `multipart/form-data` content type.
    static func boundary(_ contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for p in parts.dropFirst() where p.lowercased().hasPrefix("boundary=") {
            let b = p.dropFirst(9).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return b.isEmpty || b.count > 70 ? nil : b
        }
        return nil
    }

    /// The last path component, without control characters; a name that would leave the directory becomes "file".
    static func safeName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let clean = String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        if clean.isEmpty || clean == "." || clean == ".." { return "file" }
        return String(clean.prefix(200))
    }

    /// Reads `body` into a new private directory under `root`. On any failure the directory is gone.
    static func receive<Body: AsyncSequence>(_ body: Body, boundary: String, csrf: String, limit: Int, root: String) async throws -> Upload
    where Body.Element == ByteBuffer {
        let dir = root + "/sandyq-upload-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        do {
            return try await read(body, boundary: boundary, csrf: csrf, limit: limit, dir: dir)
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    private final class State {
        var upload: Upload
        var name: String?
        var filename: String?
        var text: [UInt8] = []
        var parts = 0
        var csrfOK = false
        var file: FileHandle?
        var failure: Failure?
        init(_ u: Upload) { upload = u }
    }

    private static func read<Body: AsyncSequence>(_ body: Body, boundary: String, csrf: String, limit: Int, dir: String) async throws -> Upload
    where Body.Element == ByteBuffer {
        let st = State(Upload(dir: dir))
        defer { try? st.file?.close() }
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { field, value in
            guard field.lowercased() == "content-disposition" else { return }
            st.name = param(value, "name")
            st.filename = param(value, "filename")
        }
        parser.onBody = { buf in
            guard st.failure == nil else { return }
            // The token is the first part; nothing is kept before it has matched.
            if st.name != "csrf" && !st.csrfOK {
                st.failure = .csrf
                return
            }
            if st.name == "file", st.filename != nil {
                st.upload.size += buf.readableBytes
                if st.upload.size > limit {
                    st.failure = .tooLarge
                    return
                }
                if st.file == nil {
                    st.upload.filename = st.filename ?? ""
                    let p = st.upload.path
                    guard FileManager.default.createFile(atPath: p, contents: nil, attributes: [.posixPermissions: 0o600]),
                          let h = FileHandle(forWritingAtPath: p)
                    else {
                        st.failure = .malformed
                        return
                    }
                    st.file = h
                }
                if let bytes = buf.readBytes(length: buf.readableBytes) {
                    do { try st.file?.write(contentsOf: bytes) } catch { st.failure = .malformed }
                }
            } else {
                st.text += buf.readableBytesView
                if st.text.count > fieldLimit { st.failure = .malformed }
            }
        }
        parser.onPartComplete = {
            guard st.failure == nil else { return }
            st.parts += 1
            let name = st.name ?? ""
            let value = String(decoding: st.text, as: UTF8.self)
            if st.parts == 1 {
                if name == "csrf" && Desk.same(value, csrf) { st.csrfOK = true } else { st.failure = .csrf }
            } else if name == "file" {
                if st.upload.filename.isEmpty { st.upload.filename = st.filename ?? "" }
            } else if name != "csrf" {
                st.upload.fields[name] = value
            }
            st.name = nil
            st.filename = nil
            st.text = []
        }
        for try await chunk in body {
            do { try parser.execute(chunk) } catch { throw Failure.malformed }
            if let f = st.failure { throw f }
        }
        guard st.csrfOK else { throw Failure.csrf }
        return st.upload
    }

    /// A parameter of a Content-Disposition value, e.g. `name` in `form-data; name="file"`.
    static func param(_ header: String, _ key: String) -> String? {
        for part in header.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces)
            guard let eq = kv.firstIndex(of: "="), kv[..<eq].lowercased() == key else { continue }
            var v = String(kv[kv.index(after: eq)...])
            if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v.replacingOccurrences(of: "\\\"", with: "\"")
        }
        return nil
    }
}

extension Upload {
    static let defaultLimit = 4 << 30

    /// The largest file the desk takes: SANDYQ_DESK_UPLOAD_LIMIT bytes, else 4 GiB.
    static var limit: Int {
        ProcessInfo.processInfo.environment["SANDYQ_DESK_UPLOAD_LIMIT"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? defaultLimit
    }
}
