/// A name and type to look up at each authoritative server.
public struct DNSQuery: Hashable, Sendable {
    public var name: String  // without trailing dot
    public var type: String

    public init(_ name: String, _ type: String) {
        self.name = name
        self.type = type
    }

    /// Every lookup `cmdeploy dns` needs for `domain`: the records of the
    /// zone (whether or not they end up in it) in one fixed list, so the
    /// probe script does not depend on what it will find.
    public static func all(for domain: String) -> [DNSQuery] {
        let d = domain
        return [
            DNSQuery(d, "A"), DNSQuery(d, "AAAA"), DNSQuery(d, "MX"),
            DNSQuery("_mta-sts.\(d)", "TXT"), DNSQuery("mta-sts.\(d)", "CNAME"),
            DNSQuery("www.\(d)", "CNAME"), DNSQuery("opendkim._domainkey.\(d)", "TXT"),
            DNSQuery(d, "TXT"), DNSQuery("_dmarc.\(d)", "TXT"), DNSQuery(d, "CAA"),
            DNSQuery("_adsp._domainkey.\(d)", "TXT"),
            DNSQuery("_submission._tcp.\(d)", "SRV"), DNSQuery("_submissions._tcp.\(d)", "SRV"),
            DNSQuery("_imap._tcp.\(d)", "SRV"), DNSQuery("_imaps._tcp.\(d)", "SRV"),
        ]
    }
}

/// What one server said about one query.
public enum DNSAnswer: Equatable, Sendable {
    /// NOERROR with these record data (in dig's presentation form).
    case records([String])
    /// NXDOMAIN, or NOERROR without a record of that type.
    case notSet
    /// The server answered with an error status (SERVFAIL, REFUSED, ...).
    case failed(String)
    /// No answer at all (timeout, connection refused); dig's message.
    case unreachable(String)
}
