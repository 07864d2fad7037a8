import SandyqStore

extension Node {
    /// What the cached view does once ops landed (own writes and imports alike).
    func viewAfterImport(_ report: ImportReport) {
        dropView()
    }
}
