import ChatmailConfig

/// The last lines of `cmdeploy run`: what is true after the deploy (the
/// certificate and who issued it, which DNS records are still to publish)
/// and the exact next command. Made from a DNS probe taken after the apply,
/// so a first ACME deploy reports the account and certificate it just made
/// instead of the state before it.
public enum DeployClosing {
    /// What the relay has after the deploy (nil fields: not looked at).
    public struct Facts: Sendable {
        /// The DNS probe after the apply (nil: DNS was not checked).
        public var probe: RelayDNSProbe?
        /// Why there is no probe after the apply, when one was tried.
        public var probeProblem: String?
        public init(probe: RelayDNSProbe? = nil, probeProblem: String? = nil) {
            self.probe = probe
            self.probeProblem = probeProblem
        }
    }

    public static func lines(_ config: ChatmailConfig, facts: Facts, configFlag: String = "") -> [ReportLine] {
        let dns = "cmdeploy dns" + configFlag
        if let ip = config.ipv4Relay {
            return [ReportLine(.ok, "Deploy completed: the relay answers on \(ip) with its self-signed certificate "
                + "(no DNS records to publish for an IP address).")]
        }
        guard let probe = facts.probe else {
            let why = facts.probeProblem.map { " (DNS not checked after the deploy: \($0))" } ?? ""
            return [ReportLine(.ok, "Deploy completed\(why)."),
                    ReportLine(.plain, "Next: `\(dns)` shows the DNS records to publish.")]
        }
        var out = [ReportLine(.ok, "Deploy completed.")]
        out.append(certificateLine(config, probe: probe))
        if config.strictTLS && probe.acmeAccountURL.isEmpty {
            out.append(ReportLine(.error, "acmetool has no account yet, so the CAA record cannot name it: "
                + "see `journalctl -u acmetool-reconcile` on the relay, then run `cmdeploy run` again."))
            return out
        }
        if probe.dkimPublicKey.isEmpty {
            out.append(ReportLine(.error, "No DKIM key was found on the relay (/etc/dkimkeys/opendkim.private): "
                + "run `cmdeploy run` again."))
            return out
        }
        let result = DNSCheckResult(zone: RelayZone(config: config, probe: probe), probe: probe)
        let required = result.missingRequired.map(recordName)
        let recommended = result.missingRecommended.map(recordName)
        if required.isEmpty && recommended.isEmpty {
            out.append(ReportLine(.ok, "DNS: every record is published."))
        } else {
            var parts: [String] = []
            if !required.isEmpty { parts.append("required: " + required.joined(separator: ", ")) }
            if !recommended.isEmpty { parts.append("recommended: " + recommended.joined(separator: ", ")) }
            let count = required.count + recommended.count
            out.append(ReportLine(required.isEmpty ? .warning : .error,
                                  "DNS: \(count) record\(count == 1 ? "" : "s") still to publish (\(parts.joined(separator: "; ")))."))
            out.append(ReportLine(.plain, "Next: `\(dns)` shows each record and what the name servers have; "
                + "`\(dns) --zonefile relay.zone` writes them all as a zone file."))
        }
        return out
    }

    static func certificateLine(_ config: ChatmailConfig, probe: RelayDNSProbe) -> ReportLine {
        let issuer = probe.certificateIssuer.isEmpty ? nil : probe.certificateIssuer
        switch config.tlsMode {
        case .acme:
            guard let issuer else {
                return ReportLine(.error, "TLS: no certificate at \(config.tlsCertPath) yet: "
                    + "see `journalctl -u acmetool-reconcile` on the relay.")
            }
            return ReportLine(.plain, "TLS: ACME certificate for \(config.mailDomain), issued by \(issuer).")
        case .selfSigned:
            return ReportLine(.plain, "TLS: self-signed certificate for \(config.mailDomain) "
                + "(Delta Chat accepts it because the domain starts with `_`).")
        case .external:
            return ReportLine(.plain, "TLS: your certificate \(config.tlsCertPath)"
                + (issuer.map { ", issued by \($0)" } ?? "") + ".")
        }
    }

    /// "CAA chat.example.org", "TXT opendkim._domainkey.chat.example.org"
    static func recordName(_ check: RecordCheck) -> String {
        let name = check.record.name.hasSuffix(".") ? String(check.record.name.dropLast()) : check.record.name
        return "\(check.record.type) \(name)"
    }
}
