import ChatmailConfig

/// The check `cmdeploy run` makes before deploying, as the Python tool does:
/// the relay must be reachable by name, and with ACME certificates the MTA-STS
/// and www names must point at it, or certificate issuance fails.
public enum DNSPreCheck {
    /// The problem to print (one or more lines), or nil when the records are there.
    public static func problems(_ config: ChatmailConfig, probe: RelayDNSProbe) -> [String]? {
        let d = config.mailDomain
        let published = probe.published
        if (published[DNSQuery(d, "A")] ?? []).isEmpty && (published[DNSQuery(d, "AAAA")] ?? []).isEmpty {
            return ["Missing A and/or AAAA DNS records for \(d)!"]
        }
        guard config.strictTLS else { return nil }
        if !points(published[DNSQuery("mta-sts.\(d)", "CNAME")], to: d) {
            return ["Missing MTA-STS CNAME record:", "mta-sts.\(d).   CNAME  \(d)."]
        }
        if !points(published[DNSQuery("www.\(d)", "CNAME")], to: d) {
            return ["Missing www CNAME record:", "www.\(d).   CNAME  \(d)."]
        }
        return nil
    }

    private static func points(_ values: [String]?, to domain: String) -> Bool {
        (values ?? []).contains { canonicalRdata($0, type: "CNAME") == domain.lowercased() + "." }
    }
}
