import ChatmailConfig
#if canImport(Glibc)
import Glibc
#endif

/// Storage and login statistics over all mailboxes, like the Python relay's
/// daily chatmail-fsreport, as a human
/// summary or as Prometheus text for node_exporter's textfile collector.
struct FSReport {
    struct Options {
        var days = 0
        var minLoginAgeDays = 0
        var mdir: String?
        var maxnum: Int?
    }

    static let activeDays = [1, 10, 30, 40, 80, 100, 150]
    static let sizeThresholds = [0, 100 * 1024, 512 * 1024, 1 << 20, 2 << 20, 5 << 20, 10 << 20]

    var accounts = 0, ciAccounts = 0
    var messageBytes = 0, extraBytes = 0
    var sizeBytes = Array(repeating: 0, count: FSReport.sizeThresholds.count)
    var sizeCounts = Array(repeating: 0, count: FSReport.sizeThresholds.count)
    var active = Array(repeating: 0, count: FSReport.activeDays.count)

    init(mailboxesDir: String, options: Options, now: Double = Chatmaild.now()) {
        let t = Int(now) - options.days * 86400
        var names = (Files.list(mailboxesDir) ?? []).filter { $0.contains("@") }.sorted()
        if let max = options.maxnum { names = Array(names.prefix(max)) }
        for name in names {
            let scan = MailboxScan(path: mailboxesDir + "/" + name)
            accounts += 1
            let isCI = name.hasPrefix("ci-")
            if isCI { ciAccounts += 1 }
            messageBytes += scan.messages.reduce(0) { $0 + $1.size }
            extraBytes += scan.extras.reduce(0) { $0 + $1.size }
            guard let login = scan.lastLogin else { continue }
            if !isCI {
                for (i, d) in Self.activeDays.enumerated() where login >= t - d * 86400 { active[i] += 1 }
            }
            guard login <= t - options.minLoginAgeDays * 86400 else { continue }
            for m in scan.messages where options.mdir == nil || m.folder == options.mdir! {
                for (i, threshold) in Self.sizeThresholds.enumerated() where m.size >= threshold {
                    sizeBytes[i] += m.size
                    sizeCounts[i] += 1
                }
            }
        }
    }

    /// K/M/G with base 1000, as the Python report.
    static func human(_ n: Int) -> String {
        let units: [(Double, String)] = [(1e9, "G"), (1e6, "M"), (1e3, "K")]
        for (size, unit) in units where Double(n) >= size {
            return fixed2(Double(n) / size) + unit
        }
        return "\(n)"
    }

    var summary: String {
        var s = "## Mailbox storage use analysis\n"
        s += "Mailbox data total size: \(Self.human(messageBytes + extraBytes))\n"
        s += "Messages total size    : \(Self.human(messageBytes))\n"
        s += "Extra files total size : \(Self.human(extraBytes))\n"
        for (i, threshold) in Self.sizeThresholds.enumerated() {
            s += "messages >= \(Self.human(threshold)): \(sizeCounts[i]) messages, \(Self.human(sizeBytes[i]))\n"
        }
        s += "\n## Login stats\n"
        s += "accounts: \(accounts) (\(ciAccounts) CI, \(accounts - ciAccounts) user)\n"
        for (i, d) in Self.activeDays.enumerated() {
            s += "logged in during the last \(d) days: \(active[i])\n"
        }
        return s
    }

