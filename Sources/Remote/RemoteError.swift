import Support
/// Everything that can go wrong talking to a host, worded for the operator:
/// each case names the host and, where there is one, the command, file or
/// line involved.
public enum RemoteError: Error, CustomStringConvertible, Equatable {
    case resolveFailed(host: String, detail: String)
    case connectFailed(host: String, detail: String)
    case handshakeFailed(host: String, detail: String)
    case unknownHostKey(host: String, keyType: String, fingerprint: String, knownHostsFile: String, otherTypesKnown: String?)
    case changedHostKey(host: String, keyType: String, fingerprint: String, file: String, line: Int)
    case revokedHostKey(host: String, fingerprint: String, file: String, line: Int)
    case authenticationFailed(host: String, user: String, tried: [String])
    case connectionLost(host: String, command: String?, detail: String)
    case timedOut(host: String, command: String, seconds: Double)
    case commandFailed(host: String, command: String, status: Int32, stderr: String)
    case closed(host: String)
    case sshConfig(file: String, line: Int, message: String)
    case knownHostsWrite(file: String, detail: String)
    case spawnFailed(command: String, detail: String)
    case ssh(host: String, detail: String)

    public var description: String {
        switch self {
        case let .resolveFailed(host, detail):
            return "cannot resolve host name \(host): \(detail)"
        case let .connectFailed(host, detail):
            var next = "check that the host is up and its sshd listens on that port "
                + "(`ssh -v` with the same name shows it), or name another address with --ssh-host"
            if detail.contains("Connection refused") {
                next = "nothing listens there: is sshd running on the host, and on this port "
                    + "(Port in ~/.ssh/config or --ssh-config)? Or name another address with --ssh-host"
            } else if detail.contains("timed out") || detail.contains("ConnectTimeout") {
                next = "no answer: a firewall may drop SSH, or the address is wrong; check with `ssh -v`, "
                    + "or name another address with --ssh-host"
            }
            return "cannot connect to \(host): \(detail)\nNext: \(next)."
        case let .handshakeFailed(host, detail):
            return "SSH handshake with \(host) failed: \(detail)"
        case let .unknownHostKey(host, keyType, fingerprint, file, other):
            var text = """
                host key of \(host) is not known: \(keyType) \(fingerprint)
                Check this fingerprint with the host's operator (on the host: ssh-keygen -lf /etc/ssh/ssh_host_\(keyFileStem(keyType))_key.pub),
                then accept it with --accept-new-host-key (it is recorded in \(file)) or add it there yourself.
                """
            if let other { text += "\n(\(file) knows other key types for this host: \(other))" }
            return text
        case let .changedHostKey(host, keyType, fingerprint, file, line):
            return """
                HOST KEY OF \(host) HAS CHANGED: it now offers \(keyType) \(fingerprint), \
                which differs from the key in \(file) line \(line).
                Someone may be intercepting the connection, or the host was reinstalled. \
                If you know the new key is right, remove line \(line) from \(file) \
                (ssh-keygen -R can do it) and connect again.
                """
        case let .revokedHostKey(host, fingerprint, file, line):
            return "host key of \(host) (\(fingerprint)) is marked @revoked in \(file) line \(line); refusing to connect"
        case let .authenticationFailed(host, user, tried):
            let list = tried.isEmpty ? "  (no keys found: no ssh-agent, no IdentityFile, no ~/.ssh/id_* files)"
                : tried.map { "  - \($0)" }.joined(separator: "\n")
            return "cannot log in to \(host) as \(user); tried:\n\(list)\n"
                + "Next: add one of these public keys to ~\(user)/.ssh/authorized_keys on the host "
                + "(ssh-copy-id), or load the right key into ssh-agent, or name it with IdentityFile in ~/.ssh/config."
        case let .connectionLost(host, command, detail):
            if let command { return "connection to \(host) lost while running `\(command)`: \(detail)" }
            return "connection to \(host) lost: \(detail)"
        case let .timedOut(host, command, seconds):
            return "`\(command)` on \(host) did not finish within \(formatSeconds(seconds)) s"
        case let .commandFailed(host, command, status, stderr):
            let err = stderr.trimmingTrailingNewlines()
            return "`\(command)` on \(host) failed with exit status \(status)" + (err.isEmpty ? "" : ": \(err)")
        case let .closed(host):
            return "connection to \(host) is already closed"
        case let .sshConfig(file, line, message):
            return line > 0 ? "\(file) line \(line): \(message)" : "\(file): \(message)"
        case let .knownHostsWrite(file, detail):
            return "cannot record the host key in \(file): \(detail)"
        case let .spawnFailed(command, detail):
            return "cannot start `\(command)`: \(detail)"
        case let .ssh(host, detail):
            return "SSH error with \(host): \(detail)"
        }
    }
}

private func keyFileStem(_ keyType: String) -> String {
    if keyType.hasPrefix("ecdsa") { return "ecdsa" }
    if keyType == "ssh-ed25519" { return "ed25519" }
    if keyType == "ssh-dss" { return "dsa" }
    return "rsa"
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(s)
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == "\r" { s.removeLast() }
        return String(s)
    }
}
