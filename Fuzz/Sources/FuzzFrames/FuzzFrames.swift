import Foundation
import FuzzSupport
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync

// The TCP frame decoder and message decoder as they run: a real PeerSession.server on a
// loopback socket, with a real store (a fresh copy per input), against a client that
// completes the handshake (the spec client of FuzzSupport) and then sends the input.
// The message decoder is SessionMachine's; here it runs as a server runs it, behind the frame cipher.
// First byte: 0 the rest is written raw after the handshake (length prefixes, ciphertexts);
// otherwise the rest is frame plaintexts, each length u16 ‖ bytes (type byte first), sealed
// with the session's client-to-server key, so the message decoder gets them. 2: the same after
// a version-2 handshake by the real client (masked frame lengths; its ephemeral key is random,
// which the sealed frames do not depend on); any other: version 1, by the spec client.

let nk = Fixed.symmetric(hex: Fixed.networkKeyHex)
let serverID = Fixed.signing("server"), serverBox = Fixed.box("server-box")
let clientID = Fixed.signing("client"), clientBox = Fixed.box("client-box")
let serverNode = NodeID(signingKey: serverID.publicKey, boxKey: serverBox.publicKey)
let clientNode = NodeID(signingKey: clientID.publicKey, boxKey: clientBox.publicKey)
let genesisNonce = [UInt8](repeating: 3, count: 16)
let project = ProjectID.derive(founder: serverNode, nonce: genesisNonce)

/// The server founded the project and added the client; one sealed op each.
let baseOps: [Envelope] = {
    let w = OpWriter(keys: serverID, project: project, seq: 0, prev: .zero, clock: HybridClock())
    let c = (try? CaseID(bytes: [UInt8](repeating: 4, count: 16)))!
    return [w.membership(.genesis(founder: serverNode, nonce: genesisNonce)), w.membership(.add(member: clientNode, role: .reporter)),
            w.sealed([.put(case: c, path: FieldPath(field: "title"), value: "base", supersedes: [])],
                     readers: [serverBox.publicKey, clientBox.publicKey], wallMillis: 1_767_225_600_000)]
}()