    var prometheus: String {
        var s = "# HELP chatmail_storage_bytes Bytes used by mailboxes.\n# TYPE chatmail_storage_bytes gauge\n"
        s += "chatmail_storage_bytes{kind=\"messages\"} \(messageBytes)\n"
        s += "chatmail_storage_bytes{kind=\"extra\"} \(extraBytes)\n"
        s += "chatmail_storage_bytes{kind=\"total\"} \(messageBytes + extraBytes)\n"
        s += "# HELP chatmail_messages_bytes Bytes of messages at least min_size large.\n# TYPE chatmail_messages_bytes gauge\n"
        for (i, t) in Self.sizeThresholds.enumerated() { s += "chatmail_messages_bytes{min_size=\"\(t)\"} \(sizeBytes[i])\n" }
        s += "# HELP chatmail_messages_count Messages at least min_size large.\n# TYPE chatmail_messages_count gauge\n"
        for (i, t) in Self.sizeThresholds.enumerated() { s += "chatmail_messages_count{min_size=\"\(t)\"} \(sizeCounts[i])\n" }
        s += "# HELP chatmail_accounts Accounts on this relay.\n# TYPE chatmail_accounts gauge\n"
        s += "chatmail_accounts{kind=\"all\"} \(accounts)\n"
        s += "chatmail_accounts{kind=\"ci\"} \(ciAccounts)\n"
        s += "chatmail_accounts{kind=\"user\"} \(accounts - ciAccounts)\n"
        s += "# HELP chatmail_accounts_active Non-CI accounts logged in during the last N days.\n# TYPE chatmail_accounts_active gauge\n"
        for (i, d) in Self.activeDays.enumerated() { s += "chatmail_accounts_active{days=\"\(d)\"} \(active[i])\n" }
        return s
    }

    var legacyMetrics: String {
        "# HELP accounts number of accounts\n# TYPE accounts gauge\naccounts \(accounts)\n"
            + "# HELP ci_accounts number of CI accounts\n# TYPE ci_accounts gauge\nci_accounts \(ciAccounts)\n"
            + "# HELP nonci_accounts number of non-CI accounts\n# TYPE nonci_accounts gauge\nnonci_accounts \(accounts - ciAccounts)\n"
    }

    /// Atomic write, mode 644 so node_exporter (another user) can read it.
    static func write(_ text: String, to path: String) throws {
        let target = Files.isDirectory(path) ? path + "/fsreport.prom" : path
        guard Files.writeAtomically(target, Array(text.utf8), mode: 0o644) else {
            throw ServiceError("cannot write \(target): \(Files.errorText)")
        }
    }
}

extension FSReport {
    static let usage = "usage: chatmaild fsreport [ini] [--days N] [--min-login-age DAYS] [--mdir cur|new|tmp] [--maxnum N] [--textfile PATH] [--legacy-metrics [FILE]]"

    static func main(_ args: [String]) throws -> Int32 {
        var options = Options()
        var ini = NewEmail.defaultConfigPath
        var textfile: String?
        var legacy: String?
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < args.count else { throw ServiceError("\(flag) needs a value\n\(usage)") }
            return args[i]
        }
        func number(_ flag: String) throws -> Int {
            guard let n = Int(try value(flag)), n >= 0 else { throw ServiceError("\(flag) needs a whole number\n\(usage)") }
            return n
        }
        while i < args.count {
            let arg = args[i]
            switch arg {
            case "--days": options.days = try number(arg)
            case "--min-login-age": options.minLoginAgeDays = try number(arg)
            case "--maxnum": options.maxnum = try number(arg)
            case "--mdir":
                let v = try value(arg)
                guard ["cur", "new", "tmp"].contains(v) else { throw ServiceError("--mdir must be cur, new or tmp\n\(usage)") }
                options.mdir = v
            case "--textfile": textfile = try value(arg)
            case "--legacy-metrics":
                if i + 1 < args.count, !args[i + 1].hasPrefix("-") { legacy = try value(arg) } else { legacy = "/var/www/html/metrics" }
            case _ where arg.hasPrefix("-"): throw ServiceError("unknown option \(arg)\n\(usage)")
            default: ini = arg
            }
            i += 1
        }
        let config = try ServiceSetup.config(ini)
        let report = FSReport(mailboxesDir: config.mailboxesDir, options: options)
        if let textfile { try write(report.prometheus, to: textfile) }
        if let legacy { try write(report.legacyMetrics, to: legacy) }
        if textfile == nil && legacy == nil { print(report.summary, terminator: "") }
        return 0
    }
}
