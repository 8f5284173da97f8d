import Foundation
import ChatmailConfig
import Engine
import Remote

/// Dovecot: IMAP for Delta Chat clients and LMTP delivery from Postfix.
/// Accounts, last-login and IMAP METADATA are answered by chatmaild over
/// its dict sockets. By default the relay runs Dovecot builds without the
/// 500 ms IDLE notification delay (`UpstreamPins.dovecot`, or the .deb files
/// chatmail.ini lists), pinned against apt; `dovecot_packages = debian`
/// chooses Debian's own packages (docs/mail.md).
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
        let sandbox = DaemonSandbox.dovecot(context.config)
        let statics = try files.map { File($0.path, text: try Templates.text($0.template)) }
            + [File(sandbox.path, text: try sandbox.render())]
        let sysctl = try Templates.text("dovecot/sysctl.conf")
        let mail = !context.disableMail
        try Self.checkPackages(context)
        let debs = try Self.debFiles(context)
        // What restarts Dovecot besides its files: the packages, or the .deb files.
        let installed = debs.isEmpty ? ["dovecot-imapd", "dovecot-lmtpd"] : debs.map(\.path)
        return Manifest {
            if debs.isEmpty {
                Package("dovecot-imapd")
                Package("dovecot-lmtpd")
                Self.returnToDebian
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
                    restartOn: [Self.conf, Self.pinPath, sandbox.path] + files.map(\.path) + installed)
        }
    }

    static let debDir = "/var/cache/cmdeploy/dovecot"
    static let pinPath = "/etc/apt/preferences.d/pin-dovecot"

    /// The patched build's .deb files as host paths (the URL's file name,
    /// percent-decoded: `%2B` is the `+` of `2.3.21+dfsg1`); empty with
    /// `dovecot_packages = debian`. chatmail.ini's `dovecot_debs` replace the
    /// pins for the relay's architecture.
    static func debFiles(_ context: DeployContext) throws -> [(download: PinnedDownload, path: String)] {
        let c = context.config
        guard c.dovecotPackages == .patched else { return [] }
        let debs: [PinnedDownload]
        if !c.dovecotDebs.isEmpty {
            debs = c.dovecotDebs
        } else if let build = patchedBuild(context) {
            debs = build.debs
        } else {
            throw ManifestError(message: """
                dovecot: no patched Dovecot build for Debian \(context.debianRelease) on \(context.architecture) \
                is pinned; set dovecot_debs (its .deb files with their sha256) in \(c.path)\
                \(context.debianRelease == "12" ? " or dovecot_packages = debian" : "")
                """)
        }
        return try debs.map { deb in
            // chatmail.ini's are checked when it is read; the pins are plain names
            guard let name = ChatmailConfig.debFileName(deb.url) else {
                throw ManifestError(message: "dovecot: \(deb.url) does not end in a Debian package file name")
            }
            return (deb, debDir + "/" + name)
        }
    }

    /// The pinned build for the relay's architecture and Debian release.
    static func patchedBuild(_ context: DeployContext) -> UpstreamPins.DovecotBuild? {
        let arch = UpstreamPins.debianArchitecture(context.architecture)
        return UpstreamPins.dovecot.first { $0.architecture == arch && $0.debianRelease == context.debianRelease }
    }

    /// Debian 13 ships Dovecot 2.4, whose configuration language differs and
    /// which dropped the dict passdb that creates accounts on first login:
    /// on 13 a relay runs the patched 2.3 builds (docs/mail.md).
    static func checkPackages(_ context: DeployContext) throws {
        let c = context.config
        guard c.dovecotPackages == .debian, context.debianRelease != "12" else { return }
        throw ManifestError(message: """
            dovecot: dovecot_packages = debian is for Debian 12 only: Debian \(context.debianRelease)'s own \
            Dovecot is 2.4, which has no dict passdb for creating accounts on first login. Remove the line \
            from \(c.path) to install the patched Dovecot 2.3 builds for Debian \(context.debianRelease).
            """)
    }

    /// The .deb route: download with sha256 checks, install with dpkg (apt
    /// resolves the libraries they need), and pin dovecot-* so apt's upgrades
    /// do not swap Debian's build back in. A relay on Debian's Dovecot is
    /// upgraded in place: dpkg replaces the packages, the restart follows.
    static func debResources(_ debs: [(download: PinnedDownload, path: String)]) -> [Resource] {
        let files = debs.map { shellQuote($0.path) }.joined(separator: " ")
        let dpkg = "dpkg --force-confdef --force-confold -i \(files)"
        // Installed when every file's package is installed at the file's version.
        let installed = "for f in \(files); do p=$(dpkg-deb -f \"$f\" Package) && v=$(dpkg-deb -f \"$f\" Version) && "
            + "[ \"$(dpkg-query -W -f='${Version}' \"$p\" 2>/dev/null)\" = \"$v\" ] || exit 1; done"
        // (a download creates its directory)
        var r: [Resource] = debs.map {
            .download(Download($0.download.url, mirrors: $0.download.mirrors, sha256: $0.download.sha256,
                               to: $0.path, mode: 0o644))
        }
        // The pin goes in first, before dpkg or apt run: on Debian 13 apt's
        // own Dovecot (2.4) sorts above these builds, and an `apt-get
        // --fix-broken install` (here, or the repair after an interrupted
        // run) would otherwise "fix" the half-installed 2.3 by upgrading to
        // it. It lets these builds' versions stay, so that the same apt run
        // installs their libraries instead of removing them.
        let text = pinText(debs.map(\.download))
        let pin = "mkdir -p /etc/apt/preferences.d && printf %s \(shellQuote(text)) >\(pinPath)"
        r.append(.command(GuardedCommand(
            "install Dovecot .deb files",
            "export DEBIAN_FRONTEND=noninteractive; \(pin) || exit 1; \(dpkg) || { apt-get -y --fix-broken install && \(dpkg); }",
            unless: "sh -c \(shellQuote(installed))", stage: .install)))
        r.append(.file(File(pinPath, text: text)))
        return r
    }

    /// apt preferences that keep every other version of dovecot-* away:
    /// first a stanza per version of the given .deb files (read from their
    /// Debian file names, `PKG_VERSION_ARCH.deb`, which leave out the epoch)
    /// at the priority of an installed package, then all versions at -1.
    /// apt takes the first stanza that matches a version.
    static func pinText(_ debs: [PinnedDownload]) -> String {
        var versions: [String] = []
        for deb in debs {
            guard let name = ChatmailConfig.debFileName(deb.url) else { continue }
            let parts = name.split(separator: "_")
            guard parts.count == 3, !versions.contains(String(parts[1])) else { continue }
            versions.append(String(parts[1]))
        }
        let keep = versions.map { "Package: dovecot-*\nPin: version *\($0)\nPin-Priority: 100\n\n" }.joined()
        return keep + "Package: dovecot-*\nPin: version *\nPin-Priority: -1\n"
    }

    /// `dovecot_packages = debian` on a relay that runs other builds (the
    /// patched ones, from this tool or the Python one): apt never downgrades
    /// by itself, so this installs the newest version apt's sources offer.
    /// It runs only when the installed dovecot-core is not one of those.
    static let returnToDebian = GuardedCommand(
        "install Debian's Dovecot packages",
        """
        rm -f \(pinPath) || exit 1
        apt-get -q update || exit 1
        v=$(apt-cache madison dovecot-core | awk -F'|' 'NR == 1 { gsub(/ /, "", $2); print $2 }')
        [ -n "$v" ] || { echo "apt's sources offer no dovecot-core"; exit 1; }
        DEBIAN_FRONTEND=noninteractive apt-get -q -y --allow-downgrades -o Dpkg::Options::=--force-confdef \
            -o Dpkg::Options::=--force-confold install dovecot-core="$v" dovecot-imapd="$v" dovecot-lmtpd="$v"
        """,
        unless: """
            v=$(dpkg-query -W -f='${Version}' dovecot-core 2>/dev/null) || exit 0; \
            apt-cache madison dovecot-core | awk -F'|' -v v="$v" '{ gsub(/ /, "", $2) } $2 == v { f = 1 } END { exit !f }'
            """,
        stage: .install)

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
