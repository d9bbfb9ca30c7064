// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for Concord's parsers of untrusted input (scripts/fuzz.sh builds and runs
// them). A package of its own because every module in it is built with -sanitize=fuzzer and
// each target's entry point is libFuzzer's, not a Swift main.
let targets = ["csv", "envelope", "schema", "agreement"]

let package = Package(
    name: "ConcordFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Concord", path: "..")],
    targets: targets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: [.product(name: "ConcordCore", package: "Concord")],
            path: "Sources/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    },
    swiftLanguageModes: [.v6]
)
