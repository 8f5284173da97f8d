import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct ProbeParseTests {
    // Output of the probe script, with dig's real output for each case.
    let output = """
        acme https://pebble.test:14000/my-account/1
        dkim MIIBIjANBgkq
        addr inet 10.77.0.11/24
        addr inet6 fd77:77::11/64
        zone chat.test
        server ns1.test.
        query ns1.test. A chat.test
        | ;; Got answer:
        | ;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
        | ;; flags: qr aa; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1
        | chat.test.\t\t3600\tIN\tA\t10.77.0.11
        rc 0
        query ns1.test. TXT opendkim._domainkey.chat.test
        | ;; Got answer:
        | ;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1
        | opendkim._domainkey.chat.test. 3600 IN\tTXT\t"v=DKIM1;k=rsa;p=AAA" "BBB;s=email;t=s"
        rc 0
        query ns1.test. CNAME www.chat.test
        | ;; Got answer:
        | ;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 2
        rc 0
        query ns1.test. MX chat.test
        | ;; Got answer:
        | ;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 3
        rc 0
        query ns1.test. A mta-sts.chat.test
        | ;; Got answer:
        | ;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 3
        | mta-sts.chat.test.\t3600\tIN\tCNAME\tchat.test.
        | chat.test.\t3600\tIN\tA\t10.77.0.11
        rc 0
        query ns1.test. CAA chat.test
        | ;; Got answer:
        | ;; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 5
        rc 0
        server ns2.test.
        down ns2.test. ;; connection timed out; no servers could be reached
        server ns3.test.
        query ns3.test. A chat.test
        | ;; communications error to 10.77.0.9#53: connection refused
        rc 9

        """

    @Test func parsesFactsAndAnswers() {
        let p = RelayDNSProbe.parse(output, domain: "chat.test")
        #expect(p.acmeAccountURL == "https://pebble.test:14000/my-account/1")
        #expect(p.dkimPublicKey == "MIIBIjANBgkq")
        #expect(p.ipv4Addresses == ["10.77.0.11"])
        #expect(p.ipv6Addresses == ["fd77:77::11"])
        #expect(p.zone == "chat.test")
        #expect(p.servers == ["ns1.test", "ns2.test", "ns3.test"])
        let ns1 = p.answers["ns1.test"] ?? [:]
        #expect(ns1[DNSQuery("chat.test", "A")] == .records(["10.77.0.11"]))
        #expect(ns1[DNSQuery("opendkim._domainkey.chat.test", "TXT")] == .records(["\"v=DKIM1;k=rsa;p=AAA\" \"BBB;s=email;t=s\""]))
        #expect(ns1[DNSQuery("www.chat.test", "CNAME")] == .notSet)
        #expect(ns1[DNSQuery("chat.test", "MX")] == .notSet)
        // Only the asked type of the asked name, not the CNAME chain.
        #expect(ns1[DNSQuery("mta-sts.chat.test", "A")] == .notSet)
        #expect(ns1[DNSQuery("chat.test", "CAA")] == .failed("REFUSED"))
        #expect(p.unreachable["ns2.test"] == "connection timed out; no servers could be reached")
        #expect(p.answers["ns3.test"]?[DNSQuery("chat.test", "A")]
            == .unreachable("communications error to 10.77.0.9#53: connection refused"))
    }

    @Test func missingDigIsReported() {
        #expect(RelayDNSProbe.parse("nodig\n", domain: "x").digMissing)
    }

    @Test func scriptAsksEveryQueryOnce() {
        let script = RelayDNSProbe.script(domain: "chat.example.org")
        for q in DNSQuery.all(for: "chat.example.org") {
            #expect(script.contains("\n\(q.name) \(q.type)\n"))
        }
        #expect(DNSQuery.all(for: "d").count == Set(DNSQuery.all(for: "d")).count)
    }
}
