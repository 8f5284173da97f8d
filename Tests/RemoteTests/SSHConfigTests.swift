import Testing
import TestSupport
@testable import Remote
import Support

@Suite struct SSHConfigTests {
    /// Writes `text` as an ssh_config and resolves `alias` against it.
    func resolve(_ alias: String, _ text: String, extraFiles: [String: String] = [:]) throws -> SSHHostConfig {
        let dir = try scratchDir("sshcfg")
        defer { _ = try? sh("rm -rf \(dir)") }
        try sh("mkdir -p \(dir)/.ssh")
        for (name, content) in extraFiles { try writeFile("\(dir)/.ssh/\(name)", content) }
        try writeFile(dir + "/.ssh/config", text)
        let reader = SSHConfigReader(home: dir, localUser: "me")
        var config = try reader.resolve(alias, files: [dir + "/.ssh/config"])
        // Paths under the temporary home read back as "~/..." for easy comparison.
        config.identityFiles = config.identityFiles.map { $0.hasPrefix(dir) ? "~" + $0.dropFirst(dir.count) : $0 }
        return config
    }

    @Test func aliasHostNamePortUserAndFirstValueWins() throws {
        let c = try resolve("relay", """
            Host relay
                HostName 192.0.2.7
                Port 2222
                User admin
                IdentityFile ~/.ssh/relay_key
            Host *
                User nobody
                Port 22
                IdentityFile ~/.ssh/id_%h_%r
                ConnectTimeout 7
                ServerAliveInterval 30
            """)
        #expect(c.hostName == "192.0.2.7")
        #expect(c.port == 2222)
        #expect(c.user == "admin")
        #expect(c.identityFiles == ["~/.ssh/relay_key", "~/.ssh/id_192.0.2.7_admin"])
        #expect(c.connectTimeout == 7)
        #expect(c.serverAliveInterval == 30)
    }

    @Test func wildcardsNegationAndEqualsSyntax() throws {
        let text = """
            Host *.example.org !bastion.example.org
              Port=2200
            Host=chat?.example.net
              User = ops
            Host "quoted" other
              HostName %h.lan
            """
        #expect(try resolve("mail.example.org", text).port == 2200)
        #expect(try resolve("bastion.example.org", text).port == nil)
        #expect(try resolve("chat1.example.net", text).user == "ops")
        #expect(try resolve("chat12.example.net", text).user == nil)
        #expect(try resolve("quoted", text).hostName == "quoted.lan")
    }

    @Test func matchBlocks() throws {
        let c = try resolve("relay", """
            Match host relay user root
                IdentitiesOnly yes
            Match exec "true"
                User skipped
            """)
        #expect(c.identitiesOnly == true)
        #expect(c.user == nil)
        #expect(c.warnings.count == 1)
        #expect(c.warnings[0].contains("Match exec"))
    }

    @Test func includedFileApplies() throws {
        let dir = try scratchDir("sshinc")
        defer { _ = try? sh("rm -rf \(dir)") }
        try sh("mkdir -p \(dir)/.ssh/conf.d")
        try writeFile(dir + "/.ssh/conf.d/relay.conf", "Host relay\n  Port 2022\n")
        try writeFile(dir + "/.ssh/config", "Include conf.d/*.conf\nHost *\n  Port 22\n")
        let c = try SSHConfigReader(home: dir, localUser: "me").resolve("relay", files: [dir + "/.ssh/config"])
        #expect(c.port == 2022)
    }

    @Test func unsupportedDirectivesAreErrorsWithFileAndLine() throws {
        let text = """
            Host other
                ProxyJump bastion
            Host relay
                ProxyCommand ssh -W %h:%p bastion
            """
        #expect(try resolve("other2", text).hostName == "other2")
        #expect {
            try resolve("relay", text)
        } throws: { error in
            guard case let RemoteError.sshConfig(file, line, message)? = error as? RemoteError else { return false }
            return file.hasSuffix("/.ssh/config") && line == 4 && message.contains("ProxyCommand")
        }
        #expect(throws: RemoteError.self) { try resolve("other", text) }
        // "none" switches a proxy off, which is fine.
        #expect(try resolve("relay", "Host relay\n ProxyJump none\n").hostName == "relay")
    }

    @Test func badValuesNameTheLine() throws {
        #expect {
            try resolve("relay", "# c\nPort 99999\n")
        } throws: { error in "\(error)".hasSuffix("line 2: Port 99999 is not a port number") }
        #expect {
            try resolve("relay", "StrictHostKeyChecking maybe\n")
        } throws: { error in "\(error)".contains("line 1: StrictHostKeyChecking maybe") }
    }

    @Test func patternMatching() {
        #expect(hostPatternsMatch(["*"], host: "anything"))
        #expect(hostPatternsMatch(["10.0.0.?"], host: "10.0.0.5"))
        #expect(!hostPatternsMatch(["10.0.0.?"], host: "10.0.0.55"))
        #expect(hostPatternsMatch(["*.ORG"], host: "chat.example.org"))
        #expect(!hostPatternsMatch(["!*.org"], host: "chat.example.org"))
        #expect(!hostPatternsMatch(["*", "!chat*"], host: "chat.example.org"))
        #expect(hostPatternsMatch(["a,b,c"], host: "b"))
    }
}

