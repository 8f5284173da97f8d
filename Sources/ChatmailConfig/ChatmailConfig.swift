import Support
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file to fetch, pinned by its sha256.
public struct PinnedDownload: Sendable, Equatable {
    public var url: String
    public var sha256: String
    /// Further URLs of the same file, tried in order when `url` fails.
    public var mirrors: [String]
    public init(url: String, sha256: String, mirrors: [String] = []) {
        self.url = url
        self.sha256 = sha256
        self.mirrors = mirrors
    }
}

/// Which Dovecot packages a relay runs (`dovecot_packages`).
public enum DovecotPackages: String, Sendable, Equatable, CaseIterable {
    /// Builds without the 500 ms IDLE notification delay, by URL and sha256.
    case patched
    /// Debian's own packages from the host's apt sources.
    case debian
}

/// How the relay gets its TLS certificate. As in the Python relay the first
/// case that applies wins, in the order listed here.
public enum TLSMode: String, Sendable, Equatable {
    /// `tls_external_cert_and_key` names files managed outside the relay.
    case external
    /// `_`-prefixed domains and IPv4 relays cannot get WebPKI certificates.
    case selfSigned = "self"
    /// acmetool against `acme_directory_url`.
    case acme
}

/// The parsed, validated chatmail.ini with every derived value the deploy and
/// the daemons need. Keys, defaults and types follow the Python relay exactly.
public struct ChatmailConfig: Sendable {
    /// The file this was read from, as the operator named it.
    public var path: String

    // MARK: domain
    /// `example.org`, or `[1.2.3.4]` for an IPv4 relay.
    public var mailDomain: String
    /// The value as written: `example.org` or `1.2.3.4`.
    public var mailDomainBare: String
    /// Set when mail_domain is an IPv4 address.
    public var ipv4Relay: String?
    /// Postfix myhostname: the domain, or the reverse pointer name of an IPv4 relay.
    public var postfixMyhostname: String

    // MARK: limits
    public var maxUserSendPerMinute: Int
    public var maxUserSendBurstSize: Int
    public var maxMailboxSize: String
    public var maxMailboxSizeMB: Int
    public var maxMessageSize: Int
    public var deleteMailsAfter: Int
    public var deleteLargeAfter: Int
    public var deleteInactiveUsersAfter: Int
    public var usernameMinLength: Int
    public var usernameMaxLength: Int
    public var passwordMinLength: Int
    public var maxLoad1m: Double
    public var minAvailableMemory: String
    public var minAvailableMemoryMB: Int
    public var minFreeDiskSpace: String
    public var minFreeDiskSpaceMB: Int
    public var maxImapConnections: Int
    public var maxSmtpConnections: Int

    // MARK: TLS
    public var tlsExternalCertAndKey: String
    public var tlsMode: TLSMode
    public var tlsCertPath: String
    public var tlsKeyPath: String
    public var acmeEmail: String
    public var acmeDirectoryURL: String

    // MARK: services
    public var wwwFolder: String
    public var disableIPv6: Bool
    /// URL announced at IMAP metadata `irohrelay`; may be empty.
    public var irohRelay: String
    /// The local iroh-relay runs only when `iroh_relay` is absent.
    public var enableIrohRelay: Bool
    public var notificationURL: String
    public var mtailAddress: String?
    public var imapRawlog: Bool
    public var imapCompress: Bool

    // MARK: privacy contacts (nil when the key is absent)
    public var privacyPostal: String?
    public var privacyMail: String?
    public var privacyPDO: String?
    public var privacySupervisor: String?

    // MARK: internal ports and paths
    public var filtermailSMTPPort: Int
    public var filtermailSMTPPortIncoming: Int
    public var filtermailHTTPPortIncoming: Int
    public var filtermailLMTPPortTransport: Int
    public var postfixReinjectPort: Int
    public var postfixReinjectPortIncoming: Int
    public var turnSocketPath: String
    public var mailboxesDir: String
    public var passdbPath: String

