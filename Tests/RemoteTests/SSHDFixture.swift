@testable import Remote
import Foundation
import Support
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH server for one test: throw-away host keys, an
/// authorized ed25519 client key, listening on a free loopback port, run as
/// this process's child and killed (with every session it started) by stop().
/// Each fixture also has its own HOME for the client side (known_hosts, keys).
/// Sendable: tests signal the server from a thread of their own; the
/// child process handle is behind a lock.
final class SSHDFixture: @unchecked Sendable {
    let dir: String
    let home: String
    let port: Int
    /// Client key that the server accepts (no passphrase).
    let clientKey: String
    let user = localUserName()
    private let lock = NSLock()
    private var _sshd: ChildProcess?
    private var sshd: ChildProcess? {
        get { lock.withLock { _sshd } }
        set { lock.withLock { _sshd = newValue } }
    }

    init() throws {
        dir = try scratchDir("sshd")
        home = dir + "/home"
        clientKey = dir + "/client_ed25519"
        try sh("mkdir -p \(home)/.ssh /run/sshd && chmod 700 \(home)/.ssh")
        try sh("""
            cd \(dir) && ssh-keygen -q -t ed25519 -N '' -f host_ed25519 && \
            ssh-keygen -q -t ecdsa -N '' -f host_ecdsa && \
            ssh-keygen -q -t ed25519 -N '' -f client_ed25519 -C test-client && \
            ssh-keygen -q -t ed25519 -N 'secret words' -f client_pass -C test-passphrase && \
            cat client_ed25519.pub client_pass.pub > authorized_keys
            """)
        // The settings every throw-away sshd shares, scripts/lib/throwaway-sshd.sh's too.
        let sharedPath = Self.repository + "/scripts/lib/throwaway-sshd_config"
        guard let shared = readTextFile(sharedPath) else { throw FixtureError("cannot read \(sharedPath)") }
        var started: (ChildProcess, Int)? = nil
        // The free port can be taken between probing and sshd's bind: retry.
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let config = """
                Port \(port)
                HostKey \(dir)/host_ed25519
                HostKey \(dir)/host_ecdsa
                AuthorizedKeysFile \(dir)/authorized_keys
                MaxAuthTries 20
                MaxSessions 50
                LogLevel VERBOSE

                """ + shared
            try writeFile(dir + "/sshd_config", config)
            let child = try ChildProcess(["/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"],
                                         outputPath: dir + "/sshd.log")
            if waitForPort(port, child: child) { started = (child, port); break }
            child.terminate()
        }
        guard let (child, port) = started else {
            throw FixtureError("sshd did not start; log: \(readTextFile(dir + "/sshd.log") ?? "")")
        }
        _sshd = child
        self.port = port
        try trustHostKey()
    }

    /// The checkout this file is in.
    static let repository: String = {
        let file = "\(#filePath)"
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Tests/RemoteTests/SSHDFixture.swift
        return parts.joined(separator: "/")
    }()

    /// The server's public host key line ("ssh-ed25519 AAAA...").
    var hostPublicKey: String {
        (readTextFile(dir + "/host_ed25519.pub") ?? "").split(separator: " ").prefix(2).joined(separator: " ")
    }

    var knownHostsFile: String { home + "/.ssh/known_hosts" }

    /// Puts the server's key into the client HOME's known_hosts.
    func trustHostKey() throws {
        try writeFile(knownHostsFile, "[127.0.0.1]:\(port) \(hostPublicKey)\n")
    }

    /// Options for a client that uses this fixture's HOME, no agent, no prompts.
    func options() -> SSHOptions {
        var o = SSHOptions()
        o.home = home
        o.useAgent = false
        o.promptOnTerminal = false
        o.connectTimeout = 10
        o.defaultUser = user
        o.globalKnownHostsFiles = []
        return o
    }

    /// Writes an ssh_config with alias `relay` for this server and returns its path.
    /// `identity: ""` leaves IdentityFile out.
    func writeConfig(identity: String? = nil, extra: String = "") throws -> String {
        let path = dir + "/ssh_config"
        try writeFile(path, """
            # test client config
            Host relay
                HostName 127.0.0.1
                Port \(port)
                User \(user)
            \(identity == "" ? "" : "    IdentityFile " + (identity ?? clientKey))
            \(extra)
            """)
        return path
    }

    /// Connects with the authorized key, via the `relay` alias.
    func connect() throws -> SSHHost {
        var o = options()
        o.configFile = try writeConfig()
        return try SSHHost(target: "relay", options: o)
    }

    /// Kills sshd and every process below it (the per-connection sshd
    /// processes start their own sessions, so a group kill would miss them).
    func killServer() {
        guard let sshd else { return }
        for pid in descendants(of: sshd.pid) { kill(pid, SIGKILL) }
        sshd.terminate()
        self.sshd = nil
    }

    /// Sends `signal` to sshd and everything below it.
    func signalServer(_ signal: Int32) {
        guard let sshd else { return }
        for pid in descendants(of: sshd.pid) { kill(pid, signal) }
        kill(sshd.pid, signal)
    }

    func stop() {
        killServer()
        _ = try? sh("rm -rf \(dir)")
    }

    deinit { stop() }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}

/// Runs a local shell command for test setup; throws on failure.
@discardableResult
func sh(_ command: String, stdin: [UInt8] = []) throws -> String {
    let result = try runLocalProcess(command, options: RunOptions(stdin: stdin, timeout: 60), hostName: "test")
    guard result.succeeded else {
        throw FixtureError("`\(command)` failed (\(result.status)): \(result.stderrText)")
    }
    return result.stdoutText
}



/// A loopback port that was free a moment ago (bind port 0, read it back).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, length) == 0 && getsockname(fd, sa, &length) == 0
        }
    }
    guard ok else { throw FixtureError("cannot bind a loopback port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Waits up to 5 s until something accepts connections on 127.0.0.1:port.
private func waitForPort(_ port: Int, child: ChildProcess) -> Bool {
    for _ in 0..<250 {
        if let fd = try? openTCP(host: "127.0.0.1", port: port, deadline: Deadline(seconds: 1), label: "sshd") {
            close(fd)
            return true
        }
        var status: Int32 = 0
        if waitpid(child.pid, &status, WNOHANG) == child.pid { return false }
        usleep(20_000)
    }
    return false
}

/// All processes below `root`, from the parent pids in /proc.
func descendants(of root: pid_t) -> [pid_t] {
    var parent: [pid_t: pid_t] = [:]
    for entry in globPaths("/proc/[0-9]*/stat") {
        guard let text = readTextFile(entry), let close = text.lastIndex(of: ")") else { continue }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let ppid = pid_t(fields[1]),
              let pid = pid_t(entry.split(separator: "/")[1]) else { continue }
        parent[pid] = ppid
    }
    var result: [pid_t] = []
    var frontier = [root]
    while let p = frontier.popLast() {
        for (child, pp) in parent where pp == p {
            result.append(child)
            frontier.append(child)
        }
    }
    return result
}
