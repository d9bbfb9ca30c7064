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
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // Tests only: property-based checks (round trips, idempotence, the decision function).
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
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
        // Child processes started with posix_spawn and reaped with waitpid (PostgreSQL's tools, the tests' commands).
        .target(name: "ConcordProcess"),
        // Files read and written in bounded memory, appearing complete or not at all.
        .target(name: "ConcordFiles", dependencies: ["ConcordCore"]),
        // What runs at an agency: key files, the streaming pseudonymise pipeline, its configuration,
        // its state directory and the hub's upload protocol.
        .target(
            name: "ConcordAgent",
            dependencies: [
                "ConcordCore", "ConcordFiles",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The hub's side of the foundation: checking that a received extract holds no raw identifier.
        .target(name: "ConcordHub", dependencies: ["ConcordCore", "ConcordFiles", .product(name: "Crypto", package: "swift-crypto")]),
        // The hub's PostgreSQL: embedded cluster, migrations, registry, audit log, dataset tables and loading.
        .target(
            name: "ConcordHubStore",
            dependencies: [
                "ConcordCore", "ConcordFiles", "ConcordProcess",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("Migrations/0001_foundation.sql"), .embedInCode("Migrations/0002_linkage.sql"),
                .embedInCode("Migrations/0003_requests.sql"), .embedInCode("Migrations/0004_transparency.sql"),
                .embedInCode("Migrations/0005_linkage_values.sql"),
                .embedInCode("Migrations/0006_ig_sessions.sql"),
                .embedInCode("Migrations/0007_retention.sql"),
                .embedInCode("Migrations/0008_agency_keys.sql"),
                .embedInCode("Migrations/0009_linkage_encodings.sql"),
            ]
        ),
        // The hub's HTTP API: authentication, uploads, ingest and receipts, health and metrics.
        .target(
            name: "ConcordHubServer",
            dependencies: [
                "ConcordCore", "ConcordFiles", "ConcordHub", "ConcordHubStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [
                .embedInCode("Resources/openapi.yaml"), .embedInCode("Resources/web/concord.css"), .embedInCode("Resources/web/access-report.css"),
                // The IG dashboard, the access report and the public register (docs/ig-dashboard.md).
                .embedInCode("Resources/web/layout.mustache"), .embedInCode("Resources/web/signin.mustache"),
                .embedInCode("Resources/web/message.mustache"), .embedInCode("Resources/web/agreements.mustache"),
                .embedInCode("Resources/web/uploads.mustache"), .embedInCode("Resources/web/requests.mustache"),
                .embedInCode("Resources/web/audit.mustache"), .embedInCode("Resources/web/transparency.mustache"),
                .embedInCode("Resources/web/register.mustache"), .embedInCode("Resources/web/access-report.mustache"),
                .embedInCode("Resources/web/retention.mustache"),
            ]
        ),
        // Deterministic synthetic populations and agency extracts for tests, the demo and benchmarks.
        .target(name: "ConcordSynth", dependencies: ["ConcordCore", "ConcordFiles"]),
        .executableTarget(
            name: "concord",
            dependencies: [
                "ConcordCore", "ConcordFiles", "ConcordAgent", "ConcordHub", "ConcordHubStore", "ConcordHubServer", "ConcordSynth",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "ConcordCoreTests",
            dependencies: ["ConcordCore", "ConcordFiles", .product(name: "Crypto", package: "swift-crypto"), .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(name: "ConcordAgentTests", dependencies: ["ConcordAgent", "ConcordFiles", "ConcordTestSupport"]),
        .testTarget(name: "ConcordHubTests", dependencies: ["ConcordHub"]),
        // Fresh databases on the test PostgreSQL, for the test targets that need one.
        .target(
            name: "ConcordTestSupport",
            dependencies: ["ConcordHubStore", "ConcordProcess", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "ConcordHubStoreTests",
            dependencies: [
                "ConcordHubStore", "ConcordCore", "ConcordTestSupport", "ConcordSynth", "ConcordAgent", "ConcordFiles",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ConcordHubServerTests",
            dependencies: [
                "ConcordHubServer", "ConcordHubStore", "ConcordAgent", "ConcordCore", "ConcordFiles", "ConcordProcess", "ConcordSynth", "ConcordTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "ConcordSynthTests", dependencies: ["ConcordSynth", "ConcordCore"]),
        .testTarget(
            name: "ConcordEndToEndTests",
            dependencies: ["ConcordCore", "ConcordHubStore", "ConcordProcess", "ConcordTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
