import Foundation
import Testing
import TestSupport
@testable import Remote
import Support
#if canImport(Glibc)
import Glibc
#endif

/// SSH-only behaviour against a real sshd: login paths, host keys, and
/// the ways a connection fails.
@Suite struct SSHHostTests {
    /// The fingerprint ssh-keygen prints for the fixture's host key.
    func hostFingerprint(_ fixture: SSHDFixture) throws -> String {
        let line = try sh("ssh-keygen -lf \(fixture.dir)/host_ed25519.pub")
        return String(line.split(separator: " ")[1])
    }

    @Test func manyCommandsShareOneConnection() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        let host = try fixture.connect()
        for i in 0..<50 {
            #expect(try host.run("echo \(i)").stdoutText == "\(i)\n")
        }
        host.close()
        let log = readTextFile(fixture.dir + "/sshd.log") ?? ""
        #expect(log.split(separator: "\n").filter { $0.contains("Accepted publickey") }.count == 1)
    }

    @Test func aliasFromSSHConfigGivesHostPortAndUser() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        let host = try fixture.connect()
        defer { host.close() }
        #expect(host.config.hostName == "127.0.0.1")
        #expect(host.port == fixture.port)
        #expect(host.user == fixture.user)
        #expect(host.name.contains("port \(fixture.port)"))
        #expect(try host.check("id -un") == fixture.user + "\n")
    }

    @Test func defaultKeyFileIsUsedWithoutConfig() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        try sh("cp \(fixture.clientKey) \(fixture.home)/.ssh/id_ed25519")
        var options = fixture.options()
        options.configFile = try fixture.writeConfig(identity: "")
        let host = try SSHHost(target: "relay", options: options)
        #expect(try host.check("echo ok") == "ok\n")
        host.close()
    }

    @Test func agentIdentityLogsIn() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        let socket = fixture.dir + "/agent.sock"
        let agent = try ChildProcess(["/usr/bin/ssh-agent", "-D", "-a", socket])
        defer { agent.terminate() }
        for _ in 0..<250 where access(socket, F_OK) != 0 { usleep(20_000) }
        try sh("SSH_AUTH_SOCK=\(socket) ssh-add -q \(fixture.clientKey)")
        var options = fixture.options()
        options.useAgent = true
        options.agentSocket = socket
        options.configFile = try fixture.writeConfig(identity: "")  // no key files at all: only the agent can log in
        let host = try SSHHost(target: "relay", options: options)
        #expect(try host.check("echo via-agent") == "via-agent\n")
        host.close()
    }

    @Test func passphraseProtectedKey() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        var options = fixture.options()
        options.configFile = try fixture.writeConfig(identity: fixture.dir + "/client_pass")

        // Without a passphrase (no terminal, none given) the key is skipped, and said so.
        #expect {
            try SSHHost(target: "relay", options: options)
        } throws: { error in
            "\(error)".contains("client_pass: needs a passphrase")
        }
        options.passphrase = "wrong words"
        #expect {
            try SSHHost(target: "relay", options: options)
        } throws: { error in
            "\(error)".contains("client_pass: cannot read the key (wrong passphrase?)")
        }
        options.passphrase = "secret words"
        let host = try SSHHost(target: "relay", options: options)
        #expect(try host.check("echo unlocked") == "unlocked\n")
        host.close()
    }

    @Test func wrongKeyListsWhatWasTried() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        try sh("ssh-keygen -q -t ed25519 -N '' -f \(fixture.dir)/stranger")
        var options = fixture.options()
        options.configFile = try fixture.writeConfig(identity: fixture.dir + "/stranger",
                                                     extra: "    IdentityFile \(fixture.dir)/absent_key")
        #expect {
            try SSHHost(target: "relay", options: options)
        } throws: { error in
            guard case let RemoteError.authenticationFailed(_, user, tried)? = error as? RemoteError else { return false }
            return user == fixture.user
                && tried.contains("\(fixture.dir)/stranger: refused by the server")
                && tried.contains("\(fixture.dir)/absent_key: no such file")
        }
    }

    @Test func unknownHostKeyIsRefusedThenAcceptedOnRequest() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        try writeFile(fixture.knownHostsFile, "")
        let fingerprint = try hostFingerprint(fixture)
        var options = fixture.options()
        options.configFile = try fixture.writeConfig()
        #expect {
            try SSHHost(target: "relay", options: options)
        } throws: { error in
            let text = "\(error)"
            return text.contains("ssh-ed25519 \(fingerprint)") && text.contains("--accept-new-host-key")
                && text.contains(fixture.knownHostsFile)
        }
        options.acceptNewHostKey = true
        try SSHHost(target: "relay", options: options).close()
        let recorded = readTextFile(fixture.knownHostsFile) ?? ""
        #expect(recorded == "[127.0.0.1]:\(fixture.port) \(fixture.hostPublicKey)\n")
        // Recorded once, it is simply known from now on.
        options.acceptNewHostKey = false
        try SSHHost(target: "relay", options: options).close()
    }

    @Test func changedHostKeyIsRefusedNamingFileAndLine() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        try sh("ssh-keygen -q -t ed25519 -N '' -f \(fixture.dir)/other_host")
        let other = try sh("cut -d' ' -f1,2 \(fixture.dir)/other_host.pub").trimmingTrailingNewlines()
        try writeFile(fixture.knownHostsFile, "# comment\nexample.org \(fixture.hostPublicKey)\n[127.0.0.1]:\(fixture.port) \(other)\n")
        var options = fixture.options()
        options.configFile = try fixture.writeConfig()
        options.acceptNewHostKey = true  // must not matter for a changed key
        #expect {
            try SSHHost(target: "relay", options: options)
        } throws: { error in
            guard case let RemoteError.changedHostKey(_, _, _, file, line)? = error as? RemoteError else { return false }
            return file == fixture.knownHostsFile && line == 3 && "\(error)".contains("line 3")
        }
    }

    @Test func hashedKnownHostsEntryIsRecognised() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        try sh("ssh-keygen -q -H -f \(fixture.knownHostsFile) && rm -f \(fixture.knownHostsFile).old")
        #expect(readTextFile(fixture.knownHostsFile)?.hasPrefix("|1|") == true)
        try fixture.connect().close()
    }

    @Test func refusedPortIsReported() throws {
        let port = try freeLoopbackPort()  // nothing listens there
        let (options, dir) = try optionsWithoutConfig(port: port)
        defer { _ = try? sh("rm -rf \(dir)") }
        #expect {
            try SSHHost(target: "root@127.0.0.1", options: options)
        } throws: { error in
            guard case let RemoteError.connectFailed(_, detail)? = error as? RemoteError else { return false }
            return detail.contains("127.0.0.1 port \(port): Connection refused")
        }
    }

    @Test func unresolvableNameIsReported() throws {
        // An empty label makes the resolver give up before any DNS query is
        // sent, so this test stays off the network.
        let (options, dir) = try optionsWithoutConfig(port: 22)
        defer { _ = try? sh("rm -rf \(dir)") }
        #expect {
            try SSHHost(target: "root@nonexistent..invalid", options: options)
        } throws: { error in
            guard case let RemoteError.resolveFailed(host, _)? = error as? RemoteError else { return false }
            return host == "nonexistent..invalid"
        }
    }

    @Test func proxyJumpIsAnErrorNotSilence() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        var options = fixture.options()
        options.configFile = try fixture.writeConfig(extra: "Host relay\n    ProxyJump bastion")
        #expect {
            try SSHHost(target: "relay", options: options)
        } throws: { error in
            guard case let RemoteError.sshConfig(file, line, message)? = error as? RemoteError else { return false }
            return file == options.configFile && line == 8 && message.contains("ProxyJump")
        }
    }

    @Test func serverKilledMidCommandIsReportedWithTheCommand() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        let host = try fixture.connect()
        defer { host.close() }
        // A thread of its own: the test's blocking call may hold every
        // thread of the concurrency pool on a 2-core machine.
        let killer = Thread {
            usleep(700_000)
            fixture.killServer()
        }
        killer.start()
        let started = monotonicSeconds()
        #expect {
            try host.run("echo started; sleep 20")
        } throws: { error in
            guard case let RemoteError.connectionLost(_, command, _)? = error as? RemoteError else { return false }
            return command == "echo started; sleep 20"
        }
        #expect(monotonicSeconds() - started < 10)
        // Later commands fail at once with the same cause.
        #expect(throws: RemoteError.self) { try host.run("true") }
    }

    /// Options with a minimal ssh config (so nothing from this machine's
    /// ~/.ssh applies) and a fixed port; the caller removes `dir`.
    func optionsWithoutConfig(port: Int) throws -> (options: SSHOptions, dir: String) {
        let dir = try scratchDir("cfg")
        try writeFile(dir + "/config", "Port \(port)\nConnectTimeout 5\n")
        var options = SSHOptions()
        options.useAgent = false
        options.home = dir
        options.configFile = dir + "/config"
        options.globalKnownHostsFiles = []
        options.promptOnTerminal = false
        return (options, dir)
    }
}

