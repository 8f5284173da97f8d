// The one list of chatmail.ini keys. The parser, the defaults and the file
// `cmdeploy init` writes all come from here, so they cannot drift apart.

public struct ConfigKey: Sendable {
    public var name: String
    /// Default as written in chatmail.ini; nil when the key has no default
    /// (required, absent-means-something, or derived from mail_domain).
    public var defaultText: String?
    /// Comment lines written above the key by `cmdeploy init`.
    public var help: [String]
    /// Written active (not commented out) by `cmdeploy init`.
    public var activeInInit: Bool = false
    /// Heading printed before this key by `cmdeploy init`.
    public var group: String? = nil
}

public enum ConfigKeys {
    public static let letsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"
    public static let deltaChatNotifyURL = "https://notifications.delta.chat/notify"

    public static let all: [ConfigKey] = [
        ConfigKey(
            name: "mail_domain", defaultText: nil,
            help: ["The domain name of this relay (addresses look like name@mail_domain),",
                   "or an IPv4 address for a relay without a domain."],
            activeInInit: true, group: "Basic"),

        // Privacy contacts, shown on the web pages.
        ConfigKey(
            name: "privacy_postal", defaultText: "",
            help: ["Postal address of the operator, shown in the privacy policy."],
            activeInInit: true, group: "Privacy policy contacts (shown on the relay's web pages)"),
        ConfigKey(
            name: "privacy_mail", defaultText: "",
            help: ["E-mail address for privacy questions; also announced to clients as IMAP /shared/admin."],
            activeInInit: true),
        ConfigKey(
            name: "privacy_pdo", defaultText: "",
            help: ["Data protection officer, if the operator has one."],
            activeInInit: true),
        ConfigKey(
            name: "privacy_supervisor", defaultText: "",
            help: ["Supervisory authority responsible for the operator."],
            activeInInit: true),

        ConfigKey(
            name: "max_user_send_per_minute", defaultText: "60",
            help: ["Messages one address may send per minute (sustained rate)."],
            group: "Limits for each address"),
        ConfigKey(
            name: "max_user_send_burst_size", defaultText: "10",
            help: ["Messages one address may send in a burst before the rate limit applies."]),
        ConfigKey(
            name: "max_mailbox_size", defaultText: "500M",
            help: ["Mailbox quota per address, in megabytes (M) or gigabytes (G)."]),
        ConfigKey(
            name: "max_message_size", defaultText: "31457280",
            help: ["Largest accepted message, in bytes (31457280 = 30 MiB)."]),
        ConfigKey(
            name: "delete_mails_after", defaultText: "20",
            help: ["Days after which every message is deleted from the server."]),
        ConfigKey(
            name: "delete_large_after", defaultText: "7",
            help: ["Days after which messages larger than 200 kB that were seen are deleted."]),
        ConfigKey(
            name: "delete_inactive_users_after", defaultText: "90",
            help: ["Days without login after which an address and its mailbox are removed."]),

        ConfigKey(
            name: "username_min_length", defaultText: "9",
            help: ["Shortest local part (the part before @) accepted for new addresses."],
            group: "Account creation"),
        ConfigKey(
            name: "username_max_length", defaultText: "9",
            help: ["Longest local part accepted for new addresses; /new generates this length."]),
        ConfigKey(
            name: "password_min_length", defaultText: "9",
            help: ["Shortest password accepted for new addresses."]),
        ConfigKey(
            name: "max_load_1m", defaultText: "5",
            help: ["No new addresses while the 1-minute load average is above this."]),
        ConfigKey(
            name: "min_available_memory", defaultText: "200M",
            help: ["No new addresses while less memory than this is available."]),
        ConfigKey(
            name: "min_free_disk_space", defaultText: "1G",
            help: ["No new addresses while less disk space than this is free for mailboxes."]),

        ConfigKey(
            name: "max_imap_connections", defaultText: "10000",
            help: ["Most IMAP connections served at once."],
            group: "Connections"),
        ConfigKey(
            name: "max_smtp_connections", defaultText: "1000",
            help: ["Most SMTP submission connections at once; one client may use a fifth of them."]),

        ConfigKey(
            name: "tls_external_cert_and_key", defaultText: "",
            help: ["Use certificates managed outside the relay: CERT_PATH KEY_PATH on the server.",
                   "Empty: ACME certificates, or self-signed for _-prefixed domains and IPv4 relays."],
            group: "TLS certificates"),
        ConfigKey(
            name: "acme_email", defaultText: "",
            help: ["Contact address given to the ACME certificate authority."]),
        ConfigKey(
            name: "acme_directory_url", defaultText: letsEncryptDirectory,
            help: ["ACME directory the relay gets its certificates from."]),

        ConfigKey(
            name: "www_folder", defaultText: "",
            help: ["Web pages to publish, as a folder on the deploying machine.",
                   "Empty: the built-in pages. A value that is not a folder (e.g. \"disabled\") publishes none."],
            group: "Web pages"),

        ConfigKey(
            name: "disable_ipv6", defaultText: "false",
            help: ["true: listen on IPv4 only (for hosts without IPv6)."],
            group: "Network and services"),
        ConfigKey(
            name: "iroh_relay", defaultText: nil,
            help: ["Iroh relay URL announced to clients for realtime apps.",
                   "Unset: https://MAIL_DOMAIN served by this relay. Set (even empty): the local one is not started."]),
        ConfigKey(
            name: "notification_url", defaultText: deltaChatNotifyURL,
            help: ["Where push notification tokens are posted when new mail arrives."]),
        ConfigKey(
            name: "mtail_address", defaultText: nil,
            help: ["Address on which mtail serves Prometheus metrics; unset: mtail is not run."]),
        ConfigKey(
            name: "imap_rawlog", defaultText: "false",
            help: ["true: log raw IMAP traffic into each user's home directory (debugging only)."]),
        ConfigKey(
            name: "imap_compress", defaultText: "false",
            help: ["true: offer IMAP COMPRESS; this disables IMAP hibernation and costs memory."]),
        ConfigKey(
            name: "dovecot_packages", defaultText: "patched",
            help: ["patched: Dovecot 2.3.21 builds without the 500 ms IMAP IDLE delay, pinned by sha256",
                   "(new messages reach phones at once; updates come with cmdeploy).",
                   "debian: Debian 12's own Dovecot (security updates from Debian, 0.5 s later delivery;",
                   "not on Debian 13, whose Dovecot 2.4 cannot create accounts on login)."]),

        ConfigKey(
            name: "dns_forwarders", defaultText: "",
            help: ["IP addresses the relay's resolver (unbound) forwards every query to, space-separated.",
                   "Empty: resolve from the root servers, as a relay normally should."],
            group: "Resolver and downloads (for offline, private or test networks)"),
        ConfigKey(
            name: "dns_unsigned_zones", defaultText: "",
            help: ["Zones served without DNSSEC that the resolver must accept (e.g. \"test 10.in-addr.arpa\")."]),
        ConfigKey(
            name: "iroh_relay_download", defaultText: "",
            help: ["URL SHA256 of the iroh-relay release archive to install; empty: the pinned",
                   "upstream release for the relay's architecture (v0.35.0)."]),
        ConfigKey(
            name: "turn_download", defaultText: "",
            help: ["URL SHA256 of the chatmail-turn binary to install; empty: the pinned upstream",
                   "release for the relay's architecture (v0.4)."]),
        ConfigKey(
            name: "mtail_download", defaultText: "",
            help: ["URL SHA256 of the mtail release archive to install; empty: the pinned upstream release."]),
        ConfigKey(
            name: "dovecot_debs", defaultText: "",
            help: ["\"URL SHA256\" pairs (one per line) of the dovecot-core, -imapd and -lmtpd .deb",
                   "files to install with dovecot_packages = patched; empty: the pinned upstream builds."]),

        ConfigKey(
            name: "filtermail_smtp_port", defaultText: "10080",
            help: ["Loopback port of the outgoing encryption filter."],
            group: "Internal ports and paths (rarely changed)"),
        ConfigKey(
            name: "filtermail_smtp_port_incoming", defaultText: "10081",
            help: ["Loopback port of the incoming encryption filter."]),
        ConfigKey(
            name: "filtermail_http_port_incoming", defaultText: "10082",
            help: ["Loopback HTTP port of the incoming filter."]),
        ConfigKey(
            name: "filtermail_lmtp_port_transport", defaultText: "10083",
            help: ["Loopback LMTP port of the filter transport."]),
        ConfigKey(
            name: "postfix_reinject_port", defaultText: "10025",
            help: ["Loopback port where Postfix takes filtered outgoing mail back."]),
        ConfigKey(
            name: "postfix_reinject_port_incoming", defaultText: "10026",
            help: ["Loopback port where Postfix takes filtered incoming mail back."]),
        ConfigKey(
            name: "turn_socket_path", defaultText: "/run/chatmail-turn/turn.socket",
            help: ["UNIX socket of the TURN credentials service."]),
        ConfigKey(
            name: "mailboxes_dir", defaultText: nil,
            help: ["Deprecated. Where mailboxes live; default /home/vmail/mail/MAIL_DOMAIN."]),
        ConfigKey(
            name: "passdb_path", defaultText: "/home/vmail/passdb.sqlite",
            help: ["Old SQLite user database, read once to migrate old relays."]),
    ]

    public static func named(_ name: String) -> ConfigKey? {
        all.first { $0.name == name }
    }
}
