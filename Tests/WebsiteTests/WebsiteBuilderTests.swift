import ChatmailConfig
import Foundation
import Testing
import TestSupport
@testable import Website
import Support

@Suite struct WebsiteBuilderTests {
    static let privacy = """
        privacy_postal = Example e.V., Hauptstr. 1, 12345 Musterstadt
        privacy_mail = privacy@example.org
        privacy_pdo = Erika Mustermann <dpo@example.org>
        privacy_supervisor = State Data Protection Authority, Musterstadt
        """

    func build(_ config: ChatmailConfig) throws -> String {
        let out = try scratchDir("build")
        try WebsiteBuilder.build(config: config, sourceDir: wwwSourceDir, outputDir: out)
        return out
    }

    @Test func pagesShowDomainLimitsAndContacts() throws {
        let config = try testConfig(extra: """
            max_message_size = 52428800
            max_mailbox_size = 2G
            max_user_send_per_minute = 77
            delete_mails_after = 33
            delete_inactive_users_after = 123
            \(Self.privacy)
            """)
        let out = try build(config)
        let index = try readFile(out + "/index.html")
        #expect(index.contains("<title>chat.example.org · home</title>"))
        #expect(index.contains("href=\"DCACCOUNT:https://chat.example.org/new\""))
        #expect(index.contains("<svg"))
        #expect(!index.contains("{{"))

        let info = try readFile(out + "/info.html")
        #expect(info.contains("<td>50 MB</td>"))
        #expect(info.contains("<td>2G</td>"))
        #expect(info.contains("77 per minute"))
        #expect(info.contains("<td>33 days</td>"))
        #expect(info.contains("123 days"))
        #expect(info.contains("nine characters"))

        let privacy = try readFile(out + "/privacy.html")
        #expect(privacy.contains("Example e.V., Hauptstr. 1, 12345 Musterstadt"))
        #expect(privacy.contains("<a href=\"mailto:privacy@example.org\">privacy@example.org</a>"))
        // Values are HTML-escaped, never read as markup.
        #expect(privacy.contains("Erika Mustermann &lt;dpo@example.org&gt;"))
        #expect(privacy.contains("State Data Protection Authority, Musterstadt"))
        #expect(!privacy.contains("has not completed this policy"))

        for page in ["index", "info", "privacy"] {
            let html = try readFile(out + "/\(page).html")
            #expect(!html.contains("{{"), "unexpanded tag in \(page).html")
            #expect(!html.contains("__webdev"), "webdev reload script in a deploy build")
        }
        #expect(try readFile(out + "/robots.txt").contains("Disallow: /"))
        #expect(FileManager.default.fileExists(atPath: out + "/style.css"))
        #expect(!FileManager.default.fileExists(atPath: out + "/page-layout.html"))
    }

    @Test func emptyPrivacyKeysGetANotice() throws {
        let config = try testConfig(extra: "privacy_mail = privacy@example.org\nprivacy_pdo =\n")
        let privacy = try readFile(try build(config) + "/privacy.html")
        #expect(privacy.contains("has not completed this policy"))
        #expect(privacy.contains("These contact details are missing: postal address, data protection officer, supervisory authority."))
        #expect(privacy.contains("No postal address of the operator has been given"))
        #expect(privacy.contains("mailto:privacy@example.org"))
    }

    @Test func qrImageDecodesToTheAccountURL() throws {
        let config = try testConfig()
        let out = try build(config)
        let png = out + "/qr-chatmail-invite-chat.example.org.png"
        #expect(try decodeQR(png) == "DCACCOUNT:https://chat.example.org/new")
    }

    @Test func ipv4RelayUsesBracketsAndTheLoginLinkFlow() throws {
        let config = try testConfig(domain: "192.0.2.7")
        #expect(config.tlsMode == .selfSigned)
        let out = try build(config)
        #expect(try decodeQR(out + "/qr-chatmail-invite-[192.0.2.7].png") == "DCACCOUNT:https://[192.0.2.7]/new")
        let index = try readFile(out + "/index.html")
        // A self-signed relay cannot be joined with a strict-TLS invite: the page asks /new for a login link.
        #expect(!index.contains("<svg"))
        #expect(index.contains("id=\"new-account\""))
        #expect(index.contains("<script src=\"new-account.js\"></script>"))
        #expect(index.contains("[192.0.2.7]"))
    }

    @Test func webdevBuildAddsTheReloadScript() throws {
        let out = try scratchDir("dev")
        try WebsiteBuilder.build(config: try testConfig(), sourceDir: wwwSourceDir, outputDir: out, webdev: true)
        #expect(try readFile(out + "/index.html").contains("/__webdev/reload.js"))
    }

    @Test func rebuildWritesOnlyChangesAndDropsStaleFiles() throws {
        let src = try scratchDir("src"), out = try scratchDir("out")
        let fm = FileManager.default
        try "<p>{{mail_domain}}</p>{{{content}}}".write(toFile: src + "/page-layout.html", atomically: true, encoding: .utf8)
        try "# Hi".write(toFile: src + "/index.md", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: src + "/img", withIntermediateDirectories: true)
        try "x".write(toFile: src + "/img/a.txt", atomically: true, encoding: .utf8)
        try "x".write(toFile: src + "/.hidden", atomically: true, encoding: .utf8)
        try "x".write(toFile: src + "/index.md.swp", atomically: true, encoding: .utf8)
        try "old".write(toFile: out + "/stale.html", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: src + "/linked.txt", withDestinationPath: src + "/img/a.txt")

        let config = try testConfig()
        let first = try WebsiteBuilder.build(config: config, sourceDir: src, outputDir: out)
        #expect(first.files == ["img/a.txt", "index.html", "linked.txt", "qr-chatmail-invite-chat.example.org.png"])
        #expect(try readFile(out + "/index.html") == "<p>chat.example.org</p><h1>Hi</h1>\n")
        #expect(!fm.fileExists(atPath: out + "/stale.html"))
        #expect(try WebsiteBuilder.build(config: config, sourceDir: src, outputDir: out).changed.isEmpty)
        try "# Changed".write(toFile: src + "/index.md", atomically: true, encoding: .utf8)
        #expect(try WebsiteBuilder.build(config: config, sourceDir: src, outputDir: out).changed == ["index.html"])
    }

