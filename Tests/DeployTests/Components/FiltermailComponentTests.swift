import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct FiltermailComponentTests {
    @Test func unitsRunChatmaildFiltermailAsVmailAndRestartOnBinaryOrUnitChange() throws {
        let m = try Filtermail().manifest(try MailConfigs.context())
        for (unit, mode) in [("filtermail", "outgoing"), ("filtermail-incoming", "incoming")] {
            let path = "/etc/systemd/system/\(unit).service"
            let lines = settingLines(try m.mailText(path))
            #expect(lines.contains("ExecStart=/usr/local/bin/chatmaild filtermail /usr/local/lib/chatmaild/chatmail.ini \(mode)"))
            #expect(lines.contains("User=vmail"))
            #expect(lines.contains("Restart=always"))
            #expect(lines.contains("RestartSec=30"))
            #expect(lines.contains("WantedBy=multi-user.target"))
            let s = try #require(m.mailService(unit))
            #expect(s.enabled && s.running)
            // They read their limits from chatmail.ini only at start.
            #expect(Set(s.restartOn) == [path, "/usr/local/bin/chatmaild", "/usr/local/lib/chatmaild/chatmail.ini"])
        }
        let transport = try #require(m.mailService("filtermail-transport"))
        #expect(!transport.enabled && !transport.running)
    }

    @Test func unitsPassSystemdVerification() throws {
        let m = try Filtermail().manifest(try MailConfigs.context())
        let dir = try scratchDir("units")
        // systemd-analyze checks the binary exists; point it at one that does.
        for unit in ["filtermail", "filtermail-incoming"] {
            let text = try m.mailText("/etc/systemd/system/\(unit).service")
                .replacingOccurrences(of: "/usr/local/bin/chatmaild", with: "/bin/true")
                .replacingOccurrences(of: "User=vmail", with: "User=root")
            try text.write(toFile: "\(dir)/\(unit).service", atomically: true, encoding: .utf8)
            let r = try shell("systemd-analyze verify --man=no '\(dir)/\(unit).service'")
            #expect(r.status == 0 && r.output.isEmpty, "\(unit): \(r.output)")
        }
    }
}
