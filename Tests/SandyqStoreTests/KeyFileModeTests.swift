import Foundation
import Testing
import SandyqCrypto
import SandyqStore

/// The write-only mode inside the key file's sealed payload (tag 4, Protocol/keyfile.md).
@Suite struct KeyFileModeTests {
    /// A key file with the payload given, sealed as `KeyFile.seal` would (header as AD).
    static func sealPayload(_ payload: [UInt8], passphrase: String, like template: [UInt8]) throws -> [UInt8] {
        let header = Array(template[0..<111])
        let key = try PasswordKDF.deriveKey(passphrase: pass(passphrase), salt: Array(header[23..<39]), parameters: .minimum)
        return header + AEAD.seal(payload, key: key, nonce: Array(header[39..<63]), associatedData: header)
    }

    static func payload(_ id: Identity, mode: [UInt8]?) -> [UInt8] {
        var p: [UInt8] = [1, 32] + id.signing.seed.unsafeCopy + [2, 32] + id.box.secretKey.unsafeCopy + [3, 32] + id.storageKey.secret.unsafeCopy
        if let mode { p += [4, UInt8(mode.count)] + mode }
        return p
    }

    @Test func modeRoundTripsAndTheSizeDoesNotShowIt() throws {
        let id = Identity()
        let rw = try KeyFile.seal(id, passphrase: pass("pw"), parameters: .minimum)
        let wo = try KeyFile.seal(id.with(writeOnly: true), passphrase: pass("pw"), parameters: .minimum)
        #expect(rw.count == 232 && wo.count == 232, "\(rw.count), \(wo.count)")
        let a = try KeyFile.open(rw, passphrase: pass("pw")), b = try KeyFile.open(wo, passphrase: pass("pw"))
        #expect(!a.writeOnly && a.recordsMode)
        #expect(b.writeOnly && b.recordsMode)
        #expect(b.signing.publicKey == id.signing.publicKey)
    }

    @Test func aFileWithoutTheModeOpensAndSaysSo() throws {
        let id = Identity()
        let legacy = try Self.sealPayload(Self.payload(id, mode: nil), passphrase: "pw",
                                          like: try KeyFile.seal(id, passphrase: pass("pw"), parameters: .minimum))
        #expect(legacy.count == 229)
        let o = try KeyFile.open(legacy, passphrase: pass("pw"))
        #expect(!o.writeOnly && !o.recordsMode)
    }

    @Test func anUnknownOrMalformedModeIsCorrupt() throws {
        let id = Identity()
        let template = try KeyFile.seal(id, passphrase: pass("pw"), parameters: .minimum)
        for mode: [UInt8] in [[2], [0xff], [], [1, 1]] {
            let f = try Self.sealPayload(Self.payload(id, mode: mode), passphrase: "pw", like: template)
            guard case .corrupt(let why)? = storeError({ _ = try KeyFile.open(f, passphrase: pass("pw")) }) else {
                Issue.record("mode \(mode) did not read as corrupt"); continue
            }
            #expect(why.contains("mode"), "\(why)")
        }
    }

    @Test func resealKeepsTheDuressSlotAndParameters() throws {
        let id = Identity()
        let old = try KeyFile.seal(id, passphrase: pass("pw"), parameters: .minimum, duress: pass("duress"))
        let new = try KeyFile.reseal(id.with(writeOnly: true), passphrase: pass("pw"), replacing: old)
        #expect(Array(new[63..<111]) == Array(old[63..<111]), "the duress slot is carried over")
        #expect(Array(new[23..<63]) != Array(old[23..<63]), "salt and nonce are fresh")
        #expect(try KeyFile.header(of: new).parameters == .minimum)
        #expect(try KeyFile.open(new, passphrase: pass("pw")).writeOnly)
        #expect(throws: StoreError.duress) { try KeyFile.open(new, passphrase: pass("duress")) }
    }
}
