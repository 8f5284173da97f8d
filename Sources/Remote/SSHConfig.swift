import Support
#if canImport(Glibc)
import Glibc
#endif

/// The settings for one host, taken from ssh_config files the way OpenSSH
/// reads them: files in order, every `Host`/`Match` block that applies,
/// and the first value seen for a keyword wins (IdentityFile accumulates).
public struct SSHHostConfig: Equatable {
    /// The name the operator gave (`--ssh-host`), before any HostName.
    public var alias: String
    public var hostName: String
    public var user: String?
    public var port: Int?
    public var identityFiles: [String] = []
    public var identitiesOnly = false
    public var hashKnownHosts = false
    public var userKnownHostsFiles: [String]?
    public var strictHostKeyChecking: String?
    public var connectTimeout: Double?
    public var serverAliveInterval: Double?
    public var serverAliveCountMax: Int?
    /// Things that were skipped and that the operator may want to know.
    public var warnings: [String] = []

    public init(alias: String) {
        self.alias = alias
        hostName = alias
    }
}

/// Reads the subset of ssh_config(5) that operators rely on for reaching a
/// relay. Directives that would change where or how we connect but that we
/// cannot honour (ProxyJump, ProxyCommand, ...) are errors naming file and line.
public struct SSHConfigReader {
    public var home: String
    public var localUser: String

    public init(home: String = homeDirectory(), localUser: String = localUserName()) {
        self.home = home
        self.localUser = localUser
    }

    /// The files OpenSSH reads: an explicit one (`ssh -F`) replaces both defaults.
    public func defaultFiles(override: String?) -> [String] {
        if let override { return [expandTilde(override)] }
        return [home + "/.ssh/config", "/etc/ssh/ssh_config"]
    }

    /// Resolves `alias` against `files`; missing default files are fine,
    /// a missing explicit file is the caller's to check.
    public func resolve(_ alias: String, files: [String]) throws -> SSHHostConfig {
        var config = SSHHostConfig(alias: alias)
        var seen = Set<String>()
        for file in files {
            try apply(file: file, to: &config, seen: &seen, depth: 0)
        }
        config.hostName = expandTokens(config.hostName, config: config, hostIsAlias: true)
        config.identityFiles = config.identityFiles.map { expandPath($0, config: config) }
        config.userKnownHostsFiles = config.userKnownHostsFiles?.map { expandPath($0, config: config) }
        return config
    }

    private func apply(file: String, to config: inout SSHHostConfig, seen: inout Set<String>, depth: Int) throws {
        guard let text = readTextFile(file) else { return }
        var active = true  // lines before the first Host line apply to every host
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            guard let (keyword, args) = try splitDirective(String(rawLine), file: file, line: lineNumber) else { continue }
            let key = keyword.lowercased()
            func fail(_ message: String) -> RemoteError {
                .sshConfig(file: file, line: lineNumber, message: message)
            }
            switch key {
            case "host":
                active = hostPatternsMatch(args, host: config.alias)
                continue
            case "match":
                active = matchBlockApplies(args, config: config, where: "\(file) line \(lineNumber)")
                if !isSimpleMatch(args) {
                    config.warnings.append("\(file) line \(lineNumber): Match \(args.joined(separator: " ")) is not supported; its block is ignored")
                }
                continue
            case "include":
                guard depth < 8 else { throw fail("Include nested too deeply") }
                for pattern in args {
                    var path = expandTilde(pattern)
                    if !path.hasPrefix("/") {
                        path = (file.hasPrefix("/etc/ssh") ? "/etc/ssh/" : home + "/.ssh/") + path
                    }
                    for included in globPaths(path) {
                        // An Include inside a Host block only applies to that host.
                        if active { try apply(file: included, to: &config, seen: &seen, depth: depth + 1) }
                    }
                }
                continue
            default:
                break
            }
            guard active else { continue }
            if args.isEmpty { throw fail("\(keyword) needs a value") }
            let value = args[0]
            if key == "identityfile" {
                config.identityFiles.append(value)
                continue
            }
            // OpenSSH: the first obtained value of a keyword is used.
            guard !seen.contains(key) else { continue }
            seen.insert(key)
            switch key {
            case "hostname": config.hostName = value
            case "user": config.user = value
            case "port":
                guard let port = Int(value), (1...65535).contains(port) else { throw fail("Port \(value) is not a port number") }
                config.port = port
            case "identitiesonly": config.identitiesOnly = try yesNo(value, keyword: keyword, fail: fail)
            case "hashknownhosts": config.hashKnownHosts = try yesNo(value, keyword: keyword, fail: fail)
            case "userknownhostsfile":
                config.userKnownHostsFiles = args.filter { $0.lowercased() != "none" }
            case "stricthostkeychecking":
                let v = value.lowercased()
                guard ["yes", "no", "ask", "accept-new", "off"].contains(v) else {
                    throw fail("StrictHostKeyChecking \(value): expected yes, no, ask, accept-new or off")
                }
                config.strictHostKeyChecking = v
            case "connecttimeout":
                guard let t = Double(value), t > 0 else { throw fail("ConnectTimeout \(value) is not a number of seconds") }
                config.connectTimeout = t
            case "serveraliveinterval":
                guard let t = Double(value), t >= 0 else { throw fail("ServerAliveInterval \(value) is not a number of seconds") }
                config.serverAliveInterval = t
            case "serveralivecountmax":
                guard let n = Int(value), n >= 0 else { throw fail("ServerAliveCountMax \(value) is not a number") }
                config.serverAliveCountMax = n
            case "proxyjump", "proxycommand":
                if value.lowercased() != "none" {
                    throw fail("\(keyword) applies to \(config.alias) but cmdeploy cannot connect through a proxy; "
                        + "reach the host directly, or pass --ssh-config with a file that has no \(keyword) for it")
                }
            case "hostkeyalias", "localcommand", "remotecommand", "requesttty", "certificatefile":
                throw fail("\(keyword) applies to \(config.alias) but cmdeploy does not support it")
            default:
                break  // everything else does not change how we reach the host
            }
        }
    }

    private func yesNo(_ value: String, keyword: String, fail: (String) -> RemoteError) throws -> Bool {
        switch value.lowercased() {
        case "yes", "true": return true
        case "no", "false": return false
        default: throw fail("\(keyword) \(value): expected yes or no")
        }
    }

    private func isSimpleMatch(_ args: [String]) -> Bool {
        let keys = stride(from: 0, to: args.count, by: 2).map { args[$0].lowercased() }
        return keys.allSatisfy { ["host", "originalhost", "user", "all"].contains($0) }
    }

    /// `Match all`, `Match host P`, `Match originalhost P`, `Match user P`
    /// (all criteria must hold); any other criterion makes the block not apply.
    private func matchBlockApplies(_ args: [String], config: SSHHostConfig, where location: String) -> Bool {
        guard !args.isEmpty else { return false }
        if args.count == 1 && args[0].lowercased() == "all" { return true }
        guard isSimpleMatch(args), args.count % 2 == 0 else { return false }
        var i = 0
        while i + 1 < args.count {
            let patterns = args[i + 1].split(separator: ",").map(String.init)
            let ok: Bool
            switch args[i].lowercased() {
            case "host": ok = hostPatternsMatch(patterns, host: config.hostName)
            case "originalhost": ok = hostPatternsMatch(patterns, host: config.alias)
            case "user": ok = hostPatternsMatch(patterns, host: config.user ?? "root")
            default: ok = false
            }
            if !ok { return false }
            i += 2
        }
        return true
    }

    private func expandPath(_ path: String, config: SSHHostConfig) -> String {
        expandTokens(expandTilde(path), config: config, hostIsAlias: false)
    }

    func expandTilde(_ path: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }

    private func expandTokens(_ text: String, config: SSHHostConfig, hostIsAlias: Bool) -> String {
        guard text.contains("%") else { return text }
        var out = ""
        var chars = text.makeIterator()
        while let c = chars.next() {
            guard c == "%", let t = chars.next() else { out.append(c); continue }
            switch t {
            case "h": out += hostIsAlias ? config.alias : config.hostName
            case "n": out += config.alias
            case "r": out += config.user ?? "root"
            case "u": out += localUser
            case "d": out += home
            case "p": out += String(config.port ?? 22)
            case "%": out += "%"
            default: out += "%" + String(t)
            }
        }
        return out
    }
}

