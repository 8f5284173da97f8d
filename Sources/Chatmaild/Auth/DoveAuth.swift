import ChatmailConfig

/// doveauth: Dovecot's passdb and userdb over the dict protocol, creating
/// an address on its first login when the rules allow it.
public final class DoveAuth: DictService, @unchecked Sendable {
    let config: ChatmailConfig
    let mailboxes: Mailboxes
    var rules: CreateRules

    public init(config: ChatmailConfig) {
        self.config = config
        self.mailboxes = Mailboxes(dir: config.mailboxesDir, domain: config.mailDomain, cache: HashCache())
        self.rules = CreateRules(config: config)
    }

    public func lookup(key: String, user: String?) -> DictLookupResult {
        let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "shared" else { return .failed }
        guard let args = Self.splitEscaped(parts[2]) else {
            Log.warning("malformed lookup key (lone backslash at the end)")
            return .failed
        }
        switch parts[1] {
        case "userdb":
            return userRecord(args[0]).map { .found($0) } ?? .notFound
        case "passdb":
            guard args.count >= 2 else { return .notFound }
            return passdb(addr: args[1], password: args[0])
        default:
            return .failed
        }
    }

    /// Lookups share no state but files, locks and the locked hash cache.
    public var concurrentLookups: Bool { true }

    /// A passdb lookup for an address without a password file may create
    /// it (a crypt() of some milliseconds); everything else is a stat.
    public func isSlow(key: String, user: String?) -> Bool {
        let prefix = "shared/passdb/"
        guard key.hasPrefix(prefix), let args = Self.splitEscaped(key.dropFirst(prefix.count)), args.count >= 2,
              let home = mailboxes.path(args[1]) else { return false }
        return !Files.exists(home + "/password")
    }

    public func iterate(path: String, user: String?) -> [(String, String)]? {
        guard path == "shared/userdb/" else { return nil }
        return mailboxes.addresses().map { ("shared/userdb/" + $0, "") }
    }

    /// The userdb/passdb JSON for an existing address.
    func userRecord(_ addr: String) -> String? {
        guard addr.hasSuffix("@" + config.mailDomain), let home = mailboxes.path(addr),
              let hash = mailboxes.storedHash(addr) else { return nil }
        return JSON.object([
            ("addr", .string(addr)), ("home", .string(home)),
            ("uid", .string("vmail")), ("gid", .string("vmail")),
            ("password", .string(hash)),
        ]).serialized()
    }

    func passdb(addr: String, password: String) -> DictLookupResult {
        guard addr.hasSuffix("@" + config.mailDomain) else { return .notFound }
        if let record = userRecord(addr) { return .found(record) }
        if let reason = rules.refusal(addr: addr, password: password) {
            Log.warning(reason)
            return .notFound
        }
        // The rules accept only [a-z0-9._-] localparts, so the path is safe;
        // the lock makes concurrent first logins create exactly one hash.
        guard let home = mailboxes.path(addr), Files.makeDirectories(home) else {
            Log.error("could not write password for: \(addr)")
            return .notFound
        }
        guard let lock = FileLock(path: home + "/password.lock") else {
            Log.error("timeout waiting for lock on \(home)/password.lock")
            return .notFound
        }
        defer { withExtendedLifetime(lock) {} }
        if let record = userRecord(addr) { return .found(record) }
        guard let hash = PasswordHash.make(password), mailboxes.setPassword(addr, hash: hash) else {
            return .notFound
        }
        Log.info("Created address: \(addr)")
        return userRecord(addr).map { .found($0) } ?? .notFound
    }

    /// Splits `args` on unescaped `"`; a backslash escapes the next
    /// character (Dovecot's %E). nil for a trailing lone backslash.
    static func splitEscaped(_ args: Substring) -> [String]? {
        var result: [String] = []
        var current = ""
        var escaped = false
        for ch in args {
            if escaped { current.append(ch); escaped = false }
            else if ch == "\\" { escaped = true }
            else if ch == "\"" { result.append(current); current = "" }
            else { current.append(ch) }
        }
        if escaped { return nil }
        result.append(current)
        return result
    }
}
