// swift-tools-version:5.4
// 5.4 on purpose: from 5.5 on, SwiftPM links an executable with `main` pointing at
// `<module>_main`, which a target without top-level code (libFuzzer supplies main) lacks.
import PackageDescription

// libFuzzer targets for AppInbox's parsers (README.md). A package of its own, so that its flags
// never reach the product build; scripts/fuzz builds it with -sanitize=fuzzer,address, which
// instruments every Swift module, AppInbox included.

let fuzzTargets = ["fuzz-json", "fuzz-identity", "fuzz-language", "fuzz-query", "fuzz-envfile", "fuzz-etag", "fuzz-request", "fuzz-jwt"]

let package = Package(
    name: "AppInboxFuzz",
    // Named, so that the name does not depend on the checkout's directory.
    dependencies: [.package(name: "app-inbox-fcgi", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "AppInbox", package: "app-inbox-fcgi")])
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: ["FuzzSupport", .product(name: "AppInbox", package: "app-inbox-fcgi")],
                swiftSettings: [.unsafeFlags(["-parse-as-library"])])
        }
)
