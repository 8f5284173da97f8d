// swift-tools-version:6.0
import PackageDescription

// Two programs share one config library:
//   cmdeploy  - the operator's deploy tool (thin CLI over the Deploy library)
//   chatmaild - the relay's own server daemons (thin dispatch over Chatmaild)
let package = Package(
    name: "cmdeploy",
    products: [
        .executable(name: "cmdeploy", targets: ["cmdeploy"]),
        .executable(name: "chatmaild", targets: ["chatmaild"]),
        .library(name: "ChatmailConfig", targets: ["ChatmailConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // chatmail.ini: parsing, defaults, validation, derived values.
        .target(name: "ChatmailConfig"),

        // Everything cmdeploy does; the CLI only parses arguments and prints.
        .target(name: "Deploy", dependencies: ["ChatmailConfig"]),
        .executableTarget(
            name: "cmdeploy",
            dependencies: [
                "Deploy", "ChatmailConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // libcrypt (libxcrypt on Debian): SHA512-CRYPT hashes for Dovecot.
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt"),
        // The git revision baked in at build time (scripts/build-chatmaild).
        .target(name: "CBuildInfo"),

        // The relay's server daemons.
        .target(
            name: "Chatmaild",
            dependencies: [
                "ChatmailConfig", "CCrypt", "CBuildInfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .executableTarget(name: "chatmaild", dependencies: ["Chatmaild"]),

        .testTarget(name: "ChatmailConfigTests", dependencies: ["ChatmailConfig"]),
        .testTarget(name: "DeployTests", dependencies: ["Deploy"]),
        .testTarget(name: "ChatmaildTests", dependencies: ["Chatmaild"]),
    ],
    swiftLanguageModes: [.v5]
)
