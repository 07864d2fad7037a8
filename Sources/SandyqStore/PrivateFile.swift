import Foundation

/// Owner-only files and folders, whatever the umask or the mode a folder had before.
///
/// A whole file is replaced by writing a temporary file beside it (created 0600, exclusive,
/// not through a symlink), flushing it, renaming it over the old one and flushing the
/// folder: a failure at any step (a full disk, a file-size limit, a crash) leaves the old
/// file or the new one, never neither and never half of one. A folder or any other
/// non-regular file at the path is refused and left alone.
public enum PrivateFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(StoreError) {
        var st = stat()
        if lstat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG, st.st_mode & S_IFMT != S_IFLNK {
            throw .io("cannot write \(path): it exists and is not a regular file")
        }
        if stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            throw .io("cannot write \(path): it exists and is not a regular file")
        }
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io("cannot write \(path): \(String(cString: strerror(errno)))") }
        func fail(_ what: String) -> StoreError {
            let why = String(cString: strerror(errno))
            close(fd)
            unlink(tmp)
            return .io("cannot write \(path): \(what)\(why)")
        }
        // The mode given to open is narrowed by the umask, never widened: set it exactly.
        if fchmod(fd, mode) != 0 { throw fail("") }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("")
            }
            off += n
        }
        if fsync(fd) != 0 { throw fail("flush failed: ") }
        close(fd)
        guard rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw .io("cannot write \(path): \(why)")
        }
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Makes `dir` (which must exist) 0700 and every regular file directly in it 0600: a
    /// node's home, which may have been made by hand, under a loose umask, or loosened later.
    /// Fixing beats refusing: the files hold only ciphertext, and a refusal would leave them
    /// readable until someone acted on it.
    public static func tighten(home dir: String) throws(StoreError) {
        var st = stat()
        guard lstat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { throw .io("\(dir) is not a folder") }
        if st.st_mode & 0o777 != 0o700, chmod(dir, 0o700) != 0 {
            throw .io("cannot make \(dir) owner-only (mode \(String(st.st_mode & 0o777, radix: 8))): \(String(cString: strerror(errno))); "
                      + "keep the node's home on a filesystem with Unix permissions")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for name in names {
            let p = dir + "/" + name
            guard lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_mode & 0o077 != 0 else { continue }
            if chmod(p, st.st_mode & 0o700) != 0 {
                throw .io("cannot make \(p) owner-only: \(String(cString: strerror(errno)))")
            }
        }
    }
}
