import ChatmailConfig

/// The check `cmdeploy run` makes before deploying, as the Python tool does:
/// the relay must be reachable by name, and with ACME certificates the MTA-STS
/// and www names must point at it, or certificate issuance fails.
public enum DNSPreCheck {
    /// The problems to print (the Python tool's texts, each followed by the
    /// record to publish), every missing record at once; nil when the
    /// records are there.
    public static func problems(_ config: ChatmailConfig, probe: RelayDNSProbe) -> [String]? {
        let d = config.mailDomain
        let published = probe.published
        var lines: [String] = []
        if (published[DNSQuery(d, "A")] ?? []).isEmpty && (published[DNSQuery(d, "AAAA")] ?? []).isEmpty {
            lines += ["Missing A and/or AAAA DNS records for \(d)!",
                      "\(d).   A     <the relay's IPv4 address>",
                      "\(d).   AAAA  <the relay's IPv6 address, if it has one>"]
        }
        if config.strictTLS {
            if !points(published[DNSQuery("mta-sts.\(d)", "CNAME")], to: d) {
                lines += ["Missing MTA-STS CNAME record:", "mta-sts.\(d).   CNAME  \(d)."]
            }
            if !points(published[DNSQuery("www.\(d)", "CNAME")], to: d) {
                lines += ["Missing www CNAME record:", "www.\(d).   CNAME  \(d)."]
            }
        }
        guard !lines.isEmpty else { return nil }
        return lines + ["Publish these records at your DNS provider and run again; the other records "
                        + "(MX, DKIM, SPF, ...) follow after the deploy with `cmdeploy dns`."]
    }

    private static func points(_ values: [String]?, to domain: String) -> Bool {
        (values ?? []).contains { canonicalRdata($0, type: "CNAME") == domain.lowercased() + "." }
    }
}