extension SSHHostTests {
    @Test func silentServerIsDetectedByKeepalives() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        var options = fixture.options()
        options.configFile = try fixture.writeConfig(extra: "Host *\n    ServerAliveInterval 1\n    ServerAliveCountMax 2")
        let host = try SSHHost(target: "relay", options: options)
        defer { host.close() }
        // Freeze the server: the kernel still accepts our packets, but no
        // SSH answer comes back, as with a host that hangs or a dead route.
        let freezer = Thread {
            usleep(500_000)
            fixture.signalServer(SIGSTOP)
        }
        freezer.start()
        let started = monotonicSeconds()
        #expect {
            try host.run("sleep 30")
        } throws: { error in
            guard case let RemoteError.connectionLost(_, command, detail)? = error as? RemoteError else { return false }
            return command == "sleep 30" && detail.contains("no answer to keepalives")
        }
        #expect(monotonicSeconds() - started < 10)
    }
}

extension SSHHostTests {
    @Test func silentListenerHitsTheConnectTimeout() throws {
        // A socket that accepts TCP (the kernel does, via the backlog) but
        // never says a word: the SSH handshake must give up at ConnectTimeout.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        #expect(listening)
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let (options, dir) = try optionsWithoutConfig(port: port)
        defer { _ = try? sh("rm -rf \(dir)") }
        try writeFile(options.configFile!, "Port \(port)\nConnectTimeout 1\n")
        let started = monotonicSeconds()
        #expect {
            try SSHHost(target: "root@127.0.0.1", options: options)
        } throws: { error in
            "\(error)".contains("no complete SSH login within 1 s")
        }
        #expect(monotonicSeconds() - started < 5)
    }
}

