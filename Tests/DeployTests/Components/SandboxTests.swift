import Foundation
import Testing
import TestSupport
@testable import Deploy
@testable import Engine

/// The sandboxes of the units cmdeploy writes, rated by systemd's own
/// `systemd-analyze security` (offline, this machine's systemd: Debian 12's
/// 252). The lab suite rates them again on Debian 12 and 13 relays.
@Suite struct SandboxTests {
    /// Every service unit cmdeploy writes for a long-running or timer
    /// service, and the exposure it must not exceed.
    static let goals: [String: Double] = [
        "doveauth.service": 2.0, "lastlogin.service": 2.0, "chatmail-metadata.service": 2.0,
        "chatmail-expire.service": 2.0, "chatmail-fsreport.service": 2.0,
        "filtermail.service": 2.0, "filtermail-incoming.service": 2.0,
        "iroh-relay.service": 2.0, "turnserver.service": 2.0,
        "mtail.service": 2.0, "acmetool-redirector.service": 2.0,
    ]

    func renderedUnits() throws -> [File] {
        let context = try componentContext(["mtail_address = 127.0.0.1"])
        let components: [any Component] = [Chatmaild(), Filtermail(), Iroh(), Turn(), Mtail(), TLS()]
        var files: [File] = []
        for component in components {
            for case .file(let f) in try component.manifest(context).resources where f.path.hasSuffix(".service") {
                files.append(f)
            }
        }
        return files
    }