    // MARK: resolver and downloads
    /// Where unbound forwards queries; empty: full recursion from the roots.
    public var dnsForwarders: [String]
    /// Zones unbound accepts without DNSSEC (and serves no built-in empty zone for).
    public var dnsUnsignedZones: [String]
    /// Replacements for the pinned upstream downloads; nil: the built-in pin.
    public var irohRelayDownload: PinnedDownload?
    public var turnDownload: PinnedDownload?
    public var mtailDownload: PinnedDownload?
    /// Which Dovecot the relay runs; `patched` unless chatmail.ini says `debian`.
    public var dovecotPackages: DovecotPackages
    /// Replacement .deb files for the pinned patched Dovecot builds, each
    /// with its sha256; empty: the built-in pins.
    public var dovecotDebs: [PinnedDownload]

    /// Keys in [params] that no setting reads, with their line numbers.
    public var unusedKeys: [IniEntry]
    /// Non-fatal findings (inline comments, ignored sections, odd booleans ...).
    public var warnings: [ConfigWarning]

    /// "Strict TLS" in the Python tool: certificates must verify (ACME mode).
    public var strictTLS: Bool { tlsMode == .acme }
    public var isIPv4Relay: Bool { ipv4Relay != nil }
    /// The privacy contacts, for checks and pages, in their fixed order.
    public var privacyValues: [(key: String, value: String?)] {
        [("privacy_postal", privacyPostal), ("privacy_mail", privacyMail),
         ("privacy_pdo", privacyPDO), ("privacy_supervisor", privacySupervisor)]
    }
}

extension ChatmailConfig {
    /// Reads and validates a chatmail.ini file.
    public static func load(path: String) throws(ConfigError) -> ChatmailConfig {
        guard let text = readTextFile(path) else {
            throw ConfigError(path: path, message: fileProblem(path))
        }
        return try parse(text, path: path)
    }

    /// Parses chatmail.ini text; `path` names the file in messages.
    public static func parse(_ text: String, path: String) throws(ConfigError) -> ChatmailConfig {
        let ini = try IniFile.parse(text, path: path)
        guard let params = ini.section("params") else {
            let others = ini.sections.map { "[\($0.name)]" }
            let found = others.isEmpty ? "no sections" : "only " + others.joined(separator: ", ")
            throw ConfigError(
                path: path,
                message: "missing [params] section (found \(found)); chatmail.ini settings belong below a \"[params]\" line")
        }
        var reader = ParamsReader(path: path, section: params)
        for other in ini.sections where other.name != "params" {
            reader.warn(line: other.line, key: nil,
                        "section [\(other.name)] is ignored; only [params] is read")
        }
        return try reader.build()
    }
}

/// Reads [params] key by key, remembering which keys were used.
struct ParamsReader {
    /// What a server path in chatmail.ini may hold (absolutePath).
    static let pathCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@".unicodeScalars)
    let path: String
    let section: IniSection
    var used: Set<String> = []
    var warnings: [ConfigWarning] = []

    init(path: String, section: IniSection) {
        self.path = path
        self.section = section
        for entry in section.entries where entry.value.contains(" #") {
            warnings.append(ConfigWarning(
                path: path, line: entry.line, key: entry.key,
                message: "value \(quoted(entry.value)) contains \" #\"; inline comments are not stripped "
                    + "and become part of the value. Put comments on their own line"))
        }
    }

    mutating func warn(line: Int?, key: String?, _ message: String) {
        warnings.append(ConfigWarning(path: path, line: line, key: key, message: message))
    }

    func error(_ entry: IniEntry, _ message: String) -> ConfigError {
        var message = message
        if entry.value.contains(" #") {
            // The most likely cause: an inline comment, which INI here does not strip.
            message += " (inline comments are not stripped: put the comment on its own line)"
        }
        return ConfigError(path: path, line: entry.line, key: entry.key, message: message)
    }

    /// The entry for `key`, marking it used.
    mutating func entry(_ key: String) -> IniEntry? {
        used.insert(key)
        return section[key]
    }

    mutating func string(_ key: String) -> String {
        entry(key)?.value ?? ConfigKeys.named(key)!.defaultText!
    }

    mutating func optionalString(_ key: String) -> String? {
        entry(key)?.value
    }

