import ChatmailConfig
#if canImport(Glibc)
import Glibc
#endif

/// The daily expiry of the Python relay (chatmail-expire, run by a timer at
/// 00:02): inactive accounts, old
/// messages, large read messages, then a quota trim. In dry-run mode
/// nothing at all is deleted, the quota trim included.
struct Expire {
    struct Options {
        var remove = false
        var verbose = false
        var days = 0
        var maxnum: Int?
    }

    let config: ChatmailConfig
    let options: Options
    var now: Double = Chatmaild.now()
    static let largeMessageBytes = 200_000

    struct Summary: Equatable {
        var mailboxes = 0, removedMailboxes = 0, files = 0, removedFiles = 0
    }

    func run() -> Summary {
        let t = now - Double(options.days) * 86400
        var summary = Summary()
        var names = (Files.list(config.mailboxesDir) ?? []).filter { $0.contains("@") }.sorted()
        if let max = options.maxnum { names = Array(names.prefix(max)) }
        let inactiveCutoff = Int(t) - config.deleteInactiveUsersAfter * 86400
        let mailsCutoff = Int(t) - config.deleteMailsAfter * 86400
        let largeCutoff = Int(t) - config.deleteLargeAfter * 86400

        for name in names {
            let scan = MailboxScan(path: config.mailboxesDir + "/" + name)
            summary.mailboxes += 1
            if let login = scan.lastLogin, login < inactiveCutoff {
                if remove(scan.path, mtime: login, tree: true) { summary.removedMailboxes += 1 }
                continue
            }
            if scan.lastLogin == nil {
                if !options.remove || rmdir(scan.path) != 0 {
                    log("Skipped deleting \(scan.path), doesn't have last_login but isn't empty")
                } else {
                    summary.removedMailboxes += 1
                }
                continue
            }
            summary.files += scan.messages.count
            var removed = 0
            for m in scan.messages {
                let old = m.mtime < mailsCutoff
                let largeRead = m.size > Self.largeMessageBytes && m.mtime < largeCutoff && m.folder == "cur"
                if (old || largeRead) && remove(m.path, mtime: m.mtime) { removed += 1 }
            }
            let target = Double(config.maxMailboxSizeMB) * 1024 * 1024 * 0.7
            let trimmed = QuotaTrim(mailbox: scan.path, dryRun: !options.remove, now: now, verbose: options.verbose)
                .run(targetBytes: Int(target))
            if trimmed > 0 { log("quota-expire: removed \(trimmed) message(s) from \(scan.name)") }
            removed += trimmed
            summary.removedFiles += removed
            if removed > 0 && options.remove { unlink(scan.path + "/maildirsize") }
        }
        return summary
    }

    /// Deletes one file or a whole mailbox (only with --remove); true if it
    /// is gone, or would be in a dry run.
    private func remove(_ path: String, mtime: Int, tree: Bool = false) -> Bool {
        if options.verbose { log("removing \(Self.day(mtime)) \(path)") }
        guard options.remove else { return true }
        if tree ? Files.removeTree(path) : unlink(path) == 0 { return true }
        log("file not found/vanished \(path)")
        return false
    }

    private func log(_ line: String) { Log.info(line) }

    /// `Mon DD` as in the Python tool's verbose output.
    static func day(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, buf.count, "%b %d", &parts)
        return String(cString: buf)
    }
}

/// Trims a mailbox to `targetBytes` by deleting its oldest messages in the
/// top-level `cur/` and `new/`, sizes read from Dovecot's `,S=<size>` names.
/// Mail younger than 24 hours is never trimmed, so the quota-full signal
/// still reaches the client.
struct QuotaTrim {
    let mailbox: String
    let dryRun: Bool
    var now: Double = Chatmaild.now()
    var verbose = false

    struct Entry { let ts: Int; let size: Int; let path: String }

    /// `<unixtime>.<...>,S=<size>...` → (unixtime, size), as the Python regex.
    static func parseName(_ name: String) -> (ts: Int, size: Int)? {
        let b = Array(name.utf8)
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        guard let dot = b.firstIndex(of: UInt8(ascii: ".")), dot > 0, b[..<dot].allSatisfy(isDigit),
              let ts = Int(String(decoding: b[..<dot], as: UTF8.self)) else { return nil }
        // The last ",S=<digits>" with at least one character after the dot.
        var i = b.count - 3
        while i > dot + 1 {
            if b[i] == UInt8(ascii: ","), b[i + 1] == UInt8(ascii: "S"), b[i + 2] == UInt8(ascii: "=") {
                let digits = b[(i + 3)...].prefix(while: isDigit)
                if !digits.isEmpty, let size = Int(String(decoding: digits, as: UTF8.self)) { return (ts, size) }
            }
            i -= 1
        }
        return nil
    }

    /// Returns how many messages were (or, in a dry run, would be) removed.
    func run(targetBytes: Int) -> Int {
        var entries: [Entry] = []
        for folder in ["cur", "new"] {
            let dir = mailbox + "/" + folder
            for name in Files.list(dir) ?? [] {
                if let (ts, size) = Self.parseName(name) { entries.append(Entry(ts: ts, size: size, path: dir + "/" + name)) }
            }
        }
        entries.sort { ($0.ts, $0.size, $0.path) < ($1.ts, $1.size, $1.path) }
        var total = entries.reduce(0) { $0 + $1.size }
        var removed = 0
        for e in entries {
            if total <= targetBytes { break }
            if Double(e.ts) > now - 86400 { break }
            if verbose { Log.info("removing \(Expire.day(e.ts)) \(e.path)") }
            if !dryRun && unlink(e.path) != 0 {
                Log.info("file not found/vanished \(e.path)")
                continue
            }
            total -= e.size
            removed += 1
        }
        return removed
    }
}