let dir: String = {
    let d = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/sandyq-fuzz-frames-\(getpid())"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}()

/// A store holding the base ops, made once and copied for every input.
let template: [UInt8] = {
    let path = dir + "/template.db"
    do {
        let s = try OpStore(path: path)
        try s.setProject(project)
        _ = try s.importEnvelopes(baseOps, project: project)
    } catch { fatalError("template store: \(error)") }
    guard let data = FileManager.default.contents(atPath: path) else { fatalError("template store unreadable") }
    return [UInt8](data)
}()

let listener: Listener = {
    do { return try Listener(address: "127.0.0.1:0") } catch { fatalError("listen: \(error)") }
}()

/// Frame plaintexts (type byte first) of the client side of a sync.
func messages(_ ms: [[UInt8]]) -> [UInt8] {
    var w = ByteWriter(); w.u8(1)
    for m in ms { w.u16(UInt16(m.count)); w.raw(m) }
    return w.bytes
}

func seeds(_ vectors: String) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    for v in VectorFile.all(in: vectors + "/handshake") where v.name.hasPrefix("frame_") {
        if let s = v.bytes("stream") { out.append((v.name + "-raw", [0] + s)) }
        if let m = v.fields["messages"] {
            let ms = m.split(separator: ",").compactMap { Hex.decode(String($0)) }
            if !ms.isEmpty { out.append((v.name, messages(ms))) }
        }
    }
    // A member's sync: its vector, a batch with its next ops, done, its final vector.
    let w = OpWriter(keys: clientID, project: project, seq: 0, prev: .zero, clock: HybridClock())
    let c = (try? CaseID(bytes: [UInt8](repeating: 4, count: 16)))!
    let ops = [w.sealed([.put(case: c, path: FieldPath(field: "city"), value: "Алматы", supersedes: [baseOps[2].id])],
                        readers: [serverBox.publicKey, clientBox.publicKey], wallMillis: 1_767_225_601_000),
               w.sealed([.add(case: c, collection: "charges", element: "c1")],
                        readers: [serverBox.publicKey, clientBox.publicKey], wallMillis: 1_767_225_602_000)]
    var batch = ByteWriter(); batch.varint(UInt64(ops.count)); for e in ops { batch.blob(e.encoded) }
    let before = VersionVector([serverID.publicKey: 3])
    let after = VersionVector([serverID.publicKey: 3, clientID.publicKey: 2])
    var done = ByteWriter(); done.varint(2)
    out.append(("member-sync", messages([[1] + before.encoded(), [2] + batch.bytes, [3] + done.bytes, [4] + after.encoded()])))
    out.append(("done-first", messages([[3, 0], [4, 0], [1, 0]])))
    out += out.filter { $0.1.first == 1 }.map { ($0.0 + "-v2", [2] + $0.1.dropFirst()) }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Seeds.emitIfAsked(seeds)
    var r = FuzzReader(fuzzInput(data, size))
    let mode = r.u8()
    let raw = mode == 0
    let store = dir + "/store.db"
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
    guard FileManager.default.createFile(atPath: store, contents: Data(template)) else { fatalError("cannot write \(store)") }

    let finished = DispatchSemaphore(value: 0)
    let l = listener
    let serverThread = Thread {
        defer { finished.signal() }
        guard let conn = try? l.accept(timeout: 10) else { return }
        _ = try? PeerSession.server(conn: conn, identity: serverID, networkKey: nk, storePath: store, project: project,
                                    replay: ReplayCache(), allowed: { $0 == clientID.publicKey })
        conn.close()
    }
    serverThread.start()

    let conn: Connection
    do { conn = try Connection.connect(to: "127.0.0.1:\(listener.port)") } catch { fatalError("cannot connect to the loopback listener: \(error)") }
    do {
        var cipher: FrameCipher
        if mode == 2 {
            var hs = ClientHandshake(identity: clientID, networkKey: nk)
            try conn.writeAll(hs.message1(nowMillis: UInt64(Date().timeIntervalSince1970 * 1000)))
            let m2 = try hs.readMessage2(from: conn, deadline: Date(timeIntervalSinceNow: 10))
            let (m3, session) = try hs.receive2(m2) { $0 == serverID.publicKey }
            try conn.writeAll(m3)
            cipher = FrameCipher(sending: session)
        } else {
            // A fixed ephemeral key keeps inputs replayable; each input has a fresh replay cache.
            var client = ScriptedClient(identity: clientID, ephemeral: Fixed.box("client-ephemeral"), nk: nk)
            try conn.writeAll(client.message1(time: UInt64(Date().timeIntervalSince1970 * 1000)))
            let m2 = try conn.readExactly(Handshake.message2Length, deadline: Date(timeIntervalSinceNow: 10))
            fuzzCheck(client.receive2(m2) == serverID.publicKey, "the server proves its key")
            let m3 = client.message3(proof: client.honestProof)
            try conn.writeAll(m3)
            guard let keys = client.sessionKeys(m3: m3) else { fatalError("no session keys") }
            if raw { try conn.writeAll(r.rest()) }
            cipher = FrameCipher(key: keys.send)
        }
        var out: [UInt8] = []
        while r.remaining > 0 { out += cipher.seal(r.prefix(Int(r.u16()))) }
        try conn.writeAll(out)
    } catch {
        // The server may close first (a frame it refused); that is its right.
    }
    // End of input: the server sees the connection close after the last frame.
    conn.close()
    if finished.wait(timeout: .now() + 30) == .timedOut {
        fuzzCheck(false, "the server session did not end within 30 s of the client closing")
    }
    // The store the session wrote to is still a readable store.
    if let s = try? OpStore(path: store) {
        fuzzCheck((try? s.versionVector()) != nil, "the store reads back after a session")
    }
    return 0
}
