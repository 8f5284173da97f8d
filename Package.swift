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
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Small Foundation-free helpers every module may use (files, base64, clock).
        .target(name: "Support"),
        // chatmail.ini: parsing, defaults, validation, derived values.
        .target(name: "ChatmailConfig", dependencies: ["Support"]),

        // C libraries from Debian: libssh2 (and the libcrypto it links) for
        // Deploy/Remote; cmark-gfm for the web pages (QR codes are our own).
        .systemLibrary(
            name: "CLibSSH2", pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev", "libssl-dev"])]),
        .systemLibrary(
            name: "CCmarkGFM", pkgConfig: "libcmark-gfm",
            providers: [.apt(["libcmark-gfm-dev", "libcmark-gfm-extensions-dev"])]),

        // Hosts: SSH (libssh2), the local host, ssh_config, known_hosts.
        .target(name: "Remote", dependencies: ["Support", "CLibSSH2"]),
        // Resources, manifests, probe, plan, apply: knows nothing of chatmail.
        .target(name: "Engine", dependencies: ["Support", "Remote"]),
        // The relay's web pages, their QR codes and the `webdev` server;
        // www/src (the default pages) compiled in.
        .target(name: "Website", dependencies: ["Support", "ChatmailConfig", "CCmarkGFM"], plugins: ["EmbedFolder"]),
        // Everything cmdeploy does for a relay: components, the deployment
        // and its checks, status, DNS; the CLI only parses arguments and prints.
        .target(
            name: "Deploy",
            dependencies: [
                "Support", "ChatmailConfig", "Remote", "Engine", "Website", "CBuildInfo",
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            plugins: ["EmbedFolder"]),
        // templates/ and www/src compiled into the binary (see templates/README.md).
        .plugin(name: "EmbedFolder", capability: .buildTool(), dependencies: ["EmbedFiles"]),
        .executableTarget(name: "EmbedFiles"),
        // SMTP, IMAP and HTTPS clients (SwiftNIO + NIOSSL) for `cmdeploy test` and `bench`.
        .target(
            name: "MailClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        // The online test suite and the benchmark against a deployed relay.
        .target(name: "Online", dependencies: ["MailClient", "Deploy", "Remote", "ChatmailConfig"]),
        .executableTarget(
            name: "cmdeploy",
            dependencies: [
                "Deploy", "Engine", "Remote", "Website", "Support", "ChatmailConfig", "Online",
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
                "Support", "ChatmailConfig", "CCrypt", "CBuildInfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .executableTarget(name: "chatmaild", dependencies: ["Chatmaild"]),

        // The engine against real Debian 12 lab hosts (scripts/test-engine-lab, scripts/bench-engine).
        .executableTarget(name: "engine-lab", dependencies: ["Deploy", "Engine", "Remote", "ChatmailConfig"]),

        // Corpus: malformed chatmail.ini files, read by path.
        .testTarget(name: "ChatmailConfigTests", dependencies: ["ChatmailConfig"], exclude: ["Corpus"]),
        // Helpers every test target shares (scratch directories, running tools).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "RemoteTests", dependencies: ["Remote", "Support", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Remote", "Support", "TestSupport"]),
        .testTarget(name: "WebsiteTests", dependencies: ["Website", "ChatmailConfig", "Support", "TestSupport"]),
        // Status/Fixtures: status probe output captured on lab relays, read by path.
        .testTarget(
            name: "DeployTests",
            dependencies: ["Deploy", "Engine", "Remote", "Website", "Support", "ChatmailConfig", "TestSupport"],
            exclude: ["Status/Fixtures"]),
        .testTarget(name: "OnlineTests", dependencies: ["Online", "Remote", "TestSupport"]),
        .testTarget(
            name: "MailClientTests",
            dependencies: ["MailClient", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "ChatmaildTests",
            dependencies: [
                "Chatmaild",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                // EmbeddedChannel: decoders and handlers driven read by read.
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            // Hand-written mail read by path (byte-exact, CRLF and LF).
            exclude: ["Filtermail/Fixtures"]),
        // Runs the built cmdeploy binary as an operator would; depending on
        // the executable makes `swift test` build it first (never a stale one).
        .testTarget(name: "CLITests", dependencies: ["cmdeploy"]),
    ],
    swiftLanguageModes: [.v6]
)
