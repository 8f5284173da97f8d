import Deploy
import Foundation
import Engine
import Remote

/// The engine's promises, checked on a fresh lab host in order: each check
/// starts from the state the previous one left.
final class LabChecks {
    let target: String
    var settings: LabSettings
    var passed = 0
    var failed = 0

    init(target: String, settings: LabSettings) {
        self.target = target
        self.settings = settings
    }

    func runAll() -> Bool {
        check("first run converges a fresh host", firstRun)
        check("second run changes nothing in at most 3 round trips", noOpRun)
        check("a changed file restarts only its service", changedFileRestartsOnlyItsService)
        check("a broken main.cf is refused and Postfix keeps its config", brokenPostfixRefused)
        check("a cut connection mid-apply, then a rerun converges and restarts", cutConnection)
        print("engine-lab: \(passed) passed, \(failed) failed")
        return failed == 0
    }

    func check(_ name: String, _ body: () throws -> Void) {
        let start = Date()
        do {
            try body()
            passed += 1
            print(String(format: "ok    %@ (%.1f s)", name, Date().timeIntervalSince(start)))
        } catch {
            failed += 1
            print("FAIL  \(name)\n      \(String(describing: error).replacingOccurrences(of: "\n", with: "\n      "))")
        }
    }

    struct CheckFailure: Error, CustomStringConvertible { var description: String }
    func expect(_ ok: Bool, _ what: @autoclosure () -> String) throws {
        if !ok { throw CheckFailure(description: what()) }
    }

    func engine(_ host: any Remote.Host, _ s: LabSettings) throws -> Engine {
        Engine(host: host, desired: try DesiredState([("lab", labManifest(s))]))
    }

    /// One fresh connection per deploy, as `cmdeploy run` does.
    func deploy(_ s: LabSettings) throws -> RunSummary {
        let host = try connect(target)
        defer { host.close() }
        return try engine(host, s).run(dryRun: false)
    }

    /// The error of type `E` a deploy of `s` must fail with; a deploy that
    /// succeeds fails the check with `accepted`, other errors pass through.
    func refusal<E: Error>(of s: LabSettings, as _: E.Type, _ accepted: String) throws -> E {
        do {
            _ = try deploy(s)
        } catch let error as E {
            return error
        }
        throw CheckFailure(description: accepted)
    }

