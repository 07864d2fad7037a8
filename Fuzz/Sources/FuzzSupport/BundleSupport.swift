import Foundation
import SandyqCore
import SandyqCrypto
import SandyqSync

/// BundleReader reads from a path only, so each input goes through one file in shared memory.
public enum BundleFile {
    public static let path: String = {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(dir)/sandyq-fuzz-\(getpid()).bundle"
    }()

    public struct Result {
        public var opened: SyncError?
        public var ops = 0
        public var reader: BundleReader?
    }

    /// Writes `bytes`, reads the whole bundle as an import would, and checks that the reader ends.
    @discardableResult
    public static func read(_ bytes: [UInt8], keys: BoxKeyPair) -> Result {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
        var result = Result()
        let reader: BundleReader
        do { reader = try BundleReader(path: path, keys: keys) } catch { result.opened = error; return result }
        result.reader = reader
        var calls = 0
        // Each call consumes at least one record or chunk, so a file of c chunks ends well within this.
        let bound = 4 + 2 * (bytes.count / 5 + 2)
        while true {
            calls += 1
            fuzzCheck(calls <= bound, "bundle reader ends")
            let batch: [Envelope]?
            do { batch = try reader.next(max: 64) } catch { break }
            guard let batch else { break }
            result.ops += batch.count
        }
        _ = reader.intact
        return result
    }
}
