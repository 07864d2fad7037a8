// swift-tools-version:6.0
// libFuzzer targets for Sandyq's decoders. A separate package, so the root `swift build`
// never builds them. Build and run: scripts/fuzz.sh (or Fuzz/README.md).
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which depends on the checkout.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

func sandyq(_ product: String) -> Target.Dependency { .product(name: product, package: root) }

let fuzzTargets = [
    "FuzzEnvelope", "FuzzSignedBody", "FuzzBundle", "FuzzBundleRecords", "FuzzHandshake", "FuzzFrames",
    "FuzzInviteCodes", "FuzzKeyFile", "FuzzCaseImport", "FuzzMedia",
]

let package = Package(
    name: "SandyqFuzz",
    platforms: [.macOS(.v13)],
    products: fuzzTargets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [sandyq("SandyqCrypto"), sandyq("SandyqCore"), sandyq("SandyqSync")]),
    ] + fuzzTargets.map {
        .executableTarget(name: $0, dependencies: ["FuzzSupport", sandyq("SandyqCrypto"), sandyq("SandyqCore"),
                                                   sandyq("SandyqSync"), sandyq("SandyqStore")]
                          // Invitations and join replies live in the node layer.
                          + ($0 == "FuzzInviteCodes" ? [sandyq("SandyqNode")] : [])
                          // Duplicate warnings on import come from the search index.
                          + ($0 == "FuzzCaseImport" ? [sandyq("SandyqSearch")] : [])
                          // Photos, PDFs and videos: the pure media module.
                          + ($0 == "FuzzMedia" ? [sandyq("SandyqMedia")] : []))
    },
    swiftLanguageModes: [.v6]
)
