import ChatmailConfig
import Remote

/// Everything `cmdeploy dns` and the `cmdeploy run` pre-check need from the
/// relay, gathered by ONE shell script in one round trip: the DKIM public
/// key, the ACME account URL, the relay's own addresses, the zone's
/// authoritative name servers and every record at each of them.
///
/// The lookups run on the relay with `dig` (dnsutils, as the Python tool
/// does) rather than with a DNS client of ours: dig is the tool operators
/// already trust and can rerun by hand, it follows the relay's resolver
/// configuration to find the servers, and its exit status tells a server
/// that did not answer from one that answered "no such record".
public struct RelayDNSProbe: Sendable {
    public var domain: String
    /// `acmetool account-url`, empty when there is no ACME account yet.
    public var acmeAccountURL: String = ""
    /// The issuer of the certificate at tls_cert_path ("" when none).
    public var certificateIssuer: String = ""
    /// Base64 SubjectPublicKeyInfo of /etc/dkimkeys/opendkim.private, empty when missing.
    public var dkimPublicKey: String = ""
    /// Global-scope interface addresses (without prefix length).
    public var ipv4Addresses: [String] = []
    public var ipv6Addresses: [String] = []
    /// The zone holding the domain and its NS names; empty when none was
    /// found (then `servers` is the relay's own resolver).
    public var zone: String = ""
    public var servers: [String] = []
    /// Server name → answers. Servers that did not answer their SOA query
    /// have no entry here but one in `unreachable`.
    public var answers: [String: [DNSQuery: DNSAnswer]] = [:]
    public var unreachable: [String: String] = [:]
    /// Set when dig was missing and could not be installed.
    public var digMissing = false

    public init(domain: String) { self.domain = domain }

    /// Label used for the relay's resolver when no NS records were found.
    public static let resolverLabel = "the relay's resolver"

