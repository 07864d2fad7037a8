import Testing

import SandyqNode
@testable import SandyqWeb

/// What a download says about itself: a name that cannot break the header, and no risky type.
@Suite struct EvidencePagesTests {
    @Test func aFileNameCannotBreakTheHeader() {
        let d = EvidencePages.disposition("a\"b\r\nSet-Cookie: x=1\\фото.jpg", working: true)
        #expect(!d.contains("\r") && !d.contains("\n"))
        #expect(d.hasPrefix("attachment; filename=\"a_b__Set-Cookie: x=1_____-working.jpg\"; filename*=UTF-8''"))
        #expect(d.hasSuffix("%D1%84%D0%BE%D1%82%D0%BE-working.jpg"))
        #expect(EvidencePages.disposition("", working: false) == "attachment; filename=\"file\"; filename*=UTF-8''file")
    }

    @Test func onlyMediaTypesAreNamed() {
        for t in ["image/jpeg", "application/pdf", "video/mp4", "audio/mpeg"] { #expect(EvidencePages.safeTypes.contains(t)) }
        for t in ["text/html", "image/svg+xml", "application/octet-stream", "application/javascript"] { #expect(!EvidencePages.safeTypes.contains(t)) }
    }

    /// A reporter's page says each state in words: a state added to the node without them fails here.
    @Test func everyFileStateIsSaidInEveryLanguage() {
        for state in HeldFile.State.allCases {
            for lang in Catalogue.languages {
                #expect(Catalogue.shared.tables[lang]?["sent.file.\(state.rawValue)"] != nil, "\(lang): no words for \(state)")
            }
        }
    }
}
