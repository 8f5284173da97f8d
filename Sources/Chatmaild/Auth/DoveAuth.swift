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
        // Split on code points, not grapheme clusters: a password starting
        // with a combining mark must not swallow the "/" before it.
        let parts = key.unicodeScalars.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, String(parts[0]) == "shared" else { return .failed }
        guard let args = Self.splitEscaped(Substring(parts[2])) else {
            Log.warning("malformed lookup key (lone backslash at the end)")
            return .failed
        }
        switch String(parts[1]) {
        case "userdb":
            return userRecord(args[0]).map { .found($0) } ?? .notFound
        case "passdb":
            // Dovecot's %E escapes every `"`, so there are exactly two.
            guard args.count == 2 else {
                if args.count > 2 { Log.warning("malformed passdb key (unescaped quote)") }
                return .notFound
            }
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
        guard key.utf8.starts(with: prefix.utf8), let args = Self.splitEscaped(Substring(key.utf8.dropFirst(prefix.utf8.count))),
              args.count == 2,
              CreateRules.passwordRefusal(args[0]) == nil, let home = mailboxes.path(args[1]) else { return false }
        return !Files.exists(home + "/password")
    }

    public func iterate(path: String, user: String?) -> [(String, String)]? {
        guard path == "shared/userdb/" else { return nil }
        return mailboxes.addresses().map { ("shared/userdb/" + $0, "") }
    }

    /// The userdb/passdb JSON for an existing address.
    func userRecord(_ addr: String) -> String? {
        guard let home = mailboxes.path(addr), let hash = mailboxes.storedHash(addr) else { return nil }
        return Self.record(addr: addr, home: home, hash: hash)
    }

    static func record(addr: String, home: String, hash: String) -> String {
        JSON.object([
            ("addr", .string(addr)), ("home", .string(home)),
            ("uid", .string("vmail")), ("gid", .string("vmail")),
            ("password", .string(hash)),
        ]).serialized()
    }

    /// Writes the temporary password file at creation; tests replace it to
    /// make the write fail halfway.
    var writePassword: Mailboxes.Writer = { Files.writeAll($0, $1) }

    /// An existing address gets its record (Dovecot compares the password
    /// with the hash); an unknown one is created if every rule allows it.
    /// All checks on the name and the password, and the hash itself, come
    /// before the first change on disk, so a refusal leaves nothing behind.
    func passdb(addr: String, password: String) -> DictLookupResult {
        guard Address.hasDomain(addr, config.mailDomain) else { return .notFound }
        // Also for existing users: crypt() would compare only the part
        // before a NUL, so such a password must never reach Dovecot's check.
        if let reason = CreateRules.passwordRefusal(password) {
            Log.warning("refused login for \(logQuoted(addr)): \(reason)")
            return .notFound
        }
        if let record = userRecord(addr) { return .found(record) }
        if let reason = rules.refusal(addr: addr, password: password) {
            Log.warning(reason)
            return .notFound
        }
        // The rules accept only [a-z0-9._-] localparts of a safe length.
        guard let home = mailboxes.path(addr) else { return .notFound }
        guard let hash = PasswordHash.make(password) else {
            Log.error("could not hash the password for: \(addr)")
            return .notFound
        }
        switch mailboxes.create(addr, hash: hash, write: writePassword) {
        case .created:
            Log.info("Created address: \(addr)")
            return .found(Self.record(addr: addr, home: home, hash: hash))
        case .exists:
            // A concurrent first login won; Dovecot checks this password
            // against the winner's hash.
            return userRecord(addr).map { .found($0) } ?? .notFound
        case .failed:
            return .notFound
        }
    }

    /// Splits `args` on unescaped `"`; a backslash escapes the next
    /// character (Dovecot's %E). nil for a trailing lone backslash.
    static func splitEscaped(_ args: Substring) -> [String]? {
        var result: [String] = []
        var current = String.UnicodeScalarView()
        var escaped = false
        for ch in args.unicodeScalars {
            if escaped { current.append(ch); escaped = false }
            else if ch == "\\" { escaped = true }
            else if ch == "\"" { result.append(String(current)); current = String.UnicodeScalarView() }
            else { current.append(ch) }
        }
        if escaped { return nil }
        result.append(String(current))
        return result
    }
}
