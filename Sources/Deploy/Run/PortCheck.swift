import ChatmailConfig

/// The port-conflict check the Python deploy also makes: before anything
/// changes, every TCP port the relay needs must be free or held by the daemon
/// that will own it. The ports come from the components' own `listeners` (the
/// list `cmdeploy status` checks too). Unlike the Python tool it also runs
/// inside containers (`ss -ltnp` works there) and reports every conflict at
/// once.
public enum PortCheck {
    public struct Need: Sendable, Equatable {
        public var port: Int
        public var service: String
        /// Process names (as `ss` shows them) that may hold the port.
        public var allowed: [String]
    }

    /// Other names a port's rightful owner may show up under while a relay
    /// is deployed or upgraded.
    static let aliases: [String: [String]] = [
        "master": ["smtpd"],
        "dovecot": ["imap-login", "stats"],
        // the Python relay's filtermail had its own binary name
        "chatmaild": ["filtermail"],
        // the unbound component stops systemd-resolved
        "unbound": ["systemd-resolve"],
    ]

    /// The TCP ports this context's relay listens on and who may hold them.
    public static func needs(_ context: DeployContext) -> [Need] {
        // --disable-mail keeps Postfix and Dovecot off, but their ports stay theirs.
        var full = context
        full.disableMail = false
        full.websiteOnly = false
        var needs: [Need] = []
        for component in Relay.components(for: full) {
            for l in component.listeners(full) where l.proto == .tcp && !needs.contains(where: { $0.port == l.port }) {
                var allowed = [l.process] + (aliases[l.process] ?? [])
                // acmetool owned port 80 before nginx took it over
                if l.port == 80 { allowed.append("acmetool") }
                needs.append(Need(port: l.port, service: "\(component.name) (\(l.purpose))", allowed: allowed))
            }
        }
        return needs
    }

    /// One message per port held by a process that is not allowed there.
    public static func conflicts(_ context: DeployContext, listeners: [Int: [String]], host: String) -> [String] {
        needs(context).compactMap { need in
            let holders = (listeners[need.port] ?? []).filter { !need.allowed.contains($0) }
            guard !holders.isEmpty else { return nil }
            let names = holders.map { $0.isEmpty ? "an unknown process" : $0 }.joined(separator: ", ")
            return "\(host): port \(need.port) is occupied by: \(names) (the relay needs it for \(need.service)); stop and disable \(names) first"
        }
    }
}
