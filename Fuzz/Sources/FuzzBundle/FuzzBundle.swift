import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// Raw bytes as a whole bundle file, read by BundleReader for the recipient of the
// Protocol/vectors/bundle files (so seeds made from them open). Reaches the preamble
// parser, the entry search and chunk damage handling; the wrapped record stream is
// FuzzBundleRecords.

let recipient = Fixed.box(secretHex: Fixed.bundleRecipientSecret)

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    VectorFile.all(in: vectors + "/bundle").compactMap { v in
        guard let file = v.fields["file"], let data = FileManager.default.contents(atPath: vectors + "/bundle/" + file) else { return nil }
        return (v.name, [UInt8](data))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    let r = BundleFile.read(fuzzInput(data, size), keys: recipient)
    if let reader = r.reader {
        fuzzCheck(r.ops == reader.opsRead, "every op read is handed out")
    }
    return 0
}
