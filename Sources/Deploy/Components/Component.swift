import Engine

/// One part of the relay (Postfix, Dovecot, ...). Components are applied in
/// the order given, which is also the order of their restarts. A manifest is
/// computed purely from the deploy context: no host access, no side effects.
public protocol Component: Sendable {
    var name: String { get }
    func manifest(_ context: DeployContext) throws -> Manifest
    /// The sockets its running services listen on with this context;
    /// `cmdeploy status` checks them. Declared next to the config that
    /// opens them, so the list follows the config.
    func listeners(_ context: DeployContext) -> [Listener]
    /// Units that must be active besides its running services (for `status`).
    func statusUnits(_ context: DeployContext) -> [String]
}

extension Component {
    public func listeners(_ context: DeployContext) -> [Listener] { [] }
    public func statusUnits(_ context: DeployContext) -> [String] { [] }
}

extension DesiredState {
    public init(components: [any Component], context: DeployContext) throws {
        try self.init(components.map { ($0.name, try $0.manifest(context)) })
    }
}
