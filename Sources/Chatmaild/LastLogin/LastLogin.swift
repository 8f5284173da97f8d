import ChatmailConfig

/// lastlogin: Dovecot's last_login plugin sets `shared/last-login/<addr>`
/// to a unix time; we keep only the day, as the password file's mtime.
/// Day granularity leaks less and writes at most once a day per address.
public final class LastLogin: DictService, @unchecked Sendable {
    let mailboxes: Mailboxes

    public init(config: ChatmailConfig) {
        mailboxes = Mailboxes(dir: config.mailboxesDir, domain: config.mailDomain)
    }

    public func lookup(key: String, user: String?) -> DictLookupResult { .notFound }

    public func set(user: String?, key: String, value: String) -> Bool {
        let prefix = "shared/last-login/"
        guard key.hasPrefix(prefix) else { return false }
        let addr = String(key.dropFirst(prefix.count))
        guard let seconds = Int(value.split(separator: ".").first ?? "") else {
            Log.warning("last-login value is not a unix time: \(value.debugDescription)")
            return false
        }
        return Self.record(day: seconds / 86400 * 86400, addr: addr, mailboxes: mailboxes)
    }

    static func record(day: Int, addr: String, mailboxes: Mailboxes) -> Bool {
        guard let home = mailboxes.path(addr) else {
            Log.warning("Can not get last login timestamp for \(addr)")
            return true
        }
        let file = home + "/password"
        guard let st = Files.stat(file) else {
            Log.warning("Can not get last login timestamp for \(addr)")
            return true
        }
        if st.st_mtim.tv_sec != day, !Files.setTimes(file, day) {
            Log.warning("could not set last login for \(addr): \(Files.errorText)")
        }
        return true
    }
}