extension SSHHostTests {
    @Test func knownKeyOfAnotherTypeIsTheOneChecked() throws {
        // The server has ed25519 and ECDSA host keys; known_hosts has only the
        // ECDSA one (as after an older client): we must ask for ECDSA, not
        // report an unknown host.
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        let ecdsa = try sh("cut -d' ' -f1,2 \(fixture.dir)/host_ecdsa.pub").trimmingTrailingNewlines()
        try writeFile(fixture.knownHostsFile, "[127.0.0.1]:\(fixture.port) \(ecdsa)\n")
        let host = try fixture.connect()
        #expect(try host.check("echo ok") == "ok\n")
        host.close()
    }

    @Test func loginMethodIsReported() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        let host = try fixture.connect()
        defer { host.close() }
        #expect(host.authenticatedWith == "key file \(fixture.clientKey)")
    }
}

extension SSHHostTests {
    @Test func identitiesOnlyLimitsAgentKeys() throws {
        let fixture = try SSHDFixture()
        defer { fixture.stop() }
        try sh("ssh-keygen -q -t ed25519 -N '' -f \(fixture.dir)/stranger -C stranger")
        let strangerPrint = String(try sh("ssh-keygen -lf \(fixture.dir)/stranger.pub").split(separator: " ")[1])
        let socket = fixture.dir + "/agent.sock"
        let agent = try ChildProcess(["/usr/bin/ssh-agent", "-D", "-a", socket])
        defer { agent.terminate() }
        for _ in 0..<250 where access(socket, F_OK) != 0 { usleep(20_000) }
        // The stranger comes first in the agent, so it is offered first unless IdentitiesOnly rules it out.
        try sh("SSH_AUTH_SOCK=\(socket) ssh-add -q \(fixture.dir)/stranger && SSH_AUTH_SOCK=\(socket) ssh-add -q \(fixture.clientKey)")
        var options = fixture.options()
        options.useAgent = true
        options.agentSocket = socket
        func strangerOffers() -> Int {
            (readTextFile(fixture.dir + "/sshd.log") ?? "").split(separator: "\n")
                .filter { $0.contains(strangerPrint) }.count
        }

        options.configFile = try fixture.writeConfig(extra: "    IdentitiesOnly yes")
        let limited = try SSHHost(target: "relay", options: options)
        #expect(limited.authenticatedWith.hasPrefix("ssh-agent key ssh-ed25519"))
        #expect(limited.authenticatedWith.hasSuffix("(test-client)"))
        limited.close()
        #expect(strangerOffers() == 0)

        options.configFile = try fixture.writeConfig()
        let open = try SSHHost(target: "relay", options: options)
        #expect(open.authenticatedWith.hasSuffix("(test-client)"))
        open.close()
        #expect(strangerOffers() > 0)
    }
}
