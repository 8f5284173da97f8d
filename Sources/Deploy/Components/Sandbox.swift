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

/// The drop-in that sandboxes one of Debian's daemons
/// (`templates/sandbox/daemon.conf.mustache`). Their masters start as root
/// and drop to their own users, so they keep the capabilities that takes;
/// `systemd-analyze security` rates them at 5.0 or lower.
struct DaemonSandbox {
    /// The unit whose drop-in folder gets the file, e.g. `nginx.service`.
    var unit: String
    /// Paths the daemon writes (ReadWritePaths=).
    var writable: [String]
    var capabilities: [String]
    /// `yes`, or `read-only` for Dovecot, which reads and writes the mailboxes.
    var protectHome = "yes"
    /// No executable memory made at run time (programs without a JIT).
    var noJIT = false
    /// Netlink, for daemons that list the host's addresses (Postfix's inet_interfaces = all).
    var netlink = false
    /// chroot(2), for daemons that lock their children into a folder.
    var chroot = false

    static let fileName = "30-cmdeploy-sandbox.conf"

    /// The drop-in's path in the unit's folder under /etc/systemd/system.
    var path: String { "/etc/systemd/system/\(unit).d/\(Self.fileName)" }

    func render() throws -> String {
        try Templates.render("sandbox/daemon.conf.mustache", [
            "unit": unit, "writable": writable, "capabilities": capabilities.joined(separator: " "),
            "protectHome": protectHome, "noJIT": noJIT, "netlink": netlink, "chroot": chroot,
        ] as [String: Any])
    }

    // Changing users, binding the privileged ports and locking children into
    // a chroot are what the masters do as root; nginx and OpenDKIM also chown
    // their sockets and temporary folders. nginx keeps writable-executable
    // memory for PCRE's JIT; Dovecot and unbound for their plugins' sake.

    static let nginx = DaemonSandbox(
        unit: "nginx.service", writable: ["/var/lib/nginx", "/var/log/nginx", "/run"],
        capabilities: ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"])

    /// Reads its key tables in /etc/dkimkeys (owner opendkim, 0700) and makes
    /// its milter socket in Postfix's spool as root before it changes user.
    static let opendkim = DaemonSandbox(
        unit: "opendkim.service", writable: ["/var/spool/postfix/opendkim", "/run/opendkim"],
        capabilities: ["CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE"], noJIT: true)

    static let unbound = DaemonSandbox(
        unit: "unbound.service", writable: ["/var/lib/unbound", "/run"],
        capabilities: ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_CHOWN",
                       "CAP_SYS_RESOURCE"],
        netlink: true, chroot: true)

    /// The master opens sockets in private/ and public/ (owner postfix, 0700)
    /// as root and signals its children.
    static func postfix(masterUnit: String) -> DaemonSandbox {
        DaemonSandbox(
            unit: masterUnit, writable: ["/var/spool/postfix", "/var/lib/postfix", "/run"],
            capabilities: ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_CHOWN",
                           "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_KILL"],
            netlink: true, chroot: true)
    }

    /// Dovecot writes the mailboxes (under /home by default: the rest of
    /// /home stays read-only) and its state and runtime folders.
    static func dovecot(_ config: ChatmailConfig) -> DaemonSandbox {
        DaemonSandbox(
            unit: "dovecot.service",
            // private/: its LMTP and auth sockets for Postfix
            writable: [config.mailboxesDir, "/var/lib/dovecot", "/run", "/var/spool/postfix/private"],
            capabilities: ["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_CHOWN",
                           "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SYS_RESOURCE"],
            protectHome: "read-only", netlink: true, chroot: true)
    }
}