    mutating func integer(_ key: String, min: Int = 0, max: Int = Int.max, what: String = "a whole number") throws(ConfigError) -> Int {
        let text = string(key)
        guard let value = parsePythonInt(text) else {
            throw error(entry(key)!, "expected \(what), got \(quoted(text))")
        }
        guard value >= min, value <= max else {
            let range = max == Int.max ? "at least \(min)" : "between \(min) and \(max)"
            throw error(entry(key)!, "expected \(what) \(range), got \(value)")
        }
        return value
    }

    mutating func port(_ key: String) throws(ConfigError) -> Int {
        try integer(key, min: 1, max: 65535, what: "a TCP port number")
    }

    mutating func size(_ key: String) throws(ConfigError) -> (String, Int) {
        let text = string(key)
        guard let mb = parseSizeMB(text) else {
            throw error(entry(key)!, "expected a size in megabytes such as 500M, 2G or 256, got \(quoted(text))")
        }
        return (text, mb)
    }

    /// Python reads a boolean as `value.lower() == "true"`; anything else is false.
    /// We keep that, but point out values that look like they meant true.
    mutating func boolean(_ key: String) -> Bool {
        guard let e = entry(key) else { return false }
        let lower = e.value.lowercased()
        if lower == "true" { return true }
        if lower != "false" && !lower.isEmpty {
            warn(line: e.line, key: key, "\(quoted(e.value)) is read as false; write true or false")
        }
        return false
    }

    mutating func url(_ key: String) throws(ConfigError) -> String {
        let text = string(key)
        guard isHTTPURL(text) else {
            throw error(entry(key)!, "expected an http:// or https:// URL, got \(quoted(text))")
        }
        return text
    }

    mutating func absolutePath(_ key: String, default fallback: String) throws(ConfigError) -> String {
        guard let e = entry(key) else { return fallback }
        guard e.value.hasPrefix("/") else {
            throw error(e, "expected an absolute path on the server, got \(quoted(e.value))")
        }
        // The path goes into unit files (BindPaths= splits at blanks and
        // ':', systemd expands '%'), Dovecot's and Postfix's configs and
        // scripts: only the characters all of them take literally.
        if let bad = e.value.unicodeScalars.first(where: { !Self.pathCharacters.contains($0) }) {
            throw error(e, "\(quoted(e.value)) contains \(quoted(String(bad))); use only letters, digits and / . _ - + @ in paths")
        }
        return e.value
    }

