import ChatmailConfig
import Engine
import Remote

/// `cmdeploy run` as one call: the checks before anything changes (privacy
/// contacts, the host's system, DNS, binary architecture, ports, mtail address), the context
/// and components, then the engine. It reports what happens as events; the
/// CLI only prints them.
public struct RelayDeployment {
    public struct Options: Sendable {
        public var dryRun = false
        /// Probe and show the content changes of config files.
        public var withContent = false
        public var disableMail = false
        public var websiteOnly = false
        public var checkDNS = true
        public var stages = Set(Stage.allCases)
        /// The chatmaild binary to install (nil: the default places).
        public var chatmaildBinary: String?
        public init() {}
    }

    public enum Event {
        /// Something the operator should read; `warning` marks a degraded deploy.
        case note(String, warning: Bool)
        /// The plan, once the host was probed and the checks passed.
        case plan(Plan, DesiredState, ProbeResult)
        /// Progress from the engine.
        case engine(EngineEvent)
    }

    /// DNS is not ready for the relay: one line per problem.
    public struct DNSNotReady: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    public struct Outcome: Sendable {
        public var summary: RunSummary
        /// What the closing lines report (DeployClosing), read after the apply.
        public var closing: DeployClosing.Facts
    }

    public let config: ChatmailConfig
    public let options: Options

    public init(config: ChatmailConfig, options: Options) {
        self.config = config
        self.options = options
    }

    public func run(on host: any Host, onEvent: @escaping (Event) -> Void) throws -> Outcome {
        let config = self.config, options = self.options
        try Deployment.preflight(config)
        // First contact: a system other than Debian 12 or 13 is refused
        // before anything (the DNS check may install dig) happens on it.
        let system = try HostSystem.read(on: host)
        let release = try system.requireSupported(hostName: host.name)
        var context = DeployContext(
            config: config, disableMail: options.disableMail,
            chatmaild: options.websiteOnly ? nil : try Deployment.locateChatmaild(options.chatmaildBinary),
            website: try Deployment.buildWebsite(config),
            version: Deployment.versionStamp())
        context.websiteOnly = options.websiteOnly
        context.debianRelease = release
        context.unboundConfigLock = context.chatmaild.flatMap(Deployment.locateUnboundConfigLock(beside:))
        for binary in [context.chatmaild, context.unboundConfigLock].compactMap({ $0 }) {
            try system.checkGlibc(of: binary, hostName: host.name)
        }
        var dnsBefore: RelayDNSProbe?
        // The same lookups as `cmdeploy dns`, in one round trip, before
        // anything is changed. IPv4 relays have no DNS to check.
        if options.checkDNS && !config.isIPv4Relay {
            let probe: RelayDNSProbe
            do {
                probe = try RelayDNSProbe.collect(config, on: host, installDig: !options.dryRun)
            } catch {
                throw DeployFailure("DNS lookup on \(host.name) failed: \(error)")
            }
            if probe.digMissing {
                // A dry run leaves the host as it is, bind9-dnsutils included.
                onEvent(.note("DNS not checked: dig is not installed on \(host.name) yet (the real run installs bind9-dnsutils and checks)", warning: true))
            } else if let problems = DNSPreCheck.problems(config, probe: probe) {
                throw DNSNotReady(problems: problems)
            }
            if !probe.digMissing { dnsBefore = probe }
        }
        if let note = Website.skipNote(context) { onEvent(.note(note, warning: false)) }
        for note in Relay.omissions(for: context) { onEvent(.note(note, warning: true)) }
        let desired = try DesiredState(components: Relay.components(for: context), context: context)
        let engine = Engine(host: host, desired: desired, onEvent: { onEvent(.engine($0)) })
        let summary = try engine.run(dryRun: options.dryRun, stages: options.stages, withContent: options.withContent) { plan, probe in
            // Checks that need the probed facts, before anything changes.
            for binary in [context.chatmaild, context.unboundConfigLock].compactMap({ $0 }) {
                try Deployment.checkArchitecture(binary, hostArch: probe.facts.arch, hostName: host.name)
            }
            if !options.websiteOnly {
                try Deployment.checkMtailAddress(config, hostAddresses: probe.facts.ipv4Addresses, hostName: host.name)
                let conflicts = PortCheck.conflicts(context, listeners: probe.facts.listeners, host: host.name)
                if !conflicts.isEmpty { throw DeployFailure(conflicts.joined(separator: "\n")) }
            }
            onEvent(.plan(plan, desired, probe))
        }
        return Outcome(summary: summary, closing: closingFacts(on: host, applied: summary.applied, before: dnsBefore))
    }

    /// The DNS view for the closing lines: after a deploy that changed
    /// something (a first deploy makes the ACME account, the certificate and
    /// the DKIM key) looked up again; otherwise the pre-check's is still true.
    func closingFacts(on host: any Host, applied: Bool, before: RelayDNSProbe?) -> DeployClosing.Facts {
        guard !options.dryRun, !options.websiteOnly, options.checkDNS, !config.isIPv4Relay else { return .init() }
        if !applied, let before { return .init(probe: before) }
        do {
            return .init(probe: try RelayDNSProbe.collect(config, on: host, installDig: false))
        } catch {
            return .init(probeProblem: "\(error)")
        }
    }
}
