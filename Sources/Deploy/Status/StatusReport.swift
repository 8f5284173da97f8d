import ChatmailConfig
import Foundation
import Engine
import Remote

/// One line of the health report.
public struct StatusCheck: Sendable, Equatable {
    public enum Level: String, Sendable { case ok, warn, fail }
    /// services, ports, tls, mail, security, resources, deploy
    public var group: String
    /// What is checked: a unit, "25/tcp", "certificate", "disk" ...
    public var name: String
    public var level: Level
    /// Says what was found; for a problem, self-contained (names the unit, port, file).
    public var message: String
}

/// The evaluated health of one relay.
public struct StatusReport: Sendable {
    public static let groups = ["services", "ports", "tls", "mail", "security", "resources", "deploy"]

    public var domain: String
    public var host: String
    public var checks: [StatusCheck]
    public var status: RelayStatus
    public var mailDisabled: Bool
    var facts: [String: Any] { StatusReport.facts(status, config: config, local: localStamp) }
    let config: ChatmailConfig
    let localStamp: String?

    public var failures: [StatusCheck] { checks.filter { $0.level == .fail } }
    public var warnings: [StatusCheck] { checks.filter { $0.level == .warn } }
    public var healthy: Bool { failures.isEmpty }

    /// The last line of the report: what is wrong, or that all is well.
    public var summary: String {
        let f = failures
        if f.isEmpty {
            let w = warnings.count
            return "\(domain) is healthy (\(checks.count) checks" + (w == 0 ? ")" : ", \(w) warning\(w == 1 ? "" : "s"))")
        }
        // The report above lists them all; the last line names the first few.
        let shown = f.prefix(4).map(\.message).joined(separator: "; ")
        return "\(domain): \(f.count) problem\(f.count == 1 ? "" : "s"): " + shown + (f.count > 4 ? "; and \(f.count - 4) more" : "")
    }