    mutating func build() throws(ConfigError) -> ChatmailConfig {
        // mail_domain first: most derived values depend on it.
        guard let domainEntry = entry("mail_domain") else {
            throw ConfigError(
                path: path, line: section.line, key: "mail_domain",
                message: "missing; set it to the relay's domain name, e.g. \"mail_domain = chat.example.org\"")
        }
        let bare = domainEntry.value
        let ipv4 = parseIPv4(bare)
        if ipv4 == nil {
            if let problem = mailDomainProblem(bare) {
                throw error(domainEntry, problem)
            }
        }
        let mailDomain = ipv4 != nil ? "[\(bare)]" : bare

        let perMinute = try integer("max_user_send_per_minute", min: 1)
        let burst = try integer("max_user_send_burst_size", min: 1)
        let (mailboxSize, mailboxMB) = try size("max_mailbox_size")
        let maxMessageSize = try integer("max_message_size", min: 1, what: "a whole number of bytes")
        let deleteMails = try integer("delete_mails_after", what: "a whole number of days")
        let deleteLarge = try integer("delete_large_after", what: "a whole number of days")
        let deleteInactive = try integer("delete_inactive_users_after", what: "a whole number of days")
        let userMin = try integer("username_min_length", min: 1, max: 64)
        let userMax = try integer("username_max_length", min: 1, max: 64)
        if userMin > userMax, let e = entry("username_min_length") ?? entry("username_max_length") {
            throw error(e, "username_min_length (\(userMin)) is larger than username_max_length (\(userMax)); no address could be created")
        }
        let passMin = try integer("password_min_length", min: 1)

        let loadText = string("max_load_1m")
        guard let maxLoad = parsePythonFloat(loadText), maxLoad > 0 else {
            throw error(entry("max_load_1m")!, "expected a positive number such as 5 or 2.5, got \(quoted(loadText))")
        }
        let (memText, memMB) = try size("min_available_memory")
        let (diskText, diskMB) = try size("min_free_disk_space")
        let imapConns = try integer("max_imap_connections", min: 1)
        let smtpConns = try integer("max_smtp_connections", min: 1)

        // TLS mode: external wins, then self-signed, then ACME.
        let external = string("tls_external_cert_and_key")
        let tlsMode: TLSMode
        var certPath: String
        var keyPath: String
        if !external.isEmpty {
            let parts = external.split(whereSeparator: { $0.isWhitespace }).map(String.init)
            guard parts.count == 2 else {
                throw error(entry("tls_external_cert_and_key")!,
                            "must have two space-separated paths: CERT_PATH KEY_PATH (got \(parts.count))")
            }
            for p in parts where !p.hasPrefix("/") {
                throw error(entry("tls_external_cert_and_key")!,
                            "expected absolute paths on the server, got \(quoted(p))")
            }
            tlsMode = .external
            (certPath, keyPath) = (parts[0], parts[1])
        } else if bare.hasPrefix("_") || ipv4 != nil {
            tlsMode = .selfSigned
            (certPath, keyPath) = ("/etc/ssl/certs/mailserver.pem", "/etc/ssl/private/mailserver.key")
        } else {
            tlsMode = .acme
            (certPath, keyPath) = ("/var/lib/acme/live/\(bare)/fullchain", "/var/lib/acme/live/\(bare)/privkey")
        }
        let acmeEmail = string("acme_email")
        let acmeURL = try url("acme_directory_url")
        let notifyURL = try url("notification_url")

        let www = string("www_folder")
        let disableIPv6 = boolean("disable_ipv6")
        let irohEntry = entry("iroh_relay")
        if let e = irohEntry, !e.value.isEmpty, !isHTTPURL(e.value) {
            warn(line: e.line, key: e.key, "\(quoted(e.value)) does not look like an https:// URL; clients receive it as is")
        }
        let mtail = optionalString("mtail_address")
        let rawlog = boolean("imap_rawlog")
        let compress = boolean("imap_compress")

        let postal = optionalString("privacy_postal")
        let privMail = optionalString("privacy_mail")
        let pdo = optionalString("privacy_pdo")
        let supervisor = optionalString("privacy_supervisor")

        let fmOut = try port("filtermail_smtp_port")
        let fmIn = try port("filtermail_smtp_port_incoming")
        let fmHTTP = try port("filtermail_http_port_incoming")
        let fmLMTP = try port("filtermail_lmtp_port_transport")
        let reinject = try port("postfix_reinject_port")
        let reinjectIn = try port("postfix_reinject_port_incoming")
        try checkDistinctPorts([
            "filtermail_smtp_port", "filtermail_smtp_port_incoming", "filtermail_http_port_incoming",
            "filtermail_lmtp_port_transport", "postfix_reinject_port", "postfix_reinject_port_incoming",
        ])
        let turnSocket = try absolutePath("turn_socket_path", default: "/run/chatmail-turn/turn.socket")
        let mailboxes = try absolutePath("mailboxes_dir", default: "/home/vmail/mail/\(bare)")
        let passdb = try absolutePath("passdb_path", default: "/home/vmail/passdb.sqlite")

        let forwarders = try words("dns_forwarders") { $0.contains(":") || parseIPv4($0) != nil ? nil : "expected IP addresses, got \(quoted($0))" }
        let unsigned = try words("dns_unsigned_zones") { zone in
            let z = zone.hasSuffix(".") ? String(zone.dropLast()) : zone
            return !z.isEmpty && z.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty }) ? nil : "expected zone names, got \(quoted(zone))"
        }
        let irohDownload = try pinnedDownload("iroh_relay_download")
        let turnDownload = try pinnedDownload("turn_download")
        let mtailDownload = try pinnedDownload("mtail_download")
        let dovecotDebs = try pinnedDebs("dovecot_debs")
        let dovecotPackages = try choice("dovecot_packages", default: DovecotPackages.patched)
        if dovecotPackages == .debian, !dovecotDebs.isEmpty {
            throw error(entry("dovecot_debs")!, "lists .deb files, but dovecot_packages = debian installs Debian's packages; remove one of the two")
        }

        let unused = section.entries.filter { !used.contains($0.key) }
        for u in unused {
            var msg = "unknown setting, it has no effect"
            if let guess = closestKey(to: u.key) { msg += " (did you mean \(guess)?)" }
            warn(line: u.line, key: u.key, msg)
        }

        return ChatmailConfig(
            path: path,
            mailDomain: mailDomain, mailDomainBare: bare, ipv4Relay: ipv4,
            postfixMyhostname: ipv4.map(reversePointer) ?? bare,
            maxUserSendPerMinute: perMinute, maxUserSendBurstSize: burst,
            maxMailboxSize: mailboxSize, maxMailboxSizeMB: mailboxMB,
            maxMessageSize: maxMessageSize,
            deleteMailsAfter: deleteMails, deleteLargeAfter: deleteLarge,
            deleteInactiveUsersAfter: deleteInactive,
            usernameMinLength: userMin, usernameMaxLength: userMax, passwordMinLength: passMin,
            maxLoad1m: maxLoad,
            minAvailableMemory: memText, minAvailableMemoryMB: memMB,
            minFreeDiskSpace: diskText, minFreeDiskSpaceMB: diskMB,
            maxImapConnections: imapConns, maxSmtpConnections: smtpConns,
            tlsExternalCertAndKey: external, tlsMode: tlsMode, tlsCertPath: certPath, tlsKeyPath: keyPath,
            acmeEmail: acmeEmail, acmeDirectoryURL: acmeURL,
            wwwFolder: www, disableIPv6: disableIPv6,
            irohRelay: irohEntry?.value ?? "https://\(bare)",
            enableIrohRelay: irohEntry == nil,
            notificationURL: notifyURL, mtailAddress: mtail,
            imapRawlog: rawlog, imapCompress: compress,
            privacyPostal: postal, privacyMail: privMail, privacyPDO: pdo, privacySupervisor: supervisor,
            filtermailSMTPPort: fmOut, filtermailSMTPPortIncoming: fmIn,
            filtermailHTTPPortIncoming: fmHTTP, filtermailLMTPPortTransport: fmLMTP,
            postfixReinjectPort: reinject, postfixReinjectPortIncoming: reinjectIn,
            turnSocketPath: turnSocket, mailboxesDir: mailboxes, passdbPath: passdb,
            dnsForwarders: forwarders, dnsUnsignedZones: unsigned,
            irohRelayDownload: irohDownload, turnDownload: turnDownload, mtailDownload: mtailDownload,
            dovecotPackages: dovecotPackages, dovecotDebs: dovecotDebs,
            unusedKeys: unused, warnings: warnings)
    }

    /// A space-separated list; `check` returns a problem with one word, or nil.
    mutating func words(_ key: String, _ check: (String) -> String?) throws(ConfigError) -> [String] {
        let list = string(key).split(whereSeparator: { $0.isWhitespace }).map(String.init)
        for w in list { if let problem = check(w) { throw error(entry(key)!, problem) } }
        return list
    }

    /// One of an enumeration's raw values; empty: `fallback`.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ key: String, default fallback: T) throws(ConfigError) -> T
    where T.RawValue == String {
        let text = string(key)
        if text.isEmpty { return fallback }
        guard let value = T(rawValue: text.lowercased()) else {
            let names = T.allCases.map { $0.rawValue }.joined(separator: " or ")
            throw error(entry(key)!, "expected \(names), got \(quoted(text))")
        }
        return value
    }

    /// `URL SHA256`, or nil when empty.
    mutating func pinnedDownload(_ key: String) throws(ConfigError) -> PinnedDownload? {
        let parts = string(key).split(whereSeparator: { $0.isWhitespace }).map(String.init)
        if parts.isEmpty { return nil }
        guard parts.count == 2, isHTTPURL(parts[0]),
              parts[1].count == 64, parts[1].allSatisfy({ $0.isHexDigit }) else {
            throw error(entry(key)!, "expected \"URL SHA256\" (an http(s) URL and 64 hex digits), got \(quoted(string(key)))")
        }
        return PinnedDownload(url: parts[0], sha256: parts[1].lowercased())
    }

    /// `URL SHA256` pairs of .deb files, separated by blanks or lines.
    mutating func pinnedDebs(_ key: String) throws(ConfigError) -> [PinnedDownload] {
        let parts = string(key).split(whereSeparator: { $0.isWhitespace }).map(String.init)
        var debs: [PinnedDownload] = []
        var i = 0
        while i < parts.count {
            let url = parts[i], sum = i + 1 < parts.count ? parts[i + 1] : ""
            guard isHTTPURL(url), url.hasSuffix(".deb"), sum.count == 64, sum.allSatisfy({ $0.isHexDigit }) else {
                throw error(entry(key)!, "expected pairs of \"URL SHA256\" (an http(s) URL of a .deb file and 64 hex digits), got \(quoted(url + (sum.isEmpty ? "" : " " + sum)))")
            }
            guard ChatmailConfig.debFileName(url) != nil else {
                throw error(entry(key)!, "the file name in \(quoted(url)) is not a Debian package file name (letters, digits and . + ~ _ - only, %2B for +): the relay stores each .deb under that name")
            }
            debs.append(PinnedDownload(url: url, sha256: sum.lowercased()))
            i += 2
        }
        return debs
    }

    /// Two internal listeners on one port would fail at service start; say it now.
    mutating func checkDistinctPorts(_ keys: [String]) throws(ConfigError) {
        var seen: [Int: String] = [:]
        for key in keys {
            let value = parsePythonInt(string(key))!
            if let other = seen[value] {
                let e = entry(key) ?? entry(other)
                throw ConfigError(path: path, line: e?.line, key: key,
                                  message: "port \(value) is already used by \(other); each internal service needs its own port")
            }
            seen[value] = key
        }
    }
}

