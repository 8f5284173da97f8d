import Foundation
import ChatmailConfig
import Engine
import Remote

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
        let debs = Self.debFiles(context.config)
        let packages = ["dovecot-imapd", "dovecot-lmtpd"]
        return Manifest {
            if debs.isEmpty {
                Package("dovecot-imapd")
                Package("dovecot-lmtpd")
                Absent(Self.pinPath)
            } else {
                Self.debResources(debs)
            }
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
                    restartOn: [Self.conf] + files.map(\.path) + packages + debs.map(\.path))
        }
    }

    static let debDir = "/var/cache/cmdeploy/dovecot"
    static let pinPath = "/etc/apt/preferences.d/pin-dovecot"

    /// dovecot_debs as host paths: the URL's file name, percent-decoded
    /// (`%2B` is the `+` of `2.3.21+dfsg1`).
    static func debFiles(_ c: ChatmailConfig) -> [(url: String, sha256: String, path: String)] {
        c.dovecotDebs.map { deb in
            let raw = deb.url.split(separator: "/").last.map(String.init) ?? "dovecot.deb"
            let name = (raw.removingPercentEncoding ?? raw).replacingOccurrences(of: "/", with: "_")
            return (deb.url, deb.sha256, debDir + "/" + name)
        }
    }

    /// The opt-in .deb route: download with sha256 checks, install with dpkg
    /// (apt resolves the libraries they need), and pin dovecot-* so apt's
    /// upgrades do not swap Debian's build back in.
    static func debResources(_ debs: [(url: String, sha256: String, path: String)]) -> [Resource] {
        let files = debs.map { shellQuote($0.path) }.joined(separator: " ")
        let dpkg = "dpkg --force-confdef --force-confold -i \(files)"
        // Installed when every file's package is installed at the file's version.
        let installed = "for f in \(files); do p=$(dpkg-deb -f \"$f\" Package) && v=$(dpkg-deb -f \"$f\" Version) && "
            + "[ \"$(dpkg-query -W -f='${Version}' \"$p\" 2>/dev/null)\" = \"$v\" ] || exit 1; done"
        // (a download creates its directory)
        var r: [Resource] = debs.map { .download(Download($0.url, sha256: $0.sha256, to: $0.path, mode: 0o644)) }
        r.append(.command(GuardedCommand(
            "install Dovecot .deb files",
            "export DEBIAN_FRONTEND=noninteractive; \(dpkg) || { apt-get -y --fix-broken install && \(dpkg); }",
            unless: "sh -c \(shellQuote(installed))", stage: .install)))
        r.append(.file(File(pinPath, text: "Package: dovecot-*\nPin: version *\nPin-Priority: -1\n")))
        return r
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
