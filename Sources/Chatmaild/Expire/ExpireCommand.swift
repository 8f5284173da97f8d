#if canImport(Glibc)
import Glibc
#endif

extension Expire {
    static let usage = "usage: chatmaild expire [ini] [--days N] [--maxnum N] [-v] [--remove | --dry-run]"

    /// `chatmaild expire [ini] [--days N] [--maxnum N] [-v] [--remove]`;
    /// without --remove (or with --dry-run) nothing is deleted.
    static func main(_ args: [String]) throws -> Int32 {
        var options = Options()
        var ini = NewEmail.defaultConfigPath
        var it = args.makeIterator()
        func number(_ flag: String) throws -> Int {
            guard let v = it.next(), let n = Int(v), n >= 0 else {
                throw ServiceError("\(flag) needs a whole number\n\(usage)")
            }
            return n
        }
        var dryRun = false
        while let arg = it.next() {
            switch arg {
            case "--remove": options.remove = true
            case "--dry-run": dryRun = true
            case "-v", "--verbose": options.verbose = true
            case "--days": options.days = try number(arg)
            case "--maxnum": options.maxnum = try number(arg)
            case _ where arg.hasPrefix("-"): throw ServiceError("unknown option \(arg)\n\(usage)")
            default: ini = arg
            }
        }
        if dryRun { options.remove = false }
        let config = try ServiceSetup.config(ini)
        let start = Chatmaild.now()
        let s = Expire(config: config, options: options).run()
        let secs = Chatmaild.now() - start
        print("Removed \(s.removedMailboxes) out of \(s.mailboxes) mailboxes and \(s.removedFiles) out of "
              + "\(s.files) files in existing mailboxes in \(fixed2(secs)) seconds"
              + (options.remove ? "" : " (dry run: nothing was deleted)"))
        return 0
    }

    /// `chatmaild quota-expire <target_mb> <mailbox_path> [--dry-run]`, Dovecot's quota_warning hook.
    static func quotaMain(_ args: [String]) throws -> Int32 {
        let dryRun = args.contains("--dry-run")
        let rest = args.filter { $0 != "--dry-run" }
        guard rest.count == 2, let mb = Int(rest[0]), mb >= 0 else {
            throw ServiceError("usage: chatmaild quota-expire <target_mb> <mailbox_path> [--dry-run]")
        }
        let mailbox = rest[1]
        guard Files.isDirectory(mailbox) else { throw ServiceError("no such mailbox directory: \(mailbox)") }
        let removed = QuotaTrim(mailbox: mailbox, dryRun: dryRun).run(targetBytes: mb * 1024 * 1024)
        if removed > 0 {
            if !dryRun { unlink(mailbox + "/maildirsize") }
            let name = mailbox.split(separator: "/").last.map(String.init) ?? mailbox
            Log.info("quota-expire: \(dryRun ? "would remove" : "removed") \(removed) message(s) from \(name)")
        }
        return 0
    }
}
