import Engine
import Remote
/// OpenDKIM signs mail from our users (the ORIGINATING re-inject) and
/// bounces, and verifies incoming mail: it must carry a valid signature of
/// its From: domain, else Postfix refuses it with `554 5.7.1 No valid DKIM
/// signature found`. (The Python relay later moved verification into its
/// filtermail; chatmaild filtermail does not verify DKIM, so the relay keeps
/// the OpenDKIM policy scripts.) Not used for IPv4 relays.
public struct OpenDKIM: Component {
    public let name = "opendkim"
    public init() {}

    public static let privateKey = "/etc/dkimkeys/opendkim.private"
    public static let conf = "/etc/opendkim.conf"
    /// libunbound settings for OpenDKIM's key lookups, with dns_forwarders only.
    public static let resolverConf = "/etc/opendkim/resolver.conf"
    /// Serializes libunbound's config parsing inside OpenDKIM (LD_PRELOAD),
    /// with dns_forwarders only. Built by scripts/release from
    /// Sources/UnboundConfigLock/ub_config_lock.c and appended to chatmaild.
    public static let configLockPath = "/usr/local/lib/libub-config-lock.so"
    public static let configLockName = "libub-config-lock.so"
    /// One milter session (a message to sign); the health timer and
    /// `cmdeploy status` run it.
    public static let probePath = "/usr/local/sbin/opendkim-probe"
    static let healthPath = "/usr/local/sbin/opendkim-health"

    /// `opendkim -n` checks every setting, but it opens the key and tables
    /// (not there yet on a first deploy) and Debian's build crashes on it
    /// when policy scripts are configured. So it checks a copy without
    /// those lines; the file paths themselves are fixed.
    public static let validate = """
        t=$(mktemp) && grep -Ev '^(ScreenPolicyScript|FinalPolicyScript|KeyTable|SigningTable|KeyFile|Selector|Domain|ResolverConfiguration)[[:space:]]' {file} >"$t"; \
        opendkim -n -x "$t"; r=$?; rm -f "$t"; exit $r
        """

    public func manifest(_ context: DeployContext) throws -> Manifest {
        let config = context.config
        let forwarded = !config.dnsForwarders.isEmpty
        let zones = config.dnsUnsignedZones.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }
        let values: [String: Any] = ["domain": config.mailDomainBare, "hasForwarders": forwarded,
                                     "unsignedZones": zones]
        let conf = try Templates.render("opendkim/opendkim.conf.mustache", values)
        let resolver = try Templates.render("opendkim/resolver.conf.mustache", values)
        let keyTable = try Templates.render("opendkim/KeyTable.mustache", values)
        let signingTable = try Templates.render("opendkim/SigningTable.mustache", values)
        let screen = try Templates.text("opendkim/screen.lua")
        let final = try Templates.text("opendkim/final.lua")
        let dropIn = try Templates.text("opendkim/10-prevent-memory-leak.conf")
        let dropInPath = "/etc/systemd/system/opendkim.service.d/10-prevent-memory-leak.conf"
        let lockDropIn = try Templates.text("opendkim/20-ub-config-lock.conf")
        let lockDropInPath = "/etc/systemd/system/opendkim.service.d/20-ub-config-lock.conf"
        let probe = try Templates.render("opendkim/opendkim-probe.mustache", values)
        let health = try Templates.text("opendkim/opendkim-health")
        let healthUnit = try Templates.text("opendkim/opendkim-health.service")
        let healthTimer = try Templates.text("opendkim/opendkim-health.timer")
        let timerPath = "/etc/systemd/system/opendkim-health.timer"
        // OpenDKIM (2.11) reads ResolverConfiguration into a fresh libunbound
        // context for every message, from concurrent threads, while
        // libunbound's config parser is process-wide: without the lock,
        // load makes it defer every message or crash (issue #16).
        var configLock: LocalFile?
        if forwarded {
            guard let lock = context.unboundConfigLock else {
                throw DeployFailure("""
                    dns_forwarders needs \(Self.configLockName) for OpenDKIM: scripts/release appends it \
                    to chatmaild; \(context.chatmaild?.path ?? "chatmaild") carries none for its machine \
                    and has none beside it
                    """)
            }
            configLock = lock
        }
        let sandbox = DaemonSandbox.opendkim
        let sandboxText = try sandbox.render()
        let files = [Self.conf, "/etc/dkimkeys/KeyTable", "/etc/dkimkeys/SigningTable",
                     "/etc/opendkim/screen.lua", "/etc/opendkim/final.lua", dropInPath, Self.resolverConf,
                     lockDropInPath, Self.configLockPath, sandbox.path]
        let domain = shellQuote(context.config.mailDomainBare)
        return Manifest {
            SystemGroup("opendkim")
            SystemUser("opendkim")  // the package makes it; declared so Postfix can join its group
            Package("opendkim")
            Package("opendkim-tools")
            Package("dns-root-data")  // TrustAnchorFile /usr/share/dns/root.key
            File(Self.conf, text: conf, validate: Self.validate)
            Directory("/etc/opendkim", owner: "opendkim", mode: 0o750)
            File("/etc/opendkim/screen.lua", text: screen)
            File("/etc/opendkim/final.lua", text: final)
            if let lock = configLock {
                File(Self.resolverConf, text: resolver)
                File(Self.configLockPath, content: lock.content, mode: 0o644)
                File(lockDropInPath, text: lockDropIn)
            } else {
                Absent(Self.resolverConf)
                Absent(lockDropInPath)
                Absent(Self.configLockPath)
            }
            Directory("/etc/dkimkeys", owner: "opendkim", mode: 0o700)
            File("/etc/dkimkeys/KeyTable", text: keyTable, owner: "opendkim")
            File("/etc/dkimkeys/SigningTable", text: signingTable, owner: "opendkim")
            Directory("/var/spool/postfix/opendkim", owner: "opendkim", mode: 0o750)
            Directory("/etc/systemd/system/opendkim.service.d")
            File(dropInPath, text: dropIn)
            File(sandbox.path, text: sandboxText)
            // The key is made once and never replaced: its public half is in DNS.
            GuardedCommand("generate DKIM key",
                           "runuser -u opendkim -- /usr/sbin/opendkim-genkey -D /etc/dkimkeys -d \(domain) -s opendkim"
                               + " && chown opendkim:opendkim \(Self.privateKey)",
                           unless: "test -f \(Self.privateKey)")
            Service("opendkim", restartOn: files + ["opendkim"])
            // A milter can be up and still defer every message: the timer
            // probes it each minute and restarts it when it fails.
            File(Self.probePath, text: probe, mode: 0o755)
            File(Self.healthPath, text: health, mode: 0o755)
            File("/etc/systemd/system/opendkim-health.service", text: healthUnit)
            File(timerPath, text: healthTimer)
            Service("opendkim-health.timer", restartOn: [timerPath])
        }
    }
}
