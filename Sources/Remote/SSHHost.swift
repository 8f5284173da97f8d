import Support
import CLibSSH2
#if canImport(Glibc)
import Glibc
#endif

/// How to reach SSH hosts; the CLI fills this from its options and the environment.
public struct SSHOptions {
    /// An ssh_config file that replaces ~/.ssh/config and /etc/ssh/ssh_config (like `ssh -F`).
    public var configFile: String?
    /// Record the key of a host seen for the first time instead of refusing it.
    public var acceptNewHostKey = false
    /// Passphrase for encrypted key files (CMDEPLOY_SSH_PASSPHRASE); else asked on a terminal.
    public var passphrase: String?
    public var promptOnTerminal = true
    public var useAgent = true
    /// The agent's socket; nil means $SSH_AUTH_SOCK.
    public var agentSocket: String?
    /// The login user when neither `user@host` nor ssh_config's User says otherwise.
    public var defaultUser = "root"
    public var home = homeDirectory()
    public var globalKnownHostsFiles = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]
    /// Connect + handshake + login limit when ssh_config has no ConnectTimeout.
    public var connectTimeout: Double = 15
    /// Keepalive interval when ssh_config has no ServerAliveInterval; 0 turns keepalives off.
    public var serverAliveInterval: Double = 15
    /// Limit for the short protocol steps of a command (opening a channel, closing it).
    public var stepTimeout: Double = 60

    public init() {}
}

/// A relay reached over SSH with libssh2: one TCP connection and SSH session
/// for the whole run, one channel per command.
public final class SSHHost: Host {
    public let name: String
    public let config: SSHHostConfig
    public let user: String
    public let port: Int
    /// What logged us in: "ssh-agent key ssh-ed25519 SHA256:... (comment)" or "key file PATH".
    public let authenticatedWith: String
    /// Seconds spent on TCP connect, handshake, host key check and login.
    public let connectSeconds: Double
    private var session: SSHSession?
    private let options: SSHOptions

    /// Connects to `target` (an ssh_config alias or host name, optionally
    /// `user@host`), checks its host key and logs in.
    public convenience init(target: String, options: SSHOptions = SSHOptions()) throws {
        _ = ignoreSIGPIPE
        let started = monotonicSeconds()
        var alias = target
        var explicitUser: String? = nil
        if let at = target.lastIndex(of: "@"), at != target.startIndex {
            explicitUser = String(target[..<at])
            alias = String(target[target.index(after: at)...])
        }
        let reader = SSHConfigReader(home: options.home)
        if let file = options.configFile, access(reader.expandTilde(file), R_OK) != 0 {
            throw RemoteError.sshConfig(file: file, line: 0, message: "cannot read this ssh config file: \(String(cString: strerror(errno)))")
        }
        let config = try reader.resolve(alias, files: reader.defaultFiles(override: options.configFile))
        let user = explicitUser ?? config.user ?? options.defaultUser
        let port = config.port ?? 22
        let name = "\(user)@\(alias)" + (config.hostName != alias ? " (\(config.hostName))" : "") + (port != 22 ? " port \(port)" : "")

        let connectTimeout = config.connectTimeout ?? options.connectTimeout
        let deadline = Deadline(seconds: connectTimeout)
        let fd: Int32
        do {
            fd = try openTCP(host: config.hostName, port: port, deadline: deadline, label: name)
        } catch let RemoteError.resolveFailed(host, detail) where host != alias {
            throw RemoteError.resolveFailed(host: "\(host) (ssh_config HostName of \(alias))", detail: detail)
        }
        let session = try SSHSession(socket: fd, label: name)
        var authenticatedWith = ""
        let userFiles = Self.userKnownHostsFiles(config, options)
        let knownHosts = KnownHosts(files: userFiles + options.globalKnownHostsFiles,
                                    host: config.hostName, port: port)
        do {
            Self.preferKnownKeyTypes(session, knownHosts.knownKeyTypes)
            let rc = try session.retry(deadline: deadline) { libssh2_session_handshake(session.raw, fd) }
            guard rc == 0 else { throw RemoteError.handshakeFailed(host: name, detail: session.lastError) }
            try Self.verifyHostKey(session, knownHosts, name: name, config: config, port: port,
                                   recordFile: userFiles.first ?? options.home + "/.ssh/known_hosts", options: options)
            authenticatedWith = try SSHAuthenticator(session: session, user: user, config: config, options: options,
                                                     deadline: deadline).authenticate()
        } catch SSHSession.WaitFailure.deadline {
            throw RemoteError.connectFailed(
                host: name, detail: "no complete SSH login within \(formatSeconds(connectTimeout)) s (ConnectTimeout)")
        } catch let SSHSession.WaitFailure.lost(why) {
            throw RemoteError.connectionLost(host: name, command: nil, detail: why)
        }
        session.enableKeepalive(interval: config.serverAliveInterval ?? options.serverAliveInterval,
                                countMax: config.serverAliveCountMax ?? 3)
        self.init(session: session, name: name, config: config, user: user, port: port, options: options,
                  authenticatedWith: authenticatedWith, connectSeconds: monotonicSeconds() - started)
    }

