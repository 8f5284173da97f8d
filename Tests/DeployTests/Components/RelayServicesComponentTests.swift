import ChatmailConfig
import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine
@testable import Remote
@testable import Website
import Support

/// Iroh, TURN, fcgiwrap, the website upload and their place in the relay.
@Suite struct RelayServicesComponentTests {
    let sha = String(repeating: "ab", count: 32)

    @Test func irohWithoutKeyIsLocalAndEnabled() throws {
        let r = try Rendered(Iroh(), try testConfig("mail_domain = chat.example.org",
                                                    "iroh_relay_download = https://dl.test/iroh.tar.gz \(sha)"))
        let d = try #require(r.downloads.first)
        #expect(d.url == "https://dl.test/iroh.tar.gz" && d.sha256 == sha && d.path == "/usr/local/lib/chatmail/iroh-relay.tar.gz")
        #expect(d.extract == nil)
        let extract = try #require(r.command("extract iroh-relay"))
        #expect(extract.onChangeOf == ["/usr/local/lib/chatmail/iroh-relay.tar.gz"])
        #expect(extract.unless == "test -x /usr/local/bin/iroh-relay")
        let unit = try #require(r.text("/etc/systemd/system/iroh-relay.service"))
        #expect(unit.contains("ExecStart=/usr/local/bin/iroh-relay --config-path /etc/iroh-relay.toml\n"))
        #expect(unit.contains("User=iroh\nGroup=iroh\n"))
        let toml = try #require(r.text("/etc/iroh-relay.toml"))
        for line in ["enable_relay = true", "http_bind_addr = \"[::]:3340\"", "enable_stun = false",
                     "enable_metrics = false", "metrics_bind_addr = \"127.0.0.1:9092\""] {
            #expect(toml.contains(line + "\n"))
        }
        let s = try #require(r.service("iroh-relay"))
        #expect(s.enabled && s.running)
        #expect(Set(s.restartOn) == ["/usr/local/lib/chatmail/iroh-relay.tar.gz", "/etc/systemd/system/iroh-relay.service", "/etc/iroh-relay.toml"])
    }

