import ChatmailConfig
import Testing
import TestSupport
@testable import Deploy

/// The closing lines of `cmdeploy run`: what the relay has after the deploy
/// and the next command, never a message contradicting what happened.
@Suite struct DeployClosingTests {
    /// A probe after a first ACME deploy: account, certificate and DKIM key
    /// exist; the name servers publish `published` of the zone's records.
    func probe(_ config: ChatmailConfig, publishing published: (ZoneRecord) -> Bool) -> RelayDNSProbe {
        var probe = RelayDNSProbe(domain: config.mailDomain)
        probe.acmeAccountURL = "https://acme.test/acct/42"
        probe.certificateIssuer = "CN = Pebble Intermediate CA"
        probe.dkimPublicKey = String(repeating: "K", count: 400)
        probe.ipv4Addresses = ["203.0.113.5"]
        probe.servers = ["ns1.example.org"]
        var answers: [DNSQuery: DNSAnswer] = [:]
        for query in DNSQuery.all(for: config.mailDomain) { answers[query] = .notSet }
        for record in RelayZone(config: config, probe: probe).records where published(record) {
            let query = DNSQuery(record.queryName, record.type)
            if case .records(let values) = answers[query] {
                answers[query] = .records(values + [record.rdata])
            } else {
                answers[query] = .records([record.rdata])
            }
        }
        probe.answers["ns1.example.org"] = answers
        return probe
    }

    @Test func firstACMEDeployNamesTheCertificateAndTheRecordsStillToPublish() throws {
        let config = try testConfig("mail_domain = chat.example.org")
        // A and MX were published before the deploy; CAA, DKIM, SPF ... not yet.
        let p = probe(config) { ["A", "MX", "CNAME"].contains($0.type) }
        let lines = DeployClosing.lines(config, facts: .init(probe: p), configFlag: " --config relay.ini")
        #expect(lines[0] == ReportLine(.ok, "Deploy completed."))
        #expect(lines[1] == ReportLine(.plain, "TLS: ACME certificate for chat.example.org, issued by CN = Pebble Intermediate CA."))
        #expect(lines[2].style == .error)
        #expect(lines[2].text.hasPrefix("DNS: ") && lines[2].text.contains("still to publish (required: "))
        #expect(lines[2].text.contains("CAA chat.example.org") && lines[2].text.contains("TXT opendkim._domainkey.chat.example.org"))
        #expect(lines[3].text.contains("`cmdeploy dns --config relay.ini --zonefile relay.zone`"))
        #expect(!lines.contains { $0.text.contains("letsencrypt not configured") || $0.text.contains("again") })
    }

    @Test func secondDeployWithEverythingPublishedSaysSo() throws {
        let config = try testConfig("mail_domain = chat.example.org")
        let lines = DeployClosing.lines(config, facts: .init(probe: probe(config) { _ in true }))
        #expect(lines.map(\.text) == ["Deploy completed.",
                                      "TLS: ACME certificate for chat.example.org, issued by CN = Pebble Intermediate CA.",
                                      "DNS: every record is published."])
    }

    @Test func anACMEAccountStillMissingAfterTheDeployIsAnErrorWithTheNextStep() throws {
        let config = try testConfig("mail_domain = chat.example.org")
        var p = probe(config) { _ in true }
        p.acmeAccountURL = ""
        p.certificateIssuer = ""
        let lines = DeployClosing.lines(config, facts: .init(probe: p))
        #expect(lines[1].style == .error && lines[1].text.contains("no certificate at"))
        #expect(lines[2].style == .error && lines[2].text.contains("acmetool has no account yet"))
    }

    @Test func selfSignedAndIPv4Relays() throws {
        let underscore = try testConfig("mail_domain = _chat.example.org")
        let lines = DeployClosing.lines(underscore, facts: .init(probe: probe(underscore) { _ in true }))
        #expect(lines[1].text == "TLS: self-signed certificate for _chat.example.org (Delta Chat accepts it because the domain starts with `_`).")
        let ip = try testConfig("mail_domain = 10.1.2.3")
        #expect(DeployClosing.lines(ip, facts: .init()) == [ReportLine(.ok,
            "Deploy completed: the relay answers on 10.1.2.3 with its self-signed certificate (no DNS records to publish for an IP address).")])
    }

    @Test func withoutADNSViewTheNextStepIsTheDNSCommand() throws {
        let config = try testConfig("mail_domain = chat.example.org")
        let lines = DeployClosing.lines(config, facts: .init(probeProblem: "timeout"))
        #expect(lines.map(\.text) == ["Deploy completed (DNS not checked after the deploy: timeout).",
                                      "Next: `cmdeploy dns` shows the DNS records to publish."])
    }
}
