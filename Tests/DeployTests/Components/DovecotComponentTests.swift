import Foundation
import ChatmailConfig
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct DovecotComponentTests {
    func conf(_ context: DeployContext) throws -> [String] {
        settingLines(try Dovecot().manifest(context).mailText("/etc/dovecot/dovecot.conf"))
    }

    /// The default: the pinned patched build for the relay's architecture,
    /// each file from download.delta.chat with GitHub as the fallback, pinned
    /// against apt, and a restart when a file changes.
    @Test(arguments: [(UInt16(0x3E), "amd64"), (UInt16(0xB7), "arm64")])
    func patchedBuildByDefault(_ machine: UInt16, _ arch: String) throws {
        let m = try Dovecot().manifest(try componentContext(arch: machine))
        #expect(m.packages.isEmpty)
        #expect(m.downloads.map(\.path) == ["core", "imapd", "lmtpd"].map {
            "/var/cache/cmdeploy/dovecot/dovecot-\($0)_2.3.21+dfsg1-3_\(arch).deb"
        })
        let build = try #require(UpstreamPins.dovecot.first { $0.architecture == arch && $0.debianRelease == "12" })
        #expect(m.downloads.map(\.sha256) == build.debs.map(\.sha256))
        for d in m.downloads {
            #expect(d.url.hasPrefix("https://download.delta.chat/dovecot/dovecot-") && d.mode == 0o644)
            #expect(d.mirrors.count == 1 && d.mirrors[0].hasPrefix("https://github.com/chatmail/dovecot/releases/download/"))
        }
        let install = try #require(m.command("install Dovecot .deb files"))
        #expect(install.stage == .install && install.unless != nil)
        // the pin is written before dpkg and apt run (Debian 13's apt would take 2.4)
        let text = install.command
        let pinAt = try #require(text.range(of: ">/etc/apt/preferences.d/pin-dovecot"))
        let dpkgAt = try #require(text.range(of: "dpkg --force-confdef"))
        #expect(pinAt.lowerBound < dpkgAt.lowerBound)
        #expect(m.command("install Debian's Dovecot packages") == nil)
        #expect(m.text("/etc/apt/preferences.d/pin-dovecot") == """
            Package: dovecot-*
            Pin: version *2.3.21+dfsg1-3
            Pin-Priority: 100

            Package: dovecot-*
            Pin: version *
            Pin-Priority: -1

            """)
        let restart = try #require(m.mailService("dovecot")).restartOn
        #expect(Set(restart).isSuperset(of: m.downloads.map(\.path) + ["/etc/apt/preferences.d/pin-dovecot"]))
    }

    /// chatmail.ini's dovecot_debs replace the pins (the lab's own builds).
    @Test func listedDebsReplaceThePins() throws {
        let sum = String(repeating: "ab", count: 32)
        let url = "https://files.test/dovecot-core_2.3.19.1%2Bdfsg1-2.1%2Bdeb12u7%2Bchatlab1_amd64.deb"
        let m = try Dovecot().manifest(try componentContext(["dovecot_debs =", "    \(url) \(sum)",
                                                              "    https://x.example/dovecot-imapd_1_amd64.deb \(sum)"]))
        #expect(m.packages.isEmpty)
        #expect(m.downloads.map(\.path) == ["/var/cache/cmdeploy/dovecot/dovecot-core_2.3.19.1+dfsg1-2.1+deb12u7+chatlab1_amd64.deb",
                                            "/var/cache/cmdeploy/dovecot/dovecot-imapd_1_amd64.deb"])
        #expect(m.downloads.allSatisfy { $0.sha256 == sum && $0.mode == 0o644 && $0.mirrors.isEmpty })
        #expect(m.mailService("dovecot")?.restartOn.contains(m.downloads[0].path) == true)
    }

    /// The opt-out: Debian's packages, no pin left behind, and a way back from
    /// the patched build (apt alone never downgrades).
    @Test func debianPackagesOnRequest() throws {
        let m = try Dovecot().manifest(try componentContext(["dovecot_packages = debian"]))
        #expect(m.packages.map(\.name) == ["dovecot-imapd", "dovecot-lmtpd"])
        #expect(m.downloads.isEmpty)
        #expect(m.absents.contains("/etc/apt/preferences.d/pin-dovecot"))
        let back = try #require(m.command("install Debian's Dovecot packages"))
        #expect(back.stage == .install)
        #expect(back.command.contains("--allow-downgrades") && back.command.contains("rm -f /etc/apt/preferences.d/pin-dovecot"))
        #expect(back.unless?.contains("apt-cache madison dovecot-core") == true)
        #expect(Set(try #require(m.mailService("dovecot")).restartOn).isSuperset(of: ["dovecot-imapd", "dovecot-lmtpd", Dovecot.pinPath]))
    }

    /// The way back, run by sh against stand-ins for dpkg-query, apt-get and
    /// apt-cache: it runs only for a dovecot-core apt does not offer, and then
    /// installs the newest version apt offers, downgrades allowed.
    @Test func returnToDebianRunsOnlyForForeignBuildsAndPicksAptsNewest() throws {
        let dir = try scratchDir("dovecot-back")
        let madison = " dovecot-core | 1:2.3.19.1+dfsg1-2.1+deb12u7 | file:/srv/lab-repo ./ Packages\n"
            + " dovecot-core | 1:2.3.19.1+dfsg1-2.1+deb12u6 | file:/srv/lab-repo ./ Packages\n"
        let stubs = [
            "dpkg-query": "printf '%s' \"$INSTALLED\"; [ -n \"$INSTALLED\" ]",
            "apt-cache": "printf '\(madison)'",
            "apt-get": "echo \"apt-get $*\" >>\"$LOG\"",
        ]
        for (name, body) in stubs {
            try "#!/bin/sh\n\(body)\n".write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
            chmod("\(dir)/\(name)", 0o755)
        }
        let c = Dovecot.returnToDebian
        let env = "PATH=\(dir):/usr/bin:/bin LOG=\(dir)/log"
        let check = { (installed: String) in try shell("\(env) INSTALLED='\(installed)' sh -c \(shellQuote(c.unless!))").status }
        #expect(try check("1:2.3.19.1+dfsg1-2.1+deb12u6") == 0, "apt offers it: nothing to do")
        #expect(try check("") == 0, "not installed: the package resources install it")
        #expect(try check("1:2.3.21+dfsg1-3") != 0)
        #expect(try check("1:2.3.19.1+dfsg1-2.1+deb12u7+chatlab1") != 0)
        let run = try shell("\(env) INSTALLED=x sh -c \(shellQuote(c.command.replacingOccurrences(of: Dovecot.pinPath, with: dir + "/pin")))")
        #expect(run.status == 0, "\(run.output)")
        let log = try String(contentsOfFile: dir + "/log", encoding: .utf8)
        #expect(log.contains("apt-get -q update"))
        #expect(log.contains("--allow-downgrades") && log.contains("install dovecot-core=1:2.3.19.1+dfsg1-2.1+deb12u7 "
            + "dovecot-imapd=1:2.3.19.1+dfsg1-2.1+deb12u7 dovecot-lmtpd=1:2.3.19.1+dfsg1-2.1+deb12u7"), "\(log)")
    }

    @Test func dovecotPackagesChoicesAndConflicts() throws {
        #expect(try componentContext().config.dovecotPackages == .patched)
        #expect(try componentContext(["dovecot_packages = Debian"]).config.dovecotPackages == .debian)
        let bad = #expect(throws: ConfigError.self) { try componentContext(["dovecot_packages = stock"]) }
        #expect(bad?.message == "expected patched or debian, got \"stock\"")
        let both = #expect(throws: ConfigError.self) {
            try componentContext(["dovecot_packages = debian",
                                  "dovecot_debs = https://x.example/dovecot-core.deb \(String(repeating: "a", count: 64))"])
        }
        #expect(both?.key == "dovecot_debs" && both?.message.contains("dovecot_packages = debian") == true)
    }

    /// No pinned build for the architecture: refused, naming both ways out.
    @Test func anArchitectureWithoutABuildIsRefused() throws {
        let e = #expect(throws: ManifestError.self) { try Dovecot().manifest(try componentContext(arch: 0xF3)) }
        #expect(e?.message.contains("no patched Dovecot build for Debian 12 on riscv64") == true)
        #expect(e?.message.contains("dovecot_packages = debian") == true)
        _ = try Dovecot().manifest(try componentContext(["dovecot_packages = debian"], arch: 0xF3))
    }

    /// On Debian 13 the default is the 2.3 build for 13 (PR #1002's pins);
    /// Debian's own Dovecot there is 2.4 and refused, naming the way out;
    /// the operator's own dovecot_debs are taken as they are.
    @Test(arguments: [(UInt16(0x3E), "amd64"), (UInt16(0xB7), "arm64")])
    func debian13GetsItsOwnBuild(_ machine: UInt16, _ arch: String) throws {
        var context = try componentContext(arch: machine)
        context.debianRelease = "13"
        let m = try Dovecot().manifest(context)
        #expect(m.downloads.map(\.path) == ["core", "imapd", "lmtpd"].map {
            "/var/cache/cmdeploy/dovecot/dovecot-\($0)_2.3.21+dfsg1-3+chatmail2+deb13u1_\(arch).deb"
        })
        let build = try #require(UpstreamPins.dovecot.first { $0.architecture == arch && $0.debianRelease == "13" })
        #expect(m.downloads.map(\.sha256) == build.debs.map(\.sha256))
        #expect(m.text("/etc/apt/preferences.d/pin-dovecot")?.hasPrefix(
            "Package: dovecot-*\nPin: version *2.3.21+dfsg1-3+chatmail2+deb13u1\nPin-Priority: 100\n\n") == true)

        var debian = try componentContext(["dovecot_packages = debian"], arch: machine)
        debian.debianRelease = "13"
        let e = #expect(throws: ManifestError.self) { try Dovecot().manifest(debian) }
        #expect(e?.message.contains("dovecot_packages = debian is for Debian 12 only") == true)
        #expect(e?.message.contains(debian.config.path) == true)

        let sum = String(repeating: "a", count: 64)
        var own = try componentContext(["dovecot_debs = https://x.example/dovecot-core_9_\(arch).deb \(sum)"], arch: machine)
        own.debianRelease = "13"
        #expect(try Dovecot().manifest(own).downloads.map(\.url) == ["https://x.example/dovecot-core_9_\(arch).deb"])
    }

    @Test func dovecotDebsMustBePairsOfDebURLAndSha256() throws {
        #expect(throws: (any Error).self) { try componentContext(["dovecot_debs = https://x.example/dovecot-core.deb"]) }
        #expect(throws: (any Error).self) { try componentContext(["dovecot_debs = https://x.example/dovecot-core.tar.gz \(String(repeating: "a", count: 64))"]) }
        // the decoded file name becomes a path on the relay: plain names only
        let sum = String(repeating: "a", count: 64)
        for bad in ["dovecot%0Acore.deb", "%2E%2E%2Fetc.deb", "-rf.deb", ".hidden.deb", "a%20b.deb", "dovecot%2fcore.deb", "x%zz.deb"] {
            #expect(throws: (any Error).self, "\(bad)") { try componentContext(["dovecot_debs = https://x.example/\(bad) \(sum)"]) }
        }
        let ok = try componentContext(["dovecot_debs = https://x.example/dovecot-core_2.3.21%2Bdfsg1-3~b1_amd64.deb \(sum)"])
        #expect(try Dovecot().manifest(ok).downloads.map(\.path) == ["/var/cache/cmdeploy/dovecot/dovecot-core_2.3.21+dfsg1-3~b1_amd64.deb"])
        let e = #expect(throws: ConfigError.self) { try componentContext(["dovecot_debs = https://x.example/a%0Ab.deb \(sum)"]) }
        #expect(e?.description.contains("is not a Debian package file name") == true)
    }

    @Test func defaultConfPointsAtChatmaildSockets() throws {
        let c = try conf(try MailConfigs.context())
        for line in ["protocols = imap lmtp", "auth_mechanisms = plain", "args = /etc/dovecot/auth.conf",
                     "mail_location = maildir:/home/vmail/mail/chat.example.org/%u",
                     "mail_attribute_dict = proxy:/run/chatmail-metadata/metadata.socket:metadata",
                     "last_login_dict = proxy:/run/chatmail-lastlogin/lastlogin.socket:lastlogin",
                     "imap_capability = +XDELTAPUSH XCHATMAIL",
                     "mail_plugins = $mail_plugins imap_quota last_login",
                     "mail_plugins = $mail_plugins mail_lua notify push_notification push_notification_lua",
                     "push_notification_driver = lua:file=/etc/dovecot/push_notification.lua",
                     "quota_rule = *:storage=500M",
                     "quota_warning = storage=75%% quota-warning 350 /home/vmail/mail/chat.example.org/%u",
                     "executable = script /usr/local/bin/chatmaild quota-expire",
                     "unix_listener /var/spool/postfix/private/auth {",
                     "unix_listener /var/spool/postfix/private/dovecot-lmtp {",
                     "ssl_cert = </var/lib/acme/live/chat.example.org/fullchain",
                     "ssl_min_protocol = TLSv1.3", "imap_hibernate_timeout = 30s", "process_limit = 10000"] {
            #expect(c.contains(line), "\(line)")
        }
        #expect(!c.contains("listen = 0.0.0.0"))
        #expect(!c.contains { $0.hasPrefix("rawlog_dir") || $0.hasPrefix("metric ") || $0.hasPrefix("mail_server_admin") })
        let auth = settingLines(try Dovecot().manifest(try MailConfigs.context()).mailText("/etc/dovecot/auth.conf"))
        #expect(auth.contains("uri = proxy:/run/doveauth/doveauth.socket:auth"))
        #expect(auth.contains("password_key = passdb/%Ew\"%Eu"))
        #expect(auth.contains("user_key = userdb/%Eu"))
    }

    @Test func optionsChangeTheirBlocks() throws {
        #expect(try conf(try MailConfigs.context("disable_ipv6 = true")).contains("listen = 0.0.0.0"))
        let compressed = try conf(try MailConfigs.context("imap_compress = true", "imap_rawlog = true"))
        #expect(compressed.contains("mail_plugins = $mail_plugins imap_quota last_login imap_zlib"))
        #expect(compressed.contains("rawlog_dir = %h") && compressed.contains("executable = imap postlogin"))
        #expect(!compressed.contains("imap_hibernate_timeout = 30s"))
        let mtail = try conf(try MailConfigs.context("mtail_address = 10.0.0.5"))
        #expect(mtail.contains("address = 10.0.0.5") && mtail.contains("port = 3904"))
        #expect(mtail.contains("metric imap_command {"))
        let privacy = try conf(try MailConfigs.context("privacy_mail = privacy@example.org"))
        #expect(privacy.contains("mail_server_admin = mailto:privacy@example.org"))
    }

    @Test func serviceFollowsDisableMailAndRestartsOnItsFiles() throws {
        let m = try Dovecot().manifest(try MailConfigs.context())
        let s = try #require(m.mailService("dovecot"))
        #expect(s.enabled && s.running)
        #expect(Set(s.restartOn).isSuperset(of: ["/etc/dovecot/dovecot.conf", "/etc/dovecot/auth.conf",
                                                 "/etc/dovecot/push_notification.lua"]))
        let off = try #require(try Dovecot().manifest(try MailConfigs.context(disableMail: true)).mailService("dovecot"))
        #expect(!off.enabled && !off.running)
        #expect(m.resources.contains(.line(LineInFile("/etc/environment", line: "TZ=:/etc/localtime", replacing: "TZ="))))
        let sysctl = try #require(m.commands.first { $0.name == "apply inotify sysctls" })
        #expect(sysctl.onChangeOf == [Dovecot.sysctl])
        #expect(settingLines(try m.mailText(Dovecot.sysctl)) == ["fs.inotify.max_user_instances = 65535",
                                                             "fs.inotify.max_user_watches = 65535"])
        #expect(settingLines(try m.mailText(Dovecot.dropIn)) == ["[Service]", "Restart=always", "RestartSec=30"])
    }

    /// doveconf parses every variant, through the File's own validate command.
    @Test(arguments: try MailConfigs.all())
    func doveconfAcceptsEveryVariant(_ name: String, _ context: DeployContext) throws {
        try #require(isInstalled("/usr/bin/doveconf"), "doveconf missing: run scripts/initenv.sh --test-deps")
        let file = try Dovecot().manifest(context).mailFile(Dovecot.conf)
        let r = try runValidation(of: file, stagedIn: try scratchDir("dovecot"))
        #expect(r.status == 0, "\(name): \(r.output)")
        #expect(r.output.isEmpty, "\(name): doveconf warns: \(r.output)")
    }

    @Test func doveconfRefusesABrokenConf() throws {
        try #require(isInstalled("/usr/bin/doveconf"), "doveconf missing: run scripts/initenv.sh --test-deps")
        var file = try Dovecot().manifest(try MailConfigs.context()).mailFile(Dovecot.conf)
        file.content = Array(String(decoding: file.content, as: UTF8.self)
            .replacingOccurrences(of: "ssl = required", with: "ssl = mandatory").utf8)
        let r = try runValidation(of: file, stagedIn: try scratchDir("dovecot"))
        #expect(r.status != 0)
        #expect(r.output.contains("Invalid value: mandatory"), "\(r.output)")
    }

    @Test func pushNotificationScriptCompiles() throws {
        try #require(isInstalled("/usr/bin/luac5.3"), "luac5.3 missing: run scripts/initenv.sh --test-deps")
        let dir = try scratchDir("lua")
        let text = try Dovecot().manifest(try MailConfigs.context()).mailText("/etc/dovecot/push_notification.lua")
        try text.write(toFile: dir + "/ok.lua", atomically: true, encoding: .utf8)
        #expect(try shell("luac5.3 -p '\(dir)/ok.lua'").status == 0)
        try (text + "\nend\n").write(toFile: dir + "/bad.lua", atomically: true, encoding: .utf8)
        #expect(try shell("luac5.3 -p '\(dir)/bad.lua'").status != 0)
        for hook in ["dovecot_lua_notify_begin_txn", "dovecot_lua_notify_event_message_new", "dovecot_lua_notify_end_txn"] {
            #expect(text.contains("function \(hook)("), "\(hook)")
        }
        #expect(text.contains("mbox:metadata_set(\"/private/messagenew\", \"\")"))
    }
}
