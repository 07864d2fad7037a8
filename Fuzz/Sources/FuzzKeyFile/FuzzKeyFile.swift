import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto
import SandyqStore

// The key file (Protocol/keyfile.md). Input: a length byte, that many bytes of passphrase,
// then the file. `KeyFile.header` runs on every input; `KeyFile.open` only when the header
// names Argon2id limits near libsodium's floor (the vectors use 1 pass and 8 KiB), so one
// input costs milliseconds, not the seconds a real node's parameters take.
// Properties: open never succeeds where the header fails; a file that opens reseals (same
// passphrase, same parameters and duress slot) into one that opens to the same keys and mode.

let maxOps: UInt64 = 4
let maxMem: UInt64 = 1 << 20

func input(_ passphrase: [UInt8], _ file: [UInt8]) -> [UInt8] {
    [UInt8(passphrase.count)] + passphrase + file
}

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    for v in VectorFile.all(in: vectors + "/keyfile") {
        guard let file = v.bytes("file") else { continue }
        out.append(("vector-" + v.name, input(v.bytes("passphrase") ?? [], file)))
    }
    // Files made here, with and without a duress passphrase, in both modes.
    let pass = Array("fuzz passphrase".utf8), duress = Array("fuzz duress".utf8)
    for writeOnly in [false, true] {
        let id = Identity(signing: Fixed.signing("key"), box: Fixed.box("key"), storageKey: Fixed.symmetric("storage"), writeOnly: writeOnly)
        for d in [nil, duress] {
            guard let f = try? KeyFile.seal(id, passphrase: SecureBytes(pass), parameters: .minimum, duress: d.map { SecureBytes($0) }) else { continue }
            let name = "made-\(writeOnly ? "wo" : "rw")-\(d == nil ? "plain" : "duress")"
            out.append((name, input(pass, f)))
            if let d { out.append((name + "-unlocked-by-duress", input(d, f))) }
        }
    }
    return out
}

func same(_ a: Identity, _ b: Identity) -> Bool {
    a.signing.publicKey == b.signing.publicKey && a.box.publicKey == b.box.publicKey
        && a.storageKey == b.storageKey && a.writeOnly == b.writeOnly
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    var r = FuzzReader(fuzzInput(data, size))
    let passphrase = SecureBytes(r.prefix(Int(r.u8())))
    let file = r.rest()
    let header = try? KeyFile.header(of: file)
    guard let header else {
        // Cheap to try: the header check comes first in open.
        fuzzCheck((try? KeyFile.open(file, passphrase: passphrase)) == nil, "open accepts a file whose header fails")
        return 0
    }
    guard header.parameters.opsLimit <= maxOps, header.parameters.memLimit <= maxMem else { return 0 }
    guard let id = try? KeyFile.open(file, passphrase: passphrase) else { return 0 }
    guard let resealed = try? KeyFile.reseal(id, passphrase: passphrase, replacing: file) else {
        fuzzCheck(false, "a file that opens can be resealed"); return 0
    }
    fuzzCheck((try? KeyFile.header(of: resealed))?.parameters == header.parameters, "reseal keeps the parameters")
    fuzzCheck(Array(resealed[63..<111]) == Array(file[63..<111]), "reseal keeps the duress slot")
    guard let again = try? KeyFile.open(resealed, passphrase: passphrase) else {
        fuzzCheck(false, "a resealed file opens with the same passphrase"); return 0
    }
    fuzzCheck(same(id, again), "a resealed file opens to the same keys and mode")
    return 0
}
