import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct PostfixComponentTests {
    func files(_ context: DeployContext) throws -> (main: [String], master: [String]) {
        let m = try Postfix().manifest(context)
        return (settingLines(try m.mailText(Postfix.mainCF)), settingLines(try m.mailText(Postfix.masterCF)))
    }

    @Test func mainCFDefaults() throws {
        let main = try files(try MailConfigs.context()).main
        for line in ["myorigin = chat.example.org", "myhostname = chat.example.org", "mydestination = chat.example.org",
                     "smtpd_tls_cert_file = /var/lib/acme/live/chat.example.org/fullchain",
                     "smtpd_tls_key_file = /var/lib/acme/live/chat.example.org/privkey",
                     "smtp_tls_security_level = verify", "smtpd_relay_restrictions = reject",
                     "smtp_tls_policy_maps = regexp:/etc/postfix/smtp_tls_policy_map",
                     "mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", "inet_protocols = all",
                     "local_transport = lmtp:unix:private/dovecot-lmtp", "local_recipient_maps =",
                     "message_size_limit = 31457280", "smtpd_sender_login_maps = regexp:/etc/postfix/login_map",
                     "lmtp_header_checks = regexp:/etc/postfix/lmtp_header_cleanup",
                     "non_smtpd_milters = unix:opendkim/opendkim.sock", "milter_macro_daemon_name = ORIGINATING",
                     "maximal_queue_lifetime = 2d"] {
            #expect(main.contains(line), "\(line)")
        }
        // No filtermail transport mode yet: Postfix delivers outgoing mail itself.
        #expect(!main.contains { $0.hasPrefix("default_transport") })
    }

    @Test func masterCFHandsMailToFiltermailAndSignsOutgoing() throws {
        let master = try files(try MailConfigs.context()).master
        func options(of service: String) -> [String] {
            guard let i = master.firstIndex(where: { $0.hasPrefix(service + " ") }) else { return [] }
            return Array(master[(i + 1)...].prefix { $0.hasPrefix("-o ") })
        }
        #expect(options(of: "smtp").contains("-o smtpd_proxy_filter=127.0.0.1:10081"))
        #expect(options(of: "smtp").contains("-o smtpd_tls_security_level=encrypt"))
        for port in ["submission", "smtps"] {
            #expect(options(of: port).contains("-o smtpd_proxy_filter=127.0.0.1:10080"), "\(port)")
            #expect(options(of: port).contains("-o smtpd_sasl_path=private/auth"), "\(port)")
            #expect(options(of: port).contains("-o smtpd_client_connection_count_limit=200"), "\(port)")
        }
        #expect(options(of: "smtps").contains("-o smtpd_tls_wrappermode=yes"))
        #expect(master.contains { $0.hasPrefix("submission inet n       -       y       -       1000") })
        let reinject = options(of: "127.0.0.1:10025")
        #expect(reinject.contains("-o milter_macro_daemon_name=ORIGINATING"))
        #expect(reinject.contains("-o smtpd_milters=unix:opendkim/opendkim.sock"))
        #expect(reinject.contains("-o cleanup_service_name=authclean"))
        let incoming = options(of: "127.0.0.1:10026")
        #expect(incoming.contains("-o smtpd_milters=unix:opendkim/opendkim.sock"))
        #expect(incoming.contains("-o milter_macro_daemon_name=VERIFYING"))
        #expect(options(of: "authclean").contains("-o header_checks=regexp:/etc/postfix/submission_header_cleanup"))
    }

    @Test func ipv4RelayHasNoMilterAndIPv6CanBeOff() throws {
        let v4 = try files(try MailConfigs.context(domain: "1.2.3.4"))
        #expect(v4.main.contains("myorigin = [1.2.3.4]"))
        #expect(v4.main.contains("myhostname = 4.3.2.1.in-addr.arpa"))
        #expect(!(v4.main + v4.master).contains { $0.contains("opendkim") })
        let m = try Postfix().manifest(try MailConfigs.context(domain: "1.2.3.4"))
        #expect(m.resources.contains(.user(SystemUser("postfix"))))

        let noV6 = try files(try MailConfigs.context("disable_ipv6 = true")).main
        #expect(noV6.contains("mynetworks = 127.0.0.0/8") && noV6.contains("inet_protocols = ipv4"))
    }

    @Test func mapsUserAndService() throws {
        let m = try Postfix().manifest(try MailConfigs.context())
        #expect(m.resources.contains(.user(SystemUser("postfix", extraGroups: ["opendkim"]))))
        #expect(settingLines(try m.mailText("/etc/postfix/login_map")) == ["/^(.*)$/\t${1}"])
        let policy = settingLines(try m.mailText(Postfix.tlsPolicyMap))
        #expect(policy == ["/^\\[[^]]+\\]$/\tencrypt", "/^_/\tencrypt", "/^nauta\\.cu$/\tmay"])
        #expect(settingLines(try m.mailText("/etc/postfix/submission_header_cleanup"))
                .contains("/^Subject:/             REPLACE Subject: [...]"))
        let postmap = try #require(m.commands.first { $0.name == "postmap smtp_tls_policy_map" })
        #expect(postmap.onChangeOf == [Postfix.tlsPolicyMap] && postmap.command == "postmap /etc/postfix/smtp_tls_policy_map")
        let s = try #require(m.mailService("postfix"))
        #expect(s.enabled && s.running)
        #expect(Set(s.restartOn).isSuperset(of: [Postfix.mainCF, Postfix.masterCF, Postfix.tlsPolicyMap, "postfix"]))
        let off = try #require(try Postfix().manifest(try MailConfigs.context(disableMail: true)).mailService("postfix"))
        #expect(!off.enabled && !off.running)
        #expect(settingLines(try m.mailText("/etc/systemd/system/postfix@.service.d/10_restart.conf"))
                == ["[Service]", "Restart=always", "RestartSec=30"])
        #expect(m.absents.contains("/etc/systemd/system/postfix.service.d/10_restart.conf"))
    }

    /// Debian 13's postfix.service runs the master itself: the restart
    /// drop-in and the status check follow it, and Debian 12's drop-in
    /// (left by a release upgrade) goes.
    @Test func debian13RunsTheMasterInPostfixService() throws {
        var context = try MailConfigs.context()
        context.debianRelease = "13"
        let m = try Postfix().manifest(context)
        #expect(settingLines(try m.mailText("/etc/systemd/system/postfix.service.d/10_restart.conf"))
                == ["[Service]", "Restart=always", "RestartSec=30"])
        #expect(m.absents.contains("/etc/systemd/system/postfix@.service.d/10_restart.conf"))
        #expect(Postfix.masterUnit(context) == "postfix.service" && Postfix().statusUnits(context).isEmpty)
        context.debianRelease = "12"
        #expect(Postfix().statusUnits(context) == ["postfix@-.service"])
    }

    /// A staging directory as the engine builds it: a copy of /etc/postfix
    /// with the new main.cf and master.cf in it.
    func stage(_ context: DeployContext) throws -> (dir: String, main: File, master: File) {
        let dir = try scratchDir("postfix")
        try shell("cp -a /etc/postfix/. '\(dir)/'")
        let m = try Postfix().manifest(context)
        let main = try m.mailFile(Postfix.mainCF), master = try m.mailFile(Postfix.masterCF)
        try Data(master.content).write(to: URL(fileURLWithPath: dir + "/master.cf"))
        try Data(main.content).write(to: URL(fileURLWithPath: dir + "/main.cf"))
        for map in ["login_map", "submission_header_cleanup", "lmtp_header_cleanup", "smtp_tls_policy_map"] {
            try Data(try m.mailFile("/etc/postfix/" + map).content).write(to: URL(fileURLWithPath: "\(dir)/\(map)"))
        }
        return (dir, main, master)
    }

    @Test(arguments: try MailConfigs.all())
    func postfixAcceptsEveryVariant(_ name: String, _ context: DeployContext) throws {
        try #require(isInstalled("/usr/sbin/postfix"), "postfix missing: run scripts/initenv.sh --test-deps")
        let s = try stage(context)
        let r = try runValidation(of: s.main, stagedIn: s.dir)
        #expect(r.status == 0, "\(name): \(r.output)")
        // Warnings count as failures: postfix check exits 0 on many of them.
        #expect(!r.output.contains("warning"), "\(name): \(r.output)")
    }

    @Test func postfixRefusesAMistypedParameter() throws {
        try #require(isInstalled("/usr/sbin/postfix"), "postfix missing: run scripts/initenv.sh --test-deps")
        let s = try stage(try MailConfigs.context())
        var broken = s.main
        broken.content += Array("smtpd_tls_securty_level = encrypt\n".utf8)
        let r = try runValidation(of: broken, stagedIn: s.dir)
        #expect(r.status != 0)
        #expect(r.output.contains("smtpd_tls_securty_level"), "\(r.output)")
    }

    @Test func postfixRefusesABrokenMasterCF() throws {
        try #require(isInstalled("/usr/sbin/postfix"), "postfix missing: run scripts/initenv.sh --test-deps")
        let s = try stage(try MailConfigs.context())
        var broken = s.master
        broken.content = Array((String(decoding: s.master.content, as: UTF8.self)
            .replacingOccurrences(of: "pickup    unix  n       -       y       60      1       pickup",
                                  with: "pickup    unixx  n       -       y       60      1       pickup")).utf8)
        let r = try runValidation(of: broken, stagedIn: s.dir)
        #expect(r.status != 0)
        #expect(r.output.contains("invalid type field \"unixx\""), "\(r.output)")
    }
}
