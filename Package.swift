// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Concord",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "concord", targets: ["concord"]),
        .library(name: "ConcordCore", targets: ["ConcordCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Pre-keyed HMAC-SHA256 over the system's libcrypto: the hot loop of pseudonymisation.
        .target(
            name: "CConcordCrypto",
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        // zstd from the system (Debian's libzstd-dev): compresses envelope payloads.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // The pure core: CSV, dataset schemas, normalisation, match keys. No I/O beyond byte streams.
        .target(
            name: "ConcordCore",
            dependencies: [
                "CConcordCrypto",
                "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.embedInCode("Resources/nicknames.csv")]
        ),
        // Files read and written in bounded memory, appearing complete or not at all.
        .target(name: "ConcordFiles", dependencies: ["ConcordCore"]),
        // What runs at an agency: linkage key files and the streaming pseudonymise pipeline.
        .target(name: "ConcordAgent", dependencies: ["ConcordCore", "ConcordFiles", .product(name: "Crypto", package: "swift-crypto")]),
        // The hub's side of the foundation: checking that a received extract holds no raw identifier.
        .target(name: "ConcordHub", dependencies: ["ConcordCore", "ConcordFiles", .product(name: "Crypto", package: "swift-crypto")]),
        // Deterministic synthetic populations and agency extracts for tests, the demo and benchmarks.
        .target(name: "ConcordSynth", dependencies: ["ConcordCore", "ConcordFiles"]),
        .executableTarget(
            name: "concord",
            dependencies: [
                "ConcordCore", "ConcordFiles", "ConcordAgent", "ConcordHub", "ConcordSynth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "ConcordCoreTests",
            dependencies: ["ConcordCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "ConcordAgentTests", dependencies: ["ConcordAgent", "ConcordFiles"]),
        .testTarget(name: "ConcordHubTests", dependencies: ["ConcordHub"]),
        .testTarget(name: "ConcordSynthTests", dependencies: ["ConcordSynth", "ConcordCore"]),
        .testTarget(name: "ConcordEndToEndTests", dependencies: ["ConcordCore"]),
    ],
    swiftLanguageModes: [.v6]
)
