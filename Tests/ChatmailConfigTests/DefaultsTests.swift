import Testing
@testable import ChatmailConfig

@Suite struct DefaultsTests {
    @Test func minimalFileGivesPythonDefaults() throws {
        let c = try ChatmailConfig.parse("[params]\nmail_domain = chat.example.org\n", path: "chatmail.ini")
        #expect(c.mailDomain == "chat.example.org")
        #expect(c.maxUserSendPerMinute == 60)
        #expect(c.maxMailboxSizeMB == 500)
        #expect(c.tlsMode == .acme)
    }
}
