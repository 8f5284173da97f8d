import Support

/// One request line of Dovecot's dict protocol (the client side lives in
/// Dovecot's dict-client; we are the "proxy" server end). The first byte
/// is the command, the rest are TAB-separated, tab-escaped fields.
public enum DictRequest: Equatable, Sendable {
    case hello
    case lookup(key: String, user: String?)
    case iterate(flags: String, maxRows: String, path: String, user: String?)
    case begin(id: String, user: String?)
    case set(id: String, key: String, value: String)
    case unset(id: String, key: String)
    /// `C` (sync) and `D` (async) commits both get one reply line.
    case commit(id: String)
    case rollback(id: String)
    case unknown(String)
    /// A line that is not valid UTF-8, parsed with replacement characters.
    /// Its text is not what the client sent (a password hashed from it would
    /// not be the one Dovecot checks), so it never reaches the service as is.
    indirect case invalidUTF8(DictRequest)

    /// Parses one line of raw bytes without its trailing newline.
    public static func parse(bytes: some Collection<UInt8>) -> DictRequest {
        if let text = String(validating: bytes, as: UTF8.self) { return parse(Substring(text)) }
        return .invalidUTF8(parse(Substring(String(decoding: bytes, as: UTF8.self))))
    }

    /// Parses one line without its trailing newline. Never fails: anything
    /// malformed is `.unknown`, which is logged and gets no reply.
    public static func parse(_ line: Substring) -> DictRequest {
        guard let cmd = line.first else { return .unknown("") }
        let fields = line.dropFirst().split(separator: "\t", omittingEmptySubsequences: false).map(tabUnescape)
        func field(_ i: Int) -> String? { i < fields.count ? fields[i] : nil }
        switch cmd {
        case "H": return .hello
        case "L":
            guard let key = field(0) else { break }
            return .lookup(key: key, user: field(1))
        case "I":
            guard fields.count >= 3 else { break }
            return .iterate(flags: fields[0], maxRows: fields[1], path: fields[2], user: field(3))
        case "B":
            guard let id = field(0), !id.isEmpty else { break }
            return .begin(id: id, user: field(1))
        case "S":
            guard fields.count >= 3 else { break }
            return .set(id: fields[0], key: fields[1], value: fields[2])
        case "U":
            guard fields.count >= 2 else { break }
            return .unset(id: fields[0], key: fields[1])
        case "C", "D":
            guard let id = field(0) else { break }
            return .commit(id: id)
        case "R":
            guard let id = field(0) else { break }
            return .rollback(id: id)
        default: break
        }
        return .unknown(String(line.prefix(200)))
    }
}

/// Dovecot's str_tabescape: each of these bytes becomes \001 and the letter.
/// One table serves both directions, so they cannot drift apart.
private let tabEscapePairs: [(byte: UInt8, letter: UInt8)] = [
    (1, UInt8(ascii: "1")), (9, UInt8(ascii: "t")), (13, UInt8(ascii: "r")), (10, UInt8(ascii: "n")), (0, UInt8(ascii: "0")),
]
private let tabUnescapes = Dictionary(uniqueKeysWithValues: tabEscapePairs.map { ($0.letter, $0.byte) })
private let tabEscapes = Dictionary(uniqueKeysWithValues: tabEscapePairs.map {
    (Unicode.Scalar($0.byte), "\u{1}" + String(Unicode.Scalar($0.letter)))
})

/// Reverses Dovecot's str_tabescape: \001 followed by 1, t, r, n or 0.
func tabUnescape(_ field: Substring) -> String {
    guard field.utf8.contains(1) else { return String(field) }
    var out: [UInt8] = []
    var it = field.utf8.makeIterator()
    while let b = it.next() {
        guard b == 1, let e = it.next() else { out.append(b); continue }
        out.append(tabUnescapes[e] ?? e)
    }
    return String(decoding: out, as: UTF8.self)
}

/// Escapes a value for a reply line, so a value can never break the framing.
/// By scalars: "\r\n" is one Character but two escapes.
func tabEscape(_ value: String) -> String {
    guard value.utf8.contains(where: { b in tabEscapePairs.contains { $0.byte == b } }) else { return value }
    return escaped(value.unicodeScalars, tabEscapes)
}

/// What a service answers to a lookup.
public enum DictLookupResult: Equatable, Sendable {
    case found(String)
    case notFound
    case failed

    var line: String {
        switch self {
        case .found(let v): return "O" + tabEscape(v) + "\n"
        case .notFound: return "N\n"
        case .failed: return "F\n"
        }
    }
}

