import ArgumentParser
import Foundation
import SandyqNode

/// A file read in place, a few windows at a time (a 2 GiB video is never loaded whole).
final class MediaFile {
    let handle: FileHandle
    let size: Int
    private(set) var readError: (any Error)?

    init(path: String) throws {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else { throw CLIError(.notFound, "no such file: \(path)") }
        // A FIFO would block the open and a device never ends: only regular files.
        guard attrs[.type] as? FileAttributeType == .typeRegular, let h = FileHandle(forReadingAtPath: path) else {
            throw CLIError(.usage, "not a readable regular file: \(path)")
        }
        handle = h
        size = Int((try? h.seekToEnd()) ?? 0)
    }

    deinit { try? handle.close() }

    func read(_ offset: Int, _ count: Int) -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        do {
            try handle.seek(toOffset: UInt64(offset))
            return Array(try handle.read(upToCount: min(count, size - offset)) ?? Data())
        } catch {
            readError = error
            return []
        }
    }
}

/// `media inspect`: what a file says about who made it, where and with what.
struct EvidenceInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the metadata in a photo, PDF or video that can identify its maker: GPS, device, times, software, names.",
        discussion: "Reads JPEG (EXIF, XMP, IPTC, comments), PNG (eXIf, text, tIME), PDF (Info, XMP) and MP4/MOV (udta, mvhd).")
    @Argument(help: "The file.") var file: String
    @OptionGroup var output: OutputOptions

    struct Out: Encodable {
        let file: String
        let type: String
        let canStrip: Bool
        let findings: [MediaFinding]
    }

    func run() throws {
        try sandyq.run {
            let f = try MediaFile(path: file)
            let r = MediaInspector.inspect(size: f.size, read: f.read)
            if let e = f.readError { throw CLIError(.failure, "reading \(file): \(e.localizedDescription)") }
            if output.json {
                try printJSON(Out(file: file, type: r.type.rawValue, canStrip: r.canStrip, findings: r.findings))
                return
            }
            say("\(file): \(r.type.rawValue), \(r.findings.isEmpty ? "no identifying metadata found" : "\(r.findings.count) findings")")
            for x in r.findings { say("  \(x.kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))\(x.label): \(x.value)") }
            if !r.findings.isEmpty {
                say(r.canStrip ? "`sandyq media strip` removes it from a copy." : "This format's metadata cannot be removed here; a copy still carries it.")
            }
        }
    }
}

/// `media strip`: a copy without the metadata, pixels and samples untouched.
struct EvidenceStrip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strip",
        abstract: "Copy a JPEG, PNG, MP4 or MOV without its identifying metadata; image and sound data stay byte for byte.",
        discussion: """
        OUT must not exist; it is written owner-only (0600). Exit 0: written; 65: the file's structure is broken \
        (nothing written); 1: a format whose metadata cannot be removed (PDF, WebM, Ogg, MP3, WAV, other).
        """)
    @Argument(help: "The original; never changed.") var input: String
    @Argument(help: "The copy to write.") var out: String
    @OptionGroup var output: OutputOptions

    struct Out: Encodable {
        let input: String
        let out: String
        let type: String
        let removed: [String]
        let bytesIn: Int
        let bytesOut: Int
    }

    static let chunk = 1 << 20

    func run() throws {
        try sandyq.run {
            let f = try MediaFile(path: input)
            let type = MediaType.sniff(head: f.read(0, MediaType.sniffLength))
            guard type.canStrip else {
                throw CLIError(.failure, "\(input) is \(type.rawValue): its metadata cannot be removed here; nothing written")
            }
            let fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else {
                throw CLIError(errno == EEXIST ? .usage : .failure, "cannot create \(out): \(String(cString: strerror(errno)))")
            }
            let sink = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            var stripper = MetadataStripper(type: type)
            var written = 0
            do {
                var off = 0
                while off < f.size {
                    let bytes = f.read(off, Self.chunk)
                    if let e = f.readError { throw CLIError(.failure, "reading \(input): \(e.localizedDescription)") }
                    guard !bytes.isEmpty else { break }
                    off += bytes.count
                    let o = try stripper.feed(bytes)
                    try sink.write(contentsOf: o)
                    written += o.count
                }
                let o = try stripper.finish()
                try sink.write(contentsOf: o)
                written += o.count
                try sink.synchronize()
                try sink.close()
            } catch {
                // A half-written copy is worse than none: it looks clean and is not.
                try? sink.close()
                unlink(out)
                if let m = error as? MediaError { throw CLIError(.corrupt, "\(input): \(m.description); nothing written") }
                throw error
            }
            if output.json {
                try printJSON(Out(input: input, out: out, type: type.rawValue, removed: stripper.removed, bytesIn: f.size, bytesOut: written))
                return
            }
            say(stripper.removed.isEmpty
                ? "Nothing was removed: \(input) holds no metadata this command removes; \(out) was written all the same."
                : "Wrote \(out) without:")
            for r in stripper.removed { say("  \(r)") }
        }
    }
}

/// The media commands, also under `evidence`; `media` stays for scripts that name it.
struct MediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "What a photo, PDF or video says about its maker, and a copy without it.",
        subcommands: [EvidenceInspect.self, EvidenceStrip.self])
}
