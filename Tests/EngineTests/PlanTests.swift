import Foundation
import Testing
import TestSupport
@testable import Engine
@testable import Remote
import Support

/// Diffing logic on synthetic probe results: no host involved.
@Suite struct PlanTests {
    func desired(_ parts: [(String, Manifest)]) throws -> DesiredState { try DesiredState(parts) }

    func probe(_ observed: [Observed?], systemd: Bool = true, pending: [String] = []) -> ProbeResult {
        ProbeResult(facts: HostFacts(arch: "x86_64", os: "debian 12", hasSystemd: systemd, pendingRestarts: pending),
                    observed: observed, currentContent: [:])
    }

    func file(_ sha: String?, mode: UInt32 = 0o644) -> Observed {
        .path(PathState(kind: .file, mode: mode, owner: "root", group: "root", sha256: sha))
    }

    @Test func restartOnlyServicesWhoseInputsChangedInComponentOrder() throws {
        let d = try desired([
            ("dovecot", Manifest {
                File("/etc/dovecot/dovecot.conf", text: "new")
                Service("dovecot", restartOn: ["/etc/dovecot/dovecot.conf"])
            }),
            ("postfix", Manifest {
                File("/etc/postfix/main.cf", text: "same")
                Service("postfix", restartOn: ["/etc/postfix/main.cf"])
            }),
            ("nginx", Manifest {
                File("/etc/nginx/nginx.conf", text: "new")
                Service("nginx", reloadOn: ["/etc/nginx/nginx.conf"])
            }),
        ])
        let p = try Plan.make(desired: d, probe: probe([
            file("old"), .service(enabled: "enabled", active: "active"),
            file(sha256Hex(Array("same".utf8))), .service(enabled: "enabled", active: "active"),
            file("old"), .service(enabled: "enabled", active: "active"),
        ]))
        #expect(p.services.map { "\($0.verb.rawValue) \($0.unit)" } == ["restart dovecot.service", "reload nginx.service"])
        #expect(p.services[0].reason == "dovecot.conf changed")
    }

