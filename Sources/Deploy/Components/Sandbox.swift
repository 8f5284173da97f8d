import ChatmailConfig

/// The systemd sandbox of a service cmdeploy writes the unit of
/// (`templates/sandbox/service.mustache`): everything read-only except the
/// paths it writes, no home folders but the ones it uses, no capabilities
/// unless it binds a low port, only the address families it needs.
/// `systemd-analyze security` rates these units at 2.0 or lower
/// (SandboxTests check the rendered units with the real tool).
struct Sandbox {
    /// Paths the service writes (bound read-write, also inside /home).
    var writable: [String] = []
    /// Paths inside /home it only reads (everything outside /home is readable).
    var readable: [String] = []
    /// No network namespace of its own: it talks only through sockets
    /// systemd passed it or UNIX sockets on the file system.
    var privateNetwork = false
    /// Netlink too, for programs that list the host's addresses (TURN).
    var netlink = false
    /// e.g. `CAP_NET_BIND_SERVICE` for a service that binds a port below 1024.
    var capabilities: [String] = []
    var umask = "0077"

    var families: String {
        if privateNetwork { return "AF_UNIX" }
        return "AF_UNIX AF_INET AF_INET6" + (netlink ? " AF_NETLINK" : "")
    }

    /// The [Service] lines, to put into a unit template as `{{sandbox}}`.
    func render() throws -> String {
        let values: [String: Any] = [
            "writable": writable, "readable": readable, "privateNetwork": privateNetwork,
            "capabilities": capabilities.joined(separator: " "), "umask": umask, "families": families,
        ]
        var text = try Templates.render("sandbox/service.mustache", values)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    // The services' sandboxes. The mailbox services run as vmail, as Dovecot
    // and the Python relay do, so they keep working on the same files.

    /// doveauth, lastlogin, expire: write the mailboxes, no network.
    /// doveauth also looks at the legacy SQLite passdb (`-`: may be missing).
    static func mailboxWriter(_ config: ChatmailConfig, extraReadable: [String] = []) -> Sandbox {
        Sandbox(writable: [config.mailboxesDir], readable: extraReadable.map { "-" + $0 }, privateNetwork: true)
    }

    /// chatmail-metadata: writes the mailboxes (tokens, the notification
    /// queue), posts to the push service, asks TURN's socket.
    static func metadata(_ config: ChatmailConfig) -> Sandbox {
        Sandbox(writable: [config.mailboxesDir])
    }

    /// fsreport: reads the mailboxes, no network.
    static func mailboxReader(_ config: ChatmailConfig) -> Sandbox {
        Sandbox(readable: [config.mailboxesDir], privateNetwork: true)
    }

    /// filtermail: reads the mailboxes' flags (enforceE2EEincoming), writes nothing.
    static func filtermail(_ config: ChatmailConfig) -> Sandbox {
        Sandbox(readable: [config.mailboxesDir])
    }

    /// iroh-relay, chatmail-turn, mtail: the network, nothing written.
    static let network = Sandbox(netlink: true)

    /// acmetool's challenge responder: binds port 402 (below 1024).
    static let redirector = Sandbox(capabilities: ["CAP_NET_BIND_SERVICE"])
}
