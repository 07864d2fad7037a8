import Foundation
import SandyqCrypto
import SandyqStore

/// The primitives that bound Sandyq, measured through the same Swift wrappers Sandyq calls,
/// on one core, in the same run as the phases.
enum Limits {
    /// Runs `body` (which performs `perCall` operations) for about `seconds` of wall time;
    /// operations per wall second and per CPU second of this thread.
    static func rate(seconds: Double, perCall: Int = 1, _ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        try body() // warm-up: first-touch, lazy init
        var calls = 0
        let start = now(), cpuStart = threadCPU()
        var t = start
        repeat {
            for _ in 0..<8 { try body() }
            calls += 8
            t = now()
        } while t - start < seconds
        let cpu = threadCPU() - cpuStart
        return (Double(calls * perCall) / (t - start), Double(calls * perCall) / cpu)
    }

    /// Median of three runs, ~`total` seconds in all.
    static func median3(total: Double = 1.5, perCall: Int = 1, _ body: () throws -> Void) rethrows -> (median: Double, runs: [Double], cpu: Double) {
        var runs: [(wall: Double, cpu: Double)] = []
        for _ in 0..<3 { runs.append(try rate(seconds: total / 3, perCall: perCall, body)) }
        return (median(runs.map(\.wall)), runs.map(\.wall), median(runs.map(\.cpu)))
    }

    struct Result: Codable, Sendable {
        var name: String
        /// Per wall-clock second (seconds for Argon2).
        var value: Double
        var unit: String
        var runs: [Double]
        /// The same per CPU second of the measuring thread.
        var cpuValue: Double
        var note: String
    }

    static func ed25519Sign(messageBytes: Int, total: Double = 1.5) -> Result {
        let key = SigningKeyPair()
        let msg = Random.bytes(messageBytes)
        let r = median3(total: total) { Sink.eat(key.sign(msg).bytes) }
        return Result(name: "ed25519_sign", value: r.median, unit: "ops/s", runs: r.runs, cpuValue: r.cpu,
                      note: "SigningKeyPair.sign, \(messageBytes)-byte message")
    }

    static func ed25519Verify(messageBytes: Int, total: Double = 1.5) -> Result {
        let key = SigningKeyPair()
        let msg = Random.bytes(messageBytes)
        let sig = key.sign(msg)
        let pub = key.publicKey
        let r = median3(total: total) { if pub.isValidSignature(sig, for: msg) { Sink.eat(1) } }
        return Result(name: "ed25519_verify", value: r.median, unit: "ops/s", runs: r.runs, cpuValue: r.cpu,
                      note: "SigningPublicKey.verify, \(messageBytes)-byte message")
    }

    static func sealedBoxOpen(total: Double = 1.5) -> Result {
        let kp = BoxKeyPair()
        let sealed = kp.publicKey.seal(Random.bytes(32))
        let r = median3(total: total) { Sink.eat((try? kp.open(sealed)) ?? []) }
        return Result(name: "sealed_box_open", value: r.median, unit: "ops/s", runs: r.runs, cpuValue: r.cpu,
                      note: "BoxKeyPair.open of a 32-byte key")
    }

    static func sealedBoxSeal(total: Double = 1.5) -> Result {
        let kp = BoxKeyPair()
        let msg = Random.bytes(32)
        let r = median3(total: total) { Sink.eat(kp.publicKey.seal(msg)) }
        return Result(name: "sealed_box_seal", value: r.median, unit: "ops/s", runs: r.runs, cpuValue: r.cpu,
                      note: "BoxPublicKey.seal of a 32-byte key")
    }

    /// AEAD seal per second at `bytes` (ops/s); MB/s is ops/s * bytes / 1e6.
    static func aeadSeal(bytes: Int, total: Double = 1.5) -> Result {
        let key = SymmetricKey()
        let nonce = AEAD.randomNonce()
        let msg = Random.bytes(bytes)
        let ad = Random.bytes(98)
        let r = median3(total: total) { Sink.eat(AEAD.seal(msg, key: key, nonce: nonce, associatedData: bytes <= 4096 ? ad : [])) }
        return Result(name: "aead_seal_\(bytes)", value: r.median, unit: "ops/s", runs: r.runs, cpuValue: r.cpu,
                      note: "XChaCha20-Poly1305 seal, \(bytes) B" + (bytes <= 4096 ? " + 98 B AD (an op header)" : ""))
    }

