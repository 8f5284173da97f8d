import ChatmailConfig
import Engine
import Remote

// The status probe: one generated shell script gathers every fact in one
// SSH round trip. It prints sections ("== name" then the raw output of
// standard tools), so a captured output is readable and doubles as a test
// fixture; all interpretation happens here in Swift.

/// The facts one status probe found on the relay.
public struct RelayStatus: Sendable, Equatable {
    public struct UnitState: Sendable, Equatable {
        public var unit: String
        public var loadState: String
        public var activeState: String
        public var subState: String
        public var unitFileState: String
        /// Seconds since the epoch at which the unit entered its current state.
        public var since: Int?
    }
    public typealias Socket = ListeningSocket
    public struct Certificate: Sendable, Equatable {
        public var path: String
        /// openssl's text ("Feb 20 04:55:24 2027 GMT") and the same as epoch seconds.
        public var notAfterText: String
        public var notAfter: Int?
        public var issuer: String
    }
    public struct Disk: Sendable, Equatable {
        public var path: String
        public var totalKB: Int
        public var availableKB: Int
    }

    public var units: [String: UnitState] = [:]
    /// systemd is not running (a container without it, a non-systemd host).
    public var noSystemd = false
    /// `systemctl --failed`: every failed unit on the host.
    public var failedUnits: [String] = []
    public var sockets: [Socket] = []
    public var certificate: Certificate?
    /// Why there is no certificate (missing file, openssl's error).
    public var certificateProblem: String?
    /// The host's clock, seconds since the epoch.
    public var now: Int?
    /// Messages per Postfix queue (active, deferred, hold, ...); nil when unreadable.
    public var queue: [String: Int]?
    public var queueProblem: String?
    public var disk: Disk?
    public var memTotalKB: Int?
    public var memAvailableKB: Int?
    public var load1: Double?
    public var cpus: Int?
    /// Address folders in mailboxes_dir; nil when the folder does not exist.
    public var addresses: Int?
    /// First line of /etc/chatmail-version (the git commit) and the sha256 of the
    /// whole file; nil when there is none.
    public var deployedCommit: String?
    public var deployedStampSHA256: String?
    public var nocreate = false
    /// The host's /etc/os-release (`HostSystem`): which units to expect.
    public var system = HostSystem(id: "", versionID: "", prettyName: "")
    /// A cmdeploy apply holds the host's lock: its owner line.
    public var deployRunning: String?
    /// Left by an interrupted deploy (the next `cmdeploy run` repairs them).
    public var leftoverGuard = false
    public var dpkgInterrupted = false
    public var unfinishedMoves = false
    /// OpenDKIM's milter probe: "ok N ms" or "FAIL why"; nil when the relay
    /// has no probe (IPv4 relay, older deploy) or OpenDKIM is stopped.
    public var milterProbe: String?
    /// Times the health timer restarted a failing OpenDKIM in the last 24 h.
    public var milterHealed: Int?
    /// `systemd-analyze security` scores of the sandboxed units the host
    /// has; nil when the probe had no such section or tool.
    public var exposure: [String: Double]?
    /// The DKIM and TLS keys as found (owner, group, mode).
    public var secrets: [SecretFile] = []
    /// Password and token files not private to vmail: up to three, and how many.
    public var looseMailboxFiles: [String] = []
    public var looseMailboxFileCount: Int?
    /// The probe had a secrets section (older captures have none).
    public var secretsProbed = false
    /// The script ran to its end.
    public var complete = false

    public init() {}
}

public struct StatusProbeError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public enum StatusProbe {
    public static let nocreatePath = HostLayout.nocreatePath