    @Test func restartWinsOverReloadAndStoppedServicesAreStarted() throws {
        let d = try desired([("web", Manifest {
            File("/etc/a", text: "1"); File("/etc/b", text: "2")
            Service("nginx", restartOn: ["/etc/a"], reloadOn: ["/etc/b"])
            Service("mtail", restartOn: ["/etc/a"])
            Service("old", enabled: false, running: false)
        })])
        let p = try Plan.make(desired: d, probe: probe([
            file("x"), file("y"),
            .service(enabled: "enabled", active: "active"),
            .service(enabled: "disabled", active: "failed"),
            .service(enabled: "enabled", active: "active"),
        ]))
        #expect(p.services.map { "\($0.verb.rawValue) \($0.unit)" } == [
            "restart nginx.service", "enable mtail.service", "start mtail.service",
            "disable old.service", "stop old.service",
        ])
    }

    @Test func unitsWantedOffThatANewPackageMayBringAreDecidedOnTheHost() throws {
        let d = try desired([("unbound", Manifest {
            Package("unbound")
            Service("unbound-resolvconf", enabled: false, running: false)
        })])
        // unbound not installed yet: its postinst may enable unbound-resolvconf
        let fresh = try Plan.make(desired: d, probe: probe([.package(installed: false), .service(enabled: "", active: "inactive")]))
        #expect(fresh.services.map { "\($0.verb.rawValue) \($0.unit)" } == ["disable unbound-resolvconf.service", "stop unbound-resolvconf.service"])
        #expect(fresh.services.allSatisfy { $0.onlyIfPresent })
        let script = try #require(ApplyScript.configureAndActivate(fresh, d, stages: Set(Stage.allCases))).text
        #expect(script.contains("systemctl cat unbound-resolvconf.service >/dev/null 2>&1 && ! systemctl disable"))
        // installed, unit absent for good: nothing to do, so a rerun stays empty
        let later = try Plan.make(desired: d, probe: probe([.package(installed: true), .service(enabled: "", active: "inactive")]))
        #expect(later.services.isEmpty && later.isEmpty)
    }

    @Test func newPackageTriggersItsService() throws {
        let d = try desired([("unbound", Manifest {
            Package("unbound")
            Service("unbound", restartOn: ["unbound"])
        })])
        let p = try Plan.make(desired: d, probe: probe([.package(installed: false), .service(enabled: "not-found", active: "inactive")]))
        #expect(p.changes.map(\.subject) == ["package unbound"])
        #expect(p.services.map(\.verb) == [.enable, .start])
    }

    @Test func pendingRestartsFromAnInterruptedRunAreRedone() throws {
        let d = try desired([("postfix", Manifest { Service("postfix") })])
        let p = try Plan.make(desired: d, probe: probe([.service(enabled: "enabled", active: "active")],
                                                       pending: ["postfix.service"]))
        #expect(p.services.map(\.verb) == [.restart])
        #expect(p.services[0].reason == "left pending by an interrupted run")
    }

    @Test func aConfigureOnlyRunLeavesItsRestartsForTheActivateRun() throws {
        let d = try desired([("postfix", Manifest {
            File("/etc/postfix/main.cf", text: "new")
            Service("postfix", restartOn: ["/etc/postfix/main.cf"])
        })])
        let p = try Plan.make(desired: d, probe: probe([file("old"), .service(enabled: "enabled", active: "active")]))
        let configure = try #require(ApplyScript.configureAndActivate(p, d, stages: [.configure])).text
        #expect(configure.contains(">>\(pendingRestartsFile)"))
        #expect(!configure.contains("rm -f \(pendingRestartsFile)"))
        #expect(!configure.contains("systemctl restart"))
        let all = try #require(ApplyScript.configureAndActivate(p, d, stages: Set(Stage.allCases))).text
        #expect(all.contains("systemctl restart postfix.service") && all.contains("rm -f \(pendingRestartsFile)"))
    }

    @Test func unitChangesNeedDaemonReload() throws {
        let d = try desired([("chatmaild", Manifest { File("/etc/systemd/system/doveauth.service", text: "[Unit]") })])
        let p = try Plan.make(desired: d, probe: probe([.path(.missing)]))
        #expect(p.needsDaemonReload)
        let d2 = try desired([("x", Manifest { File("/etc/x.conf", text: "[Unit]") })])
        #expect(!(try Plan.make(desired: d2, probe: probe([.path(.missing)])).needsDaemonReload))
    }

    @Test func usersAndGroups() throws {
        let d = try desired([("base", Manifest {
            SystemGroup("opendkim")
            SystemUser("vmail", home: "/home/vmail")
            SystemUser("postfix", extraGroups: ["opendkim"])
        })])
        let p = try Plan.make(desired: d, probe: probe([
            .group(exists: false),
            .user(exists: false, group: "", groups: [], home: "", shell: ""),
            .user(exists: true, group: "postfix", groups: ["postfix"], home: "/var/spool/postfix", shell: "/usr/sbin/nologin"),
        ]))
        #expect(p.changes.map { "\($0.action.rawValue) \($0.subject) (\($0.detail))" } == [
            "+ group opendkim (new)", "+ user vmail (new)", "~ user postfix (add to opendkim)",
        ])
    }

    @Test func downloadsCompareSha256() throws {
        let sha = String(repeating: "a", count: 64)
        let d = try desired([("iroh", Manifest { Download("https://files.test/iroh", sha256: sha.uppercased(), to: "/usr/local/bin/iroh-relay") })])
        let same = PathState(kind: .file, mode: 0o755, owner: "root", group: "root", sha256: sha)
        #expect(try Plan.make(desired: d, probe: probe([.path(same)])).isEmpty)
        var other = same
        other.sha256 = String(repeating: "b", count: 64)
        #expect(try Plan.make(desired: d, probe: probe([.path(other)])).changes.map(\.detail) == ["sha256 differs"])
    }

    @Test func manifestContradictionsAndUnguardedCommandsAreRefused() throws {
        #expect(throws: ManifestError.self) {
            try DesiredState([("a", Manifest { File("/etc/x", text: "1") }), ("b", Manifest { File("/etc/x", text: "2") })])
        }
        #expect(throws: ManifestError.self) {
            try DesiredState([("a", Manifest { GuardedCommand("always", "true") })])
        }
        // The same package from two components is fine.
        let d = try DesiredState([("a", Manifest { Package("curl") }), ("b", Manifest { Package("curl") })])
        #expect(d.items.count == 1)
    }

    @Test func secretsAreNeverPrinted() throws {
        let d = try desired([("dkim", Manifest { File("/etc/dkim/key", text: "PRIVATE-KEY-BYTES", secret: true) })])
        var pr = probe([file("old")])
        pr.currentContent[0] = Array("OLD-PRIVATE".utf8)
        let p = try Plan.make(desired: d, probe: pr)
        let text = PlanPrinter.text(p, desired: d, probe: pr, diff: true)
        #expect(!text.contains("PRIVATE"))
        #expect(text.contains("secret: content not shown"))
        let json = JSONEvents.line(PlanPrinter.json(p))
        #expect(!json.contains("PRIVATE"))
    }

    @Test func jsonEventsHaveAStableShape() throws {
        let d = try desired([("postfix", Manifest { Package("postfix"); Service("postfix", restartOn: ["postfix"]) })])
        let p = try Plan.make(desired: d, probe: probe([.package(installed: false), .service(enabled: "enabled", active: "active")]))
        let line = JSONEvents.line(JSONEvents.object(for: .planned(p)))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(obj["event"] as? String == "plan")
        let changes = try #require(obj["changes"] as? [[String: String]])
        #expect(changes == [["component": "postfix", "action": "create", "subject": "package postfix", "detail": "install"]])
        let services = try #require(obj["services"] as? [[String: String]])
        #expect(services == [["component": "postfix", "unit": "postfix.service", "action": "restart", "reason": "postfix changed"]])
        #expect(!line.contains("\n"))
        for event in [EngineEvent.probed(seconds: 0.1234, resources: 3), .stepStarted("file /etc/x"),
                      .batchFinished(name: "install", seconds: 1), .verified(seconds: 0.5)] {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(JSONEvents.line(JSONEvents.object(for: event)).utf8)) as? [String: Any])
            #expect(o["event"] is String)
        }
    }

    @Test func textPlanIsGroupedByComponent() throws {
        let d = try desired([
            ("postfix", Manifest { Package("postfix"); File("/etc/postfix/main.cf", text: "x") }),
            ("nginx", Manifest { File("/etc/nginx/nginx.conf", text: "x") }),
        ])
        let p = try Plan.make(desired: d, probe: probe([.package(installed: false), .path(.missing), file("x")]))
        let text = PlanPrinter.text(p, desired: d)
        #expect(text == """
            postfix
              + package postfix (install)
              + file /etc/postfix/main.cf (new)
            nginx
              ~ file /etc/nginx/nginx.conf (content)
            3 changes, 0 service actions
            """)
    }
}