    @Test func everyServiceMeetsItsExposureGoal() throws {
        let dir = try scratchDir("sandbox")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let units = try renderedUnits().filter { Self.goals[($0.path as NSString).lastPathComponent] != nil }
        #expect(Set(units.map { ($0.path as NSString).lastPathComponent }) == Set(Self.goals.keys))
        for unit in units {
            let name = (unit.path as NSString).lastPathComponent
            let path = dir + "/" + name
            try Data(unit.content).write(to: URL(fileURLWithPath: path))
            let r = try shell("SYSTEMD_LOG_COLOR=0 systemd-analyze security --no-pager --offline=yes '\(path)' 2>&1")
            let score = Self.exposure(r.output, unit: name)
            #expect(score != nil, "no score for \(name): \(r.output.suffix(400))")
            if let score { #expect(score <= Self.goals[name]!, "\(name): exposure \(score)") }
        }
    }

    /// A unit that needs no network has none, one that writes nothing binds
    /// nothing writable, and only the port-402 responder keeps a capability.
    @Test func sandboxesGrantOnlyWhatEachServiceUses() throws {
        let units = Dictionary(uniqueKeysWithValues: try renderedUnits().map {
            (($0.path as NSString).lastPathComponent, String(decoding: $0.content, as: UTF8.self))
        })
        for name in ["doveauth.service", "lastlogin.service", "chatmail-expire.service", "chatmail-fsreport.service"] {
            #expect(units[name]?.contains("PrivateNetwork=yes\n") == true, "\(name)")
            #expect(units[name]?.contains("RestrictAddressFamilies=AF_UNIX\n") == true, "\(name)")
        }
        for name in ["filtermail.service", "filtermail-incoming.service", "chatmail-fsreport.service"] {
            #expect(units[name]?.contains("BindPaths=") == false, "\(name) writes nothing")
            #expect(units[name]?.contains("BindReadOnlyPaths=/home/vmail/mail/chat.example.org\n") == true, "\(name)")
        }
        for name in ["doveauth.service", "lastlogin.service", "chatmail-expire.service", "chatmail-metadata.service"] {
            #expect(units[name]?.contains("BindPaths=/home/vmail/mail/chat.example.org\n") == true, "\(name)")
        }
        #expect(units["doveauth.service"]?.contains("BindReadOnlyPaths=-/home/vmail/passdb.sqlite\n") == true)
        for (name, text) in units where Self.goals[name] != nil {
            #expect(text.contains("NoNewPrivileges=yes\n") && text.contains("ProtectSystem=strict\n"), "\(name)")
            let caps = name == "acmetool-redirector.service" ? "CAP_NET_BIND_SERVICE" : ""
            #expect(text.contains("\nCapabilityBoundingSet=\(caps)\n"), "\(name)")
        }
        // TURN: its own user, a socket only its group (chatmail-metadata) reaches.
        let turn = try #require(units["turnserver.service"])
        #expect(turn.contains("User=chatmail-turn\nGroup=chatmail-turn\n") && turn.contains("UMask=0007\n"))
        #expect(units["chatmail-metadata.service"]?.contains("SupplementaryGroups=chatmail-turn\n") == true)
        #expect(units["chatmail-metadata.service"]?.contains("User=vmail\n") == true)
    }

    @Test func turnSocketOutsideItsRuntimeDirectoryIsWritable() throws {
        let context = try componentContext(["turn_socket_path = /run/turn-elsewhere/t.socket"])
        let text = try #require(try Turn().manifest(context).text("/etc/systemd/system/turnserver.service"))
        #expect(text.contains("BindPaths=-/run/turn-elsewhere\n"))
    }

    /// Debian's own units (installed here: the config tests use these
    /// daemons) with our drop-in appended, as systemd merges them.
    @Test func debianDaemonsMeetTheirExposureGoal() throws {
        let dir = try scratchDir("sandbox")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try componentContext().config
        let daemons: [(DaemonSandbox, String)] = [
            (.nginx, "nginx.service"), (.opendkim, "opendkim.service"), (.unbound, "unbound.service"),
            (.postfix(masterUnit: "postfix@-.service"), "postfix@.service"), (.dovecot(config), "dovecot.service"),
        ]
        for (sandbox, debianUnit) in daemons {
            let original = try String(contentsOfFile: "/lib/systemd/system/" + debianUnit, encoding: .utf8)
            let merged = original + "\n" + (try sandbox.render())
            let path = dir + "/" + sandbox.unit
            try merged.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try shell("SYSTEMD_LOG_COLOR=0 systemd-analyze security --no-pager --offline=yes '\(path)' 2>&1")
            let score = Self.exposure(r.output, unit: sandbox.unit)
            #expect(score != nil, "no score for \(sandbox.unit): \(r.output.suffix(400))")
            if let score { #expect(score <= 5.0, "\(sandbox.unit): exposure \(score)") }
            // Without the drop-in Debian's unit is far above the goal: the
            // drop-in is what makes the difference.
            try original.write(toFile: path, atomically: true, encoding: .utf8)
            let before = Self.exposure(try shell("systemd-analyze security --no-pager --offline=yes '\(path)' 2>&1").output,
                                       unit: sandbox.unit)
            #expect((before ?? 0) > 8.0, "\(sandbox.unit) before: \(before.map { "\($0)" } ?? "none")")
        }
    }

    /// The drop-ins land where systemd reads them, and a change restarts the daemon.
    @Test func daemonDropInsRestartTheirDaemons() throws {
        let context = try componentContext()
        let cases: [(any Component, String, String)] = [
            (Nginx(), "nginx", "/etc/systemd/system/nginx.service.d/30-cmdeploy-sandbox.conf"),
            (Unbound(), "unbound", "/etc/systemd/system/unbound.service.d/30-cmdeploy-sandbox.conf"),
            (OpenDKIM(), "opendkim", "/etc/systemd/system/opendkim.service.d/30-cmdeploy-sandbox.conf"),
            (Dovecot(), "dovecot", "/etc/systemd/system/dovecot.service.d/30-cmdeploy-sandbox.conf"),
            (Postfix(), "postfix", "/etc/systemd/system/postfix@.service.d/30-cmdeploy-sandbox.conf"),
        ]
        for (component, service, path) in cases {
            let m = try component.manifest(context)
            let text = try #require(m.text(path), "\(path)")
            #expect(text.contains("[Service]\nNoNewPrivileges=yes\nProtectSystem=strict\n"), "\(path)")
            #expect(m.service(service + ".service")?.restartOn.contains(path) == true, "\(service)")
        }
    }

    /// "→ Overall exposure level for doveauth.service: 1.2 OK 🙂"
    static func exposure(_ output: String, unit: String) -> Double? {
        for line in output.split(separator: "\n") where line.contains("Overall exposure level for \(unit):") {
            let after = line.split(separator: ":").last?.split(separator: " ").first
            return after.flatMap { Double(String($0)) }
        }
        return nil
    }
}
