import Foundation
import Testing
import TestSupport
import ChatmailConfig
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// The configurations the mail components are checked against.
enum MailConfigs {
    static func context(_ lines: String..., domain: String = "chat.example.org", disableMail: Bool = false) throws -> DeployContext {
        // With a real chatmail.ini file and a stand-in chatmaild, so the
        // whole relay list (which uploads both) can be built from it.
        var context = try componentContext(domain: domain, lines)
        context.disableMail = disableMail
        return context
    }

    /// Name and context of every variant the daemons must accept.
    static func all() throws -> [(String, DeployContext)] {
        [("default", try context()),
         ("underscore domain", try context(domain: "_chat.example.org")),
         ("IPv4 relay", try context(domain: "1.2.3.4")),
         ("disable_ipv6", try context("disable_ipv6 = true")),
         ("imap_compress + rawlog", try context("imap_compress = true", "imap_rawlog = true")),
         ("mtail_address", try context("mtail_address = 127.0.0.1")),
         ("privacy_mail", try context("privacy_mail = privacy@example.org")),
         ("disable mail", try context(disableMail: true))]
    }
}

extension Manifest {
    func mailFile(_ path: String) throws -> File {
        for r in resources { if case .file(let f) = r, f.path == path { return f } }
        Issue.record("no file \(path) in manifest")
        throw ManifestError(message: "no file \(path)")
    }

    func mailText(_ path: String) throws -> String { String(decoding: try mailFile(path).content, as: UTF8.self) }

    func mailService(_ name: String) -> Service? {
        for r in resources { if case .service(let s) = r, s.name == name { return s } }
        return nil
    }

    var commands: [GuardedCommand] {
        resources.compactMap { if case .command(let c) = $0 { c } else { nil } }
    }
}

/// The lines of a config file, trimmed, without blanks and comments.
func settingLines(_ text: String) -> [String] {
    text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty && !$0.hasPrefix("#") }
}

/// Runs a File's own `validate` command the way the engine does: `{file}`
/// is the staged copy, `{dir}` its directory.
func runValidation(of file: File, stagedIn dir: String) throws -> (status: Int32, output: String) {
    let staged = dir + "/" + (file.path as NSString).lastPathComponent
    try Data(file.content).write(to: URL(fileURLWithPath: staged))
    let cmd = try #require(file.validate)
        .replacingOccurrences(of: "{file}", with: "\"\(staged)\"")
        .replacingOccurrences(of: "{dir}", with: "\"\(dir)\"")
    return try shell("( \(cmd) ) </dev/null")
}


