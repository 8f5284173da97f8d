import Testing
import TestSupport
@testable import Deploy
@testable import Engine

@Suite struct BaseTests {
    @Test func domainRelay() throws {
        let m = try Base().manifest()
        #expect(m.text("/etc/apt/apt.conf.d/00InstallRecommends") == "APT::Install-Recommends \"false\";\n")
        #expect(m.text("/etc/mailname") == "chat.example.org\n")
        #expect(m.packages.map(\.name) == ["curl", "rsync", "unattended-upgrades"])
        #expect(m.users.map(\.name) == ["vmail", "iroh", "chatmail-turn"])
        #expect(m.users.map(\.group) == ["vmail", "iroh", "chatmail-turn"])
        let mailboxes = try #require(m.directories.first)
        #expect(mailboxes == Directory("/home/vmail/mail/chat.example.org", owner: "vmail", group: "vmail", mode: 0o700))
        let auto = try #require(m.text("/etc/apt/apt.conf.d/20auto-upgrades"))
        #expect(auto.contains("APT::Periodic::Update-Package-Lists \"1\";"))
        #expect(auto.contains("APT::Periodic::Unattended-Upgrade \"1\";"))
        for timer in ["apt-daily.timer", "apt-daily-upgrade.timer"] {
            let s = try #require(m.service(timer))
            #expect(s.enabled && s.running && s.restartOn.isEmpty)
        }
    }

    @Test func ipv4RelayKeepsTheBracketsInMailname() throws {
        let m = try Base().manifest(domain: "1.2.3.4")
        #expect(m.text("/etc/mailname") == "[1.2.3.4]\n")
        #expect(m.directories.first?.path == "/home/vmail/mail/1.2.3.4")
    }

    /// apt itself parses the config: a syntax error in either file would stop
    /// every later apt run on the relay.
    @Test func aptAcceptsTheConfigFiles() throws {
        let m = try Base().manifest()
        let dir = try scratchDir("apt")
        for name in ["00InstallRecommends", "20auto-upgrades"] {
            let f = try #require(m.file("/etc/apt/apt.conf.d/" + name))
            try String(decoding: f.content, as: UTF8.self).write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
        }
        let r = try runTool("/usr/bin/apt-config", ["-c", "\(dir)/00InstallRecommends", "-c", "\(dir)/20auto-upgrades", "dump"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("APT::Install-Recommends \"false\";"))
        #expect(r.output.contains("APT::Periodic::Unattended-Upgrade \"1\";"))
        try "APT::Broken \"1\"\n".write(toFile: "\(dir)/bad", atomically: true, encoding: .utf8)
        #expect(try runTool("/usr/bin/apt-config", ["-c", "\(dir)/bad", "dump"]).status != 0, "apt-config catches syntax errors")
    }
}
