import ChatmailConfig
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// The units and ports `status` expects come from the components, so they
/// follow chatmail.ini.
@Suite struct StatusExpectationsTests {
    func expectations(_ domain: String = "chat.example.org", _ lines: [String] = [],
                      disableMail: Bool = false) throws -> RelayExpectations {
        try RelayExpectations.derive(try componentContext(domain: domain, lines).config, disableMail: disableMail)
    }

    func ports(_ e: RelayExpectations) -> Set<String> {
        Set(e.listeners.map { "\($0.listener.port)/\($0.listener.proto.rawValue) \($0.listener.process)" })
    }

    @Test func acmeRelayExpectsTheMailWebAndACMEUnitsAndPorts() throws {
        let e = try expectations()
        let running = e.running.map(\.unit)
        for unit in ["postfix.service", "postfix@-.service", "dovecot.service", "nginx.service", "opendkim.service", "unbound.service",
                     "doveauth.service", "chatmail-metadata.service", "lastlogin.service", "filtermail.service",
                     "filtermail-incoming.service", "acmetool-redirector.service", "chatmail-expire.timer",
                     "fcgiwrap.socket"] {
            #expect(running.contains(unit), "\(unit)")
        }
        // Kept stopped: a one-shot run by its timer, retired units, mtail without mtail_address.
        let stopped = e.stopped.map(\.unit)
        #expect(stopped.contains("acmetool-reconcile.service"))
        #expect(stopped.contains("filtermail-transport.service"))
        #expect(stopped.contains("mtail.service"))
        #expect(!running.contains("mtail.service"))
        let p = ports(e)
        for want in ["25/tcp master", "587/tcp master", "465/tcp master", "10025/tcp master", "10026/tcp master",
                     "143/tcp dovecot", "993/tcp dovecot", "80/tcp nginx", "443/tcp nginx", "8443/tcp nginx",
                     "402/tcp acmetool", "10080/tcp chatmaild", "10081/tcp chatmaild", "53/udp unbound", "53/tcp unbound"] {
            #expect(p.contains(want), "\(want)")
        }
        #expect(!p.contains("3903/tcp mtail"))
    }

    @Test func selfSignedRelayHasNoACMEParts() throws {
        let e = try expectations("_chat.example.org")
        #expect(!e.running.map(\.unit).contains("acmetool-redirector.service"))
        #expect(!ports(e).contains("402/tcp acmetool"))
        #expect(ports(e).contains("443/tcp nginx"))
    }

    @Test func mtailAddressAddsTheMetricsListeners() throws {
        let e = try expectations(["mtail_address = 127.0.0.1"])
        #expect(e.running.map(\.unit).contains("mtail.service"))
        #expect(ports(e).isSuperset(of: ["3903/tcp mtail", "3904/tcp dovecot"]))
    }

    @Test func configuredPortsAreTheOnesExpected() throws {
        let e = try expectations(["filtermail_smtp_port = 11080", "postfix_reinject_port = 11025"])
        #expect(ports(e).isSuperset(of: ["11080/tcp chatmaild", "11025/tcp master"]))
        #expect(!ports(e).contains("10080/tcp chatmaild"))
    }

    /// On Debian 13 Postfix's master runs in postfix.service; the probe asks
    /// about the units of both releases, since it runs before the release is known.
    @Test func debian13ExpectsPostfixServiceOnly() throws {
        let config = try componentContext(domain: "chat.example.org").config
        let e = try RelayExpectations.derive(config, debianRelease: "13")
        #expect(e.running.map(\.unit).contains("postfix.service"))
        #expect(!e.running.map(\.unit).contains("postfix@-.service"))
        let all = try RelayExpectations.allUnits(config)
        #expect(all.contains("postfix@-.service") && all.contains("postfix.service"))
        #expect(Set(all).count == all.count)
        // Debian's Dovecot exists on 12 only: the units of 12 are asked about
        let debian = try componentContext(domain: "chat.example.org", ["dovecot_packages = debian"]).config
        #expect(try RelayExpectations.allUnits(debian).contains("postfix@-.service"))
    }

    @Test func disabledMailExpectsNoPostfixOrDovecot() throws {
        let e = try expectations(disableMail: true)
        #expect(!e.running.map(\.unit).contains("postfix.service"))
        #expect(e.stopped.map(\.unit).contains("dovecot.service"))
        #expect(!ports(e).contains("25/tcp master"))
        #expect(!e.running.map(\.unit).contains("postfix@-.service"))
        #expect(!ports(e).contains("993/tcp dovecot"))
        #expect(ports(e).contains("443/tcp nginx"))
    }
}

extension StatusExpectationsTests {
    func expectations(_ lines: [String]) throws -> RelayExpectations { try expectations("chat.example.org", lines) }
}
