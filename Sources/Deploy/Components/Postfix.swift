import ChatmailConfig
import Engine

/// Postfix: SMTP for other relays (25) and for Delta Chat clients (587, 465),
/// with every message passing `chatmaild filtermail`, and local delivery to
/// Dovecot over LMTP.
public struct Postfix: Component {
    public let name = "postfix"
    public init() {}

    public static let mainCF = "/etc/postfix/main.cf"
    public static let masterCF = "/etc/postfix/master.cf"
    public static let tlsPolicyMap = "/etc/postfix/smtp_tls_policy_map"
    /// The unit that runs Postfix's master: on Debian 12 the instance
    /// postfix@- (postfix.service is a one-shot wrapper that stays "active
    /// (exited)" when the master dies); on Debian 13 postfix.service itself
    /// (postfix@- is then an unused instance template).
    public static func masterUnit(_ context: DeployContext) -> String {
        context.debianRelease == "12" ? "postfix@-.service" : "postfix.service"
    }
    static func dropInDir(_ context: DeployContext) -> String {
        context.debianRelease == "12" ? "/etc/systemd/system/postfix@.service.d" : "/etc/systemd/system/postfix.service.d"
    }

    /// Postfix checks the staged main.cf and master.cf together: the staging
    /// directory holds copies of the other files of /etc/postfix. postconf
    /// names the bad line (`postfix check` only logs to syslog); warnings
    /// (unknown parameters, typos) fail the deploy too.
    public static let validate = """
        o=$(postconf -c {dir} -n 2>&1 >/dev/null && postconf -c {dir} -M 2>&1 >/dev/null) || { echo "$o"; exit 1; }; \
        [ -z "$o" ] || { echo "$o"; exit 1; }; postfix -c {dir} check
        """

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let c = context.config
        let main = try Self.renderMain(c)
        let master = try Self.renderMaster(c)
        let maps = ["login_map", "submission_header_cleanup", "lmtp_header_cleanup", "smtp_tls_policy_map"]
        let mapFiles = try maps.map { File("/etc/postfix/\($0)", text: try Templates.text("postfix/\($0)")) }
        let dropIn = try Templates.text("postfix/10_restart.conf")
        let mail = !context.disableMail
        let dropInDir = Self.dropInDir(context)
        // the other release's drop-in: a host upgraded from Debian 12 has it
        let otherDir = context.debianRelease == "12" ? "/etc/systemd/system/postfix.service.d"
            : "/etc/systemd/system/postfix@.service.d"
        let sandbox = DaemonSandbox.postfix(masterUnit: Self.masterUnit(context))
        let sandboxPath = dropInDir + "/" + DaemonSandbox.fileName
        let sandboxText = try sandbox.render()
        return Manifest {
            Package("postfix")
            // Postfix reaches the OpenDKIM milter socket through this group
            // (declared by the OpenDKIM component).
            SystemUser("postfix", extraGroups: c.isIPv4Relay ? [] : ["opendkim"])
            File(Self.mainCF, text: main, validate: Self.validate)
            File(Self.masterCF, text: master, validate: Self.validate)
            mapFiles
            GuardedCommand("postmap smtp_tls_policy_map", "postmap \(Self.tlsPolicyMap)",
                           onChangeOf: [Self.tlsPolicyMap])
            Directory(dropInDir)
            File(dropInDir + "/10_restart.conf", text: dropIn)
            // In the template's folder on Debian 12, so postfix@- gets it.
            File(sandboxPath, text: sandboxText)
            Absent(otherDir + "/10_restart.conf")
            Absent(otherDir + "/" + DaemonSandbox.fileName)
            Service("postfix", enabled: mail, running: mail,
                    restartOn: [Self.mainCF, Self.masterCF] + maps.map { "/etc/postfix/\($0)" } + ["postfix", sandboxPath])
        }
    }

    static func renderMain(_ c: ChatmailConfig) throws -> String {
        let values: [String: Any] = [
            "mailDomain": c.mailDomain,
            "myhostname": c.postfixMyhostname,
            "tlsCert": c.tlsCertPath,
            "tlsKey": c.tlsKeyPath,
            "mynetworks": c.disableIPv6 ? "127.0.0.0/8" : "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128",
            "inetProtocols": c.disableIPv6 ? "ipv4" : "all",
            "maxMessageSize": c.maxMessageSize,
            "dkim": !c.isIPv4Relay,
        ]
        return try Templates.render("postfix/main.cf.mustache", values)
    }

    static func renderMaster(_ c: ChatmailConfig) throws -> String {
        let values: [String: Any] = [
            "filtermailOutgoingPort": c.filtermailSMTPPort,
            "filtermailIncomingPort": c.filtermailSMTPPortIncoming,
            "reinjectPort": c.postfixReinjectPort,
            "reinjectIncomingPort": c.postfixReinjectPortIncoming,
            "maxSmtpConnections": c.maxSmtpConnections,
            "clientConnectionLimit": c.maxSmtpConnections / 5,
            "dkim": !c.isIPv4Relay,
        ]
        return try Templates.render("postfix/master.cf.mustache", values)
    }

    /// The unit of the master process (`masterUnit`), besides postfix.service.
    public func statusUnits(_ context: DeployContext) -> [String] {
        let unit = Self.masterUnit(context)
        return context.disableMail || unit == "postfix.service" ? [] : [unit]
    }

    public func listeners(_ context: DeployContext) -> [Listener] {
        if context.disableMail { return [] }
        let c = context.config
        // The master process holds every smtpd socket.
        return [
            Listener(25, process: "master", purpose: "SMTP"),
            Listener(587, process: "master", purpose: "submission"),
            Listener(465, process: "master", purpose: "submissions"),
            Listener(c.postfixReinjectPort, process: "master", purpose: "reinjection of outgoing mail"),
            Listener(c.postfixReinjectPortIncoming, process: "master", purpose: "reinjection of incoming mail"),
        ]
    }
}