    /// The extraction command on real archives, with ./iroh-relay or iroh-relay inside.
    @Test(arguments: ["./iroh-relay", "iroh-relay"])
    func irohExtraction(_ member: String) throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try shell("mkdir \(dir)/src && printf '#!/bin/sh\\necho iroh\\n' >\(dir)/src/iroh-relay && cd \(dir)/src && tar -czf \(dir)/a.tar.gz \(member) README 2>/dev/null || tar -czf \(dir)/a.tar.gz \(member)")
        let cmd = Iroh.extractCommand.replacingOccurrences(of: Iroh.archive, with: "\(dir)/a.tar.gz")
            .replacingOccurrences(of: Iroh.binary, with: "\(dir)/iroh-relay")
        let run = try shell(cmd)
        #expect(run.status == 0, "\(run.output)")
        #expect(try shell("\(dir)/iroh-relay").output == "iroh\n")
    }

    /// With `iroh_relay` present, set or empty, the local relay still runs
    /// but does not start at boot (as the Python relay does).
    @Test(arguments: ["iroh_relay = https://iroh.example.org", "iroh_relay ="])
    func irohKeyPresentMeansNotEnabled(_ line: String) throws {
        let r = try Rendered(Iroh(), try testConfig("mail_domain = chat.example.org", line,
                                                    "iroh_relay_download = https://dl.test/iroh.tar.gz \(sha)"))
        let s = try #require(r.service("iroh-relay"))
        #expect(!s.enabled && s.running)
    }

    /// Without the keys a relay gets upstream's release for its architecture
    /// (the one chatmaild is built for); an architecture without one is
    /// refused, naming the key to set, and the relay leaves it out with a note.
    @Test(arguments: [(UInt16(0x3E), "x86_64"), (UInt16(0xB7), "aarch64")])
    func defaultDownloadsAreTheUpstreamPins(_ machine: UInt16, _ arch: String) throws {
        let context = try componentContext(arch: machine)
        let iroh = try Iroh().manifest(context).downloads
        #expect(iroh == [Download(UpstreamPins.iroh[arch]!.url, sha256: UpstreamPins.iroh[arch]!.sha256,
                                  to: Iroh.archive, mode: 0o644)])
        #expect(iroh[0].url.hasSuffix("iroh-relay-v0.35.0-\(arch)-unknown-linux-musl.tar.gz"))
        let turn = try Turn().manifest(context).downloads
        #expect(turn == [Download(UpstreamPins.turn[arch]!.url, sha256: UpstreamPins.turn[arch]!.sha256, to: Turn.binary)])
        #expect(turn[0].url.hasSuffix("/v0.4/chatmail-turn-\(arch)-linux"))
        let names = Relay.components(for: context).map(\.name)
        #expect(names.contains("turn") && names.contains("iroh"))
        #expect(Relay.omissions(for: context).isEmpty)
    }

    @Test func anArchitectureWithoutPinsIsRefusedNamingTheKey() throws {
        let context = try componentContext(arch: 0xF3)   // riscv64
        let iroh = #expect(throws: ManifestError.self) { try Iroh().manifest(context) }
        #expect(iroh?.message.contains("for riscv64") == true)
        #expect(iroh?.message.contains("set iroh_relay_download = URL SHA256 in \(context.config.path)") == true)
        let turn = #expect(throws: ManifestError.self) { try Turn().manifest(context) }
        #expect(turn?.message.contains("set turn_download = URL SHA256 in \(context.config.path)") == true)
        let names = Relay.components(for: context).map(\.name)
        #expect(!names.contains("turn") && !names.contains("iroh"))
        let notes = Relay.omissions(for: context)
        #expect(notes.count == 2 && notes.allSatisfy { $0.contains("riscv64") })
    }

    @Test func turn() throws {
        let r = try Rendered(Turn(), try testConfig("mail_domain = chat.example.org",
                                                    "turn_download = https://dl.test/chatmail-turn \(sha)"))
        #expect(r.downloads == [Download("https://dl.test/chatmail-turn", sha256: sha, to: "/usr/local/bin/chatmail-turn")])
        let unit = try #require(r.text("/etc/systemd/system/turnserver.service"))
        #expect(unit.contains("ExecStart=/usr/local/bin/chatmail-turn --realm chat.example.org --socket /run/chatmail-turn/turn.socket\n"))
        #expect(unit.contains("RuntimeDirectory=chatmail-turn\n"))
        // Its own user since the sandboxes (the Python relay used vmail).
        #expect(unit.contains("User=chatmail-turn\nGroup=chatmail-turn\n"))
        #expect(unit.contains("Restart=always\n"))
        #expect(r.service("turnserver")?.restartOn == ["/usr/local/bin/chatmail-turn", "/etc/systemd/system/turnserver.service"])
    }

    @Test func irohAndTurnUnitsVerify() throws {
        let dir = try scratchDir("web")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try testConfig("mail_domain = chat.example.org",
                                    "iroh_relay_download = https://dl.test/iroh.tar.gz \(sha)",
                                    "turn_download = https://dl.test/chatmail-turn \(sha)")
        let units = (try Rendered(Iroh(), config).files + Rendered(Turn(), config).files).filter(\.isSystemdUnit)
        #expect(units.count == 2)
        try verifyUnits(units, in: dir)
    }

    @Test func fcgiwrapRunsChatmaildNewemail() throws {
        let r = try Rendered(Fcgiwrap(), try testConfig("mail_domain = chat.example.org"))
        #expect(r.packages == ["fcgiwrap"])
        let cgi = try #require(r.file("/usr/lib/cgi-bin/newemail.py"))
        #expect(cgi.mode == 0o755)
        let text = String(decoding: cgi.content, as: UTF8.self)
        #expect(text.hasPrefix("#!/bin/sh\n"))
        #expect(text.contains("\nexec /usr/local/bin/chatmaild newemail /usr/local/lib/chatmaild/chatmail.ini\n"))
        #expect(try shell("sh -n /dev/stdin <<'EOF'\n\(text)EOF").status == 0)
        #expect(r.service("fcgiwrap.socket")?.running == true && r.service("fcgiwrap.socket")?.enabled == true)
    }

    @Test func websiteFilesBelongToWwwData() throws {
        let config = try testConfig("mail_domain = chat.example.org")
        let pages: [String: [UInt8]] = ["index.html": Array("<h1>hi</h1>".utf8), "img/qr/invite.png": [0x89, 0x50]]
        let r = try Rendered(Website(), config, website: pages)
        #expect(r.files.map(\.path) == ["/var/www/html/img/qr/invite.png", "/var/www/html/index.html"])
        #expect(r.files.allSatisfy { $0.owner == "www-data" && $0.group == "www-data" && $0.mode == 0o644 })
        #expect(r.file("/var/www/html/index.html")?.content == Array("<h1>hi</h1>".utf8))
        let dirs = r.resources.compactMap { if case .directory(let d) = $0 { "\(d.path) \(d.owner)" } else { nil } }
        #expect(dirs == ["/var/www root", "/var/www/html www-data", "/var/www/html/img www-data", "/var/www/html/img/qr www-data"])
        // Nothing is removed: other files under /var/www/html stay.
        #expect(r.absent.isEmpty)
        #expect(Website.skipNote(DeployContext(config: config, website: pages)) == nil)
    }

    @Test func websiteDisabledOrUnsafe() throws {
        let config = try testConfig("mail_domain = chat.example.org")
        let r = try Rendered(Website(), config, website: nil)
        #expect(r.files.isEmpty)
        #expect(Website.skipNote(DeployContext(config: config))?.contains("disabled") == true)
        let bad = #expect(throws: ManifestError.self) {
            try Website().manifest(DeployContext(config: config, website: ["../etc/passwd": []]))
        }
        #expect(bad?.message.contains("../etc/passwd") == true)
    }

    @Test func relayOrderAndNoContradictions() throws {
        let sha = self.sha
        let config = try testConfig("mail_domain = chat.example.org",
                                    "iroh_relay_download = https://dl.test/iroh.tar.gz \(sha)",
                                    "turn_download = https://dl.test/chatmail-turn \(sha)")
        let context = DeployContext(config: config, website: ["index.html": []])
        let names = Relay.components(for: context).map(\.name)
        let mine = names.filter { ["turn", "iroh", "tls", "website", "fcgiwrap", "nginx"].contains($0) }
        #expect(mine == ["turn", "iroh", "tls", "website", "fcgiwrap", "nginx"])
        // All of them together form one consistent desired state.
        let ours = Relay.components(for: context).filter { mine.contains($0.name) }
        _ = try DesiredState(components: ours, context: context)
    }
}
