import Support
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH known_hosts files: plain and hashed (`|1|salt|hash`) host
/// fields, `[host]:port` for ports other than 22, wildcard and negated
/// patterns, and the `@revoked` marker. Checking follows OpenSSH: a revoked
/// key is refused, a stored identical key is accepted, a stored key of the
/// same type that differs is a changed key, anything else is unknown.
public struct KnownHosts {
    public struct Entry: Equatable {
        public var file: String
        public var line: Int
        public var keyType: String
        public var key: [UInt8]
        public var revoked: Bool
    }

    public enum Verdict: Equatable {
        case known(Entry)
        case changed(Entry)
        case revoked(Entry)
        /// `otherTypes`: key types stored for this host that the server did not offer.
        case unknown(otherTypes: [String])
    }

    /// Entries that apply to the host, in file order.
    public private(set) var entries: [Entry] = []

    /// The name known_hosts uses for a host and port.
    public static func lookupName(host: String, port: Int) -> String {
        port == 22 ? host.lowercased() : "[\(host.lowercased())]:\(port)"
    }

    /// Loads the entries of `files` (missing files are skipped) that match `host`:`port`.
    public init(files: [String], host: String, port: Int) {
        let name = Self.lookupName(host: host, port: port)
        for file in files {
            guard let text = readTextFile(file) else { continue }
            for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if let entry = Self.parse(String(raw), file: file, line: index + 1, matching: name) {
                    entries.append(entry)
                }
            }
        }
    }

    static func parse(_ line: String, file: String, line number: Int, matching name: String) -> Entry? {
        var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = fields.first, !first.hasPrefix("#") else { return nil }
        var revoked = false
        if first.hasPrefix("@") {
            // @cert-authority lines hold CA keys, not host keys: not ours to use.
            guard first == "@revoked" else { return nil }
            revoked = true
            fields.removeFirst()
        }
        guard fields.count >= 3, let key = Base64.decode(fields[2]), !key.isEmpty else { return nil }
        guard hostFieldMatches(fields[0], name: name) else { return nil }
        return Entry(file: file, line: number, keyType: fields[1], key: key, revoked: revoked)
    }

    static func hostFieldMatches(_ field: String, name: String) -> Bool {
        if field.hasPrefix("|1|") {
            let parts = field.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4, let salt = Base64.decode(String(parts[2])),
                  let hash = Base64.decode(String(parts[3])) else { return false }
            return hmacSHA1(key: salt, data: Array(name.utf8)) == hash
        }
        return hostPatternsMatch([field], host: name)
    }

    public func check(keyType: String, key: [UInt8]) -> Verdict {
        if let bad = entries.first(where: { $0.revoked && $0.key == key }) { return .revoked(bad) }
        let live = entries.filter { !$0.revoked }
        if let good = live.first(where: { $0.key == key }) { return .known(good) }
        if let old = live.first(where: { $0.keyType == keyType }) { return .changed(old) }
        var others: [String] = []
        for e in live where !others.contains(e.keyType) { others.append(e.keyType) }
        return .unknown(otherTypes: others)
    }

    /// Key types stored for the host, so the handshake can ask for one of them first.
    public var knownKeyTypes: [String] {
        var types: [String] = []
        for e in entries where !e.revoked && !types.contains(e.keyType) { types.append(e.keyType) }
        return types
    }

    /// Appends an entry for the host, creating the file (0600) and its
    /// directory (0700) when needed; `hashed` hides the host name as
    /// OpenSSH's HashKnownHosts does (Debian's default).
    public static func record(file: String, host: String, port: Int, keyType: String, key: [UInt8],
                              hashed: Bool = false) throws {
        let dir = String(file[..<(file.lastIndex(of: "/") ?? file.startIndex)])
        if !dir.isEmpty, access(dir, F_OK) != 0, mkdir(dir, 0o700) != 0 {
            throw RemoteError.knownHostsWrite(file: file, detail: String(cString: strerror(errno)))
        }
        let existing = readTextFile(file) ?? ""
        let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
        var name = lookupName(host: host, port: port)
        if hashed {
            guard let salt = randomBytes(20) else {
                throw RemoteError.knownHostsWrite(file: file, detail: "no random bytes for the hashed entry")
            }
            name = "|1|\(Base64.encode(salt))|\(Base64.encode(hmacSHA1(key: salt, data: Array(name.utf8))))"
        }
        let line = separator + "\(name) \(keyType) \(Base64.encode(key))\n"
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RemoteError.knownHostsWrite(file: file, detail: String(cString: strerror(errno))) }
        defer { Glibc.close(fd) }
        let bytes = Array(line.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            throw RemoteError.knownHostsWrite(file: file, detail: String(cString: strerror(errno)))
        }
    }
}
