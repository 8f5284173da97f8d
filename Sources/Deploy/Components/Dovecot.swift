import ChatmailConfig

/// Dovecot: IMAP for Delta Chat clients and LMTP delivery from Postfix.
/// Accounts, last-login and IMAP METADATA are answered by chatmaild over
/// its dict sockets. Debian's own dovecot packages are used (the Python
/// tool installs a patched build; see docs/mail.md).
public struct Dovecot: Component {
    public let name = "dovecot"
    public init() {}

    public static let conf = "/etc/dovecot/dovecot.conf"
    public static let dropIn = "/etc/systemd/system/dovecot.service.d/10_restart.conf"
    public static let sysctl = "/etc/sysctl.d/60-chatmail-inotify.conf"

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = try Self.renderConf(context.config)
        let files: [(path: String, template: String)] = [
            ("/etc/dovecot/auth.conf", "dovecot/auth.conf"),
            ("/etc/dovecot/push_notification.lua", "dovecot/push_notification.lua"),
            (Self.dropIn, "dovecot/10_restart.conf"),
        ]
        let statics = try files.map { File($0.path, text: try Templates.text($0.template)) }
        let sysctl = try Templates.text("dovecot/sysctl.conf")
        let mail = !context.disableMail
        return Manifest {
            Package("dovecot-imapd")
            Package("dovecot-lmtpd")
            // Validated on its own: doveconf parses the whole configuration
            // (auth.conf is read by the dict driver at runtime, not here).
            File(Self.conf, text: config, validate: "doveconf -n -c {file} >/dev/null")
            statics
            Directory("/etc/systemd/system/dovecot.service.d")
            // Every IMAP IDLE connection holds an inotify watch.
            File(Self.sysctl, text: sysctl)
            // Containers may not allow it; the relay still works, with fewer clients.
            GuardedCommand("apply inotify sysctls",
                           "sysctl -q -p \(Self.sysctl) || echo 'warning: could not raise the inotify limits (in a container?); they should be above 65534 in production'",
                           onChangeOf: [Self.sysctl])
            // Dovecot logs in the host's local time instead of reading it per call.
            LineInFile("/etc/environment", line: "TZ=:/etc/localtime", replacing: "TZ=")
            Service("dovecot", enabled: mail, running: mail,
                    restartOn: [Self.conf] + files.map(\.path) + ["dovecot-imapd", "dovecot-lmtpd"])
        }
    }

    static func renderConf(_ c: ChatmailConfig) throws -> String {
        var values: [String: Any] = [
            "ipv4Only": c.disableIPv6,
            "mailboxesDir": c.mailboxesDir,
            "maxMessageSize": c.maxMessageSize,
            "maxMailboxSizeMB": c.maxMailboxSizeMB,
            // Trimmed to 70 % so Delta Chat's own warnings (80 %) stay quiet.
            "quotaTargetMB": c.maxMailboxSizeMB * 70 / 100,
            "maxImapConnections": c.maxImapConnections,
            "imapCompress": c.imapCompress,
            "rawlog": c.imapRawlog,
            "tlsCert": c.tlsCertPath,
            "tlsKey": c.tlsKeyPath,
        ]
        if let mail = c.privacyMail { values["privacyMail"] = mail }
        if let address = c.mtailAddress {
            values["mtailAddress"] = address
            values["metrics"] = try Templates.text("dovecot/metrics.conf")
        }
        return try Templates.render("dovecot/dovecot.conf.mustache", values)
    }

    public func listeners(_ context: DeployContext) -> [Listener] {
        if context.disableMail { return [] }
        var list = [Listener(143, process: "dovecot", purpose: "IMAP"), Listener(993, process: "dovecot", purpose: "IMAPS")]
        if context.config.mtailAddress != nil { list.append(Listener(3904, process: "dovecot", purpose: "Dovecot metrics")) }
        return list
    }
}
