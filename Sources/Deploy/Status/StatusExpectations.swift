import ChatmailConfig
import Engine

/// What a healthy relay deployed from this chatmail.ini runs: derived from
/// the same components `cmdeploy run` deploys, so the units and ports
/// `status` checks follow the config (TLS mode, mtail, iroh, TURN ...).
public struct RelayExpectations: Sendable, Equatable {
    public struct ExpectedUnit: Sendable, Equatable {
        public var unit: String
        public var component: String
    }
    public struct ExpectedListener: Sendable, Equatable {
        public var listener: Listener
        public var component: String
    }

    /// Units that must be active.
    public var running: [ExpectedUnit]
    /// Units the deploy keeps stopped (one-shot jobs, retired units): only a
    /// failed state is worth a word.
    public var stopped: [ExpectedUnit]
    public var listeners: [ExpectedListener]

    /// Every unit the status script asks systemd about.
    public var allUnits: [String] { (running + stopped).map(\.unit) }

    public init(running: [ExpectedUnit], stopped: [ExpectedUnit], listeners: [ExpectedListener]) {
        self.running = running
        self.stopped = stopped
        self.listeners = listeners
    }

    /// The expectations for `config` on Debian `debianRelease`. `disableMail`
    /// matches a relay deployed with `cmdeploy run --disable-mail`.
    public static func derive(_ config: ChatmailConfig, disableMail: Bool = false,
                              debianRelease: String = "12") throws -> RelayExpectations {
        // Manifests need a chatmaild binary to declare its upload; which
        // units and ports there are does not depend on its bytes.
        var context = DeployContext(config: config, disableMail: disableMail,
                                    chatmaild: LocalFile(path: "(status: not uploaded)", content: []))
        context.debianRelease = debianRelease
        context.unboundConfigLock = LocalFile(path: "(status: not uploaded)", content: [])
        var running: [ExpectedUnit] = [], stopped: [ExpectedUnit] = [], listeners: [ExpectedListener] = []
        for component in Relay.components(for: context) {
            for resource in try component.manifest(context).resources {
                guard case .service(let service) = resource else { continue }
                let unit = ExpectedUnit(unit: service.unit, component: component.name)
                if service.running { running.append(unit) } else { stopped.append(unit) }
            }
            for unit in component.statusUnits(context) {
                running.append(ExpectedUnit(unit: unit, component: component.name))
            }
            for listener in component.listeners(context) {
                listeners.append(ExpectedListener(listener: listener, component: component.name))
            }
        }
        return RelayExpectations(running: running, stopped: stopped, listeners: listeners)
    }

    /// Every unit any supported release may need asked about: the probe
    /// runs before the host's release is known. A release chatmail.ini
    /// cannot be deployed to (dovecot_packages = debian on Debian 13) adds
    /// nothing; when no release can, the first one's error is the answer.
    public static func allUnits(_ config: ChatmailConfig) throws -> [String] {
        var seen = Set<String>(), units: [String] = [], firstError: (any Error)?
        for release in HostSystem.supported.map(\.versionID) {
            do {
                units += try derive(config, debianRelease: release).allUnits.filter { seen.insert($0).inserted }
            } catch {
                firstError = firstError ?? error
            }
        }
        if units.isEmpty, let firstError { throw firstError }
        return units
    }
}
