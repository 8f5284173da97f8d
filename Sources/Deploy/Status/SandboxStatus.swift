import ChatmailConfig
import Engine
import Remote

// What `status` says about the sandboxes and the secret files: systemd's
// own exposure score of every sandboxed unit, compared with its goal, and
// the owners and modes of the keys, password files and push tokens.

/// A secret file's owner, group and mode as `stat` reports them.
public struct SecretFile: Sendable, Equatable {
    public var path: String
    public var owner: String
    public var group: String
    public var mode: Int
}

/// The exposure each sandboxed unit may have: 2.0 for the services
/// cmdeploy writes, 5.0 for Debian's daemons with cmdeploy's drop-in.
public enum ExposureGoals {
    public static let ours = 2.0
    public static let debian = 5.0

    /// Every sandboxed unit of any supported release (the probe runs before
    /// the release is known); units the host has not loaded are skipped.
    public static let units: [String: Double] = {
        var goals: [String: Double] = [:]
        for unit in ["doveauth", "lastlogin", "chatmail-metadata", "chatmail-expire", "chatmail-fsreport",
                     "filtermail", "filtermail-incoming", "iroh-relay", "turnserver", "mtail", "acmetool-redirector"] {
            goals[unit + ".service"] = ours
        }
        for unit in ["nginx", "opendkim", "unbound", "postfix@-", "postfix", "dovecot"] {
            goals[unit + ".service"] = debian
        }
        return goals
    }()
}

enum SandboxStatus {
    /// The probe's sections `exposure` and `secrets`.
    static func script(_ config: ChatmailConfig) -> String {
        let units = ExposureGoals.units.keys.sorted().joined(separator: " ")
        let mailboxes = shellQuote(config.mailboxesDir)
        let keys = [OpenDKIM.privateKey, config.tlsKeyPath].map(shellQuote).joined(separator: " ")
        return """
            echo '== exposure'
            if command -v systemd-analyze >/dev/null 2>&1; then
              # only units the host has (mtail, acmetool and one of the Postfix units may be absent)
              loaded=$(systemctl show -p Id -p LoadState -- \(units) 2>/dev/null | awk -v RS= '/LoadState=loaded/ { if (match($0, /Id=[^\\n]*/)) print substr($0, RSTART + 3, RLENGTH - 3) }')
              [ -n "$loaded" ] && systemd-analyze security --no-pager -- $loaded 2>&1
            fi
            echo '== secrets'
            for f in \(keys); do
              if [ -e "$f" ]; then stat -L -c 'file %U %G %a %n' -- "$f"; else echo "missing $f"; fi
            done
            if [ -d \(mailboxes) ]; then
              find \(mailboxes) -mindepth 2 -maxdepth 2 \\( -name password -o -name metadata.json \\) \\
                \\( ! -user vmail -o -perm /077 \\) -printf '%u %m %p\\n' 2>/dev/null |
                awk 'NR <= 3 { print "loose " $0 } END { print "loosecount " NR }'
            fi

            """
    }

    /// `systemd-analyze security` with several units prints a table:
    /// "UNIT  EXPOSURE PREDICATE HAPPY" then "doveauth.service  1.2 OK  🙂".
    static func parseExposure(_ lines: [String]) -> [String: Double]? {
        var scores: [String: Double] = [:]
        for line in lines {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 2, f[0].hasSuffix(".service"), let score = Double(String(f[1])) else { continue }
            scores[String(f[0])] = score
        }
        return scores.isEmpty ? nil : scores
    }

    static func parseSecrets(_ lines: [String], into status: inout RelayStatus) {
        for line in lines {
            let f = line.split(separator: " ", maxSplits: 4).map(String.init)
            if f.first == "file", f.count == 5, let mode = Int(f[3], radix: 8) {
                status.secrets.append(SecretFile(path: f[4], owner: f[1], group: f[2], mode: mode))
            } else if f.first == "loose", f.count >= 4 {
                status.looseMailboxFiles.append(f[1...].joined(separator: " "))
            } else if f.first == "loosecount", f.count == 2 {
                status.looseMailboxFileCount = Int(f[1])
            }
        }
    }

    /// One check per sandboxed unit: its score and goal; above the goal warns
    /// (the unit runs, with less protection than it should have).
    static func exposureChecks(_ s: RelayStatus) -> [StatusCheck] {
        guard let scores = s.exposure else { return [] }
        // Postfix's master runs in postfix@- on Debian 12 and in
        // postfix.service on 13; the other one is a wrapper or an unused
        // template instance, with nothing to sandbox.
        let idle = s.system.debianRelease == "13" ? "postfix@-.service" : "postfix.service"
        return scores.keys.sorted().compactMap { unit in
            guard unit != idle, let goal = ExposureGoals.units[unit], let score = scores[unit] else { return nil }
            let text = "exposure \(format(score)) (goal \(format(goal)) or lower)"
            if score <= goal { return StatusCheck(group: "security", name: unit, level: .ok, message: text) }
            return StatusCheck(group: "security", name: unit, level: .warn,
                               message: "\(unit): exposure \(format(score)), above its goal \(format(goal)): "
                                   + "its sandbox is missing or weakened; `cmdeploy run` writes it again")
        }
    }

    /// The secrets are readable only by the services that use them: the
    /// DKIM key by opendkim, the TLS key by root (the daemons read it before
    /// they drop privileges), password files and push tokens by vmail.
    static func secretChecks(_ s: RelayStatus, _ config: ChatmailConfig) -> [StatusCheck] {
        guard s.secretsProbed else { return [] }
        var problems: [String] = []
        for file in s.secrets {
            if file.path == OpenDKIM.privateKey {
                if file.owner != "opendkim" || file.mode & 0o077 != 0 {
                    problems.append("DKIM key \(file.path) is \(describe(file)), should be opendkim, mode 600")
                }
            } else if file.owner != "root" || file.mode & 0o007 != 0 || file.mode & 0o020 != 0 {
                problems.append("TLS key \(file.path) is \(describe(file)), should be root, not readable by others")
            }
        }
        if let n = s.looseMailboxFileCount, n > 0 {
            let shown = s.looseMailboxFiles.joined(separator: ", ")
            problems.append("\(n) password or token file\(n == 1 ? "" : "s") in \(config.mailboxesDir) "
                + "not private to vmail (e.g. \(shown)); fix with chown vmail:vmail and chmod 600")
        }
        if problems.isEmpty {
            return [StatusCheck(group: "security", name: "secret files", level: .ok,
                                message: "DKIM key, TLS key, password files and push tokens readable only by their services")]
        }
        return [StatusCheck(group: "security", name: "secret files", level: .fail, message: problems.joined(separator: "; "))]
    }

    static func describe(_ f: SecretFile) -> String { "\(f.owner):\(f.group) mode \(String(f.mode, radix: 8))" }
    static func format(_ v: Double) -> String { String(format: "%.1f", v) }
}
