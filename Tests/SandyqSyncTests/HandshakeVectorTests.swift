import Foundation
import Testing
import SandyqCore
import SandyqCrypto
@testable import SandyqSync

// The handshake and frame vectors of Protocol/vectors/handshake/ (written by
// scripts/vectors/gen_handshake_vectors.py, an independent Python implementation of
// Protocol/handshake.md), checked through the Swift code itself, never a second Swift copy:
//
// - message 1 through a real ServerHandshake.receive1 with the vector's network key, clock and
//   a fresh ReplayCache;
// - the key schedule of handshake_ok through Handshake.mac and Handshake.kdf (internal, hence
//   @testable) and SandyqCrypto's X25519;
// - frames through FrameCipher (open, and seal reproducing the stream) and through
//   PeerSession.receive reading the stream from a socket.
//
// keySchedule and keyScheduleV2 give both sides the vector's ephemeral keys (internal
// initializers), so the Swift code writes handshake_ok's and handshake_v2_ok's messages itself.

@Suite struct HandshakeVectorTests {
    static let folder = SyncVectorFile.Folder.handshake
    static let names = folder.names
    static let handshakeNames = names.filter { $0.hasPrefix("handshake_") }
    static let frameNames = names.filter { $0.hasPrefix("frame_") }

    static func symmetricKey(_ v: SyncVectorFile, _ key: String) throws -> SymmetricKey {
        try SymmetricKey(SecureBytes(try v.bytes(key)))
    }

    /// The vector's name for a handshake SyncError (handshake.md "Vectors").
    static func code(_ e: SyncError) -> String {
        switch e {
        case .unsupportedVersion: "unsupported_version"
        case .badNetworkKey: "bad_network_key"
        case .stale: "stale"
        case .replayed: "replayed"
        case .authenticationFailed: "authentication_failed"
        case .notAllowed: "not_allowed"
        case .truncated: "truncated"
        case .usage, .io, .bundle, .protocolViolation: "not_a_handshake_error"
        }
    }

    // MARK: the catalog

    static let expectedNames: Set<String> = [
        "handshake_ok", "handshake_wrong_network_key", "handshake_flipped_mac_bit", "handshake_flipped_time_bit",
        "handshake_flipped_ephemeral_bit", "handshake_version_2", "handshake_version_0", "handshake_truncated",
        "handshake_trailing_byte", "handshake_empty", "handshake_stale_past", "handshake_stale_future",
        "handshake_skew_limit_past", "handshake_skew_limit_future", "handshake_replayed", "handshake_replayed_new_clock",
        "handshake_low_order_ephemeral",
        "frame_ok_client_to_server", "frame_ok_server_to_client", "frame_reordered", "frame_replayed", "frame_dropped",
        "frame_flipped_ciphertext_bit", "frame_flipped_tag_bit", "frame_truncated_ciphertext", "frame_stream_truncated",
        "frame_wrong_direction", "frame_other_session", "frame_length_16", "frame_length_over_4mib",
        "frame_length_max_u32", "frame_unknown_message_9", "frame_unknown_message_0",
        "handshake_v2_ok", "handshake_v2_wrong_network_key", "handshake_v2_flipped_masked_time_bit",
        "handshake_v2_flipped_version_bit", "handshake_v2_flipped_mac_bit", "handshake_v2_padding_truncated",
        "handshake_v2_padding_extra", "handshake_v2_no_padding", "handshake_v2_version_3", "handshake_v2_stale",
        "handshake_v2_replayed_after_v1", "handshake_v2_replayed_padding_changed",
        "frame_v2_ok", "frame_v2_clear_length", "frame_v2_length_mask_of_frame_0_reused", "frame_v2_flipped_length_bit",
    ]

    static let message2Lengths = Handshake.message2Length...(Handshake.message2Length + Handshake.maxPadding)

