import SandyqStore

extension Node {
    /// Writes a file that holds plaintext (a report, an export, an invitation) owner-only
    /// (0600) whatever the umask, replacing any file already there only once the new one is
    /// whole on disk: a failure leaves the old file as it was. A folder at `path` is refused.
    public static func writePrivateFile(_ text: String, to path: String) throws(NodeError) {
        do { try PrivateFile.write(Array(text.utf8), to: path) } catch { throw NodeError(.failure, error.description) }
    }
}