    private init(session: SSHSession, name: String, config: SSHHostConfig, user: String, port: Int,
                 options: SSHOptions, authenticatedWith: String, connectSeconds: Double) {
        self.authenticatedWith = authenticatedWith
        self.session = session
        self.name = name
        self.config = config
        self.user = user
        self.port = port
        self.options = options
        self.connectSeconds = connectSeconds
    }

    private static func userKnownHostsFiles(_ config: SSHHostConfig, _ options: SSHOptions) -> [String] {
        config.userKnownHostsFiles ?? [options.home + "/.ssh/known_hosts", options.home + "/.ssh/known_hosts2"]
    }

    /// Asks the server for a host key type we already know for it, so a
    /// host that has several keys is checked against the one on record.
    private static func preferKnownKeyTypes(_ session: SSHSession, _ types: [String]) {
        let supported = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]
        let preferred = types.filter(supported.contains) + supported.filter { !types.contains($0) }
        _ = libssh2_session_method_pref(session.raw, LIBSSH2_METHOD_HOSTKEY, preferred.joined(separator: ","))
    }

    private static func verifyHostKey(_ session: SSHSession, _ knownHosts: KnownHosts, name: String,
                                      config: SSHHostConfig, port: Int, recordFile: String,
                                      options: SSHOptions) throws {
        var length = 0
        var type: Int32 = 0
        guard let keyPointer = libssh2_session_hostkey(session.raw, &length, &type) else {
            throw RemoteError.handshakeFailed(host: name, detail: "server sent no host key")
        }
        let key = Array(UnsafeRawBufferPointer(start: keyPointer, count: length))
        let keyType = keyTypeName(key)
        let fingerprint = sshFingerprint(keyBlob: key)
        switch knownHosts.check(keyType: keyType, key: key) {
        case .known:
            return
        case let .changed(entry):
            throw RemoteError.changedHostKey(host: name, keyType: keyType, fingerprint: fingerprint,
                                             file: entry.file, line: entry.line)
        case let .revoked(entry):
            throw RemoteError.revokedHostKey(host: name, fingerprint: fingerprint, file: entry.file, line: entry.line)
        case let .unknown(otherTypes):
            let policy = config.strictHostKeyChecking ?? "ask"
            guard options.acceptNewHostKey || policy == "accept-new" || policy == "no" || policy == "off" else {
                throw RemoteError.unknownHostKey(host: name, keyType: keyType, fingerprint: fingerprint,
                                                 knownHostsFile: recordFile,
                                                 otherTypesKnown: otherTypes.isEmpty ? nil : otherTypes.joined(separator: ", "))
            }
            try KnownHosts.record(file: recordFile, host: config.hostName, port: port, keyType: keyType, key: key,
                                  hashed: config.hashKnownHosts)
        }
    }

    public func run(_ command: String, options runOptions: RunOptions) throws -> CommandResult {
        guard let session else { throw RemoteError.closed(host: name) }
        if let dead = session.dead { throw RemoteError.connectionLost(host: name, command: command, detail: dead) }
        do {
            return try SSHCommand(session: session, command: command, options: runOptions,
                                  stepTimeout: options.stepTimeout).run()
        } catch SSHSession.WaitFailure.deadline {
            throw RemoteError.timedOut(host: name, command: command, seconds: runOptions.timeout ?? options.stepTimeout)
        } catch let SSHSession.WaitFailure.lost(why) {
            throw RemoteError.connectionLost(host: name, command: command, detail: why)
        } catch let SSHCommand.Failure.libssh2(code, message) {
            if SSHSession.isConnectionError(code) {
                _ = session.markDead(message)
                throw RemoteError.connectionLost(host: name, command: command, detail: message)
            }
            throw RemoteError.ssh(host: name, detail: "\(message) while running `\(command)`")
        }
    }

    public func close() {
        guard let session else { return }
        self.session = nil
        if session.dead == nil {
            let deadline = Deadline(seconds: 2)
            _ = try? session.retry(deadline: deadline) { cssh_session_disconnect(session.raw, "cmdeploy done") }
        }
    }

    deinit { close() }
}
