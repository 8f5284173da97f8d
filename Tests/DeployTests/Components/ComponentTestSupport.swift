import ChatmailConfig
import Foundation
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support
import TestSupport

/// A deploy context from chatmail.ini lines, with the ini written to a
/// temporary file (the Chatmaild component uploads its bytes) and a stand-in
/// chatmaild whose ELF header names `arch`.
func componentContext(domain: String = "chat.example.org", _ lines: [String] = [],
                      arch: UInt16 = 0x3E, version: String = "0123abcd\n") throws -> DeployContext {
    let path = NSTemporaryDirectory() + "components-\(UUID().uuidString.prefix(8)).ini"
    let text = (["[params]", "mail_domain = \(domain)"] + lines).joined(separator: "\n") + "\n"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let config = try ChatmailConfig.load(path: path)
    var elf = [UInt8](repeating: 0, count: 64)
    elf[0...3] = [0x7F, 0x45, 0x4C, 0x46]
    elf[18] = UInt8(arch & 0xFF)
    elf[19] = UInt8(arch >> 8)
    // The file stays: the Chatmaild component reads it (a few bytes in /tmp).
    var context = DeployContext(config: config, chatmaild: LocalFile(path: "chatmaild", content: elf), version: version)
    context.unboundConfigLock = LocalFile(path: "libub-config-lock.so", content: elf)
    return context
}

extension Component {
    /// The manifest for `componentContext(domain:_:arch:version:)`, the
    /// first line of most component tests.
    func manifest(domain: String = "chat.example.org", _ lines: [String] = [], arch: UInt16 = 0x3E,
                  version: String = "0123abcd\n") throws -> Manifest {
        try manifest(try componentContext(domain: domain, lines, arch: arch, version: version))
    }
}

extension Manifest {
    func file(_ path: String) -> File? {
        for r in resources { if case .file(let f) = r, f.path == path { return f } }
        return nil
    }
    func text(_ path: String) -> String? { file(path).map { String(decoding: $0.content, as: UTF8.self) } }
    func service(_ unit: String) -> Service? {
        for r in resources { if case .service(let s) = r, s.unit == unit { return s } }
        return nil
    }
    func command(_ name: String) -> GuardedCommand? {
        for r in resources { if case .command(let c) = r, c.name == name { return c } }
        return nil
    }
    var packages: [Package] { resources.compactMap { if case .package(let p) = $0 { p } else { nil } } }
    var absents: [String] { resources.compactMap { if case .absent(let a) = $0 { a.path } else { nil } } }
    var directories: [Directory] { resources.compactMap { if case .directory(let d) = $0 { d } else { nil } } }
    var users: [SystemUser] { resources.compactMap { if case .user(let u) = $0 { u } else { nil } } }
    var downloads: [Download] { resources.compactMap { if case .download(let d) = $0 { d } else { nil } } }
}