    static func aeadOpen(bytes: Int, total: Double = 1.5) -> Result {
        let key = SymmetricKey()
        let nonce = AEAD.randomNonce()
        let msg = Random.bytes(bytes)
        let ad = Random.bytes(98)
        let ct = AEAD.seal(msg, key: key, nonce: nonce, associatedData: bytes <= 4096 ? ad : [])
        let r = median3(total: total) { Sink.eat((try? AEAD.open(ct, key: key, nonce: nonce, associatedData: bytes <= 4096 ? ad : [])) ?? []) }
        return Result(name: "aead_open_\(bytes)", value: r.median, unit: "ops/s", runs: r.runs, cpuValue: r.cpu,
                      note: "XChaCha20-Poly1305 open, \(bytes) B" + (bytes <= 4096 ? " + 98 B AD" : ""))
    }

    static func blake2b(bytes: Int, total: Double = 1.5) -> Result {
        let msg = Random.bytes(bytes)
        let r = median3(total: total) { Sink.eat(Hash.blake2b(msg)) }
        return Result(name: "blake2b_\(bytes)", value: r.median, unit: "ops/s", runs: r.runs, cpuValue: r.cpu,
                      note: "Hash.blake2b (32-byte digest), \(bytes) B")
    }

    static func argon2Interactive() -> Result {
        var runs: [Double] = [], cpu: [Double] = []
        let salt = Random.bytes(PasswordKDF.saltLength)
        for _ in 0..<3 {
            let t = now(), c = threadCPU()
            Sink.eat((try? PasswordKDF.deriveKey(passphrase: passphrase(), salt: salt, parameters: .interactive).secret.count) ?? 0)
            runs.append(now() - t)
            cpu.append(threadCPU() - c)
        }
        return Result(name: "argon2id_interactive", value: median(runs), unit: "s", runs: runs, cpuValue: median(cpu),
                      note: "PasswordKDF.deriveKey, .interactive (ops 2, 64 MiB)")
    }

    /// `rows` 1 KiB rows with a random 32-byte blob key into a rowid table with a UNIQUE index,
    /// one transaction, WAL + synchronous=NORMAL (OpStore's pragmas), via Database/Statement.
    static func sqliteInsert(dir: String, rows: Int, repeats: Int = 3) throws -> Result {
        var runs: [Double] = [], cpu: [Double] = []
        let value = Random.bytes(1024)
        for run in 0..<repeats {
            let keys = (0..<rows).map { _ in Random.bytes(32) }
            let path = dir + "/limit-sqlite-\(run).db"
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
            try autoreleasepool {
                let db = try Database(path: path)
                try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
                try db.execute("CREATE TABLE t (k BLOB NOT NULL UNIQUE, v BLOB NOT NULL)")
                let ins = try db.prepare("INSERT INTO t(k, v) VALUES(?, ?)")
                let t = now(), c = threadCPU()
                try db.transaction {
                    for k in keys { try ins.run([.blob(k), .blob(value)]) }
                }
                runs.append(Double(rows) / (now() - t))
                cpu.append(Double(rows) / (threadCPU() - c))
                withExtendedLifetime(ins) {}
            }
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        }
        return Result(name: "sqlite_insert", value: median(runs), unit: "rows/s", runs: runs, cpuValue: median(cpu),
                      note: "\(rows) rows of 1 KiB, 32-byte random blob key, rowid table + UNIQUE index, 1 transaction, WAL")
    }

    static func sqliteVersion(dir: String) -> String {
        let path = dir + "/version.db"
        defer { unlink(path) }
        guard let db = try? Database(path: path), let s = try? db.prepare("SELECT sqlite_version()"),
              (try? s.step()) == true else { return "?" }
        return s.text(0)
    }
}

/// Foundation on Linux has no autoreleasepool; this only scopes lifetimes.
@inline(__always) func autoreleasepool<R>(_ body: () throws -> R) rethrows -> R { try body() }
