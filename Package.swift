// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Sandyq",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sandyq", targets: ["sandyq"]),
        .executable(name: "sandyq-bench", targets: ["SandyqBench"]),
        // Libraries so side packages (Fuzz/) can link the real decoders.
        .library(name: "SandyqCrypto", targets: ["SandyqCrypto"]),
        .library(name: "SandyqCore", targets: ["SandyqCore"]),
        .library(name: "SandyqSearch", targets: ["SandyqSearch"]),
        .library(name: "SandyqReports", targets: ["SandyqReports"]),
        .library(name: "SandyqStore", targets: ["SandyqStore"]),
        .library(name: "SandyqSync", targets: ["SandyqSync"]),
        .library(name: "SandyqNode", targets: ["SandyqNode"]),
        .library(name: "SandyqWeb", targets: ["SandyqWeb"]),
        .library(name: "SandyqMedia", targets: ["SandyqMedia"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
    ],
    targets: [
        // QR codes for invitations shown on the desk (Debian's libqrencode, drawn as SVG by SandyqWeb).
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "SandyqCrypto", dependencies: ["CSodium"]),
        .target(name: "SandyqCore", dependencies: ["SandyqCrypto"]),
        .target(name: "SandyqSearch", dependencies: ["SandyqCore"]),
        .target(name: "SandyqReports", dependencies: ["SandyqCore", "SandyqSearch"]),
        .target(name: "SandyqStore", dependencies: ["SandyqCore", "CSQLite"]),
        .target(name: "SandyqSync", dependencies: ["SandyqCore", "SandyqStore"]),
        // What a photo, PDF or video says about its maker, and removing it: pure, no I/O.
        .target(name: "SandyqMedia"),
        .target(name: "SandyqNode", dependencies: ["SandyqCore", "SandyqSearch", "SandyqReports", "SandyqStore", "SandyqSync", "SandyqCrypto", "SandyqMedia"]),
        // The desk: the node's own web app, served to its own browser on loopback.
        .target(
            name: "SandyqWeb",
            dependencies: [
                "SandyqNode",
                "CQREncode",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ],
            resources: [.embedInCode("Templates"), .embedInCode("Catalogue"), .embedInCode("Static")]
        ),
        .executableTarget(
            name: "sandyq",
            dependencies: [
                "SandyqNode",
                "SandyqWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "SandyqBench", dependencies: ["SandyqNode", "SandyqStore", "SandyqCore", "SandyqCrypto", "SandyqSync"]),
        // What several test targets share: the vector-file format, temp directories, node fixtures.
        .target(name: "SandyqTestSupport", dependencies: ["SandyqNode", "SandyqCore", "SandyqCrypto"], path: "Tests/SandyqTestSupport"),
        .testTarget(name: "SandyqCryptoTests", dependencies: ["SandyqCrypto", "SandyqTestSupport"]),
        .testTarget(name: "SandyqCoreTests", dependencies: ["SandyqCore", "SandyqCrypto", "SandyqTestSupport"]),
        .testTarget(name: "SandyqSearchTests", dependencies: ["SandyqSearch", "SandyqCore", "SandyqTestSupport"]),
        .testTarget(name: "SandyqReportsTests", dependencies: ["SandyqReports", "SandyqCore"]),
        .testTarget(name: "SandyqStoreTests", dependencies: ["SandyqStore", "SandyqCore", "SandyqCrypto", "SandyqTestSupport"]),
        .testTarget(name: "SandyqSyncTests", dependencies: ["SandyqSync", "SandyqStore", "SandyqCore", "SandyqCrypto", "SandyqTestSupport"]),
        .testTarget(name: "SandyqNodeTests", dependencies: ["SandyqNode", "SandyqCore", "SandyqSearch", "SandyqReports", "SandyqCrypto", "SandyqTestSupport"]),
        .testTarget(
            name: "SandyqWebTests",
            dependencies: ["SandyqWeb", "SandyqNode", "SandyqTestSupport", .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
        .testTarget(name: "SandyqMediaTests", dependencies: ["SandyqMedia"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SandyqStore", "SandyqCrypto", "SandyqCore", "SandyqSync"]),
    ],
    swiftLanguageModes: [.v6]
)