@Suite struct KnownHostsTests {
    let edKey = "AAAAC3NzaC1lZDI1NTE5AAAAIGr3wHkq0o7yTQ0cZlVvWk6vO5xD6wz3nqJq8J9tC5kQ"
    let otherKey = "AAAAC3NzaC1lZDI1NTE5AAAAIE0a5b9OFD4SWYhx+I8t8Lr4JX2jV6yq1FmNvVQyJv1d"

    func load(_ text: String, host: String, port: Int = 22) throws -> (KnownHosts, String) {
        let dir = try scratchDir("kh")
        let file = dir + "/known_hosts"
        try writeFile(file, text)
        defer { _ = try? sh("rm -rf \(dir)") }
        return (KnownHosts(files: [file, dir + "/missing"], host: host, port: port), file)
    }

    @Test func plainPortAndWildcardEntries() throws {
        let key = Base64.decode(edKey)!
        let (kh, _) = try load("""
            # comment

            chat.example.org,192.0.2.1 ssh-ed25519 \(edKey)
            [chat.example.org]:2222 ssh-ed25519 \(otherKey)
            *.example.net ssh-ed25519 \(edKey) comment here
            """, host: "chat.example.org")
        guard case let .known(entry) = kh.check(keyType: "ssh-ed25519", key: key) else {
            Issue.record("expected known"); return
        }
        #expect(entry.line == 3)
        #expect(kh.entries.count == 1)  // the port 2222 entry is for another port
        let (net, _) = try load("*.example.net ssh-ed25519 \(edKey)\n", host: "relay.example.net")
        #expect(net.check(keyType: "ssh-ed25519", key: key) == .known(net.entries[0]))
    }

    @Test func changedRevokedAndUnknown() throws {
        let key = Base64.decode(edKey)!
        let (kh, file) = try load("""
            [relay]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=
            [relay]:2222 ssh-ed25519 \(otherKey)
            """, host: "relay", port: 2222)
        #expect(kh.check(keyType: "ssh-ed25519", key: key) == .changed(kh.entries[1]))
        #expect(kh.entries[1].file == file && kh.entries[1].line == 2)
        #expect(kh.knownKeyTypes == ["ecdsa-sha2-nistp256", "ssh-ed25519"])

        let (revoked, _) = try load("@revoked * ssh-ed25519 \(edKey)\nrelay ssh-ed25519 \(edKey)\n", host: "relay")
        guard case .revoked = revoked.check(keyType: "ssh-ed25519", key: key) else {
            Issue.record("expected revoked"); return
        }
        let (other, _) = try load("relay ssh-rsa AAAAB3NzaC1yc2E=\n", host: "relay")
        #expect(other.check(keyType: "ssh-ed25519", key: key) == .unknown(otherTypes: ["ssh-rsa"]))
    }

    @Test func hashedEntriesAndRecording() throws {
        let dir = try scratchDir("khrec")
        defer { _ = try? sh("rm -rf \(dir)") }
        let file = dir + "/sub/known_hosts"
        let key = Base64.decode(edKey)!
        try KnownHosts.record(file: file, host: "Relay.Example.org", port: 2222, keyType: "ssh-ed25519", key: key)
        #expect(readTextFile(file) == "[relay.example.org]:2222 ssh-ed25519 \(edKey)\n")
        // ssh-keygen -H turns it into a hashed entry that must still match.
        try sh("ssh-keygen -q -H -f \(file)")
        #expect(readTextFile(file)?.hasPrefix("|1|") == true)
        let kh = KnownHosts(files: [file], host: "relay.example.org", port: 2222)
        #expect(kh.check(keyType: "ssh-ed25519", key: key) == .known(kh.entries[0]))
        #expect(KnownHosts(files: [file], host: "relay.example.org", port: 22).entries.isEmpty)
        #expect(try sh("stat -c %a \(file) \(dir)/sub") == "600\n700\n")

        // HashKnownHosts: the name is stored hashed and still found.
        let hashedFile = dir + "/hashed"
        try KnownHosts.record(file: hashedFile, host: "relay", port: 22, keyType: "ssh-ed25519", key: key, hashed: true)
        let line = readTextFile(hashedFile) ?? ""
        #expect(line.hasPrefix("|1|") && !line.contains("relay"))
        let found = KnownHosts(files: [hashedFile], host: "relay", port: 22)
        #expect(found.check(keyType: "ssh-ed25519", key: key) == .known(found.entries[0]))
        #expect(try sh("ssh-keygen -F relay -f \(hashedFile) | grep -c ssh-ed25519") == "1\n")
    }

    @Test func base64RoundTripAndFingerprint() {
        for n in 0..<8 {
            let bytes = (0..<n).map { UInt8($0 * 37 & 0xff) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foob".utf8)) == "Zm9vYg==")
        #expect(Base64.decode("not base64!") == nil)
        #expect(sshFingerprint(keyBlob: Array("abc".utf8)) == "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0")
    }
}
