import ChatmailConfig
import Foundation
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support
import TestSupport

/// A config from chatmail.ini lines (mail_domain first).
func testConfig(_ lines: String...) throws -> ChatmailConfig {
    try ChatmailConfig.parse((["[params]"] + lines).joined(separator: "\n") + "\n", path: "chatmail.ini")
}

/// One component's manifest for a config, with lookups by path and name.
struct Rendered {
    var resources: [Resource]

    init(_ component: some Component, _ config: ChatmailConfig, website: [String: [UInt8]]? = nil) throws {
        resources = try component.manifest(DeployContext(config: config, website: website)).resources
        // Every manifest must also pass the engine's own consistency check.
        _ = try DesiredState([(component.name, Manifest(resources: resources))])
    }

    var files: [File] { resources.compactMap { if case .file(let f) = $0 { f } else { nil } } }
    var commands: [GuardedCommand] { resources.compactMap { if case .command(let c) = $0 { c } else { nil } } }
    var services: [Service] { resources.compactMap { if case .service(let s) = $0 { s } else { nil } } }
    var packages: [String] { resources.compactMap { if case .package(let p) = $0 { p.name } else { nil } } }
    var downloads: [Download] { resources.compactMap { if case .download(let d) = $0 { d } else { nil } } }
    var absent: [String] { resources.compactMap { if case .absent(let a) = $0 { a.path } else { nil } } }

    func file(_ path: String) -> File? { files.first { $0.path == path } }
    func text(_ path: String) -> String? { file(path).map { String(decoding: $0.content, as: UTF8.self) } }
    func command(_ name: String) -> GuardedCommand? { commands.first { $0.name == name } }
    func service(_ name: String) -> Service? { services.first { $0.name == name } }
}