/// Splits one config line into keyword and arguments (`Key value`, `Key=value`,
/// double quotes group words); nil for blank lines and comments.
func splitDirective(_ line: String, file: String, line lineNumber: Int) throws -> (String, [String])? {
    var words: [String] = []
    var current = ""
    var inQuotes = false
    var hasWord = false
    var sawEquals = false
    for c in line {
        if inQuotes {
            if c == "\"" { inQuotes = false } else { current.append(c) }
            continue
        }
        if c == "#" && !hasWord && words.isEmpty { return nil }
        if c == "\"" { inQuotes = true; hasWord = true; continue }
        // One '=' may separate keyword and value.
        if c == "=" && words.count == (hasWord ? 0 : 1) && !sawEquals {
            sawEquals = true
            if hasWord { words.append(current); current = ""; hasWord = false }
            continue
        }
        if c == " " || c == "\t" || c == "\r" {
            if hasWord { words.append(current); current = ""; hasWord = false }
            continue
        }
        current.append(c)
        hasWord = true
    }
    if inQuotes { throw RemoteError.sshConfig(file: file, line: lineNumber, message: "unbalanced quote") }
    if hasWord { words.append(current) }
    guard let keyword = words.first else { return nil }
    return (keyword, Array(words.dropFirst()))
}

/// ssh_config host matching: `*` and `?` wildcards, `!` negates; a negated
/// match rules the host out even when another pattern matches.
public func hostPatternsMatch<S: Sequence>(_ patterns: S, host: String) -> Bool where S.Element == String {
    let host = host.lowercased()
    var matched = false
    for pattern in patterns {
        for part in pattern.split(separator: ",") {
            var p = part.lowercased()
            let negated = p.hasPrefix("!")
            if negated { p.removeFirst() }
            if wildcardMatch(Array(p.utf8), Array(host.utf8)) {
                if negated { return false }
                matched = true
            }
        }
    }
    return matched
}

func wildcardMatch(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
    var p = 0, t = 0
    var star = -1, mark = 0
    while t < text.count {
        if p < pattern.count && (pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t]) {
            p += 1; t += 1
        } else if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
            star = p; mark = t; p += 1
        } else if star >= 0 {
            p = star + 1; mark += 1; t = mark
        } else {
            return false
        }
    }
    while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
    return p == pattern.count
}

func globPaths(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard glob(pattern, 0, nil, &g) == 0 else { return [] }
    return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
}

public func homeDirectory() -> String {
    if let h = getenv("HOME"), h.pointee != 0 { return String(cString: h) }
    if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir { return String(cString: dir) }
    return "/"
}

public func localUserName() -> String {
    if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    return "root"
}
