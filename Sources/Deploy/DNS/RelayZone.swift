import ChatmailConfig
import Foundation

/// The records a relay needs, in the layout of the Python tool's zone file:
/// required ones first, then recommended ones, each section a zone-file
/// block the operator can paste into a DNS panel or publish as is.
public struct RelayZone: Sendable {
    public var domain: String
    public var records: [ZoneRecord]
    /// The DKIM value unsplit, for DNS panels that want one string.
    public var webDKIMLine: String

    public var required: [ZoneRecord] { records.filter(\.required) }
    public var recommended: [ZoneRecord] { records.filter { !$0.required } }

    /// Builds the zone from the config and what the relay reported.
    /// Addresses: what the domain's servers publish now (as the Python
    /// tool does), else the relay's own global interface addresses, so a
    /// first zone is complete before anything is published. `disable_ipv6`
    /// drops AAAA: the relay does not listen on IPv6 then.
    public init(config: ChatmailConfig, probe: RelayDNSProbe, now: Date = Date()) {
        let d = config.mailDomain
        let published = probe.published
        var ipv4 = published[DNSQuery(d, "A")] ?? []
        if ipv4.isEmpty { ipv4 = RelayZone.preferPublic(probe.ipv4Addresses) }
        var ipv6 = published[DNSQuery(d, "AAAA")] ?? []
        if ipv6.isEmpty { ipv6 = RelayZone.preferPublic(probe.ipv6Addresses) }
        if config.disableIPv6 { ipv6 = [] }
        let stsID = RelayZone.stsID(published[DNSQuery("_mta-sts.\(d)", "TXT")] ?? []) ?? RelayZone.newSTSID(now)
        self.init(domain: d, ipv4: ipv4, ipv6: ipv6, strictTLS: config.strictTLS, stsID: stsID,
                  dkimPublicKey: probe.dkimPublicKey, acmeAccountURL: probe.acmeAccountURL)
    }

    public init(domain d: String, ipv4: [String], ipv6: [String], strictTLS: Bool, stsID: String,
                dkimPublicKey: String, acmeAccountURL: String) {
        domain = d
        let dot = "\(d)."
        var records: [ZoneRecord] = []
        func add(_ name: String, _ type: String, _ rdata: String, required: Bool) {
            records.append(ZoneRecord(name: name, type: type, rdata: rdata, required: required))
        }
        for a in ipv4 { add(dot, "A", a, required: true) }
        for a in ipv6 { add(dot, "AAAA", a, required: true) }
        add(dot, "MX", "10 \(dot)", required: true)
        if strictTLS {
            add("_mta-sts.\(dot)", "TXT", "\"v=STSv1; id=\(stsID)\"", required: true)
            add("mta-sts.\(dot)", "CNAME", dot, required: true)
        }
        add("www.\(dot)", "CNAME", dot, required: true)
        let dkim = DKIMRecord.value(publicKey: dkimPublicKey)
        add(DKIMRecord.name(d), "TXT", DKIMRecord.splitRdata(dkim), required: true)

        add(dot, "TXT", "\"v=spf1 a ~all\"", required: false)
        add("_dmarc.\(dot)", "TXT", "\"v=DMARC1;p=reject;adkim=s;aspf=s\"", required: false)
        if !acmeAccountURL.isEmpty {
            add(dot, "CAA", "0 issue \"letsencrypt.org;accounturi=\(acmeAccountURL)\"", required: false)
        }
        add("_adsp._domainkey.\(dot)", "TXT", "\"dkim=discardable\"", required: false)
        add("_submission._tcp.\(dot)", "SRV", "0 1 587 \(dot)", required: false)
        add("_submissions._tcp.\(dot)", "SRV", "0 1 465 \(dot)", required: false)
        add("_imap._tcp.\(dot)", "SRV", "0 1 143 \(dot)", required: false)
        add("_imaps._tcp.\(dot)", "SRV", "0 1 993 \(dot)", required: false)
        self.records = records
        webDKIMLine = DKIMRecord.webLine(domain: d, publicKey: dkimPublicKey)
    }

    /// The zone file: a comment line before each section, a blank line after it.
    public var text: String {
        var lines = ["; Required DNS entries"]
        lines += required.map(\.line)
        lines += ["", "; Recommended DNS entries"]
        lines += recommended.map(\.line)
        lines.append("")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The public addresses among `addresses`, or all of them when none is
    /// public (a relay behind NAT, or a lab): a private address in the
    /// zone is easier to spot and fix than a missing record.
    static func preferPublic(_ addresses: [String]) -> [String] {
        let isPrivate: (String) -> Bool = { a in
            let lower = a.lowercased()
            if lower.contains(":") { return lower.hasPrefix("fc") || lower.hasPrefix("fd") }
            let octets = a.split(separator: ".").compactMap { Int($0) }
            guard octets.count == 4 else { return false }
            return octets[0] == 10 || (octets[0] == 172 && (16...31).contains(octets[1]))
                || (octets[0] == 192 && octets[1] == 168) || (octets[0] == 100 && (64...127).contains(octets[1]))
        }
        let publicOnes = addresses.filter { !isPrivate($0) }
        return publicOnes.isEmpty ? addresses : publicOnes
    }

    /// The id of a published MTA-STS policy record, kept so that writing
    /// the zone again does not make senders refetch an unchanged policy.
    static func stsID(_ values: [String]) -> String? {
        for value in values {
            let text = TXTValue.joined(value)
            if let range = text.range(of: "id=") {
                let id = text[range.upperBound...].prefix { $0 != ";" && $0 != " " && $0 != "\"" }
                if !id.isEmpty { return String(id) }
            }
        }
        return nil
    }

    /// A new policy id: the current local time, as the Python tool makes it.
    static func newSTSID(_ now: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyyMMddHHmm"
        return formatter.string(from: now)
    }
}

extension RelayDNSProbe {
    /// Per query, the records the first server that had any answered with:
    /// what the world sees now.
    public var published: [DNSQuery: [String]] {
        var result: [DNSQuery: [String]] = [:]
        for server in servers {
            for (query, answer) in answers[server] ?? [:] {
                if case .records(let values) = answer, result[query] == nil { result[query] = values }
            }
        }
        return result
    }
}