// MARK: - value parsing shared with tests

/// `int()` of Python: optional sign, digits, single underscores between digits.
func parsePythonInt(_ text: String) -> Int? {
    var s = Substring(text.trimmingWhitespace())
    var negative = false
    if let c = s.first, c == "+" || c == "-" {
        negative = c == "-"
        s = s.dropFirst()
    }
    guard let first = s.first, first.isASCII, first.isNumber, let last = s.last, last.isASCII, last.isNumber,
          !s.contains("__") else { return nil }
    let digits = s.filter { $0 != "_" }
    guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(digits) else { return nil }
    return negative ? -v : v
}

/// `float()` of Python, restricted to finite decimal numbers.
func parsePythonFloat(_ text: String) -> Double? {
    let s = text.trimmingWhitespace().replacingUnderscoresBetweenDigits()
    guard !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
          let v = Double(s), v.isFinite else { return nil }
    return v
}

/// The Python relay's `parse_size_mb`: strip, upper-case, drop one trailing
/// `B`; `G` means ×1024, `M` megabytes, otherwise a plain number of megabytes.
public func parseSizeMB(_ text: String) -> Int? {
    var s = Substring(text.trimmingWhitespace().uppercased())
    if s.hasSuffix("B") { s = s.dropLast() }
    var factor = 1
    if s.hasSuffix("G") { factor = 1024; s = s.dropLast() }
    else if s.hasSuffix("M") { s = s.dropLast() }
    guard let n = parsePythonInt(String(s)) else { return nil }
    let (product, overflow) = n.multipliedReportingOverflow(by: factor)
    return overflow || n < 0 ? nil : product
}