    /// The script asking about `units`, with paths from `config`.
    public static func script(units: [String], config: ChatmailConfig) -> String {
        let unitArgs = units.map(shellQuote).joined(separator: " ")
        let cert = shellQuote(config.tlsCertPath)
        let mailboxes = shellQuote(config.mailboxesDir)
        return """
            # cmdeploy status probe
            LC_ALL=C; export LC_ALL
            echo '== now'
            date +%s
            echo '== units'
            [ -d /run/systemd/system ] || echo 'nosystemd'
            # --timestamp=unix needs systemd 251 (Debian 12 has 252); older ones print dates without it.
            p=Id,LoadState,ActiveState,SubState,UnitFileState,StateChangeTimestamp
            systemctl show --timestamp=unix -p $p -- \(unitArgs) 2>/dev/null || systemctl show -p $p -- \(unitArgs) 2>&1
            echo '== failed'
            systemctl list-units --state=failed --plain --no-legend --no-pager 2>&1
            echo '== listen'
            ss -ltunpH 2>&1
            echo '== cert'
            echo path=\(cert)
            if [ -r \(cert) ]; then
              e=$(openssl x509 -noout -enddate -issuer -in \(cert) 2>&1); echo "$e"
              a=$(printf '%s\\n' "$e" | sed -n 's/^notAfter=//p')
              [ -n "$a" ] && echo "epoch=$(date -d "$a" +%s 2>/dev/null)"
            else
              echo "missing"
            fi
            echo '== queue'
            if command -v postqueue >/dev/null 2>&1; then
              q=$(postqueue -j 2>&1); echo "rc=$?"
              printf '%s\\n' "$q" | sed -n 's/.*"queue_name": *"\\([a-z]*\\)".*/\\1/p; /^postqueue:/p' | sort | uniq -c
            else
              echo "rc=127"
            fi
            echo '== disk'
            d=\(mailboxes); while [ ! -e "$d" ]; do d=$(dirname "$d"); done
            df -Pk -- "$d" 2>&1 | tail -n 1
            echo '== memory'
            grep -E '^(MemTotal|MemAvailable):' /proc/meminfo
            echo '== load'
            cat /proc/loadavg; nproc
            echo '== addresses'
            if [ -d \(mailboxes) ]; then find \(mailboxes) -mindepth 1 -maxdepth 1 -type d -name '*@*' | wc -l; else echo none; fi
            echo '== version'
            if [ -f /etc/chatmail-version ]; then head -n 1 /etc/chatmail-version; sha256sum </etc/chatmail-version | cut -c1-64; else echo none; fi
            echo '== nocreate'
            if [ -e \(nocreatePath) ]; then echo present; else echo absent; fi
            echo '== os'
            cat /etc/os-release 2>/dev/null | grep -E '^(ID|VERSION_ID|PRETTY_NAME)='

            echo '== deploy'
            if [ -e \(Recovery.lockPath) ] && ! flock -n \(Recovery.lockPath) true 2>/dev/null; then echo "running $(head -n 1 \(Recovery.ownerPath) 2>/dev/null)"; fi
            if [ -f \(Recovery.guardPath) ] && grep -qx \(shellQuote(Recovery.guardMarker)) \(Recovery.guardPath); then echo guard; fi
            if command -v dpkg >/dev/null && \(Recovery.dpkgInterrupted()); then echo dpkg; fi
            if [ -f \(Recovery.movesJournal) ]; then echo moves; fi
            echo '== milter'
            if [ -x \(OpenDKIM.probePath) ] && systemctl -q is-active opendkim 2>/dev/null; then
              echo "probe=$(timeout 15 \(OpenDKIM.probePath) 2>&1 | head -n 1)"
              echo "healed=$(journalctl -q -u opendkim-health --since -24h -o cat 2>/dev/null | grep -c 'restarting it')"
            fi
            \(SandboxStatus.script(config))echo '== end'

            """
    }

    /// Runs the script on `host` (one round trip) and parses its output.
    public static func collect(units: [String], config: ChatmailConfig, on host: Host,
                               timeout: Double = 60) throws -> RelayStatus {
        parse(try run(units: units, config: config, on: host, timeout: timeout))
    }

    /// Runs the script on `host` and returns its output as it is (what the
    /// test fixtures are made of).
    public static func run(units: [String], config: ChatmailConfig, on host: Host,
                           timeout: Double = 60) throws -> String {
        let result = try host.runScript(script(units: units, config: config), timeout: timeout)
        guard sections(result.stdoutText)["end"] != nil else {
            let err = result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw StatusProbeError(message: "the status script did not finish on \(host.name) (exit \(result.status))"
                + (err.isEmpty ? "" : ": \(err)"))
        }
        return result.stdoutText
    }

