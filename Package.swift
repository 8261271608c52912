// swift-tools-version:6.0
import PackageDescription

// No Swift package dependencies: the C libraries (libfcgi, libcurl, libcrypto) do the heavy
// lifting, and every dependency would cost build time on every CI run.
let package = Package(
    name: "app-inbox-fcgi",
    products: [
        .executable(name: "app-inbox-fcgi", targets: ["app-inbox-fcgi"]),
        .executable(name: "esputnik-sandbox", targets: ["esputnik-sandbox"]),
        // For the fuzz targets in Fuzz/, a separate package that builds with sanitizers.
        .library(name: "AppInbox", targets: ["AppInbox"]),
        .library(name: "ResponderCore", targets: ["ResponderCore"]),
    ],
    targets: [
        .target(name: "CFastCGI", linkerSettings: [.linkedLibrary("fcgi")]),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        // hiredis's async API on our epoll loop (fleet mode's Redis), linked statically: the
        // binary of the release tarball then runs where libhiredis is not installed (shared hosting).
        .target(name: "CRedis", linkerSettings: [.linkedLibrary(":libhiredis.a")]),
        .target(name: "CProcess"),
        // Request/Response values, JSON, the log, locks, the clock, file bytes: what the transport,
        // the app and the sandbox share. libc only.
        .target(name: "ResponderCore"),
        // The token route, init.js, status: the product. Knows no FastCGI.
        .target(name: "AppInbox", dependencies: ["ResponderCore", "CCurl", "CCrypto", "CRedis"]),
        // FastCGI (and CGI) in, Response out. Knows no AppInbox.
        .target(name: "FastCGI", dependencies: ["ResponderCore", "CFastCGI"]),
        .executableTarget(name: "app-inbox-fcgi", dependencies: ["AppInbox", "FastCGI", "CProcess"]),
        .executableTarget(name: "esputnik-sandbox", dependencies: ["ResponderCore", "FastCGI", "CCrypto"]),
        .testTarget(name: "AppInboxTests", dependencies: ["AppInbox", "ResponderCore", "FastCGI"]),
    ],
    swiftLanguageModes: [.v6]
)
