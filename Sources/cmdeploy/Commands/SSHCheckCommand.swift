import ArgumentParser
import Deploy
#if canImport(Glibc)
import Glibc
import Remote
#endif

/// Connects the way every other command does and reports what it found:
/// a quick way for an operator to debug SSH settings, and with --bench the
/// transport numbers (scripts/bench-ssh uses it).
struct SSHCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh-check",
        abstract: "Log in to the relay host and report the connection (for debugging SSH settings).",
        discussion: """
            Authentication order: ssh-agent keys ($SSH_AUTH_SOCK), IdentityFile entries from \
            ssh_config, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa. Encrypted keys ask for their \
            passphrase on a terminal or take it from $CMDEPLOY_SSH_PASSPHRASE.
            Known limit: libssh2 1.10 (Debian 12) signs with RSA keys only using SHA-1, which \
            current OpenSSH servers refuse; use an ed25519 or ECDSA key.
            """)

    @OptionGroup var host: SSHHostOption
    @Option(help: ArgumentHelp("Also measure: run `true` this many times, then upload --upload-mb.", valueName: "n"))
    var bench: Int?
    @Option(help: ArgumentHelp("Megabytes to upload with --bench.", valueName: "mb"))
    var uploadMb = 100
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let target: String
        if let given = host.sshHost {
            target = given
        } else {
            target = host.target(for: try global.loadConfig())
        }
        let started = monotonicNow()
        let remote = try host.connect(target, verbose: global.verbose)
        defer { remote.close() }
        let connectMs = (monotonicNow() - started) * 1000
        let who = try remote.check("echo \"$(id -un)@$(uname -n) $(uname -sm)\"")
        Console.success("connected to \(remote.name) in \(format(connectMs)) ms: \(who.trimmingCharacters(in: "\n"))")
        if let ssh = remote as? SSHHost { print("logged in with \(ssh.authenticatedWith)") }
        if let bench { try measure(remote, runs: bench, connectMs: connectMs, target: target) }
    }

    private func measure(_ remote: Host, runs: Int, connectMs: Double, target: String) throws {
        var samples: [Double] = []
        for _ in 0..<max(1, runs) {
            let t = monotonicNow()
            _ = try remote.run("true")
            samples.append((monotonicNow() - t) * 1000)
        }
        samples.sort()
        print("round trip of `true` (warm connection, \(samples.count) runs): median \(format(samples[samples.count / 2])) ms, "
            + "p90 \(format(samples[samples.count * 9 / 10])) ms, min \(format(samples[0])) ms")

        var connects: [Double] = [connectMs]
        for _ in 0..<4 {
            let t = monotonicNow()
            try host.connect(target, verbose: false).close()
            connects.append((monotonicNow() - t) * 1000)
        }
        connects.sort()
        print("connect + host key check + login: median \(format(connects[connects.count / 2])) ms over \(connects.count) connections")

        let bytes = [UInt8](repeating: 0x5a, count: uploadMb << 20)
        let ids = try remote.check("id -un; id -gn").split(separator: "\n").map(String.init)
        let path = try remote.check("mktemp /tmp/cmdeploy-bench-XXXXXX").trimmingCharacters(in: "\n")
        defer { _ = try? remote.run("rm -f \(path)") }
        let t = monotonicNow()
        try remote.put(RemoteFile(path: path, content: bytes, mode: 0o600, owner: ids[0], group: ids[1]))
        let seconds = monotonicNow() - t
        print("upload of \(uploadMb) MB: \(format(seconds * 1000)) ms, \(format(Double(uploadMb) / seconds)) MB/s")
    }
}

private func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

private func format(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return String(rounded)
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
