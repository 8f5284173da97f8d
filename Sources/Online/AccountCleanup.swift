import ChatmailConfig
import Remote

/// Removes the accounts a `cmdeploy test` run made, so a production relay
/// keeps none of them (relay issue #763): for each address the run used,
/// Dovecot's sessions are kicked and the mailbox folder (mail, password,
/// push tokens) is removed. Only addresses the run generated itself are
/// touched, and only below the relay's mailboxes folder.
public enum AccountCleanup {
    public struct Result: Sendable, Equatable {
        /// Accounts that existed and were removed.
        public var removed: Int
        /// Accounts still there afterwards (should be 0).
        public var left: Int
    }

    /// The mailboxes folder of a relay whose chatmail.ini is not known here
    /// (the second relay): its deployed ini says, else the default.
    public static func mailboxesDirScript(domain: String, ini: String = HostLayout.iniPath) -> String {
        let bare = domain.filter { $0 != "[" && $0 != "]" }
        return "dir=$(sed -n 's/^mailboxes_dir *= *//p' \(shellQuote(ini)) 2>/dev/null | tail -n 1); "
            + "[ -n \"$dir\" ] || dir=\(shellQuote("/home/vmail/mail/" + bare))"
    }

    /// An address the cleanup may act on: a generated local part and the
    /// relay's own domain, nothing that could leave the mailboxes folder.
    static func isSafe(_ address: String, domain: String) -> Bool {
        guard address.hasSuffix("@" + domain) else { return false }
        let local = address.dropLast(domain.count + 1)
        return !local.isEmpty && !local.hasPrefix(".")
            && local.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The shell that removes `addresses` below the folder `dirScript` puts
    /// into `$dir`, and prints "REMOVED LEFT".
    public static func script(addresses: [String], domain: String, dirScript: String) -> String? {
        let safe = addresses.filter { isSafe($0, domain: domain) }
        guard !safe.isEmpty else { return nil }
        let words = safe.map(shellQuote).joined(separator: " ")
        return dirScript + "; [ -d \"$dir\" ] || { echo \"no mailboxes folder $dir\" >&2; exit 1; }; removed=0; left=0; "
            + "for a in \(words); do "
            + "[ -e \"$dir/$a\" ] || continue; doveadm kick \"$a\" >/dev/null 2>&1; "
            + "rm -rf -- \"$dir/$a\" && removed=$((removed + 1)); "
            + "[ -e \"$dir/$a\" ] && left=$((left + 1)); done; echo \"$removed $left\""
    }

    /// The cleanup of the relay under test, whose mailboxes folder chatmail.ini gives.
    public static func run(on host: Host, relay: RelayEndpoint, mailboxesDir: String) throws -> Result? {
        try run(on: host, addresses: relay.created.all, domain: relay.mailDomain, dirScript: "dir=" + shellQuote(mailboxesDir))
    }

    /// The cleanup of another relay (the second one): over its own SSH
    /// connection, its folder read from its deployed chatmail.ini.
    public static func run(onOther relay: RelayEndpoint, sshOptions: SSHOptions) throws -> Result? {
        guard !relay.created.all.isEmpty else { return nil }
        let host = try openHost(relay.host, options: sshOptions)
        defer { host.close() }
        return try run(on: host, addresses: relay.created.all, domain: relay.mailDomain,
                       dirScript: mailboxesDirScript(domain: relay.mailDomain))
    }

    /// Runs the cleanup for one relay on `host`; nil when the run made no account there.
    public static func run(on host: Host, addresses: [String], domain: String, dirScript: String) throws -> Result? {
        guard let script = script(addresses: addresses, domain: domain, dirScript: dirScript) else { return nil }
        let out = try host.run(script, timeout: 120)
        let fields = out.stdoutText.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard out.succeeded, fields.count == 2 else {
            throw TestFailure("on \(host.name): removing the test accounts failed (exit \(out.status)): "
                + String((out.stderrText + out.stdoutText).prefix(300)))
        }
        return Result(removed: fields[0], left: fields[1])
    }
}