    /// One JSON object with the checks and the raw facts behind them (keys sorted).
    public func json() -> String {
        let object: [String: Any] = [
            "domain": domain, "host": host, "healthy": healthy,
            "failures": failures.count, "warnings": warnings.count, "mail_disabled": mailDisabled,
            "checks": checks.map { ["group": $0.group, "name": $0.name, "level": $0.level.rawValue, "message": $0.message] },
            "facts": facts,
            "summary": summary,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func facts(_ s: RelayStatus, config: ChatmailConfig, local: String?) -> [String: Any] {
        var f: [String: Any] = [:]
        var units: [String: Any] = [:]
        for (name, u) in s.units {
            var entry: [String: Any] = ["active": u.activeState, "sub": u.subState, "enabled": u.unitFileState, "load": u.loadState]
            if let since = u.since { entry["since"] = since }
            units[name] = entry
        }
        f["units"] = units
        f["failed_units"] = s.failedUnits
        f["listeners"] = s.sockets.map { ["proto": $0.proto.rawValue, "address": $0.address, "port": $0.port, "processes": $0.processes] }
        if let c = s.certificate {
            var cert: [String: Any] = ["path": c.path, "not_after": c.notAfterText, "issuer": c.issuer]
            if let end = c.notAfter, let now = s.now { cert["days_left"] = (end - now) / 86400 }
            f["certificate"] = cert
        } else {
            f["certificate"] = ["path": config.tlsCertPath, "problem": s.certificateProblem ?? "unknown"]
        }
        if let q = s.queue { f["queue"] = ["total": q.values.reduce(0, +), "by_queue": q] as [String: Any] }
        else { f["queue"] = ["problem": s.queueProblem ?? "unknown"] }
        if let d = s.disk {
            f["disk"] = ["path": d.path, "free_mb": d.availableKB / 1024, "total_mb": d.totalKB / 1024,
                         "min_free_mb": config.minFreeDiskSpaceMB]
        }
        if let a = s.memAvailableKB {
            f["memory"] = ["available_mb": a / 1024, "total_mb": (s.memTotalKB ?? 0) / 1024,
                           "min_available_mb": config.minAvailableMemoryMB]
        }
        if let l = s.load1 { f["load"] = ["load_1m": l, "cpus": s.cpus ?? 0, "max_load_1m": config.maxLoad1m] as [String: Any] }
        f["addresses"] = s.addresses ?? 0
        var version: [String: Any] = ["deployed": s.deployedCommit ?? NSNull()]
        if let local { version["local"] = firstLine(local) }
        version["matches"] = local.map { sha256Hex(Array(normalizedStamp($0).utf8)) == s.deployedStampSHA256 } ?? NSNull()
        f["version"] = version
        f["nocreate"] = s.nocreate
        f["interrupted_deploy"] = ["running": s.deployRunning.map { $0 as Any } ?? NSNull(), "policy_rc_d_left": s.leftoverGuard,
                                   "dpkg_interrupted": s.dpkgInterrupted, "unfinished_moves": s.unfinishedMoves]
        if let exposure = s.exposure { f["exposure"] = exposure }
        if s.secretsProbed {
            f["secrets"] = ["keys": s.secrets.map { ["path": $0.path, "owner": $0.owner, "group": $0.group,
                                                      "mode": String($0.mode, radix: 8)] },
                            "loose_mailbox_files": s.looseMailboxFileCount ?? 0] as [String: Any]
        }
        if let now = s.now { f["now"] = now }
        return f
    }
}

/// Turns the facts into checks against the expectations and the creation
/// guards of chatmail.ini.
public enum RelayHealth {
    /// A certificate with less time left fails; with less than `certWarnDays` it warns.
    /// acmetool renews 30 days ahead, so under 21 days its renewal has been failing for over a week.
    public static let certFailDays = 7
    public static let certWarnDays = 21
    /// More messages than this in Postfix's queue warn (delivery is stuck somewhere).
    public static let queueWarnAt = 500

    /// Runs the status probe on `host` and evaluates it.
    public static func check(_ config: ChatmailConfig, on host: any Remote.Host, localStamp: String?) throws -> StatusReport {
        let status = StatusProbe.parse(try probe(config, on: host))
        return try evaluate(status, config: config, host: host.name, localStamp: localStamp)
    }

    /// The status probe's raw output on `host`.
    public static func probe(_ config: ChatmailConfig, on host: any Remote.Host) throws -> String {
        try StatusProbe.run(units: RelayExpectations.allUnits(config), config: config, on: host)
    }

    /// `localStamp`: what `cmdeploy run` from here would write to /etc/chatmail-version
    /// (nil or "unknown" outside a git checkout).
    public static func evaluate(_ s: RelayStatus, config: ChatmailConfig, host: String,
                                localStamp: String?) throws -> StatusReport {
        // `run --disable-mail` leaves Postfix and Dovecot stopped and disabled
        // on purpose (the old host of a migration); expect exactly that.
        let mailOff = ["postfix.service", "dovecot.service"].allSatisfy {
            guard let u = s.units[$0] else { return false }
            return u.unitFileState == "disabled" && u.activeState != "active"
        }
        // Unknown or unsupported systems are judged like Debian 12.
        let expected = try RelayExpectations.derive(config, disableMail: mailOff,
                                                    debianRelease: s.system.debianRelease ?? "12")
        var checks: [StatusCheck] = []
        checks += unitChecks(s, expected)
        checks += portChecks(s, expected)
        checks.append(certificateCheck(s, config))
        if mailOff {
            checks.append(StatusCheck(group: "mail", name: "mail", level: .warn,
                                      message: "Postfix and Dovecot are stopped and disabled (deployed with --disable-mail)"))
        } else {
            checks.append(queueCheck(s))
            if let milter = milterCheck(s) { checks.append(milter) }
        }
        checks.append(StatusCheck(group: "mail", name: "addresses", level: .ok,
                                  message: s.addresses.map { "\($0) address\($0 == 1 ? "" : "es")" } ?? "no address yet"))
        checks += SandboxStatus.exposureChecks(s)
        checks += SandboxStatus.secretChecks(s, config)
        checks += resourceChecks(s, config)
        checks.append(versionCheck(s, localStamp: localStamp))
        checks.append(s.nocreate
            ? StatusCheck(group: "deploy", name: "account creation", level: .warn,
                          message: "\(StatusProbe.nocreatePath) is set: new addresses are refused, existing ones work")
            : StatusCheck(group: "deploy", name: "account creation", level: .ok, message: "open"))
        checks.append(deployCheck(s))
        return StatusReport(domain: config.mailDomain, host: host, checks: checks, status: s,
                            mailDisabled: mailOff, config: config, localStamp: localStamp)
    }

    /// What an interrupted deploy left (see Recovery). While a deploy runs,
    /// its guard and staging are expected, so that only warns.
    static func deployCheck(_ s: RelayStatus) -> StatusCheck {
        var problems: [String] = []
        if s.dpkgInterrupted { problems.append("dpkg was interrupted (packages half-installed)") }
        if s.leftoverGuard {
            problems.append("cmdeploy's \(Recovery.guardPath) is left behind (package updates do not restart services)")
        }
        if s.unfinishedMoves { problems.append("a configuration change stopped between its file moves") }
        if let owner = s.deployRunning {
            return StatusCheck(group: "deploy", name: "deploy", level: .warn,
                               message: "a cmdeploy apply is running (\(owner))"
                                   + (problems.isEmpty ? "" : "; meanwhile: " + problems.joined(separator: "; ")))
        }
        if problems.isEmpty { return StatusCheck(group: "deploy", name: "deploy", level: .ok, message: "no interrupted deploy") }
        return StatusCheck(group: "deploy", name: "deploy", level: .fail,
                           message: problems.joined(separator: "; ") + ": run `cmdeploy run` to repair")
    }

    static func unitChecks(_ s: RelayStatus, _ expected: RelayExpectations) -> [StatusCheck] {
        if s.noSystemd {
            return [StatusCheck(group: "services", name: "systemd", level: .fail,
                                message: "systemd is not running on the host, so no relay service is")]
        }
        var checks: [StatusCheck] = []
        var seen = Set<String>()
        for e in expected.running where seen.insert(e.unit).inserted {
            guard let u = s.units[e.unit] else {
                checks.append(StatusCheck(group: "services", name: e.unit, level: .fail,
                                          message: "\(e.unit) is not known to systemd"))
                continue
            }
            let since = u.since.map { " since " + when($0, now: s.now) } ?? ""
            let state = "\(u.activeState) (\(u.subState))\(since)"
            if u.loadState == "not-found" {
                checks.append(StatusCheck(group: "services", name: e.unit, level: .fail, message: "\(e.unit) is not installed"))
            } else if u.activeState == "active" {
                checks.append(StatusCheck(group: "services", name: e.unit, level: .ok, message: state))
            } else if u.activeState == "activating" || u.activeState == "reloading" {
                checks.append(StatusCheck(group: "services", name: e.unit, level: .warn, message: "\(e.unit) is \(state)"))
            } else {
                checks.append(StatusCheck(group: "services", name: e.unit, level: .fail, message: "\(e.unit) is \(state)"))
            }
        }
        // Units kept stopped are fine, unless their last run failed (a
        // one-shot job such as the certificate renewal).
        for e in expected.stopped where seen.insert(e.unit).inserted {
            if let u = s.units[e.unit], u.activeState == "failed" {
                let since = u.since.map { " since " + when($0, now: s.now) } ?? ""
                checks.append(StatusCheck(group: "services", name: e.unit, level: .warn, message: "\(e.unit) failed\(since)"))
            }
        }
        let others = s.failedUnits.filter { !seen.contains($0) }
        if !others.isEmpty {
            checks.append(StatusCheck(group: "services", name: "other units", level: .warn,
                                      message: "failed: " + others.joined(separator: ", ")))
        }
        return checks
    }

    static func portChecks(_ s: RelayStatus, _ expected: RelayExpectations) -> [StatusCheck] {
        var checks: [StatusCheck] = []
        var seen = Set<String>()
        for e in expected.listeners {
            let l = e.listener
            let name = "\(l.port)/\(l.proto.rawValue)"
            guard seen.insert(name).inserted else { continue }
            let sockets = s.sockets.filter { $0.proto == l.proto && $0.port == l.port }
            var owners: [String] = []
            for socket in sockets { for p in socket.processes where !owners.contains(p) { owners.append(p) } }
            let addresses = Array(Set(sockets.map(\.address))).sorted().joined(separator: " ")
            if sockets.isEmpty {
                checks.append(StatusCheck(group: "ports", name: name, level: .fail,
                                          message: "port \(name) (\(l.purpose), \(l.process)) is not listening"))
            } else if owners.contains(l.process) {
                checks.append(StatusCheck(group: "ports", name: name, level: .ok, message: "\(l.process) on \(addresses) (\(l.purpose))"))
            } else if owners.isEmpty {
                checks.append(StatusCheck(group: "ports", name: name, level: .warn,
                                          message: "port \(name) listens, but its process is not shown (expected \(l.process))"))
            } else {
                checks.append(StatusCheck(group: "ports", name: name, level: .fail,
                                          message: "port \(name) is held by \(owners.joined(separator: ", ")), expected \(l.process) (\(l.purpose))"))
            }
        }
        return checks
    }

    static func certificateCheck(_ s: RelayStatus, _ config: ChatmailConfig) -> StatusCheck {
        let path = s.certificate?.path ?? config.tlsCertPath
        guard let cert = s.certificate else {
            let problem = s.certificateProblem ?? "unreadable"
            return StatusCheck(group: "tls", name: "certificate", level: .fail,
                               message: problem == "missing" ? "TLS certificate \(path) is missing"
                                   : "TLS certificate \(path) cannot be read: \(problem)")
        }
        guard let end = cert.notAfter, let now = s.now else {
            return StatusCheck(group: "tls", name: "certificate", level: .warn,
                               message: "TLS certificate \(path): cannot tell when \"\(cert.notAfterText)\" is")
        }
        let days = Int((Double(end - now) / 86400).rounded(.down))
        let issuer = cert.issuer.isEmpty ? "" : ", issuer \(cert.issuer)"
        let mode = ["acme": "ACME", "self": "self-signed", "external": "external"][config.tlsMode.rawValue] ?? config.tlsMode.rawValue
        let text = "\(mode), \(path) valid until \(utcDate(end)) (\(days) days\(issuer))"
        if end <= now {
            return StatusCheck(group: "tls", name: "certificate", level: .fail,
                               message: "TLS certificate \(path) expired on \(utcDate(end))")
        }
        if days < certFailDays {
            return StatusCheck(group: "tls", name: "certificate", level: .fail,
                               message: "TLS certificate \(path) expires in \(days) days (\(utcDate(end)))")
        }
        if days < certWarnDays {
            return StatusCheck(group: "tls", name: "certificate", level: .warn,
                               message: "TLS certificate \(path) expires in \(days) days: renewal is not happening")
        }
        return StatusCheck(group: "tls", name: "certificate", level: .ok, message: text)
    }

    /// OpenDKIM can run and still defer every message (issue #16): the probe
    /// has it sign a message; restarts by the health timer are reported.
    static func milterCheck(_ s: RelayStatus) -> StatusCheck? {
        guard let probe = s.milterProbe else { return nil }
        let healed = s.milterHealed ?? 0
        let note = healed > 0 ? "; the health timer restarted it \(healed) time\(healed == 1 ? "" : "s") in 24 h" : ""
        if probe.hasPrefix("ok") {
            let ms = String(probe.dropFirst(2)).trimmed
            return StatusCheck(group: "mail", name: "opendkim milter", level: healed > 0 ? .warn : .ok,
                               message: "signs a probe message (\(ms))" + note)
        }
        let why = probe.hasPrefix("FAIL ") ? String(probe.dropFirst(5)) : probe
        return StatusCheck(group: "mail", name: "opendkim milter", level: .fail,
                           message: "does not sign: \(why.isEmpty ? "no answer" : why)" + note)
    }

    static func queueCheck(_ s: RelayStatus) -> StatusCheck {
        guard let q = s.queue else {
            return StatusCheck(group: "mail", name: "queue", level: .fail,
                               message: "cannot read the Postfix queue: \(s.queueProblem ?? "unknown error")")
        }
        let total = q.values.reduce(0, +)
        let parts = q.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let text = "\(total) message\(total == 1 ? "" : "s")" + (parts.isEmpty ? "" : " (\(parts))")
        if total > queueWarnAt {
            return StatusCheck(group: "mail", name: "queue", level: .warn, message: "Postfix queue holds \(text)")
        }
        return StatusCheck(group: "mail", name: "queue", level: .ok, message: text)
    }

    /// Disk, memory and load against the guards doveauth checks before it
    /// creates an address (`max_load_1m`, `min_available_memory_mb`,
    /// `min_free_disk_space_mb`): below a guard no new address can
    /// be made, so disk and memory fail; load spikes pass, so load only warns.
    static func resourceChecks(_ s: RelayStatus, _ config: ChatmailConfig) -> [StatusCheck] {
        var checks: [StatusCheck] = []
        if let d = s.disk {
            let free = d.availableKB / 1024, min = config.minFreeDiskSpaceMB
            let text = "\(mb(free)) free of \(mb(d.totalKB / 1024)) on \(d.path) (min_free_disk_space \(config.minFreeDiskSpace))"
            checks.append(free < min
                ? StatusCheck(group: "resources", name: "disk", level: .fail, message: "only \(text): new addresses are refused")
                : StatusCheck(group: "resources", name: "disk", level: free < 2 * min ? .warn : .ok, message: text))
        } else {
            checks.append(StatusCheck(group: "resources", name: "disk", level: .warn,
                                      message: "free disk space of \(config.mailboxesDir) is unknown"))
        }
        if let a = s.memAvailableKB {
            let avail = a / 1024, min = config.minAvailableMemoryMB
            let total = s.memTotalKB.map { " of \(mb($0 / 1024))" } ?? ""
            let text = "\(mb(avail)) available\(total) (min_available_memory \(config.minAvailableMemory))"
            checks.append(avail < min
                ? StatusCheck(group: "resources", name: "memory", level: .fail, message: "only \(text): new addresses are refused")
                : StatusCheck(group: "resources", name: "memory", level: avail < 2 * min ? .warn : .ok, message: text))
        } else {
            checks.append(StatusCheck(group: "resources", name: "memory", level: .warn, message: "available memory is unknown"))
        }
        if let l = s.load1 {
            let cpus = s.cpus.map { ", \($0) CPU\($0 == 1 ? "" : "s")" } ?? ""
            let limit = formatLoad(config.maxLoad1m)
            checks.append(l > config.maxLoad1m
                ? StatusCheck(group: "resources", name: "load", level: .warn,
                              message: "load \(formatLoad(l)) is above max_load_1m \(limit)\(cpus): new addresses are refused while it lasts")
                : StatusCheck(group: "resources", name: "load", level: .ok, message: "\(formatLoad(l))\(cpus) (max_load_1m \(limit))"))
        }
        return checks
    }

    static func versionCheck(_ s: RelayStatus, localStamp: String?) -> StatusCheck {
        guard let deployed = s.deployedCommit else {
            return StatusCheck(group: "deploy", name: "version", level: .warn,
                               message: "/etc/chatmail-version is missing: this relay was not deployed by cmdeploy yet")
        }
        let short = shortCommit(deployed)
        guard let local = localStamp, firstLine(local) != "unknown" else {
            return StatusCheck(group: "deploy", name: "version", level: .ok,
                               message: "deployed \(short) (this cmdeploy does not know its own commit to compare)")
        }
        let localCommit = firstLine(local)
        if sha256Hex(Array(normalizedStamp(local).utf8)) == s.deployedStampSHA256 {
            return StatusCheck(group: "deploy", name: "version", level: .ok, message: "deployed \(short), same as this cmdeploy")
        }
        if localCommit == deployed {
            return StatusCheck(group: "deploy", name: "version", level: .warn,
                               message: "deployed \(short) with other local changes than this cmdeploy was built with")
        }
        return StatusCheck(group: "deploy", name: "version", level: .warn,
                           message: "deployed \(short), this cmdeploy is \(shortCommit(localCommit))")
    }

    // MARK: formatting

    static func shortCommit(_ c: String) -> String {
        c.count == 40 && c.allSatisfy(\.isHexDigit) ? String(c.prefix(10)) : c
    }

    static func mb(_ value: Int) -> String {
        value >= 10 * 1024 ? "\(value / 1024) GB" : value >= 1024 ? String(format: "%.1f GB", Double(value) / 1024) : "\(value) MB"
    }

    static func formatLoad(_ v: Double) -> String { String(format: "%.2f", v) }

    /// "2026-11-22 04:55 UTC (3 h ago)"; the age by the relay's own clock.
    static func when(_ epoch: Int, now: Int?) -> String {
        let text = utcDateTime(epoch)
        guard let now else { return text }
        let age = now - epoch
        let ago: String
        switch age {
        case ..<0: return text
        case ..<120: ago = "\(age) s"
        case ..<7200: ago = "\(age / 60) min"
        case ..<172_800: ago = "\(age / 3600) h"
        default: ago = "\(age / 86400) days"
        }
        return "\(text) (\(ago) ago)"
    }

    static func utcDate(_ epoch: Int) -> String {
        let (y, m, d) = civil(epoch)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    static func utcDateTime(_ epoch: Int) -> String {
        let secs = ((epoch % 86400) + 86400) % 86400
        return utcDate(epoch) + String(format: " %02d:%02d UTC", secs / 3600, secs % 3600 / 60)
    }

    /// Epoch seconds → proleptic Gregorian (year, month, day) in UTC.
    static func civil(_ epoch: Int) -> (Int, Int, Int) {
        let z = Int((Double(epoch) / 86400).rounded(.down)) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// The stamp as the Version component writes it (with a final newline).
func normalizedStamp(_ stamp: String) -> String { stamp.hasSuffix("\n") ? stamp : stamp + "\n" }

private func firstLine(_ text: String) -> String {
    String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmed
}