/// A service behind the dict socket. Calls for one connection arrive in
/// order on one thread; different connections may call concurrently.
public protocol DictService: Sendable {
    func lookup(key: String, user: String?) -> DictLookupResult
    /// Rows `(key, value)` for an iterate request, or nil for no reply at all.
    func iterate(path: String, user: String?) -> [(String, String)]?
    /// One SET inside a transaction begun for `user`; false fails the commit.
    func set(user: String?, key: String, value: String) -> Bool
    /// Services that must wait (TURN credentials) answer asynchronously;
    /// nil means use `lookup`.
    func asyncLookup(key: String, user: String?) -> AsyncLookup?
    /// True if some lookups may run concurrently on a thread pool,
    /// answered in request order; their order against sets is then not kept.
    var concurrentLookups: Bool { get }
    /// With `concurrentLookups`: whether this lookup is slow enough to be
    /// worth the hop to the pool (fast ones stay on the event loop).
    func isSlow(key: String, user: String?) -> Bool
}

/// A lookup answered later: the function is called with a completion.
public struct AsyncLookup: Sendable {
    public let start: @Sendable (@escaping @Sendable (DictLookupResult) -> Void) -> Void
    public init(_ start: @escaping @Sendable (@escaping @Sendable (DictLookupResult) -> Void) -> Void) {
        self.start = start
    }
}

extension DictService {
    public func iterate(path: String, user: String?) -> [(String, String)]? { [] }
    public func set(user: String?, key: String, value: String) -> Bool { false }
    public func asyncLookup(key: String, user: String?) -> AsyncLookup? { nil }
    public var concurrentLookups: Bool { false }
    public func isSlow(key: String, user: String?) -> Bool { false }
}

/// Per-connection protocol state: transactions keyed by id (Dovecot reuses
/// ids such as 1 on each connection). Pure logic, tested without sockets.
public struct DictSession {
    struct Transaction { var user: String?; var ok: Bool }
    var transactions: [String: Transaction] = [:]
    let service: DictService
    /// Bounds memory if a client begins transactions and never ends them.
    static let maxTransactions = 1000

    public init(service: DictService) { self.service = service }

    public enum Outcome {
        case reply(String)
        case none
        case later(AsyncLookup)
        /// Work that produces the reply line, to run off the event loop.
        case offload(@Sendable () -> String)
    }

    public mutating func handle(_ request: DictRequest, offload: Bool = false) -> Outcome {
        switch request {
        case .hello:
            return .none
        case let .lookup(key, user):
            if let pending = service.asyncLookup(key: key, user: user) { return .later(pending) }
            if offload && service.isSlow(key: key, user: user) {
                let service = self.service
                return .offload { service.lookup(key: key, user: user).line }
            }
            return .reply(service.lookup(key: key, user: user).line)
        case let .iterate(_, _, path, user):
            guard let rows = service.iterate(path: path, user: user) else { return .none }
            var out = ""
            for (k, v) in rows { out += "O" + tabEscape(k) + "\t" + tabEscape(v) + "\n" }
            return .reply(out + "\n")
        case let .begin(id, user):
            if transactions.count >= Self.maxTransactions, transactions[id] == nil {
                Log.warning("too many open dict transactions on one connection; ignoring begin \(id)")
                return .none
            }
            transactions[id] = Transaction(user: user, ok: true)
        case let .set(id, key, value):
            guard var t = transactions[id] else {
                Log.warning("dictproxy-set for unknown transaction \(id)")
                return .none
            }
            if !service.set(user: t.user, key: key, value: value) {
                Log.error("dictproxy-set failed for \(t.user ?? "?"): \(key)")
                t.ok = false
                transactions[id] = t
            }
        case let .unset(id, key):
            if var t = transactions[id] {
                Log.error("dictproxy-unset not supported: \(key)")
                t.ok = false
                transactions[id] = t
            }
        case let .commit(id):
            let t = transactions.removeValue(forKey: id)
            return .reply(t?.ok == true ? "O\n" : "F\n")
        case let .rollback(id):
            transactions.removeValue(forKey: id)
        case let .unknown(line):
            Log.warning("unknown dictproxy request: \(line.debugDescription)")
        case let .invalidUTF8(request):
            // The Python server dropped the connection (a decode error);
            // we answer what needs an answer with a failure and go on.
            Log.warning("dict request is not valid UTF-8")
            switch request {
            case .lookup:
                return .reply("F\n")
            case .iterate:
                return .reply("\n")  // an empty iteration
            case let .begin(id, user):
                _ = handle(.begin(id: id, user: user))
                transactions[id]?.ok = false
            case let .set(id, _, _), let .unset(id, _):
                transactions[id]?.ok = false
            case .commit, .rollback, .hello, .unknown, .invalidUTF8:
                // These reach no service: ids only select transactions.
                return handle(request)
            }
        }
        return .none
    }
}
