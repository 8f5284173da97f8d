import ChatmailConfig
import Engine

/// The relay's own DNS resolver, without negative caching, as on the Python relay.
/// Postfix checks DANE/DNSSEC and MTA-STS records, so it needs a validating
/// resolver on 127.0.0.1 rather than whatever the provider hands out.
struct Unbound: Component {
    let name = "unbound"
    static let confPath = "/etc/unbound/unbound.conf.d/chatmail.conf"
    /// Checks a staged chatmail.conf with a throwaway main config that
    /// includes only it (the live unbound.conf pulls in the live folder).
    static let validate =
        #"printf 'include: "%s"\n' {file} >{dir}/.cmdeploy-check.conf && unbound-checkconf {dir}/.cmdeploy-check.conf"#
    /// Where the resolver's fallback goes when no forwarders are configured.
    static let publicFallback = "9.9.9.9"

    func manifest(_ context: DeployContext) throws -> Manifest {
        let conf = try Self.renderConf(context.config)
        let resolv = Self.resolvConf(forwarders: context.config.dnsForwarders)
        let resolved = "systemd-resolved.service"
        let sandbox = DaemonSandbox.unbound
        let sandboxText = try sandbox.render()
        return Manifest {
            Package("unbound")
            // Trust anchor for DNSSEC; unbound's start helper copies it.
            Package("dns-root-data")
            // dig (Debian 13 has no dnsutils package; 12 has it as a transitional one)
            Package("bind9-dnsutils")
            Package("resolvconf", present: false)
            // A regular file: it replaces resolved's or resolvconf's symlink.
            File("/etc/resolv.conf", text: resolv)
            // resolved would hold port 53 and rewrite /etc/resolv.conf; a mask
            // (a link to /dev/null) keeps it off even if it gets installed.
            // Configure stage, after every download: with resolved gone, the
            // old resolv.conf (its stub) no longer answers.
            GuardedCommand(
                "mask \(resolved)",
                "systemctl stop \(resolved) >/dev/null 2>&1 || true; systemctl mask \(resolved)",
                unless: "[ \"$(readlink /etc/systemd/system/\(resolved))\" = /dev/null ]",
                stage: .configure)
            Directory("/etc/unbound/unbound.conf.d")
            File(Self.confPath, text: conf, validate: Self.validate)
            // A unit that failed too often refuses to start until reset.
            GuardedCommand(
                "reset-failed unbound.service",
                "systemctl reset-failed unbound.service",
                unless: "! systemctl is-failed --quiet unbound.service",
                stage: .activate)
            Directory("/etc/systemd/system/unbound.service.d")
            File(sandbox.path, text: sandboxText)
            Service("unbound", restartOn: [Self.confPath, "unbound", sandbox.path])
            // Would point /etc/resolv.conf at unbound through resolvconf.
            Service("unbound-resolvconf", enabled: false, running: false)
        }
    }

    static func renderConf(_ config: ChatmailConfig) throws -> String {
        // Zones are written `test` or `test.` in chatmail.ini; unbound wants
        // the dot on local-zone and accepts either on domain-insecure.
        let zones = config.dnsUnsignedZones.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }
        return try Templates.render("unbound/chatmail.conf.mustache", [
            "disableIPv6": config.disableIPv6,
            "unsignedZones": zones,
            "hasForwarders": !config.dnsForwarders.isEmpty,
            "forwarders": config.dnsForwarders,
        ] as [String: Any])
    }

    /// unbound first. The fallback, for the moments unbound is down
    /// (restarts, upgrades), is Quad9 as in the Python relay; with
    /// forwarders it is those instead: they are the only DNS path such a
    /// network has, and they know its private zones. glibc reads at most
    /// three nameserver lines.
    static func resolvConf(forwarders: [String]) -> String {
        let fallback = forwarders.isEmpty ? [publicFallback] : Array(forwarders.prefix(2))
        return (["127.0.0.1"] + fallback).map { "nameserver \($0)\n" }.joined()
    }

    func listeners(_ context: DeployContext) -> [Listener] {
        [Listener(53, .udp, process: "unbound", purpose: "DNS resolver"), Listener(53, .tcp, process: "unbound", purpose: "DNS resolver")]
    }
}
