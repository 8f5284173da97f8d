import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine

@Suite struct LegacyRemoveTests {
    @Test func removesOldPackagesFilesAndServices() throws {
        let m = try LegacyRemove().manifest()
        #expect(m.packages == [Package("rspamd", present: false), Package("unbound-anchor", present: false)])
        #expect(m.absents == ["/etc/cron.d/expunge", "/etc/apt/keyrings/obs-home-deltachat.gpg", "/var/log/journal"])
        let echobot = try #require(m.command("stop and disable echobot.service"))
        #expect(echobot.stage == .install)
        #expect(echobot.command == "systemctl disable --now echobot.service")
    }

    /// The sources.list rewrite and its guard, run for real on a copy.
    @Test func dropsTheOBSLineAndNothingElse() throws {
        let m = try LegacyRemove().manifest()
        let c = try #require(m.command("remove the OBS repository from /etc/apt/sources.list"))
        let dir = try scratchDir("sources")
        let list = "\(dir)/sources.list"
        let onCopy = { (s: String) in s.replacingOccurrences(of: "/etc/apt/sources.list", with: list) }
        let before = "deb http://deb.debian.org/debian bookworm main\n\(LegacyRemove.obsSourcesLine)\n# \(LegacyRemove.obsSourcesLine)\n"
        try before.write(toFile: list, atomically: true, encoding: .utf8)
        chmod(list, 0o640)

        #expect(try shell(onCopy(try #require(c.unless))).status != 0, "the line is there: the command must run")
        #expect(try shell(onCopy(c.command)).status == 0)
        let after = try String(contentsOfFile: list, encoding: .utf8)
        #expect(after == "deb http://deb.debian.org/debian bookworm main\n# \(LegacyRemove.obsSourcesLine)\n")
        let mode = try FileManager.default.attributesOfItem(atPath: list)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        #expect(try shell(onCopy(c.unless!)).status == 0, "the line is gone: nothing to do")

        try FileManager.default.removeItem(atPath: list)
        #expect(try shell(onCopy(c.unless!)).status == 0, "no sources.list: nothing to do")
    }

    /// A unit that does not exist needs no stopping: the guard passes.
    @Test func retiredServiceGuardPassesForAnUnknownUnit() throws {
        let c = retiredService("cmdeploy-test-no-such-unit.service")
        #expect(try shell(try #require(c.unless)).status == 0)
    }
}

@Suite struct MtastsTests {
    @Test func removesTheResolver() throws {
        let m = try Mtasts().manifest()
        #expect(m.absents == ["/etc/mta-sts-daemon.yml", "/usr/local/lib/postfix-mta-sts-resolver",
                              "/etc/systemd/system/mta-sts-daemon.service"])
        let stop = try #require(m.command("stop and disable mta-sts-daemon.service"))
        #expect(stop.stage < .configure, "disabled while its unit file still exists")
    }
}

@Suite struct JournaldAndVersionTests {
    @Test func journaldKeepsLogsInRAMForThreeDays() throws {
        let m = try Journald().manifest()
        let conf = try #require(m.text("/etc/systemd/journald.conf"))
        let lines = conf.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines == ["[Journal]", "MaxRetentionSec=3d", "Storage=volatile"])
        #expect(m.service("systemd-journald.service")?.restartOn == ["/etc/systemd/journald.conf"])
    }

    @Test func versionStamp() throws {
        let m = try Version().manifest(version: "0123abcd\ndiff --git a b\n")
        #expect(m.text("/etc/chatmail-version") == "0123abcd\ndiff --git a b\n")
        let bare = try Version().manifest(version: "unknown")
        #expect(bare.text("/etc/chatmail-version") == "unknown\n")
    }
}
