import Support
/// This machine as a Host (`--ssh-host localhost` or `@local`): commands run
/// through /bin/sh directly, for deploying from the relay itself.
public final class LocalHost: Host {
    public let name = "localhost"
    private var isClosed = false

    public init() {}

    /// The host names that mean "this machine, no SSH".
    public static func isLocal(_ target: String) -> Bool {
        target == "localhost" || target == "@local"
    }

    public func run(_ command: String, options: RunOptions) throws -> CommandResult {
        guard !isClosed else { throw RemoteError.closed(host: name) }
        return try runLocalProcess(command, options: options, hostName: name)
    }

    public func close() { isClosed = true }
}
