import SandyqCore

extension CaseMerge.Names {
    /// Names compared as search compares them: folded to one Latin skeleton, so a person
    /// written in Cyrillic in one case and transliterated in the other is one person.
    public static let folded = CaseMerge.Names(
        same: { NameFolding.fold($0) == NameFolding.fold($1) },
        similarity: { NameFolding.similarity($0, $1) },
        threshold: NameFolding.duplicateThreshold)
}