    /// Splits the output into its sections.
    static func sections(_ text: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        var current: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("== ") {
                current = String(line.dropFirst(3))
                out[current!, default: []] = []
            } else if let name = current {
                out[name]!.append(line)
            }
        }
        return out
    }

    public static func parse(_ text: String) -> RelayStatus {
        let s = sections(text)
        var status = RelayStatus()
        status.complete = s["end"] != nil
        status.now = s["now"]?.first.flatMap { Int($0.trimmed) }
        status.noSystemd = s["units"]?.first == "nosystemd"
        status.units = status.noSystemd ? [:] : parseUnits(s["units"] ?? [])
        status.failedUnits = status.noSystemd ? [] : (s["failed"] ?? []).compactMap { line in
            // "● name.service loaded failed failed Desc" (the dot only on some terminals)
            let words = line.split(separator: " ").map(String.init).filter { $0 != "●" && $0 != "*" }
            return words.first
        }
        status.sockets = (s["listen"] ?? []).compactMap { ListeningSocket(ssLine: $0) }
        parseCertificate(s["cert"] ?? [], into: &status)
        parseQueue(s["queue"] ?? [], into: &status)
        if let line = s["disk"]?.first(where: { !$0.trimmed.isEmpty }) {
            // Filesystem 1024-blocks Used Available Capacity Mounted-on
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if f.count >= 6, let total = Int(f[1]), let avail = Int(f[3]) {
                status.disk = RelayStatus.Disk(path: f[5...].joined(separator: " "), totalKB: total, availableKB: avail)
            }
        }
        for line in s["memory"] ?? [] {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 2, let kb = Int(f[1]) else { continue }
            if f[0] == "MemTotal:" { status.memTotalKB = kb }
            if f[0] == "MemAvailable:" { status.memAvailableKB = kb }
        }
        if let load = s["load"], load.count >= 2 {
            status.load1 = load[0].split(separator: " ").first.flatMap { Double(String($0)) }
            status.cpus = Int(load[1].trimmed)
        }
        if let line = s["addresses"]?.first {
            status.addresses = Int(line.trimmed)
        }
        if let version = s["version"], let first = version.first, first != "none" {
            status.deployedCommit = first.trimmed
            if version.count > 1, version[1].trimmed.count == 64 { status.deployedStampSHA256 = version[1].trimmed }
        }
        status.nocreate = s["nocreate"]?.first?.trimmed == "present"
        status.system = HostSystem.parse((s["os"] ?? []).joined(separator: "\n"))
        for line in s["deploy"] ?? [] {
            let t = line.trimmed
            if t.hasPrefix("running") { status.deployRunning = String(t.dropFirst(7)).trimmed }
            if t == "guard" { status.leftoverGuard = true }
            if t == "dpkg" { status.dpkgInterrupted = true }
            if t == "moves" { status.unfinishedMoves = true }
        }
        status.exposure = SandboxStatus.parseExposure(s["exposure"] ?? [])
        if let secrets = s["secrets"] {
            status.secretsProbed = true
            SandboxStatus.parseSecrets(secrets, into: &status)
        }
        for line in s["milter"] ?? [] {
            if line.hasPrefix("probe=") { status.milterProbe = String(line.dropFirst(6)).trimmed }
            if line.hasPrefix("healed=") { status.milterHealed = Int(String(line.dropFirst(7)).trimmed) }
        }
        return status
    }

    /// `systemctl show` prints one block of Key=Value lines per unit,
    /// separated by empty lines, in an order of its own.
    static func parseUnits(_ lines: [String]) -> [String: RelayStatus.UnitState] {
        var units: [String: RelayStatus.UnitState] = [:]
        var block: [String: String] = [:]
        func flush() {
            defer { block = [:] }
            guard let id = block["Id"], !id.isEmpty else { return }
            var since: Int?
            if let ts = block["StateChangeTimestamp"], ts.hasPrefix("@") { since = Int(ts.dropFirst()) }
            units[id] = RelayStatus.UnitState(
                unit: id, loadState: block["LoadState"] ?? "", activeState: block["ActiveState"] ?? "",
                subState: block["SubState"] ?? "", unitFileState: block["UnitFileState"] ?? "", since: since)
        }
        for line in lines {
            if line.trimmed.isEmpty { flush(); continue }
            guard let eq = line.firstIndex(of: "=") else { continue }
            block[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        flush()
        return units
    }

    static func parseCertificate(_ lines: [String], into status: inout RelayStatus) {
        var path = "", notAfter = "", issuer = "", epoch: Int?
        for line in lines {
            if line.hasPrefix("path=") { path = String(line.dropFirst(5)) }
            else if line.hasPrefix("notAfter=") { notAfter = String(line.dropFirst(9)) }
            else if line.hasPrefix("issuer=") { issuer = String(line.dropFirst(7)).trimmed }
            else if line.hasPrefix("epoch=") { epoch = Int(line.dropFirst(6)) }
        }
        if notAfter.isEmpty {
            let text = lines.filter { !$0.hasPrefix("path=") }.map(\.trimmed).filter { !$0.isEmpty }.joined(separator: " ")
            status.certificateProblem = text.isEmpty ? "unreadable" : text
            return
        }
        status.certificate = RelayStatus.Certificate(path: path, notAfterText: notAfter, notAfter: epoch, issuer: issuer)
    }

    static func parseQueue(_ lines: [String], into status: inout RelayStatus) {
        var rc: Int?
        var counts: [String: Int] = [:]
        var errors: [String] = []
        for line in lines {
            let t = line.trimmed
            if t.hasPrefix("rc=") { rc = Int(t.dropFirst(3)); continue }
            // "  12 deferred" from uniq -c, or "  1 postqueue: fatal: ..."
            let f = t.split(separator: " ", maxSplits: 1).map(String.init)
            guard f.count == 2, let n = Int(f[0]) else { continue }
            if f[1].hasPrefix("postqueue:") { errors.append(f[1]) } else { counts[f[1], default: 0] += n }
        }
        if rc == 0 {
            status.queue = counts
        } else {
            status.queueProblem = errors.first ?? (rc == 127 ? "postqueue is not installed" : "postqueue failed (exit \(rc.map(String.init) ?? "?"))")
        }
    }
}
