import Support
/// The Host for `--ssh-host`: this machine for "localhost" and "@local",
/// otherwise an SSH connection (host key checked, logged in).
public func openHost(_ target: String, options: SSHOptions = SSHOptions()) throws -> Host {
    if LocalHost.isLocal(target) { return LocalHost() }
    return try SSHHost(target: target, options: options)
}
