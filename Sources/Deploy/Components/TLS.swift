import ChatmailConfig
import Engine
import Remote

/// The relay's certificate, by `config.tlsMode`: acmetool, a self-signed
/// certificate, or files managed outside.
/// The certificate paths themselves come from the config, so Postfix,
/// Dovecot and nginx agree on them.
public struct TLS: Component {
    public let name = "tls"
    public init() {}

    /// The names the certificate covers.
    static func names(_ config: ChatmailConfig) -> [String] {
        let bare = config.mailDomainBare
        return [bare, "mta-sts." + bare, "www." + bare]
    }

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        switch config.tlsMode {
        case .acme: return try acme(config)
        case .selfSigned: return selfSigned(config)
        case .external: return try external(config)
        }
    }

    /// A certificate that is valid for at least this long is left alone;
    /// acmetool renews well before (30 days ahead), so the reconcile command
    /// runs on a deploy only for a missing, stale or failed certificate.
    static let renewalMarginSeconds = 7 * 24 * 3600

    func acme(_ config: ChatmailConfig) throws -> Manifest {
        let bare = config.mailDomainBare
        let desired = "/var/lib/acme/desired/\(bare)"
        let conf = ["/var/lib/acme/conf/responses", "/var/lib/acme/conf/target", desired]
        let units = "/etc/systemd/system/"
        let responses = try Templates.render("acmetool/responses.mustache", ["email": config.acmeEmail])
        let target = try Templates.render("acmetool/target.mustache", ["directoryURL": config.acmeDirectoryURL])
        let desiredText = try Templates.render("acmetool/desired.mustache", ["names": TLS.names(config)])
        let cert = shellQuote(config.tlsCertPath)
        let extraDesired = "/var/lib/acme/desired/\(bare)-*"
        let hook = try Templates.text("acmetool/nginx.hook")
        let redirector = try Templates.render("acmetool/acmetool-redirector.service.mustache",
                                              ["sandbox": try Sandbox.redirector.render()])
        let reconcile = try Templates.text("acmetool/acmetool-reconcile.service")
        let timer = try Templates.text("acmetool/acmetool-reconcile.timer")
        return Manifest {
            Package("acmetool")
            Package("openssl")
            Package("curl")
            // acmetool's own cron job would race the timer below.
            Absent("/etc/cron.d/acmetool")
            Absent("/usr/lib/acme/hooks/nginx")
            File("/etc/acme/hooks/nginx", text: hook, mode: 0o755)
            File(conf[0], text: responses)
            File(conf[1], text: target)
            File(conf[2], text: desiredText)
            // Names acmetool wrote on its own (`acmetool want`) would request
            // more certificates than the relay uses.
            GuardedCommand("remove extra acmetool desired files", "rm -f \(extraDesired)",
                           unless: "! ls \(extraDesired) >/dev/null 2>&1")
            File(units + "acmetool-redirector.service", text: redirector)
            File(units + "acmetool-reconcile.service", text: reconcile)
            File(units + "acmetool-reconcile.timer", text: timer)
            // In configure, not activate: nginx must find the certificate when it
            // starts. On a fresh host nothing holds port 80 yet, so acmetool
            // answers the challenge itself; later nginx serves it from the webroot.
            GuardedCommand("acmetool reconcile", TLS.reconcileCommand(config),
                           unless: "openssl x509 -noout -checkend \(TLS.renewalMarginSeconds) -in \(cert)",
                           onChangeOf: conf)
            Service("acmetool-redirector", restartOn: ["acmetool", units + "acmetool-redirector.service"])
            Service("acmetool-reconcile", enabled: false, running: false)
            Service("acmetool-reconcile.timer", restartOn: [units + "acmetool-reconcile.timer"])
        }
    }

    /// acmetool asks to accept the CA's terms of service when it registers
    /// an account, and in batch mode only a response file answers. The
    /// managed responses file accepts Let's Encrypt's current terms, as the
    /// Python relay does; for another `acme_directory_url` the terms that
    /// directory announces are accepted too, in a copy used for this run.
    static func reconcileCommand(_ config: ChatmailConfig) -> String {
        "r=$(mktemp) && cp /var/lib/acme/conf/responses \"$r\" || exit 1; "
            + "tos=$(curl -fsS --max-time 30 \(shellQuote(config.acmeDirectoryURL))"
            + " | sed -n 's/.*\"termsOfService\": *\"\\([^\"]*\\)\".*/\\1/p' | head -n 1); "
            + "if [ -n \"$tos\" ] && ! grep -qF \"\\\"acme-agreement:$tos\\\"\" \"$r\"; then "
            + "printf '\"acme-agreement:%s\": true\\n' \"$tos\" >>\"$r\"; fi; "
            + "true 2>/dev/null >&3 || exec 3>/dev/null; "
            + "{ acmetool --batch --xlog.severity=debug --response-file=\"$r\" reconcile 2>&1; echo $? >\"$r.rc\"; } "
            + "| { tee /dev/fd/4 | sed -u -n \(shellQuote(acmeProgress)) >&3; } 4>&1; "
            + "rc=$(cat \"$r.rc\"); rm -f \"$r\" \"$r.rc\"; exit \"${rc:-1}\""
    }

    /// The ACME order's state for the deploy's progress line, from
    /// acmetool's debug log (storageops' messages), as `@@progress` markers:
    /// the apply script passes a command's fd 3 on (ApplyScript.commandScript).
    static let acmeProgress = [
        (#": requesting certificate"#, "requesting a certificate"),
        (#": ordering certificate"#, "order placed; waiting for the CA to validate the relay's names"),
        (#"downloading certificate "#, "order valid; downloading the certificate"),
        (#"reconciliation complete, 0 errors"#, "certificate installed"),
    ].map { pattern, text in "/\(pattern)/{s/.*/@@progress\tcertificate\t\t\(text)/p}" }.joined(separator: ";")

    /// The openssl call of the Python relay: never renewed (100 years). An
    /// IPv4 relay's certificate names its address as an IP entry (clients
    /// check an address against those, never against DNS names).
    static func selfSignedCommand(_ config: ChatmailConfig) -> ShellScript {
        let bare = config.mailDomainBare
        let names = config.ipv4Relay.map { "IP:\($0)" } ?? "DNS:\(bare),DNS:www.\(bare),DNS:mta-sts.\(bare)"
        return "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 36500"
            + " -keyout \(config.tlsKeyPath) -out \(config.tlsCertPath) -subj \("/CN=" + bare)"
            + " -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth,clientAuth"
            + " -addext \("subjectAltName=" + names)"
    }

    func selfSigned(_ config: ChatmailConfig) -> Manifest {
        Manifest {
            Package("openssl")
            GuardedCommand("self-signed certificate", TLS.selfSignedCommand(config),
                           unless: "test -f \(config.tlsCertPath)")
        }
    }

    func external(_ config: ChatmailConfig) throws -> Manifest {
        // Checked in the probe: a missing file refuses the deploy before
        // anything is installed, naming each missing file.
        let required = [("certificate", config.tlsCertPath), ("key", config.tlsKeyPath)].map { kind, path in
            GuardedCommand.requirement(
                "external TLS \(kind) \(path)", check: "test -r \(path)",
                refusal: "External TLS \(kind) not found on the relay: \(path) (tls_external_cert_and_key in "
                    + "\(config.path)). Copy it there, or choose another TLS mode, and run again.")
        }
        let pathUnit = "/etc/systemd/system/tls-cert-reload.path"
        let pathText = try Templates.render("external/tls-cert-reload.path.mustache", ["certPath": config.tlsCertPath])
        let serviceText = try Templates.text("external/tls-cert-reload.service")
        return Manifest {
            required
            File(pathUnit, text: pathText)
            File("/etc/systemd/system/tls-cert-reload.service", text: serviceText)
            Service("tls-cert-reload.path", restartOn: [pathUnit])
        }
    }

    public func listeners(_ context: DeployContext) -> [Listener] {
        context.config.tlsMode == .acme ? [Listener(402, process: "acmetool", purpose: "ACME challenges")] : []
    }
}
