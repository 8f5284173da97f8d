import ChatmailConfig
import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

@Suite struct ZoneTests {
    let key2048 = String(repeating: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", count: 9) + "IDAQAB"

    func zone(strict: Bool = true, acme: String = "https://acme.example/acct/1",
              ipv4: [String] = ["203.0.113.5"], ipv6: [String] = []) -> RelayZone {
        RelayZone(domain: "chat.example.org", ipv4: ipv4, ipv6: ipv6, strictTLS: strict,
                  stsID: "202611220300", dkimPublicKey: key2048, acmeAccountURL: acme)
    }

    @Test func layoutMatchesThePythonTool() {
        let text = zone(ipv6: ["2001:db8::5"]).text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "; Required DNS entries")
        #expect(lines[1] == "chat.example.org.                        3600   IN  A      203.0.113.5")
        #expect(lines[2] == "chat.example.org.                        3600   IN  AAAA   2001:db8::5")
        #expect(lines[3] == "chat.example.org.                        3600   IN  MX     10 chat.example.org.")
        #expect(lines[4] == "_mta-sts.chat.example.org.               3600   IN  TXT    \"v=STSv1; id=202611220300\"")
        #expect(lines[5] == "mta-sts.chat.example.org.                3600   IN  CNAME  chat.example.org.")
        #expect(lines[6] == "www.chat.example.org.                    3600   IN  CNAME  chat.example.org.")
        #expect(lines[7].hasPrefix("opendkim._domainkey.chat.example.org.    3600   IN  TXT    \"v=DKIM1;k=rsa;p="))
        #expect(lines[8] == "")
        #expect(lines[9] == "; Recommended DNS entries")
        #expect(lines[10] == "chat.example.org.                        3600   IN  TXT    \"v=spf1 a ~all\"")
        #expect(lines[11] == "_dmarc.chat.example.org.                 3600   IN  TXT    \"v=DMARC1;p=reject;adkim=s;aspf=s\"")
        #expect(lines[12] == "chat.example.org.                        3600   IN  CAA    0 issue \"letsencrypt.org;accounturi=https://acme.example/acct/1\"")
        #expect(lines[13] == "_adsp._domainkey.chat.example.org.       3600   IN  TXT    \"dkim=discardable\"")
        #expect(lines[14] == "_submission._tcp.chat.example.org.       3600   IN  SRV    0 1 587 chat.example.org.")
        #expect(lines[17] == "_imaps._tcp.chat.example.org.            3600   IN  SRV    0 1 993 chat.example.org.")
        #expect(lines[18] == "")
        #expect(text.hasSuffix("993 chat.example.org.\n\n"))  // blank line after each section
    }

    @Test func dkimValueIsSplitIntoStringsOfAtMost255Bytes() {
        let value = DKIMRecord.value(publicKey: key2048)
        #expect(value.count > 255)
        let rdata = DKIMRecord.splitRdata(value)
        let strings = rdata.split(separator: " ").map { $0.dropFirst().dropLast() }
        #expect(strings.count == (value.count + 254) / 255)
        #expect(strings.allSatisfy { $0.count <= 255 })
        #expect(strings.dropLast().allSatisfy { $0.count == 255 })
        #expect(strings.joined() == value)
        #expect(TXTValue.joined(rdata) == value)
        // Exactly 255 bytes stays one string; 256 becomes two.
        #expect(DKIMRecord.splitRdata(String(repeating: "a", count: 255)).split(separator: " ").count == 1)
        #expect(DKIMRecord.splitRdata(String(repeating: "a", count: 256)) == "\"\(String(repeating: "a", count: 255))\" \"a\"")
    }

    @Test func webDKIMLineIsOneString() {
        let z = zone()
        #expect(z.webDKIMLine.hasPrefix("opendkim._domainkey.chat.example.org.    3600   IN  TXT    \"v=DKIM1;k=rsa;p=MIIB"))
        #expect(z.webDKIMLine.hasSuffix(";s=email;t=s\""))
        #expect(z.webDKIMLine.filter { $0 == "\"" }.count == 2)
    }

    @Test func caaOnlyWithAnAccountURL() {
        #expect(zone().records.contains { $0.type == "CAA" })
        #expect(!zone(acme: "").records.contains { $0.type == "CAA" })
    }

    @Test func selfSignedAndExternalTLSHaveNoMTASTS() {
        let names = zone(strict: false).records.map(\.name)
        #expect(!names.contains("_mta-sts.chat.example.org."))
        #expect(!names.contains("mta-sts.chat.example.org."))
        #expect(names.contains("www.chat.example.org."))
    }

    @Test func addressesFromDNSElseFromTheRelayAndNoAAAAWithIPv6Disabled() throws {
        var probe = RelayDNSProbe(domain: "chat.example.org")
        probe.dkimPublicKey = "KEY"
        probe.ipv4Addresses = ["10.0.0.5"]
        probe.ipv6Addresses = ["2001:db8::5"]
        probe.servers = ["ns1.example.org"]
        probe.answers["ns1.example.org"] = [DNSQuery("chat.example.org", "A"): .records(["203.0.113.5"])]
        let config = try TestConfig.load(["disable_ipv6 = True"])
        let zone = RelayZone(config: config, probe: probe)
        #expect(zone.records.filter { $0.type == "A" }.map(\.rdata) == ["203.0.113.5"])
        #expect(!zone.records.contains { $0.type == "AAAA" })
        let both = RelayZone(config: try TestConfig.load([]), probe: probe)
        #expect(both.records.filter { $0.type == "AAAA" }.map(\.rdata) == ["2001:db8::5"])
    }

    @Test func publicInterfaceAddressesArePreferred() {
        #expect(RelayZone.preferPublic(["10.0.0.5", "203.0.113.5", "192.168.1.2"]) == ["203.0.113.5"])
        #expect(RelayZone.preferPublic(["fd79:79::11", "2001:db8::5"]) == ["2001:db8::5"])
        #expect(RelayZone.preferPublic(["10.79.0.11"]) == ["10.79.0.11"])
        #expect(RelayZone.preferPublic(["172.32.0.1", "172.16.0.1"]) == ["172.32.0.1"])
    }

    @Test func publishedMTASTSIdIsKept() throws {
        var probe = RelayDNSProbe(domain: "chat.example.org")
        probe.servers = ["ns1"]
        probe.answers["ns1"] = [DNSQuery("_mta-sts.chat.example.org", "TXT"): .records(["\"v=STSv1; id=20240101\""])]
        let zone = RelayZone(config: try TestConfig.load([]), probe: probe,
                             now: Date(timeIntervalSince1970: 0))
        #expect(zone.records.contains { $0.rdata == "\"v=STSv1; id=20240101\"" })
        probe.answers = [:]
        let fresh = RelayZone(config: try TestConfig.load([]), probe: probe)
        let id = try #require(fresh.records.first { $0.name.hasPrefix("_mta-sts") }).rdata
        #expect(id.count == "\"v=STSv1; id=202611220300\"".count)
    }
}

/// A chatmail.ini written to a temporary file and loaded as operators do.
enum TestConfig {
    static func load(_ extra: [String], domain: String = "chat.example.org") throws -> ChatmailConfig {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("dns-test-\(UUID().uuidString).ini").path
        let text = (["[params]", "mail_domain = \(domain)"] + extra).joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ChatmailConfig.load(path: path)
    }
}
