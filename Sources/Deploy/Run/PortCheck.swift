import ChatmailConfig

/// The port-conflict check of reference §3.2: before anything changes, every
/// TCP port the relay needs must be free or held by the daemon that will own
/// it. Unlike the Python tool it also runs inside containers (`ss -ltnp`
/// works there) and it reports every conflict at once.
public enum PortCheck {
    public struct Need: Sendable, Equatable {
        public var port: Int
        public var service: String
        /// Process names (as `ss` shows them) that may hold the port.
        public var allowed: [String]
    }

    /// The TCP ports this config's relay listens on and who may hold them.
    public static func needs(_ config: ChatmailConfig) -> [Need] {
        let smtpd = ["master", "smtpd"]
        var needs = [
            Need(port: 25, service: "Postfix (SMTP)", allowed: smtpd),
            Need(port: 465, service: "Postfix (submissions)", allowed: smtpd),
            Need(port: 587, service: "Postfix (submission)", allowed: smtpd),
            Need(port: 143, service: "Dovecot (IMAP)", allowed: ["dovecot", "imap-login"]),
            Need(port: 993, service: "Dovecot (IMAPS)", allowed: ["dovecot", "imap-login"]),
            // acmetool owned port 80 before nginx took it over
            Need(port: 80, service: "nginx (HTTP)", allowed: ["nginx", "acmetool"]),
            Need(port: 443, service: "nginx (HTTPS)", allowed: ["nginx"]),
            Need(port: 8443, service: "nginx (web, /new)", allowed: ["nginx"]),
            // the unbound component stops systemd-resolved
            Need(port: 53, service: "unbound (resolver)", allowed: ["unbound", "systemd-resolve"]),
            Need(port: config.postfixReinjectPort, service: "Postfix (reinject)", allowed: smtpd),
            Need(port: config.postfixReinjectPortIncoming, service: "Postfix (reinject incoming)", allowed: smtpd),
            // filtermail is a mode of the one chatmaild binary; the Python relay's was named filtermail
            Need(port: config.filtermailSMTPPort, service: "filtermail (outgoing)", allowed: ["chatmaild", "filtermail"]),
            Need(port: config.filtermailSMTPPortIncoming, service: "filtermail (incoming)", allowed: ["chatmaild", "filtermail"]),
        ]
        if config.tlsMode == .acme {
            needs.append(Need(port: 402, service: "acmetool redirector", allowed: ["acmetool"]))
        }
        if config.enableIrohRelay {
            needs.append(Need(port: 3340, service: "iroh-relay", allowed: ["iroh-relay"]))
        }
        if config.mtailAddress != nil {
            needs.append(Need(port: 3903, service: "mtail", allowed: ["mtail"]))
            needs.append(Need(port: 3904, service: "Dovecot stats", allowed: ["dovecot", "stats"]))
        }
        return needs
    }

    /// One message per port held by a process that is not allowed there.
    public static func conflicts(_ config: ChatmailConfig, listeners: [Int: [String]], host: String) -> [String] {
        needs(config).compactMap { need in
            let holders = (listeners[need.port] ?? []).filter { !need.allowed.contains($0) }
            guard !holders.isEmpty else { return nil }
            let names = holders.map { $0.isEmpty ? "an unknown process" : $0 }.joined(separator: ", ")
            return "\(host): port \(need.port) is occupied by: \(names) (the relay needs it for \(need.service)); stop and disable \(names) first"
        }
    }
}