    /// Runs the probe on `host`. With `installDig` false (a dry run, which
    /// must not change the host) a missing dig is reported, not installed.
    public static func collect(_ config: ChatmailConfig, on host: Host, installDig: Bool = true) throws -> RelayDNSProbe {
        // The names go into the script unquoted (a here-document), and a
        // name with other characters could not be published anyway.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        guard !config.mailDomain.isEmpty, config.mailDomain.allSatisfy(allowed.contains) else {
            throw DNSError("mail_domain \"\(config.mailDomain)\" in \(config.path) is not a DNS name (letters, digits, '.', '-', '_')")
        }
        let script = self.script(domain: config.mailDomain, installDig: installDig, certPath: config.tlsCertPath)
        let result = try host.runScript(script, timeout: 240)
        guard result.succeeded else {
            throw RemoteError.commandFailed(host: host.name, command: "DNS probe script",
                                            status: result.status, stderr: result.stderrText)
        }
        var probe = parse(result.stdoutText, domain: config.mailDomain)
        if probe.digMissing && installDig {
            throw DNSError("dig is not installed on \(host.name) and `apt-get install bind9-dnsutils` failed")
        }
        probe.domain = config.mailDomain
        return probe
    }

    /// The probe script. Output is one tagged line per fact; dig's own
    /// output is passed through behind "| " so it can be parsed and quoted.
    public static func script(domain: String, installDig: Bool = true, certPath: String? = nil) -> String {
        let queries = DNSQuery.all(for: domain).map { "\($0.name) \($0.type)" }
            .joined(separator: "\n")
        return """
            export LC_ALL=C
            D=\(shellQuote(domain))
            if \(installDig ? "true" : "false") && ! command -v dig >/dev/null 2>&1; then
              { apt-get -o DPkg::Lock::Timeout=120 update &&
                DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y bind9-dnsutils; } >&2
            fi
            command -v dig >/dev/null 2>&1 || { echo nodig; exit 0; }
            echo "acme $(acmetool account-url 2>/dev/null | head -n 1)"
            \(certPath.map { "echo \"certissuer $(openssl x509 -noout -issuer -nameopt oneline -in \(shellQuote($0)) 2>/dev/null | sed 's/^issuer= *//')\"" } ?? ":")
            key=$(openssl rsa -in /etc/dkimkeys/opendkim.private -pubout 2>/dev/null | awk '/-/{next}{printf("%s",$0)}')
            if [ -z "$key" ] && [ -r /etc/dkimkeys/opendkim.txt ]; then
              # opendkim-genkey's record file: the p= value, spread over quoted strings
              key=$(tr -d '\\n' </etc/dkimkeys/opendkim.txt | sed 's/"[[:space:]]*"//g' | sed -n 's/.*p=\\([A-Za-z0-9+\\/=]*\\).*/\\1/p')
            fi
            echo "dkim $key"
            ip -o addr show scope global 2>/dev/null | awk '{print "addr", $3, $4}'
            T=$(mktemp -d) || exit 1
            trap 'rm -rf "$T"' EXIT
            Q=$(cat <<'QUERIES'
            \(queries)
            QUERIES
            )
            # The zone's servers: NS records of the domain, else of its parents.
            name=$D; zone=""; servers=""
            while [ -n "$name" ]; do
              servers=$(dig +noall +answer +time=3 +tries=2 "$name" NS 2>/dev/null |
                awk -v n="$name." 'tolower($1) == tolower(n) && $4 == "NS" {print $5}')
              if [ -n "$servers" ]; then zone=$name; break; fi
              case $name in *.*) name=${name#*.} ;; *) name="" ;; esac
            done
            echo "zone $zone"
            for s in ${servers:-@resolver}; do
              if [ "$s" = @resolver ]; then at=""; opt="+recurse"; else at="@$s"; opt="+norecurse"; fi
              echo "server $s"
              if [ -n "$zone" ]; then
                out=$(dig $at $opt +time=2 +tries=2 +noall +comments "$zone" SOA 2>&1); rc=$?
                if [ $rc -ne 0 ]; then
                  echo "down $s $(printf '%s' "$out" | grep -v '^$' | tail -n 1)"
                  continue
                fi
              fi
              # All queries to one server at once (one dig each took most of a
              # no-op deploy's time), printed in order afterwards.
              n=0
              while read -r qn qt; do
                n=$((n + 1))
                ( out=$(dig $at $opt +time=2 +tries=2 +noall +comments +answer "$qn" "$qt" 2>&1); rc=$?
                  { echo "query $s $qt $qn"; printf '%s\\n' "$out" | sed 's/^/| /'; echo "rc $rc"; } >"$T/$n" ) &
              done <<EOF
            $Q
            EOF
              wait
              i=1; while [ $i -le $n ]; do cat "$T/$i"; rm -f "$T/$i"; i=$((i + 1)); done
            done
            rm -rf "$T"
            """
    }

    /// Parses the script's output.
    public static func parse(_ text: String, domain: String) -> RelayDNSProbe {
        var probe = RelayDNSProbe(domain: domain)
        var current: (server: String, query: DNSQuery)?
        var digLines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("| ") || line == "|" {
                digLines.append(String(line.dropFirst(2)))
                continue
            }
            let (tag, rest) = splitFirst(line)
            switch tag {
            case "nodig": probe.digMissing = true
            case "acme": probe.acmeAccountURL = rest.trimmed
            case "certissuer": probe.certificateIssuer = rest.trimmed
            case "dkim": probe.dkimPublicKey = rest.trimmed
            case "addr":
                let (family, cidr) = splitFirst(rest)
                let address = String(cidr.trimmed.split(separator: "/").first ?? "")
                if family == "inet" { probe.ipv4Addresses.append(address) }
                if family == "inet6" { probe.ipv6Addresses.append(address) }
            case "zone": probe.zone = rest.trimmed
            case "server":
                let server = serverLabel(rest.trimmed)
                probe.servers.append(server)
            case "down":
                let (server, message) = splitFirst(rest)
                let why = cleanDigMessage(message)
                probe.unreachable[serverLabel(server)] = why.isEmpty ? "no answer" : why
            case "query":
                let parts = rest.split(separator: " ", maxSplits: 2).map(String.init)
                if parts.count == 3 {
                    current = (serverLabel(parts[0]), DNSQuery(parts[2], parts[1]))
                    digLines = []
                }
            case "rc":
                if let (server, query) = current {
                    let answer = digAnswer(digLines, status: Int(rest.trimmed) ?? 1, query: query)
                    probe.answers[server, default: [:]][query] = answer
                }
                current = nil
            default: break
            }
        }
        return probe
    }

    /// Interprets one dig run's `+comments +answer` output.
    static func digAnswer(_ lines: [String], status: Int, query: DNSQuery) -> DNSAnswer {
        guard status == 0 else {
            let message = lines.last { !$0.trimmed.isEmpty && !$0.hasPrefix(";; Got") }?.trimmed
            return .unreachable(cleanDigMessage(message ?? "dig exited with status \(status)"))
        }
        var rcode = ""
        var records: [String] = []
        let owner = query.name.lowercased() + "."
        for line in lines {
            if let range = line.range(of: "status: ") {
                rcode = String(line[range.upperBound...].prefix { $0.isLetter })
            } else if !line.hasPrefix(";"), !line.trimmed.isEmpty {
                // owner TTL class type rdata...; only this name's records of
                // this type (a CNAME chain may come along).
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 5, fields[0].lowercased() == owner,
                      fields[3].uppercased() == query.type else { continue }
                records.append(dropFields(line, 4))
            }
        }
        switch rcode {
        case "NOERROR": return records.isEmpty ? .notSet : .records(records)
        case "NXDOMAIN": return .notSet
        case "": return .unreachable("no answer")
        default: return .failed(rcode)
        }
    }

    private static func serverLabel(_ raw: String) -> String {
        let name = raw.trimmed
        if name == "@resolver" { return resolverLabel }
        return name.hasSuffix(".") ? String(name.dropLast()) : name
    }

    private static func cleanDigMessage(_ text: String) -> String {
        var t = text
        while t.hasPrefix(";") { t.removeFirst() }
        return t.trimmed
    }
}

public struct DNSError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

private func splitFirst(_ line: String) -> (String, String) {
    guard let space = line.firstIndex(of: " ") else { return (line, "") }
    return (String(line[..<space]), String(line[line.index(after: space)...]))
}

/// The rest of `line` after `count` whitespace-separated fields, unchanged
/// (TXT data keeps its inner spacing).
func dropFields(_ line: String, _ count: Int) -> String {
    var rest = Substring(line)
    for _ in 0..<count {
        rest = rest.drop { $0 == " " || $0 == "\t" }
        rest = rest.drop { $0 != " " && $0 != "\t" }
    }
    return String(rest.drop { $0 == " " || $0 == "\t" })
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
