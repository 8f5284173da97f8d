import ChatmailConfig
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct CheckTests {
    let d = "chat.example.org"

    func zone() -> RelayZone {
        RelayZone(domain: d, ipv4: ["203.0.113.5"], ipv6: [], strictTLS: true, stsID: "1",
                  dkimPublicKey: String(repeating: "K", count: 400), acmeAccountURL: "https://acme/acct/7")
    }

    /// A probe in which `servers` publish exactly `zone`'s records in dig's
    /// presentation form.
    func probe(publishing zone: RelayZone, servers: [String] = ["ns1.example.org", "ns2.example.org"]) -> RelayDNSProbe {
        var probe = RelayDNSProbe(domain: d)
        probe.servers = servers
        var answers: [DNSQuery: DNSAnswer] = [:]
        for query in DNSQuery.all(for: d) { answers[query] = .notSet }
        for record in zone.records {
            let query = DNSQuery(record.queryName, record.type)
            if case .records(let values) = answers[query] {
                answers[query] = .records(values + [record.rdata])
            } else {
                answers[query] = .records([record.rdata])
            }
        }
        for server in servers { probe.answers[server] = answers }
        return probe
    }

    @Test func everythingPublishedIsCorrect() {
        let z = zone()
        let result = DNSCheckResult(zone: z, probe: probe(publishing: z))
        #expect(result.exitCode == 0)
        #expect(result.missingRequired.isEmpty && result.missingRecommended.isEmpty)
        let lines = DNSReport.lines(result, zone: z)
        #expect(lines.last == ReportLine(.ok, "Great! All your DNS entries are verified and correct."))
    }

    @Test func missingRequiredRecordIsNamedPerServerAndFails() {
        let z = zone()
        var p = probe(publishing: z)
        p.answers["ns1.example.org"]?[DNSQuery("www.\(d)", "CNAME")] = .notSet
        p.answers["ns2.example.org"]?[DNSQuery("www.\(d)", "CNAME")] = .records(["elsewhere.example.net."])
        let result = DNSCheckResult(zone: z, probe: p)
        #expect(result.exitCode == 1)
        #expect(result.missingRequired.map(\.record.name) == ["www.\(d)."])
        let text = DNSReport.lines(result, zone: z).map(\.text)
        #expect(text.contains("  WRONG    www.\(d). CNAME"))
        #expect(text.contains("             expected: \(d)."))
        #expect(text.contains("             ns1.example.org: not set"))
        #expect(text.contains("             ns2.example.org: set differently: elsewhere.example.net."))
        #expect(text.contains("Please set required DNS entries at your DNS provider:"))
        #expect(text.contains(z.records.first { $0.name == "www.\(d)." }!.line))
        #expect(!text.contains { $0.hasPrefix("If the DKIM entry") })
    }

    @Test func missingRecommendedRecordOnlyWarns() {
        let z = zone()
        var p = probe(publishing: z)
        for server in p.servers { p.answers[server]?[DNSQuery("_dmarc.\(d)", "TXT")] = .notSet }
        let result = DNSCheckResult(zone: z, probe: p)
        #expect(result.exitCode == 0)
        let lines = DNSReport.lines(result, zone: z)
        #expect(lines.contains(ReportLine(.warning, "WARNING: these recommended DNS entries are not set:")))
        #expect(lines.contains { $0.text.hasPrefix("  NOT SET  _dmarc.\(d). TXT") })
    }

    @Test func dkimSplitDifferentlyStillMatchesAndMissingDKIMOffersTheOneStringForm() {
        let z = zone()
        var p = probe(publishing: z)
        let value = DKIMRecord.value(publicKey: String(repeating: "K", count: 400))
        let q = DNSQuery("opendkim._domainkey.\(d)", "TXT")
        // A provider that splits after 100 bytes publishes the same key.
        let other = "\"\(value.prefix(100))\" \"\(value.dropFirst(100))\""
        p.answers["ns1.example.org"]?[q] = .records([other])
        #expect(DNSCheckResult(zone: z, probe: p).exitCode == 0)
        // An old key is "set differently"; the report offers the web form.
        p.answers["ns2.example.org"]?[q] = .records(["\"v=DKIM1;k=rsa;p=OLD\""])
        let result = DNSCheckResult(zone: z, probe: p)
        #expect(result.exitCode == 1)
        let text = DNSReport.lines(result, zone: z).map(\.text)
        #expect(text.contains("             ns2.example.org: set differently: \"v=DKIM1;k=rsa;p=OLD\""))
        #expect(text.contains("If the DKIM entry above does not work with your DNS provider, you can try this one:"))
        #expect(text.contains(z.webDKIMLine))
    }

    @Test func otherTXTRecordsAtTheNameDoNotCountAsDifferent() {
        let z = zone()
        var p = probe(publishing: z)
        let q = DNSQuery(d, "TXT")
        p.answers["ns1.example.org"]?[q] = .records(["\"google-site-verification=abc\""])
        let spf = DNSCheckResult(zone: z, probe: p).checks.first { $0.record.rdata == "\"v=spf1 a ~all\"" }!
        #expect(spf.findings[0].finding == .notSet)
        p.answers["ns1.example.org"]?[q] = .records(["\"google-site-verification=abc\"", "\"v=spf1 mx -all\""])
        let spf2 = DNSCheckResult(zone: z, probe: p).checks.first { $0.record.rdata == "\"v=spf1 a ~all\"" }!
        #expect(spf2.findings[0].finding == .differs(["\"v=spf1 mx -all\""]))
    }

    @Test func namesCompareCaseInsensitivelyAndCAAByValue() {
        #expect(canonicalRdata("10 Chat.Example.ORG.", type: "MX") == canonicalRdata("10 chat.example.org.", type: "MX"))
        #expect(canonicalRdata("chat.example.org", type: "CNAME") == "chat.example.org.")
        #expect(canonicalRdata("0 ISSUE \"letsencrypt.org;accounturi=x\"", type: "CAA")
            == canonicalRdata("0 issue \"letsencrypt.org;accounturi=x\"", type: "CAA"))
        #expect(canonicalRdata("0 issue \"letsencrypt.org\"", type: "CAA")
            != canonicalRdata("0 issue \"letsencrypt.org;accounturi=x\"", type: "CAA"))
    }

    @Test func unreachableSecondaryWarnsButAllUnreachableFails() {
        let z = zone()
        var p = probe(publishing: z)
        p.unreachable["ns2.example.org"] = "connection timed out; no servers could be reached"
        let result = DNSCheckResult(zone: z, probe: p)
        #expect(result.exitCode == 0)
        let lines = DNSReport.lines(result, zone: z)
        #expect(lines.contains(ReportLine(.warning,
            "WARNING: name server ns2.example.org is unreachable from the relay (connection timed out; no servers could be reached)")))
        p.unreachable["ns1.example.org"] = "no answer"
        let down = DNSCheckResult(zone: z, probe: p)
        #expect(down.exitCode == 1)
        #expect(down.checks[0].findings[0].finding.text == "server unreachable (no answer)")
    }

    @Test func serverErrorIsNotNotSet() {
        let z = zone()
        var p = probe(publishing: z)
        for server in p.servers { p.answers[server]?[DNSQuery(d, "MX")] = .failed("REFUSED") }
        let result = DNSCheckResult(zone: z, probe: p)
        #expect(result.exitCode == 1)
        let text = DNSReport.lines(result, zone: z).map(\.text)
        #expect(text.contains("             ns1.example.org: server answered REFUSED"))
        #expect(text.contains("  WRONG    \(d). MX"))
    }

    @Test func preCheckMessagesAsTheReference() throws {
        let config = try TestConfig.load([])
        var p = RelayDNSProbe(domain: d)
        p.servers = ["ns1"]
        p.answers["ns1"] = [:]
        // Nothing published: every missing record at once, each with its line.
        let all = try #require(DNSPreCheck.problems(config, probe: p))
        #expect(Array(all.prefix(7)) == ["Missing A and/or AAAA DNS records for \(d)!",
                                         "\(d).   A     <the relay's IPv4 address>",
                                         "\(d).   AAAA  <the relay's IPv6 address, if it has one>",
                                         "Missing MTA-STS CNAME record:", "mta-sts.\(d).   CNAME  \(d).",
                                         "Missing www CNAME record:", "www.\(d).   CNAME  \(d)."])
        #expect(all.count == 8 && all[7].hasPrefix("Publish these records"))
        p.answers["ns1"]?[DNSQuery(d, "AAAA")] = .records(["2001:db8::1"])
        #expect(DNSPreCheck.problems(config, probe: p)?.prefix(4) == ["Missing MTA-STS CNAME record:", "mta-sts.\(d).   CNAME  \(d).",
                                                                     "Missing www CNAME record:", "www.\(d).   CNAME  \(d)."])
        p.answers["ns1"]?[DNSQuery("mta-sts.\(d)", "CNAME")] = .records(["\(d)."])
        #expect(DNSPreCheck.problems(config, probe: p)?.prefix(2) == ["Missing www CNAME record:", "www.\(d).   CNAME  \(d)."])
        p.answers["ns1"]?[DNSQuery("www.\(d)", "CNAME")] = .records(["\(d)."])
        #expect(DNSPreCheck.problems(config, probe: p) == nil)
        // Self-signed (underscore domain): only the address matters.
        let selfSigned = try TestConfig.load([], domain: "_chat.example.org")
        var q = RelayDNSProbe(domain: "_chat.example.org")
        q.servers = ["ns1"]
        q.answers["ns1"] = [DNSQuery("_chat.example.org", "A"): .records(["203.0.113.5"])]
        #expect(DNSPreCheck.problems(selfSigned, probe: q) == nil)
    }
}