/// Strict dotted-quad IPv4 as Python's `ipaddress.IPv4Address` accepts it
/// (no leading zeros, each octet 0-255).
public func parseIPv4(_ text: String) -> String? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    for p in parts {
        guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
              !(p.count > 1 && p.hasPrefix("0")), let v = Int(p), v <= 255 else { return nil }
    }
    return text
}

func reversePointer(_ ipv4: String) -> String {
    ipv4.split(separator: ".").reversed().joined(separator: ".") + ".in-addr.arpa"
}

/// nil when `name` can be a relay's domain; otherwise what is wrong with it.
func mailDomainProblem(_ name: String) -> String? {
    if name.isEmpty {
        return "is empty; set it to the relay's domain name, e.g. \"chat.example.org\""
    }
    if name.contains(":") && name.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "[" || $0 == "]" }) {
        return "\(quoted(name)) looks like an IPv6 address; relays without a domain need an IPv4 address"
    }
    if name.hasPrefix("[") {
        return "\(quoted(name)): write an IPv4 address without brackets, e.g. \"1.2.3.4\""
    }
    if name.contains("@") || name.contains("://") || name.contains("/") {
        return "\(quoted(name)) is not a domain name; expected just the host name, e.g. \"chat.example.org\""
    }
    if name.count > 253 { return "\(quoted(name)) is longer than 253 characters" }
    let labels = name.split(separator: ".", omittingEmptySubsequences: false)
    if labels.count < 2 {
        return "\(quoted(name)) is not a fully qualified domain name; expected something like \"chat.example.org\""
    }
    for (i, label) in labels.enumerated() {
        if label.isEmpty { return "\(quoted(name)) has an empty label (\"..\" or a leading or trailing dot)" }
        if label.count > 63 { return "\(quoted(name)): label \(quoted(label)) is longer than 63 characters" }
        // A leading underscore is allowed on the first label: such relays use self-signed TLS.
        let body = i == 0 && label.hasPrefix("_") ? label.dropFirst() : label[...]
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
              body.first != "-", body.last != "-" else {
            return "\(quoted(name)): \(quoted(label)) is not a valid domain label "
                + "(letters, digits and inner hyphens only)"
        }
    }
    if labels.last!.allSatisfy({ $0.isNumber }) {
        return "\(quoted(name)) is neither a domain name nor a valid IPv4 address"
    }
    return nil
}

