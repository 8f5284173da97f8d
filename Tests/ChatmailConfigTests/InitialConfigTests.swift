import Foundation
import Testing
@testable import ChatmailConfig

@Suite struct InitialConfigTests {
    @Test func writtenFileParsesToTheDefaults() throws {
        let text = InitialConfig.render(domain: "chat.example.org")
        let c = try ChatmailConfig.parse(text, path: "chatmail.ini")
        let d = try ChatmailConfig.parse("[params]\nmail_domain = chat.example.org\n", path: "chatmail.ini")
        #expect(c.warnings.isEmpty)
        #expect(c.unusedKeys.isEmpty)
        #expect(c.mailDomain == "chat.example.org")
        #expect(c.maxMailboxSizeMB == d.maxMailboxSizeMB && c.maxMessageSize == d.maxMessageSize)
        #expect(c.enableIrohRelay, "iroh_relay must stay commented out: setting it disables the local relay")
        #expect(c.mtailAddress == nil)
        // The four privacy keys are active and empty, as in the Python template.
        #expect(c.privacyPostal == "" && c.privacyMail == "" && c.privacyPDO == "" && c.privacySupervisor == "")
    }

    @Test func everyKeyIsPresentOnce() throws {
        let text = InitialConfig.render(domain: "chat.example.org")
        for key in ConfigKeys.all {
            let active = text.components(separatedBy: "\n").filter {
                $0.hasPrefix(key.name + " =") || $0.hasPrefix("# " + key.name + " =")
            }
            #expect(active.count == 1, "\(key.name) appears \(active.count) times")
        }
    }

    @Test func everyCommentedDefaultParsesToTheBuiltInDefault() throws {
        // Uncommenting a line must not change behaviour, except for the keys
        // whose absence means something (iroh_relay, mtail_address).
        let text = InitialConfig.render(domain: "chat.example.org")
        let uncommented = text.components(separatedBy: "\n").map { line -> String in
            for key in ConfigKeys.all where key.defaultText != nil && line.hasPrefix("# \(key.name) =") {
                return String(line.dropFirst(2))
            }
            return line
        }.joined(separator: "\n")
        let c = try ChatmailConfig.parse(uncommented, path: "chatmail.ini")
        #expect(c.warnings.isEmpty)
        #expect(c.maxUserSendPerMinute == 60 && c.minFreeDiskSpaceMB == 1024 && c.maxLoad1m == 5)
        #expect(c.acmeDirectoryURL == ConfigKeys.letsEncryptDirectory)
        #expect(c.enableIrohRelay)
    }

    @Test func exampleInRepoIsWhatInitWrites() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let example = try String(contentsOf: repo.appendingPathComponent("chatmail.ini.example"), encoding: .utf8)
        #expect(example == InitialConfig.render(domain: "chat.example.org"),
                "regenerate with: cmdeploy init chat.example.org --force --config chatmail.ini.example")
    }

    @Test(arguments: ["chat.example.org", "1.2.3.4", "_chat.example.org", "a-b.example.co.uk"])
    func acceptedInitDomains(_ d: String) {
        #expect(InitialConfig.domainProblem(d) == nil)
    }

    @Test(arguments: ["", "localhost", "chat..example.org", "-chat.example.org", "chat.example.org.",
                      "user@example.org", "1.2.3.999", "::1"])
    func refusedInitDomains(_ d: String) {
        #expect(InitialConfig.domainProblem(d) != nil)
    }
}

@Suite struct DocumentationTests {
    @Test func everyKeyIsDocumented() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: repo.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for key in ConfigKeys.all {
            #expect(doc.contains("| `\(key.name)` |"), "docs/configuration.md lacks \(key.name)")
        }
    }
}
