/// A line of output and how to show it: plain lines go to stdout, the
/// coloured ones to stderr (as the Python tool prints them).
public struct ReportLine: Equatable, Sendable {
    public enum Style: Sendable { case plain, ok, warning, error }
    public var style: Style
    public var text: String

    public init(_ style: Style, _ text: String) {
        self.style = style
        self.text = text
    }
}

/// Turns a check result into what `cmdeploy dns` prints: every record with
/// its state at each server, then the zone lines still to set.
public enum DNSReport {
    public static func lines(_ result: DNSCheckResult, zone: RelayZone) -> [ReportLine] {
        var out: [ReportLine] = []
        let serverList = result.servers.isEmpty ? "(none found)" : result.servers.joined(separator: ", ")
        out.append(.init(.plain, "Checking the DNS records of \(zone.domain) at \(serverList):"))
        for (server, why) in result.unreachable.sorted(by: { $0.key < $1.key }) {
            out.append(.init(.warning, "WARNING: name server \(server) is unreachable from the relay (\(why))"))
        }
        for (title, required) in [("Required", true), ("Recommended", false)] {
            out.append(.init(.plain, ""))
            out.append(.init(.plain, "\(title) records:"))
            for check in result.checks where check.record.required == required {
                out += describe(check)
            }
        }
        out.append(.init(.plain, ""))

        let required = result.missingRequired
        let recommended = result.missingRecommended
        if !required.isEmpty {
            out.append(.init(.error, "Please set required DNS entries at your DNS provider:"))
            out.append(.init(.plain, ""))
            out += required.map { .init(.plain, $0.record.line) }
            out.append(.init(.plain, ""))
            if required.contains(where: { $0.record.name.hasPrefix("opendkim._domainkey.") }) {
                out.append(.init(.plain, "If the DKIM entry above does not work with your DNS provider, you can try this one:"))
                out.append(.init(.plain, ""))
                out.append(.init(.plain, zone.webDKIMLine))
                out.append(.init(.plain, ""))
            }
        }
        if !recommended.isEmpty {
            out.append(.init(.warning, "WARNING: these recommended DNS entries are not set:"))
            out.append(.init(.plain, ""))
            out += recommended.map { .init(.plain, $0.record.line) }
            out.append(.init(.plain, ""))
        }
        if required.isEmpty && recommended.isEmpty {
            out.append(.init(.ok, "Great! All your DNS entries are verified and correct."))
        }
        return out
    }

    /// One record: a status word, the record, and per server what is wrong.
    static func describe(_ check: RecordCheck) -> [ReportLine] {
        let r = check.record
        let shown = r.rdata.count > 60 ? String(r.rdata.prefix(57)) + "..." : r.rdata
        if check.isCorrect {
            var lines = [ReportLine(.plain, "  ok       \(r.name) \(r.type) \(shown)")]
            for (server, finding) in check.findings where finding != .matches {
                lines.append(.init(.plain, "             \(server): \(finding.text)"))
            }
            return lines
        }
        let status = check.findings.allSatisfy({ $0.finding == .notSet }) ? "NOT SET" : "WRONG"
        var lines = [ReportLine(.plain, "  \(pad(status, 8)) \(r.name) \(r.type)")]
        lines.append(.init(.plain, "             expected: \(r.rdata)"))
        if check.findings.isEmpty {
            lines.append(.init(.plain, "             no name server to ask"))
        }
        for (server, finding) in check.findings {
            lines.append(.init(.plain, "             \(server): \(finding.text)"))
        }
        return lines
    }
}
