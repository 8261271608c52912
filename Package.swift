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
    ],
    targets: [
        .target(name: "CFastCGI", linkerSettings: [.linkedLibrary("fcgi")]),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .target(name: "CCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "CProcess"),
        .target(name: "AppInbox", dependencies: ["CCurl", "CCrypto"]),
        .target(name: "FastCGI", dependencies: ["CFastCGI", "AppInbox"]),
        .executableTarget(name: "app-inbox-fcgi", dependencies: ["AppInbox", "FastCGI", "CProcess"]),
        .executableTarget(name: "esputnik-sandbox", dependencies: ["AppInbox", "FastCGI", "CCrypto"]),
        .testTarget(name: "AppInboxTests", dependencies: ["AppInbox"]),
    ],
    swiftLanguageModes: [.v6]
)
