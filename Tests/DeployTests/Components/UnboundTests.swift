import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct UnboundTests {
    func manifest(_ lines: [String] = []) throws -> Manifest {
        try Unbound().manifest(try componentContext(lines))
    }

    /// Runs the component's own validate command on `conf`, staged as the
    /// engine stages it: `{file}` in a folder of its own (`{dir}`).
    func validate(_ conf: String) throws -> (status: Int32, output: String) {
        let dir = try scratchDir("unbound")
        try conf.write(toFile: "\(dir)/chatmail.conf", atomically: true, encoding: .utf8)
        let cmd = Unbound.validate.replacingOccurrences(of: "{file}", with: "\"\(dir)/chatmail.conf\"")
            .replacingOccurrences(of: "{dir}", with: "\"\(dir)\"")
        return try shell(cmd)
    }

    @Test func defaultRecursesFromTheRoots() throws {
        let m = try manifest()
        let conf = try #require(m.text(Unbound.confPath))
        #expect(conf.contains("server:\n"))
        #expect(conf.contains("    cache-max-negative-ttl: 0\n"))
        #expect(!conf.contains("forward-zone"))
        #expect(!conf.contains("do-ip6"))
        #expect(m.text("/etc/resolv.conf") == "nameserver 127.0.0.1\nnameserver 9.9.9.9\n")
        #expect(m.packages.map(\.name) == ["unbound", "dns-root-data", "bind9-dnsutils", "resolvconf"])
        #expect(m.packages.last?.present == false)
        #expect(m.service("unbound.service")?.restartOn == [Unbound.confPath, "unbound", DaemonSandbox.unbound.path])
        let resolvconf = try #require(m.service("unbound-resolvconf.service"))
        #expect(!resolvconf.enabled && !resolvconf.running)
        #expect(m.file(Unbound.confPath)?.validate == Unbound.validate)
    }

    @Test func disableIPv6ListensOnIPv4Only() throws {
        let conf = try #require(try manifest(["disable_ipv6 = True"]).text(Unbound.confPath))
        #expect(conf.contains("    interface: 127.0.0.1\n    do-ip6: no\n"))
    }

    /// The lab's setting (docs/lab.md): forward everything, accept unsigned
    /// private zones, and never name a public resolver the network cannot reach.
    @Test func forwardersAndUnsignedZones() throws {
        let m = try manifest(["dns_forwarders = 10.77.0.1 10.77.0.2 10.77.0.3",
                              "dns_unsigned_zones = test. 10.in-addr.arpa"])
        let conf = try #require(m.text(Unbound.confPath))
        #expect(conf.contains("""
                forward-zone:
                    name: "."
                    forward-addr: 10.77.0.1
                    forward-addr: 10.77.0.2
                    forward-addr: 10.77.0.3
                """))
        #expect(conf.contains("    local-zone: \"test.\" nodefault\n    domain-insecure: \"test\"\n"))
        #expect(conf.contains("    local-zone: \"10.in-addr.arpa.\" nodefault\n    domain-insecure: \"10.in-addr.arpa\"\n"))
        let resolv = try #require(m.text("/etc/resolv.conf"))
        #expect(resolv == "nameserver 127.0.0.1\nnameserver 10.77.0.1\nnameserver 10.77.0.2\n")
        #expect(!resolv.contains("9.9.9.9"))
    }

    @Test(arguments: [
        [String](),
        ["disable_ipv6 = True"],
        ["dns_forwarders = 10.77.0.1 fd00::53", "dns_unsigned_zones = test 10.in-addr.arpa"],
    ])
    func unboundCheckconfAcceptsTheConfig(lines: [String]) throws {
        let conf = try #require(try manifest(lines).text(Unbound.confPath))
        let r = try validate(conf)
        #expect(r.status == 0, "\(r.output)\n\(conf)")
    }

    @Test func validationRejectsABrokenConfig() throws {
        let r = try validate("server:\n    cache-max-negative-ttl: zero\n")
        #expect(r.status != 0)
        #expect(r.output.contains("chatmail.conf"), "names the file: \(r.output)")
    }

    @Test func resolvedIsMaskedAfterTheDownloads() throws {
        let m = try manifest()
        let mask = try #require(m.command("mask systemd-resolved.service"))
        #expect(mask.stage == .configure, "after the downloads, which may still need resolved")
        #expect(mask.command.contains("systemctl mask systemd-resolved.service"))
        // The guard reads the mask link itself, so it also works offline.
        let dir = try scratchDir("mask")
        let unless = try #require(mask.unless).replacingOccurrences(of: "/etc/systemd/system/", with: "\(dir)/")
        #expect(try shell(unless).status != 0)
        #expect(symlink("/dev/null", "\(dir)/systemd-resolved.service") == 0)
        #expect(try shell(unless).status == 0)
        let reset = try #require(m.command("reset-failed unbound.service"))
        #expect(reset.stage == .activate)
    }
}
