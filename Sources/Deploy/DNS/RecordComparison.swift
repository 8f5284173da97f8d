/// TXT record data: one or more quoted strings.
enum TXTValue {
    /// The strings of `rdata` concatenated, quotes and escapes removed.
    /// DKIM and SPF verifiers concatenate them too, so a provider that
    /// splits a long value at other places publishes the same record.
    static func joined(_ rdata: String) -> String {
        var out = ""
        var inQuotes = false
        var chars = rdata.makeIterator()
        while let c = chars.next() {
            if c == "\"" { inQuotes.toggle(); continue }
            if c == "\\", inQuotes, let next = chars.next() { out.append(next); continue }
            if inQuotes { out.append(c) } else if !c.isWhitespace { out.append(c) }
        }
        return out
    }

    /// What a TXT value is for: its version tag ("v=spf1", "v=DKIM1") or
    /// its first key ("dkim=" for ADSP).
    static func kind(_ value: String) -> String {
        if value.lowercased().hasPrefix("v=") {
            return String(value.prefix { $0 != ";" && $0 != " " }).lowercased()
        }
        return String(value.prefix { $0 != "=" }).lowercased() + "="
    }
}

/// Normalises record data of `type` so that equal records compare equal:
/// TXT by content, names case-insensitively with the trailing dot, CAA
/// with its value unquoted.
func canonicalRdata(_ rdata: String, type: String) -> String {
    switch type {
    case "TXT":
        return TXTValue.joined(rdata)
    case "CAA":
        let fields = rdata.split(separator: " ", maxSplits: 2).map(String.init)
        guard fields.count == 3 else { return rdata }
        return "\(fields[0]) \(fields[1].lowercased()) \(TXTValue.joined(fields[2]))"
    default:
        return rdata.split(whereSeparator: { $0 == " " || $0 == "\t" })
            .map { field -> String in
                let lower = field.lowercased()
                return lower.hasSuffix(".") || type == "A" || type == "AAAA" || Int(lower) != nil ? lower : lower + "."
            }
            .joined(separator: " ")
    }
}

/// What one server has for one expected record.
public enum ServerFinding: Equatable, Sendable {
    case matches
    case notSet
    case differs([String])
    case failed(String)
    case unreachable(String)

    /// Words for the report.
    public var text: String {
        switch self {
        case .matches: return "correct"
        case .notSet: return "not set"
        case .differs(let found): return "set differently: " + found.joined(separator: " | ")
        case .failed(let rcode): return "server answered \(rcode)"
        case .unreachable(let why): return "server unreachable (\(why))"
        }
    }
}

/// One expected record and what every server has for it.
public struct RecordCheck: Sendable {
    public var record: ZoneRecord
    public var findings: [(server: String, finding: ServerFinding)]

    /// Right when every server that answered has it and at least one
    /// answered: an unreachable secondary is reported but does not hide
    /// that the record is published.
    public var isCorrect: Bool {
        let answered = findings.filter {
            if case .unreachable = $0.finding { return false } else { return true }
        }
        return !answered.isEmpty && answered.allSatisfy { $0.finding == .matches }
    }

    /// Compares `record` with what `answer` reported.
    static func finding(_ record: ZoneRecord, _ answer: DNSAnswer?) -> ServerFinding {
        switch answer {
        case nil: return .unreachable("not asked")
        case .notSet: return .notSet
        case .failed(let rcode): return .failed(rcode)
        case .unreachable(let why): return .unreachable(why)
        case .records(let values):
            let expected = canonicalRdata(record.rdata, type: record.type)
            if values.contains(where: { canonicalRdata($0, type: record.type) == expected }) { return .matches }
            // A name holds several TXT records (SPF, site verifications):
            // show only those of the same kind as the expected one.
            var shown = values
            if record.type == "TXT" {
                let kind = TXTValue.kind(TXTValue.joined(record.rdata))
                let same = values.filter { TXTValue.kind(TXTValue.joined($0)) == kind }
                if same.isEmpty { return .notSet }
                shown = same
            }
            return .differs(shown)
        }
    }
}

/// The whole comparison of a zone with what the servers publish.
public struct DNSCheckResult: Sendable {
    public var servers: [String]
    public var unreachable: [String: String]
    public var checks: [RecordCheck]

    public init(zone: RelayZone, probe: RelayDNSProbe) {
        servers = probe.servers
        unreachable = probe.unreachable
        checks = zone.records.map { record in
            let query = DNSQuery(record.queryName, record.type)
            let findings = probe.servers.map { server -> (server: String, finding: ServerFinding) in
                if let why = probe.unreachable[server] { return (server, .unreachable(why)) }
                return (server, RecordCheck.finding(record, probe.answers[server]?[query]))
            }
            return RecordCheck(record: record, findings: findings)
        }
    }

    public var missingRequired: [RecordCheck] { checks.filter { $0.record.required && !$0.isCorrect } }
    public var missingRecommended: [RecordCheck] { checks.filter { !$0.record.required && !$0.isCorrect } }
    /// 0 when every required record is right, else 1 (as the Python tool).
    public var exitCode: Int32 { missingRequired.isEmpty ? 0 : 1 }
}
