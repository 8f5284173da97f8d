import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct PortCheckTests {
    @Test func ownDaemonsAndFreePortsPass() throws {
        let c = try componentContext()
        let listeners: [Int: [String]] = [25: ["master"], 993: ["imap-login"], 80: ["acmetool"], 10080: ["filtermail"], 22: ["sshd"]]
        #expect(PortCheck.conflicts(c, listeners: listeners, host: "h").isEmpty)
    }

    @Test func aForeignProcessIsNamedWithThePortAndItsUse() throws {
        let c = try componentContext()
        let out = PortCheck.conflicts(c, listeners: [25: ["exim4"], 443: ["nginx", "apache2"]], host: "relay.example.org")
        #expect(out == [
            "relay.example.org: port 25 is occupied by: exim4 (the relay needs it for postfix (SMTP)); stop and disable exim4 first",
            "relay.example.org: port 443 is occupied by: apache2 (the relay needs it for nginx (HTTPS and the TLS multiplexer)); stop and disable apache2 first",
        ])
    }

    @Test func portsFollowTheConfig() throws {
        let plain = PortCheck.needs(try componentContext()).map(\.port)
        #expect(plain.contains(402) && plain.contains(25) && !plain.contains(3903))
        // the iroh relay is installed by default (upstream's pin)
        #expect(plain.contains(3340))
        var disabled = try componentContext()
        disabled.disableMail = true
        #expect(PortCheck.needs(disabled).map(\.port).contains(25))
        let c = try componentContext(domain: "_chat.example.org", ["filtermail_smtp_port = 11080", "mtail_address = 127.0.0.1", "iroh_relay = https://iroh.example.org"])
        let ports = PortCheck.needs(c).map(\.port)
        #expect(ports.contains(11080) && !ports.contains(10080))
        // an external iroh relay is announced, but the local one still runs (as upstream)
        #expect(!ports.contains(402) && ports.contains(3340))
        #expect(ports.contains(3903) && ports.contains(3904))
    }

    @Test func mtailAddressMustBeTheHostsOrLoopback() throws {
        let c = try componentContext(["mtail_address = 10.9.9.9"]).config
        #expect(throws: DeployFailure.self) { try Deployment.checkMtailAddress(c, hostAddresses: ["10.1.1.1"], hostName: "h") }
        try Deployment.checkMtailAddress(c, hostAddresses: ["10.9.9.9"], hostName: "h")
        try Deployment.checkMtailAddress(try componentContext(["mtail_address = 127.0.0.1"]).config, hostAddresses: [], hostName: "h")
    }

    @Test func probeReportsListenersAndAddresses() throws {
        let out = """
            F\tlisten\ttcp   LISTEN 0      100          0.0.0.0:25        0.0.0.0:*    users:(("master",pid=901,fd=13))
            F\tlisten\ttcp   LISTEN 0      100             [::]:25           [::]:*    users:(("master",pid=901,fd=14))
            F\tlisten\ttcp   LISTEN 0      511        127.0.0.1:8443      0.0.0.0:*    users:(("nginx",pid=71,fd=8),("nginx",pid=70,fd=8),("apache2",pid=9,fd=3))
            F\tlisten\tudp   UNCONN 0      0          127.0.0.1:53        0.0.0.0:*    users:(("unbound",pid=5,fd=3))
            F\tipv4\t10.1.1.1
            END

            """
        let r = try Probe.parse(out, items: [])
        // every holder of a port counts, UDP sockets do not
        #expect(r.facts.listeners == [25: ["master"], 8443: ["nginx", "apache2"]])
        #expect(r.facts.ipv4Addresses == ["10.1.1.1"])
    }
}