func isHTTPURL(_ s: String) -> Bool {
    for scheme in ["https://", "http://"] where s.lowercased().hasPrefix(scheme) {
        let rest = s.dropFirst(scheme.count)
        return !rest.isEmpty && !rest.hasPrefix("/") && !rest.contains(where: { $0.isWhitespace })
    }
    return false
}

/// A known key within edit distance 2 of an unknown one, for "did you mean".
func closestKey(to name: String) -> String? {
    var best: (String, Int)?
    for key in ConfigKeys.all {
        let d = editDistance(name.lowercased(), key.name)
        if d <= 2, d < (best?.1 ?? Int.max) { best = (key.name, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where j <= b.count {
            cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}

extension String {
    func replacingUnderscoresBetweenDigits() -> String {
        var out = ""
        let chars = Array(self)
        for (i, c) in chars.enumerated() {
            if c == "_", i > 0, i < chars.count - 1, chars[i - 1].isNumber, chars[i + 1].isNumber { continue }
            out.append(c)
        }
        return out
    }
}

extension ChatmailConfig {
    /// The percent-decoded last path component of a .deb URL when it is a
    /// plain Debian file name (`dovecot-core_2.3.21+dfsg1-3_amd64.deb`); nil
    /// for anything else (control characters, slashes, a leading dot or dash).
    public static func debFileName(_ url: String) -> String? {
        guard let last = url.split(separator: "/", omittingEmptySubsequences: false).last else { return nil }
        var bytes: [UInt8] = []
        var it = Array(last.utf8)[...]
        while let c = it.popFirst() {
            guard c == UInt8(ascii: "%") else { bytes.append(c); continue }
            guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(v)
            it = it.dropFirst(2)
        }
        let allowed = { (b: UInt8) in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "._+~-".utf8.contains(b)
        }
        guard let first = bytes.first, allowed(first), first != UInt8(ascii: "."), first != UInt8(ascii: "-"),
              bytes.allSatisfy(allowed), bytes.count <= 200 else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