    func on(_ command: String) throws -> String {
        let host = try connect(target)
        defer { host.close() }
        return try host.check(command).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Main PIDs of the lab's services (Postfix's master from its pid file).
    func pids() throws -> [String: String] {
        let out = try on("""
            for u in labecho labother cron; do echo "$u.service $(systemctl show -P MainPID $u)"; done
            echo "postfix.service $(tr -d ' ' </var/spool/postfix/pid/master.pid)"
            """)
        var result: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let p = line.split(separator: " ")
            if p.count == 2 { result[String(p[0])] = String(p[1]) }
        }
        return result
    }

    /// The greeting of the Postfix that is actually running.
    func smtpBanner() throws -> String {
        try on("timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/25; head -n1 <&3; printf \"QUIT\\r\\n\" >&3'")
    }

    func firstRun() throws {
        // Leftovers of an "older version" that the manifest removes.
        try on("mkdir -p /etc/labtest-old/b /etc/labtest-old/c && touch /etc/labtest-old/a /etc/labtest-old/c/x")
        let desired = try DesiredState([("lab", labManifest(settings))])
        try expect(desired.items.count >= 100, "the lab manifest has only \(desired.items.count) resources")
        let summary = try deploy(settings)
        try expect(summary.applied, "nothing was applied")
        try expect(summary.roundTrips <= 4, "first run took \(summary.roundTrips) round trips (probe, install, configure, verify)")
        let state = try on("""
            systemctl is-active labecho labother postfix cron | tr '\\n' ' '
            ls /etc/labtest-old 2>/dev/null | wc -l
            id -Gn labusr2; stat -c '%a %U %G' /etc/labtest/secret.key /var/lib/labtest
            /usr/local/bin/lab-iroh --version; test -f /var/lib/labtest/index && echo indexed
            """)
        try expect(state == """
            active active active active 0
            labusr2 labgrp1
            640 root labgrp2
            770 labusr1 labgrp1
            iroh-relay lab-stand-in
            indexed
            """, "host state after the first run:\n\(state)")
        try expect(try smtpBanner().contains("ESMTP lab-1"), "Postfix does not greet with the deployed banner")
    }

    func noOpRun() throws {
        let host = try connect(target)
        defer { host.close() }
        let summary = try engine(host, settings).run(dryRun: false)
        try expect(summary.plan.isEmpty, "plan is not empty: \(summary.plan.changes.map(\.subject)) \(summary.plan.services.map(\.unit))")
        try expect(!summary.applied && summary.roundTrips <= 3, "\(summary.roundTrips) round trips")
    }

    func changedFileRestartsOnlyItsService() throws {
        let before = try pids()
        settings.echoConfig = "greeting = changed\n"
        let summary = try deploy(settings)
        let actions = summary.plan.services.map { "\($0.verb.rawValue) \($0.unit)" }
        try expect(actions == ["restart labecho.service"], "service actions: \(actions)")
        try expect(summary.plan.changes.map(\.subject) == ["file /etc/labtest/echo.conf"],
                   "changes: \(summary.plan.changes.map(\.subject))")
        let after = try pids()
        for unit in labServices {
            let restarted = before[unit] != after[unit]
            try expect(restarted == (unit == "labecho.service"),
                       "\(unit): PID \(before[unit] ?? "?") → \(after[unit] ?? "?")")
        }
    }

    func brokenPostfixRefused() throws {
        let masterBefore = try pids()["postfix.service"]
        var broken = settings
        broken.brokenPostfix = true
        broken.postfixBanner = "lab-broken"
        let error = try refusal(of: broken, as: ApplyError.self, "the broken main.cf was accepted")
        try expect(error.kind == "validate" && error.subject == "/etc/postfix/main.cf",
                   "wrong error: \(error)")
        try expect(error.output.contains("nonexistent"), "the error does not quote postfix check:\n\(error)")
        let live = try on("postconf -h smtpd_banner; grep -c daemon_directory /etc/postfix/main.cf || true")
        try expect(live == "$myhostname ESMTP lab-1\n0", "live main.cf changed: \(live)")
        try expect(try smtpBanner().contains("ESMTP lab-1"), "running Postfix lost its config")
        try expect(try pids()["postfix.service"] == masterBefore, "Postfix was restarted")
        // The good config still deploys as a no-op afterwards.
        let summary = try deploy(settings)
        try expect(summary.plan.isEmpty, "not converged after the refusal: \(summary.plan.changes.map(\.subject))")
    }

    func cutConnection() throws {
        let before = try pids()
        var cut = settings
        cut.cutConnection = true
        cut.echoConfig = "greeting = after the cut\n"
        let error = try refusal(of: cut, as: RemoteError.self, "the apply survived the cut connection")
        guard case .connectionLost = error else { throw CheckFailure(description: "unexpected error: \(error)") }
        let midway = try on("cat /etc/labtest/echo.conf; cat /var/lib/cmdeploy/pending-restarts")
        try expect(midway == "greeting = after the cut\nlabecho.service",
                   "after the cut: \(midway)")
        try expect(try pids()["labecho.service"] == before["labecho.service"], "labecho restarted before the cut")

        let rerun = try deploy(cut)
        let actions = rerun.plan.services.map { "\($0.verb.rawValue) \($0.unit)" }
        try expect(rerun.plan.changes.isEmpty && actions == ["restart labecho.service"],
                   "rerun plan: \(rerun.plan.changes.map(\.subject)) \(actions)")
        // The killed apply left its staging folder and script in /tmp.
        try expect(rerun.plan.repairs.contains { $0.contains("temporary file") },
                   "rerun repairs: \(rerun.plan.repairs)")
        let after = try pids()
        try expect(after["labecho.service"] != before["labecho.service"], "labecho was not restarted by the rerun")
        try expect(after["postfix.service"] == before["postfix.service"], "postfix was restarted")
        let final = try deploy(cut)
        try expect(final.plan.isEmpty && !final.applied, "third run not a no-op")
        try expect(try on("test -e /var/lib/cmdeploy/pending-restarts && echo left || echo gone") == "gone",
                   "pending-restarts left behind")
        try expect(try on("ls -d /tmp/cmdeploy-* /etc/labtest/.cmdeploy-* 2>/dev/null | wc -l") == "0",
                   "temporary files left behind")
    }
}