    @Test func catalog() throws {
        #expect(Set(Self.names.map { String($0.dropLast(4)) }) == Self.expectedNames,
                "the vector folder and this list differ: regenerate, or update the list with handshake.md")
        #expect(Set(Self.folder.files) == Set(Self.names), "only .txt vectors in handshake/")
        var classes: [String: Set<String>] = [:]
        for name in Self.names {
            let v = try SyncVectorFile(Self.folder, name)
            classes[v.area, default: []].insert(v.expect)
        }
        #expect(classes["handshake"] == SyncVectorFile.expects["handshake"], "every handshake class has a vector")
        #expect(classes["frame"] == SyncVectorFile.expects["frame"], "every frame class has a vector")
    }

    // MARK: message 1, through ServerHandshake.receive1

    @Test(arguments: handshakeNames)
    func message1(_ name: String) throws {
        let v = try SyncVectorFile(Self.folder, name)
        let nk = try Self.symmetricKey(v, "network_key")
        let now = try v.int("now_millis")
        let cache = ReplayCache()
        if let earlier = try v.optionalBytes("earlier_message1") {
            var first = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
            let m2 = try first.receive1(earlier, nowMillis: now, fresh: cache.insert)
            #expect(Self.message2Lengths.contains(m2.count), "\(name): the earlier message must be answered")
        }
        let identity = try v.optionalBytes("server_identity_seed").map { SigningKeyPair(seed: SecureBytes($0)) } ?? SigningKeyPair()
        var server = ServerHandshake(identity: identity, networkKey: nk)
        let got: String
        var answer: [UInt8] = []
        let m1 = try v.bytes("message1")
        do {
            answer = try server.receive1(m1, nowMillis: now, fresh: cache.insert)
            got = "ok"
        } catch {
            got = Self.code(error)
        }
        #expect(got == v.expect, "\(name): \(v.comment)")
        if got == "ok" {
            // Version 1 is answered unpadded; version 2 with 0 ... 127 zero bytes inside the AEAD.
            #expect(m1.count == Handshake.message1Length ? answer.count == Handshake.message2Length : Self.message2Lengths.contains(answer.count))
            #expect(Handshake.message1Length(prefix: Array(m1.prefix(Handshake.message1Length)), networkKey: nk) == m1.count,
                    "\(name): the first 73 bytes give the length")
            // The answer is the server's fresh ephemeral key, then ciphertext: nothing in clear but that key.
            #expect(!answer.contains(bytes: identity.publicKey.bytes), "\(name): the server's identity in clear")
        }
        // Message 3 recorded from handshake_ok was made for another server ephemeral: a fresh server refuses it.
        if got == "ok", let m3 = try v.optionalBytes("message3") {
            // Version 2: its padding was the vector's server's, so the length may already differ.
            let why: SyncError = m3.count == server.message3Length ? .authenticationFailed : .truncated
            #expect(throws: why) { try server.receive3(m3, allowed: { _ in true }) }
        }
    }

    /// A refused message 1 must not enter the replay cache, or a stranger could burn a client's ephemeral key.
    @Test func refusedMessagesAreNotRemembered() throws {
        let ok = try SyncVectorFile(Self.folder, "handshake_ok.txt")
        let nk = try Self.symmetricKey(ok, "network_key")
        let now = try ok.int("now_millis")
        let m1 = try ok.bytes("message1")
        let cache = ReplayCache()
        for bad in ["handshake_flipped_mac_bit", "handshake_flipped_time_bit"] {
            let v = try SyncVectorFile(Self.folder, bad + ".txt")
            var s = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
            #expect(throws: SyncError.badNetworkKey) { try s.receive1(try v.bytes("message1"), nowMillis: now, fresh: cache.insert) }
        }
        var stale = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
        #expect(throws: SyncError.stale) { try stale.receive1(m1, nowMillis: now + Handshake.maxSkewMillis + 10_000, fresh: cache.insert) }
        var s = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
        #expect(try s.receive1(m1, nowMillis: now, fresh: cache.insert).count == Handshake.message2Length)
        // Version 2's padding is not MACed, but a message 1 refused for its length does not burn its key either.
        let v2 = try SyncVectorFile(Self.folder, "handshake_v2_ok.txt")
        let m1v2 = try v2.bytes("message1")
        let fresh = ReplayCache()   // its E_c is handshake_ok's, answered above
        var short = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
        #expect(throws: SyncError.truncated) { try short.receive1(Array(m1v2.dropLast()), nowMillis: now, fresh: fresh.insert) }
        var s2 = ServerHandshake(identity: SigningKeyPair(), networkKey: nk)
        #expect(Self.message2Lengths.contains(try s2.receive1(m1v2, nowMillis: now, fresh: fresh.insert).count))
    }

    // MARK: the transcript of handshake_ok

    @Test func keySchedule() throws {
        let v = try SyncVectorFile(Self.folder, "handshake_ok.txt")
        let nk = try Self.symmetricKey(v, "network_key")
        let m1 = try v.bytes("message1"), m2 = try v.bytes("message2"), m3 = try v.bytes("message3")
        #expect(m1.count == Handshake.message1Length && m2.count == Handshake.message2Length && m3.count == Handshake.message3Length)

        let clientIdentity = SigningKeyPair(seed: SecureBytes(try v.bytes("client_identity_seed")))
        let serverIdentity = SigningKeyPair(seed: SecureBytes(try v.bytes("server_identity_seed")))
        #expect(clientIdentity.publicKey.bytes == (try v.bytes("client_identity")))
        #expect(serverIdentity.publicKey.bytes == (try v.bytes("server_identity")))
        let ec = try BoxKeyPair(secretKey: SecureBytes(try v.bytes("client_ephemeral_secret")))
        let es = try BoxKeyPair(secretKey: SecureBytes(try v.bytes("server_ephemeral_secret")))
        #expect(Array(m1[1..<33]) == ec.publicKey.bytes, "message 1 carries e_c")
        #expect(Array(m2[0..<32]) == es.publicKey.bytes, "message 2 starts with e_s")

        let dh = try ec.sharedSecret(with: es.publicKey)
        #expect(dh.unsafeCopy == (try v.bytes("dh")))
        #expect(try es.sharedSecret(with: ec.publicKey) == dh)

        #expect(Handshake.mac(nk, Array(m1[0..<41])) == Array(m1[41...]), "MAC of message 1")
        let h1 = try v.bytes("h1"), h2 = try v.bytes("h2"), h3 = try v.bytes("h3")
        #expect(Hash.blake2b(m1) == h1)
        #expect(Hash.blake2b(h1 + m2) == h2)
        #expect(Hash.blake2b(h2 + m3) == h3)
        #expect(Handshake.kdf(nk, dh, h1, "k2").secret.unsafeCopy == (try v.bytes("k2")))
        #expect(Handshake.kdf(nk, dh, h2, "k3").secret.unsafeCopy == (try v.bytes("k3")))
        let c2s = try v.bytes("c2s"), s2c = try v.bytes("s2c")
        #expect(Handshake.kdf(nk, dh, h3, "c2s").secret.unsafeCopy == c2s)
        #expect(Handshake.kdf(nk, dh, h3, "s2c").secret.unsafeCopy == s2c)
        #expect(c2s != s2c)

        // The frame vectors use this handshake's keys.
        let toServer = try SyncVectorFile(Self.folder, "frame_ok_client_to_server.txt")
        let toClient = try SyncVectorFile(Self.folder, "frame_ok_server_to_client.txt")
        #expect(try toServer.bytes("key") == c2s)
        #expect(try toClient.bytes("key") == s2c)

        // A fresh client (its own ephemeral) refuses the recorded message 2: it was made for e_c of the vector.
        var client = ClientHandshake(identity: clientIdentity, networkKey: nk, version: 1)
        _ = client.message1(nowMillis: try v.int("now_millis"))
        #expect(throws: SyncError.authenticationFailed) { try client.receive2(m2, allowed: { _ in true }) }

        // End to end with the vector's ephemeral keys: both sides write the vector's messages.
        var fixed = ClientHandshake(identity: clientIdentity, networkKey: nk, version: 1, ephemeral: ec)
        #expect(fixed.message1(nowMillis: try v.int("now_millis") - 1_234) == m1)
        var server = ServerHandshake(identity: serverIdentity, networkKey: nk, ephemeral: es)
        #expect(try server.receive1(m1, nowMillis: try v.int("now_millis")) { _ in true } == m2)
        let (made3, cs) = try fixed.receive2(m2) { $0 == serverIdentity.publicKey }
        #expect(made3 == m3)
        let ss = try server.receive3(m3) { $0 == clientIdentity.publicKey }
        #expect(cs.send.secret.unsafeCopy == c2s && ss.receive.secret.unsafeCopy == c2s && cs.sendLength == nil)
    }

    /// handshake_v2_ok end to end: the Swift client, given the vector's ephemeral key and padding
    /// bytes, writes message 1 and message 3 byte for byte, and derives the same keys.
    @Test func keyScheduleV2() throws {
        let v = try SyncVectorFile(Self.folder, "handshake_v2_ok.txt")
        let nk = try Self.symmetricKey(v, "network_key")
        let m1 = try v.bytes("message1"), m2 = try v.bytes("message2"), m3 = try v.bytes("message3")
        let ec = try BoxKeyPair(secretKey: SecureBytes(try v.bytes("client_ephemeral_secret")))
        let mask = try v.bytes("mask1"), pad1 = try v.bytes("padding1")
        #expect(Handshake.mask1(nk, ec.publicKey.bytes) == mask)
        #expect(m1.count == Handshake.message1Length + Int(mask[9] & 0x7f) && pad1.count == Int(mask[9] & 0x7f))
        #expect(Handshake.message1Length(prefix: Array(m1.prefix(73)), networkKey: nk) == m1.count)
        #expect(Array(m1[0..<32]) == ec.publicKey.bytes, "message 1 starts with E_c, no version byte")

        let clientIdentity = SigningKeyPair(seed: SecureBytes(try v.bytes("client_identity_seed")))
        var client = ClientHandshake(identity: clientIdentity, networkKey: nk, version: 2, ephemeral: ec)
        let time = try v.int("now_millis") - 1_234
        #expect(client.message1(nowMillis: time, padding: pad1 + [UInt8](repeating: 0xee, count: 127)) == m1)
        #expect(Hash.blake2b(m1) == (try v.bytes("h1")))

        let dh = SecureBytes(try v.bytes("dh")), h1 = try v.bytes("h1"), h2 = try v.bytes("h2"), h3 = try v.bytes("h3")
        #expect(Handshake.padding(nk, dh, h1, "p2") == Int(try v.int("padding2")))
        #expect(Handshake.padding(nk, dh, h2, "p3") == Int(try v.int("padding3")))
        #expect(m2.count == Handshake.message2Length + Int(try v.int("padding2")))
        #expect(m3.count == Handshake.message3Length + Int(try v.int("padding3")))
        #expect(client.message2Length(prefix: Array(m2.prefix(32))) == m2.count, "the client knows message 2's length from E_s")
        #expect(Handshake.kdf(nk, dh, h1, "k2").secret.unsafeCopy == (try v.bytes("k2")))
        #expect(Handshake.kdf(nk, dh, h2, "k3").secret.unsafeCopy == (try v.bytes("k3")))

        let server = try SigningPublicKey(bytes: try v.bytes("server_identity"))
        let (made3, session) = try client.receive2(m2) { $0 == server }
        #expect(made3 == m3, "message 3, padding included")
        #expect(Hash.blake2b(h2 + m3) == h3)
        let c2s = try v.bytes("c2s"), s2c = try v.bytes("s2c")
        #expect(session.send.secret.unsafeCopy == c2s && session.receive.secret.unsafeCopy == s2c)
        #expect(session.sendLength?.secret.unsafeCopy == (try v.bytes("c2s_len")))
        #expect(session.receiveLength?.secret.unsafeCopy == (try v.bytes("s2c_len")))
        #expect(try SyncVectorFile(Self.folder, "frame_v2_ok.txt").bytes("length_key") == (try v.bytes("c2s_len")))

        // The server side, with the vector's ephemeral key: message 2 byte for byte, then message 3 accepted.
        let es = try BoxKeyPair(secretKey: SecureBytes(try v.bytes("server_ephemeral_secret")))
        let serverIdentity = SigningKeyPair(seed: SecureBytes(try v.bytes("server_identity_seed")))
        var s = ServerHandshake(identity: serverIdentity, networkKey: nk, ephemeral: es)
        #expect(try s.receive1(m1, nowMillis: try v.int("now_millis")) { _ in true } == m2, "message 2, padding included")
        #expect(s.message3Length == m3.count)
        let ss = try s.receive3(m3) { $0 == clientIdentity.publicKey }
        #expect(ss.receive.secret.unsafeCopy == c2s && ss.send.secret.unsafeCopy == s2c)
        #expect(ss.receiveLength?.secret.unsafeCopy == (try v.bytes("c2s_len")))

        // Message 2 whose zero padding has a 1 in it, sealed under the right k2: refused.
        let padding2 = Int(try v.int("padding2"))
        if padding2 > 0 {
            let sig = try AEAD.open(Array(m2[32...]), key: Handshake.kdf(nk, dh, h1, "k2"), nonce: Handshake.zeroNonce, associatedData: h1)
            let bent = Array(m2[0..<32]) + AEAD.seal(Array(sig.dropLast()) + [1], key: Handshake.kdf(nk, dh, h1, "k2"),
                                                     nonce: Handshake.zeroNonce, associatedData: h1)
            var c = ClientHandshake(identity: clientIdentity, networkKey: nk, version: 2, ephemeral: ec)
            _ = c.message1(nowMillis: time, padding: pad1)
            #expect(throws: SyncError.authenticationFailed) { try c.receive2(bent) { _ in true } }
        }

        // Padding of message 2 that is not zero, or cut short, is refused.
        var other = ClientHandshake(identity: clientIdentity, networkKey: nk, version: 2, ephemeral: ec)
        _ = other.message1(nowMillis: time, padding: pad1)
        #expect(throws: SyncError.truncated) { try other.receive2(Array(m2.dropLast())) { _ in true } }
    }

    // MARK: frames, through FrameCipher

    /// Splits a stream into frames as handshake.md says; the outcome for the part that is not whole frames.
    static func split(_ stream: [UInt8], lengths: FrameCipher) -> (frames: [[UInt8]], rest: String?) {
        var frames: [[UInt8]] = []
        var off = 0
        var lengths = lengths
        while off < stream.count {
            guard stream.count - off >= 4 else { return (frames, "truncated") }
            let n = lengths.length(Array(stream[off..<(off + 4)]))
            lengths.counter += 1
            guard n >= AEAD.tagLength + 1, n <= FrameCipher.maxFrame else { return (frames, "bad_length") }
            guard stream.count - off - 4 >= n else { return (frames, "truncated") }
            frames.append(Array(stream[(off + 4)..<(off + 4 + n)]))
            off += 4 + n
        }
        return (frames, nil)
    }

    @Test(arguments: frameNames)
    func framesThroughFrameCipher(_ name: String) throws {
        let v = try SyncVectorFile(Self.folder, name)
        let key = try Self.symmetricKey(v, "key")
        let lengthKey = try v.optionalBytes("length_key").map { try SymmetricKey(SecureBytes($0)) }
        let stream = try v.bytes("stream")
        let messages = try v.byteList("messages")

        // Sealing the messages with a fresh cipher reproduces the stream's first bytes, byte for byte.
        var sealer = FrameCipher(key: key, lengthKey: lengthKey)
        let sealed = messages.flatMap { sealer.seal($0) }
        #expect(Array(stream.prefix(sealed.count)) == sealed, "\(name): sealing the messages")

        let (frames, rest) = Self.split(stream, lengths: FrameCipher(key: key, lengthKey: lengthKey))
        var opener = FrameCipher(key: key, lengthKey: lengthKey)
        var got: [[UInt8]] = []
        var outcome = rest ?? "ok"
        for f in frames {
            guard let p = try? opener.open(f) else { outcome = "authentication_failed"; break }
            guard PeerSession.Message(rawValue: p[0]) != nil else { outcome = "unknown_message"; break }
            got.append(p)
        }
        #expect(got == messages, "\(name): plaintexts before the outcome")
        #expect(outcome == v.expect, "\(name): \(v.comment)")
    }

    // MARK: frames, through PeerSession.receive reading a socket

    @Test(arguments: frameNames)
    func framesThroughPeerSession(_ name: String) throws {
        let v = try SyncVectorFile(Self.folder, name)
        let key = try Self.symmetricKey(v, "key")
        let lengthKey = try v.optionalBytes("length_key").map { try SymmetricKey(SecureBytes($0)) }
        let stream = try v.bytes("stream")
        let messages = try v.byteList("messages")

        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        var off = 0
        while off < stream.count {
            let n = stream[off...].withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, $0.count) }
            try #require(n > 0)
            off += n
        }
        Glibc.close(fds[1])   // the peer hangs up after its last byte
        let conn = Connection(fd: fds[0], peerAddress: "vector \(name)")
        conn.setTimeout(seconds: 5)
        let session = PeerSession(conn: conn, storePath: "/nonexistent", project: try ProjectID(bytes: [UInt8](repeating: 0, count: 16)),
                                  session: Handshake.Session(peer: SigningKeyPair().publicKey, send: key, receive: key,
                                                                             sendLength: lengthKey, receiveLength: lengthKey))
        for (i, m) in messages.enumerated() {
            let (type, body) = try session.receive()
            #expect([type.rawValue] + body == m, "\(name): message \(i)")
        }
        let before = conn.bytesReceived
        let outcome: String
        switch Result(catching: { () throws(SyncError) -> PeerSession.Message in try session.receive().0 }) {
        case let .success(type):
            outcome = "a message of type \(type) after the expected ones"
        case let .failure(.protocolViolation(why)):
            if why == "frame failed authentication" { outcome = "authentication_failed" }
            else if why.hasPrefix("frame length") { outcome = "bad_length" }
            else if why.hasPrefix("unknown message type") { outcome = "unknown_message" }
            else { outcome = "protocolViolation(\(why))" }
        case let .failure(.io(why)) where why == "peer closed the connection":
            // The peer closed: cleanly after the last whole frame (ok), or inside a frame (truncated).
            outcome = before == stream.count ? "ok" : "truncated"
        case let .failure(other):
            outcome = "\(other)"
        }
        #expect(outcome == v.expect, "\(name): \(v.comment)")
        if v.expect == "bad_length" {
            #expect(conn.bytesReceived == before + 4, "\(name): the length is refused before the frame is read")
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
