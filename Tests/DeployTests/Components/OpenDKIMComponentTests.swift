import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct OpenDKIMComponentTests {
    @Test func confTablesAndKeyUseTheBareDomain() throws {
        let m = try OpenDKIM().manifest(try MailConfigs.context(domain: "_chat.example.org"))
        let conf = settingLines(try m.mailText("/etc/opendkim.conf"))
        for line in ["Domain _chat.example.org", "Selector opendkim", "KeyFile /etc/dkimkeys/opendkim.private",
                     "SigningTable refile:/etc/dkimkeys/SigningTable", "MTA ORIGINATING", "InternalHosts -",
                     "On-NoSignature reject", "On-BadSignature reject", "Canonicalization relaxed/simple",
                     "Socket local:/var/spool/postfix/opendkim/opendkim.sock", "UserID opendkim", "UMask 007",
                     "ScreenPolicyScript /etc/opendkim/screen.lua", "FinalPolicyScript /etc/opendkim/final.lua"] {
            #expect(conf.contains(line), "\(line)")
        }
        #expect(try m.mailText("/etc/dkimkeys/KeyTable")
                == "opendkim._domainkey._chat.example.org _chat.example.org:opendkim:/etc/dkimkeys/opendkim.private\n")
        #expect(try m.mailText("/etc/dkimkeys/SigningTable") == "*@_chat.example.org opendkim._domainkey._chat.example.org\n")
        #expect(try m.mailFile("/etc/dkimkeys/KeyTable").owner == "opendkim")
        #expect(settingLines(try m.mailText("/etc/systemd/system/opendkim.service.d/10-prevent-memory-leak.conf"))
                == ["[Unit]", "StartLimitIntervalSec=0", "[Service]", "Restart=always", "RestartSec=2", "RuntimeMaxSec=1d"])
        #expect(m.resources.contains(.directory(Directory("/var/spool/postfix/opendkim", owner: "opendkim", mode: 0o750))))
        #expect(m.resources.contains(.directory(Directory("/etc/opendkim", owner: "opendkim", mode: 0o750))))
    }

    /// OpenDKIM looks up keys with its own libunbound, not the system
    /// resolver: with dns_forwarders it must go through the relay's unbound
    /// (which forwards), or keys of private zones are never found.
    @Test func keyLookupsFollowDNSForwarders() throws {
        let plain = try OpenDKIM().manifest(try componentContext())
        #expect(!settingLines(try plain.mailText("/etc/opendkim.conf")).contains { $0.hasPrefix("ResolverConfiguration") })
        #expect(plain.absents.contains("/etc/opendkim/resolver.conf"))

        let m = try OpenDKIM().manifest(try componentContext(["dns_forwarders = 10.0.0.53", "dns_unsigned_zones = test. lan"]))
        #expect(settingLines(try m.mailText("/etc/opendkim.conf")).contains("ResolverConfiguration /etc/opendkim/resolver.conf"))
        let resolver = settingLines(try m.mailText("/etc/opendkim/resolver.conf"))
        for line in ["server:", "do-not-query-localhost: no", "domain-insecure: \"test\"", "domain-insecure: \"lan\"",
                     "local-zone: \"test.\" nodefault", "local-zone: \"lan.\" nodefault",
                     "forward-zone:", "name: \".\"", "forward-addr: 127.0.0.1"] {
            #expect(resolver.contains(line), "\(line)")
        }
        #expect(try #require(m.mailService("opendkim")).restartOn.contains("/etc/opendkim/resolver.conf"))
    }

    /// With ResolverConfiguration, OpenDKIM parses it for every message from
    /// concurrent threads; the preloaded lock makes the parses take turns
    /// (issue #16). Without dns_forwarders neither is installed.
    @Test func resolverConfigurationComesWithTheConfigLock() throws {
        let dropIn = "/etc/systemd/system/opendkim.service.d/20-ub-config-lock.conf"
        let plain = try OpenDKIM().manifest(try componentContext())
        #expect(plain.absents.contains(dropIn) && plain.absents.contains(OpenDKIM.configLockPath))

        let context = try componentContext(["dns_forwarders = 10.0.0.53"])
        let m = try OpenDKIM().manifest(context)
        #expect(settingLines(try m.mailText(dropIn)).contains("Environment=LD_PRELOAD=\(OpenDKIM.configLockPath)"))
        #expect(try m.mailFile(OpenDKIM.configLockPath).content == context.unboundConfigLock?.content)
        let restarts = try #require(m.mailService("opendkim")).restartOn
        #expect(restarts.contains(dropIn) && restarts.contains(OpenDKIM.configLockPath))

        var missing = context
        missing.unboundConfigLock = nil
        #expect(throws: DeployFailure.self) { try OpenDKIM().manifest(missing) }
    }

    /// A milter that runs but defers everything is found by the probe each
    /// minute and restarted.
    @Test func healthTimerProbesTheMilter() throws {
        let m = try OpenDKIM().manifest(try MailConfigs.context(domain: "chat.example.org"))
        #expect(try m.mailText(OpenDKIM.probePath).contains("my $domain = 'chat.example.org';"))
        #expect(try m.mailFile(OpenDKIM.probePath).mode == 0o755)
        #expect(try m.mailText("/usr/local/sbin/opendkim-health").contains("systemctl restart opendkim"))
        #expect(settingLines(try m.mailText("/etc/systemd/system/opendkim-health.service")).contains("ExecStart=/usr/local/sbin/opendkim-health"))
        #expect(settingLines(try m.mailText("/etc/systemd/system/opendkim-health.timer")).contains("OnUnitActiveSec=1min"))
        #expect(try #require(m.mailService("opendkim-health.timer")).running)
    }

    @Test func keyIsGeneratedOnlyWhenMissing() throws {
        let m = try OpenDKIM().manifest(try MailConfigs.context())
        let gen = try #require(m.commands.first { $0.name == "generate DKIM key" })
        #expect(gen.unless == "test -f /etc/dkimkeys/opendkim.private")
        #expect(gen.onChangeOf.isEmpty)
        #expect(gen.command.contains("opendkim-genkey -D /etc/dkimkeys -d chat.example.org -s opendkim"))
        let s = try #require(m.mailService("opendkim"))
        #expect(s.enabled && s.running)
        #expect(s.restartOn.contains("/etc/opendkim.conf") && s.restartOn.contains("/etc/opendkim/final.lua"))
    }

    @Test func relayListSkipsOpenDKIMForIPv4Relays() throws {
        let names = { (c: DeployContext) in Relay.components(for: c).map(\.name) }
        #expect(names(try MailConfigs.context()).filter { ["filtermail", "opendkim", "dovecot", "postfix"].contains($0) }
                == ["filtermail", "opendkim", "dovecot", "postfix"])
        #expect(!names(try MailConfigs.context(domain: "1.2.3.4")).contains("opendkim"))
    }

    /// The declared validation accepts the rendered file and refuses a broken
    /// one, with opendkim's own message.
    @Test func opendkimAcceptsTheConfAndRefusesABrokenOne() throws {
        try #require(isInstalled("/usr/sbin/opendkim"), "opendkim missing: run scripts/initenv.sh --test-deps")
        let file = try OpenDKIM().manifest(try MailConfigs.context()).mailFile("/etc/opendkim.conf")
        let ok = try runValidation(of: file, stagedIn: try scratchDir("dkim"))
        #expect(ok.status == 0, "\(ok.output)")

        var broken = file
        broken.content = Array((String(decoding: file.content, as: UTF8.self)
            .replacingOccurrences(of: "relaxed/simple", with: "relaxed/wobbly")).utf8)
        let bad = try runValidation(of: broken, stagedIn: try scratchDir("dkim"))
        #expect(bad.status != 0)
        #expect(bad.output.contains("unknown canonicalization algorithm"), "\(bad.output)")

        broken.content = file.content + Array("OnNoSignature reject\n".utf8)
        let typo = try runValidation(of: broken, stagedIn: try scratchDir("dkim"))
        #expect(typo.status != 0 && typo.output.contains("unrecognized parameter"), "\(typo.output)")
    }

    /// opendkim runs both policy scripts once at start-up (a Lua error there
    /// crashes it), so start the real daemon on the rendered files, with
    /// paths moved into a temp dir, and wait for its milter socket.
    @Test func opendkimStartsWithThePolicyScripts() throws {
        try #require(isInstalled("/usr/sbin/opendkim-genkey"), "opendkim-tools missing: run scripts/initenv.sh --test-deps")
        let m = try OpenDKIM().manifest(try MailConfigs.context())
        let dir = try scratchDir("dkim-run")
        func put(_ path: String, as name: String) throws {
            let text = try m.mailText(path).replacingOccurrences(of: "/etc/dkimkeys", with: dir)
            try text.write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
        }
        for (path, name) in [("/etc/dkimkeys/KeyTable", "KeyTable"), ("/etc/dkimkeys/SigningTable", "SigningTable"),
                             ("/etc/opendkim/screen.lua", "screen.lua"), ("/etc/opendkim/final.lua", "final.lua")] {
            try put(path, as: name)
        }
        let conf = try m.mailText(OpenDKIM.conf)
            .replacingOccurrences(of: "/etc/dkimkeys", with: dir)
            .replacingOccurrences(of: "/etc/opendkim/", with: dir + "/")
            .replacingOccurrences(of: "/var/spool/postfix/opendkim/opendkim.sock", with: dir + "/opendkim.sock")
            .replacingOccurrences(of: "/run/opendkim/opendkim.pid", with: dir + "/opendkim.pid")
            .replacingOccurrences(of: "UserID opendkim", with: "")
        try conf.write(toFile: "\(dir)/opendkim.conf", atomically: true, encoding: .utf8)
        let gen = try shell("opendkim-genkey -D '\(dir)' -d chat.example.org -s opendkim")
        try #require(gen.status == 0, "\(gen.output)")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/opendkim")
        p.arguments = ["-f", "-x", "\(dir)/opendkim.conf"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        var up = false
        for _ in 0..<50 where !up && p.isRunning {
            up = FileManager.default.fileExists(atPath: dir + "/opendkim.sock")
            if !up { usleep(100_000) }
        }
        #expect(up, "no milter socket; opendkim exit status \(p.isRunning ? "-" : "\(p.terminationStatus)")")
        usleep(200_000)
        #expect(p.isRunning)
    }
}