    @Test func sourceErrorsNameTheFile() throws {
        let src = try scratchDir("bad"), out = try scratchDir("out")
        try "# Hi".write(toFile: src + "/index.md", atomically: true, encoding: .utf8)
        #expect { try WebsiteBuilder.build(config: try testConfig(), sourceDir: src, outputDir: out) } throws: {
            "\($0)" == src + "/page-layout.html: missing"
        }
        try "{{{content}}}".write(toFile: src + "/page-layout.html", atomically: true, encoding: .utf8)
        try "# Hi\n\nWrite to {{privacy_email}}".write(toFile: src + "/index.md", atomically: true, encoding: .utf8)
        #expect { try WebsiteBuilder.build(config: try testConfig(), sourceDir: src, outputDir: out) } throws: {
            "\($0)".hasPrefix(src + "/index.md:3: unknown name \"privacy_email\"")
        }
    }

    @Test func numberWordsAndSizes() {
        #expect(PageValues.numberWord(9) == "nine")
        #expect(PageValues.numberWord(0) == "zero")
        #expect(PageValues.numberWord(13) == "13")
        #expect(PageValues.numberWord(51) == "more")
        #expect(PageValues.megabytes(31_457_280) == "30")
        #expect(PageValues.megabytes(1_000_000) == "1")
        #expect(PageValues.megabytes(1_500_000) == "1.4")
    }
}

@Suite struct WebsiteLocationTests {
    @Test func wwwFolderChoosesWhatIsDeployed() throws {
        let dir = try scratchDir("loc")
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/pages/src", withIntermediateDirectories: true)
        try "# x".write(toFile: dir + "/pages/src/index.md", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: dir + "/static", withIntermediateDirectories: true)
        let ini = dir + "/chatmail.ini"

        // Relative folders are taken from chatmail.ini's folder.
        #expect(try WebsiteLocation.resolve(config: testConfig(extra: "www_folder = pages", path: ini))
                == .build(sourceDir: dir + "/pages/src", outputDir: dir + "/pages/build"))
        #expect(try WebsiteLocation.resolve(config: testConfig(extra: "www_folder = \(dir)/static", path: ini))
                == .uploadAsIs(dir: dir + "/static"))
        guard case .disabled(let reason) = try WebsiteLocation.resolve(config: testConfig(extra: "www_folder = disabled", path: ini)) else {
            Issue.record("www_folder = disabled should deploy no pages")
            return
        }
        #expect(reason.contains("www_folder = disabled is not a folder"))
    }

    @Test func theCompiledInPagesAreTheCheckoutsSources() throws {
        // A release binary on its own deploys these: they must be www/src as built.
        var onDisk: [String: [UInt8]] = [:]
        for rel in try WebsiteBuilder.sourceFiles(wwwSourceDir) {
            onDisk[rel] = Array(try #require(FileManager.default.contents(atPath: wwwSourceDir + "/" + rel)))
        }
        #expect(onDisk.keys.contains("index.md") && onDisk.keys.contains(WebsiteBuilder.layoutName))
        #expect(WebsiteBuilder.embeddedSources == onDisk)

        // ... and build into the same pages as the folder does.
        let config = try testConfig(extra: WebsiteBuilderTests.privacy)
        let out = try scratchDir("embedded")
        try WebsiteBuilder.build(config: config, sourceDir: wwwSourceDir, outputDir: out)
        let fromMemory = try WebsiteBuilder.render(config: config, sources: WebsiteBuilder.embeddedSources,
                                                   origin: WebsiteBuilder.embeddedOrigin)
        #expect(fromMemory.keys.sorted() == (try WebsiteBuilder.sourceFiles(out)))
        for (rel, bytes) in fromMemory {
            #expect(Array(FileManager.default.contents(atPath: out + "/" + rel) ?? Data()) == bytes, "\(rel)")
        }
    }

    @Test func aBrokenEmbeddedSourceNamesItsOrigin() throws {
        var sources = WebsiteBuilder.embeddedSources
        sources["index.md"] = Array("{{#unclosed}}".utf8)
        #expect { try WebsiteBuilder.render(config: try testConfig(), sources: sources, origin: WebsiteBuilder.embeddedOrigin) } throws: {
            "\($0)".contains("www/src (built into cmdeploy)/index.md")
        }
        sources.removeValue(forKey: WebsiteBuilder.layoutName)
        #expect { try WebsiteBuilder.render(config: try testConfig(), sources: sources, origin: "x") } throws: {
            "\($0)".contains("x/page-layout.html") && "\($0)".contains("missing")
        }
    }

    @Test func emptyWWWFolderMeansThePagesThatComeWithCmdeploy() throws {
        // The test binary lives under .build/ of this checkout, like cmdeploy itself.
        let location = try WebsiteLocation.resolve(config: testConfig())
        #expect(location == .build(sourceDir: repoRoot + "/www/src", outputDir: repoRoot + "/www/build"))
    }
}
