import Foundation
import Testing
import SandyqTestSupport
import SandyqCore
import SandyqCrypto
import SandyqSync

// The header record is signed by its sender over the preamble (Protocol/bundles.md, "Header
// record"). Each test is an attack made with the project's own library: whoever knows a
// recipient's box key can seal a file key to it, and a recipient knows a genuine bundle's key.

@Suite struct BundleHeaderTests {
    let f = BundleOpFixture.hundred

    /// A stranger names a member as the sender (to plant an acknowledgement, or mark bundles
    /// delivered) and signs with the only key it has: refused before any op comes out.
    @Test func aHeaderSignedByAnotherKeyIsRefused() throws {
        let dir = try TempDir()
        let path = dir.file("forged.sqb")
        try writeTestBundle(path, f.envelopes, header: f.header(), recipients: [f.box.publicKey], signer: SigningKeyPair())
        let o = bundleReadAll(path, keys: f.box)
        #expect(o.error == .bundle(.bundleBadSignature), "\(String(describing: o.error))")
        #expect(o.envelopes.isEmpty && o.header == nil)
        // The same file signed by the sender reads.
        try writeTestBundle(path, f.envelopes, header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
        #expect(bundleReadAll(path, keys: f.box).intact)
    }

    /// A recipient of a genuine bundle knows its file key, so it can lift the signed header
    /// record out and seal it into a file of its own for someone else. The signature covers the
    /// original preamble, so the copy does not verify.
    @Test func aGenuineHeaderMovedIntoAnotherFileIsRefused() throws {
        let dir = try TempDir()
        let relay = BoxKeyPair(), victim = BoxKeyPair()
        let genuine = dir.file("genuine.sqb")
        try writeTestBundle(genuine, f.envelopes, header: f.header(), recipients: [relay.publicKey], signer: f.signing)
        #expect(bundleReadAll(genuine, keys: relay).header == f.header())
        // The relay decrypts chunk 0 and takes the header record as it stands.
        let chunk0 = try #require(try bundleOpenChunks(genuine, keys: relay).first ?? nil)
        let len = Int(chunk0.content[1]) << 24 | Int(chunk0.content[2]) << 16 | Int(chunk0.content[3]) << 8 | Int(chunk0.content[4])
        let record = Array(chunk0.content[0..<(5 + len)])
        let moved = dir.file("moved.sqb")
        handMadeBundle(moved, recipients: [victim.publicKey], header: { _ in record },
                       records: f.envelopes.map { BundleFormat.record(.op, $0.encoded) } + [endRecord(f.envelopes.count)])
        let o = bundleReadAll(moved, keys: victim)
        #expect(o.error == .bundle(.bundleBadSignature), "\(String(describing: o.error))")
        #expect(o.envelopes.isEmpty)
    }

    /// A flipped bit in the signed part: a filler entry of the preamble (outside any AEAD, so
    /// only the signature notices), or the signature itself (re-sealed by a holder of the file key).
    @Test func anAlteredPreambleOrSignatureIsRefused() throws {
        let dir = try TempDir()
        let path = dir.file("b.sqb")
        try writeTestBundle(path, f.envelopes, header: f.header(), recipients: [f.box.publicKey], signer: f.signing)
        var bytes = bundleFileBytes(path)
        let pre = try BundleFormat.parsePreamble(bytes)
        let filler = try #require(pre.entries.firstIndex { (try? f.box.openSecret($0)) == nil })
        bytes[BundleFormat.magic.count + 3 + filler * BundleFormat.entryLength + 50] ^= 1
        bundleWriteBytes(path, bytes)
        let o = bundleReadAll(path, keys: f.box)
        #expect(o.error == .bundle(.bundleBadSignature), "\(String(describing: o.error))")
        #expect(o.envelopes.isEmpty)

        let fx = f
        let signed = dir.file("sig.sqb")
        handMadeBundle(signed, recipients: [fx.box.publicKey], header: { pre in
            var body = BundleFormat.signedHeader(fx.header(), preamble: pre, signer: fx.signing)
            body[body.count - 1] ^= 0x01
            return BundleFormat.record(.header, body)
        }, records: [endRecord(0)])
        #expect(bundleReadAll(signed, keys: f.box).error == .bundle(.bundleBadSignature))
    }

    /// A FIFO named like a bundle would block `open` until someone writes to it; a device could
    /// stream for ever. The reader refuses both at once.
    @Test func aFifoOrDeviceIsRefusedAtOnce() throws {
        let dir = try TempDir()
        let fifo = dir.file("pipe.sqb")
        try #require(mkfifo(fifo, 0o600) == 0)
        let dev = dir.file("zero.sqb")
        try #require(symlink("/dev/zero", dev) == 0)
        for p in [fifo, dev] {
            let t0 = Date()
            let o = bundleReadAll(p, keys: f.box)
            guard case let .io(m) = o.error else { Issue.record("\(p): \(String(describing: o.error))"); continue }
            #expect(m.contains("not a regular file"), "\(m)")
            #expect(Date().timeIntervalSince(t0) < 2)
        }
    }
}
