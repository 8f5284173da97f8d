import NIOCore

/// One IMAP server response (RFC 9051 §7): a line that may carry literals
/// `{N}` followed by N raw bytes and more line text.
public struct IMAPResponse: Equatable, Sendable, CustomStringConvertible {
    /// `*` for untagged data, `+` for a continuation request, else the command's tag.
    public var tag: String
    /// The text after the tag, literals left as their `{N}` markers.
    public var text: String
    /// The literals in order of appearance.
    public var literals: [[UInt8]]

    public var description: String { "\(tag) \(text)" }

    /// For tagged responses: OK, NO or BAD (upper-cased).
    public var status: String { String(text.prefix(while: { $0 != " " })).uppercased() }

    public struct SyntaxError: Error, CustomStringConvertible {
        public var line: String
        public var description: String { "not an IMAP response: \(line.debugDescription)" }
    }

    /// Takes one complete response off `buffer`; nil while bytes are missing.
    public static func parse(_ buffer: inout ByteBuffer) throws -> IMAPResponse? {
        var view = buffer
        var text = ""
        var literals: [[UInt8]] = []
        while true {
            guard let line = readLine(&view) else { return nil }
            text += line
            guard let count = literalLength(line) else { break }
            guard view.readableBytes >= count else { return nil }
            literals.append(view.readBytes(length: count)!)
        }
        guard let space = text.firstIndex(of: " ") else {
            if text == "+" { buffer = view; return IMAPResponse(tag: "+", text: "", literals: []) }
            throw SyntaxError(line: text)
        }
        buffer = view
        return IMAPResponse(tag: String(text[..<space]), text: String(text[text.index(after: space)...]), literals: literals)
    }

    /// N when the line ends with a literal announcement `{N}` or `{N+}`.
    static func literalLength(_ line: String) -> Int? {
        guard line.hasSuffix("}"), let open = line.lastIndex(of: "{") else { return nil }
        var digits = line[line.index(after: open)..<line.index(before: line.endIndex)]
        if digits.hasSuffix("+") { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// `* N KEYWORD ...` → N, for EXISTS/EXPUNGE/FETCH.
    public func number(before keyword: String) -> Int? {
        let words = text.split(separator: " ", maxSplits: 2)
        guard tag == "*", words.count >= 2, words[1].uppercased() == keyword else { return nil }
        return Int(words[0])
    }

    /// The values of a METADATA response (RFC 5464 §4.4.1):
    /// `METADATA mailbox (entry value entry value ...)`; a value is a quoted
    /// string, a literal or NIL.
    public func metadataValues() -> [String: String?] {
        guard tag == "*", text.uppercased().hasPrefix("METADATA ") else { return [:] }
        var tokens = IMAPTokenizer(text, literals: literals)
        _ = tokens.next()  // METADATA
        _ = tokens.next()  // mailbox
        var values: [String: String?] = [:]
        guard case .open? = tokens.next() else { return [:] }
        while let token = tokens.next() {
            guard case .atom(let entry) = token else { break }
            switch tokens.next() {
            case .string(let value)?: values[entry] = value
            case .atom(let atom)? where atom.uppercased() == "NIL": values[entry] = .some(nil)
            default: return values
            }
        }
        return values
    }
}

/// Splits response text into atoms, strings (quoted or literal) and parentheses.
struct IMAPTokenizer {
    enum Token: Equatable { case atom(String), string(String), open, close }
    private var chars: [Character]
    private var index = 0
    private var literals: [[UInt8]]

    init(_ text: String, literals: [[UInt8]]) {
        self.chars = Array(text)
        self.literals = literals
    }

    mutating func next() -> Token? {
        while index < chars.count, chars[index] == " " { index += 1 }
        guard index < chars.count else { return nil }
        let c = chars[index]
        switch c {
        case "(": index += 1; return .open
        case ")": index += 1; return .close
        case "\"":
            index += 1
            var value = ""
            while index < chars.count, chars[index] != "\"" {
                if chars[index] == "\\", index + 1 < chars.count { index += 1 }
                value.append(chars[index])
                index += 1
            }
            index += 1
            return .string(value)
        case "{":
            while index < chars.count, chars[index] != "}" { index += 1 }
            index += 1
            return .string(literals.isEmpty ? "" : String(decoding: literals.removeFirst(), as: UTF8.self))
        default:
            var atom = ""
            while index < chars.count, !" ()".contains(chars[index]) {
                atom.append(chars[index])
                index += 1
            }
            return .atom(atom)
        }
    }
}

/// IMAP quoted string with `\` and `"` escaped.
public func imapQuoted(_ s: String) -> String {
    "\"" + s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"") + "\""
}

extension String {
    func replacingAll(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

/// A small IMAP client: LOGIN, CAPABILITY, SELECT, FETCH, IDLE, METADATA.
public final class IMAPClient: @unchecked Sendable {
    public let connection: MailConnection
    public var endpoint: String { connection.endpoint }
    private var counter = 0
    /// Messages in the selected mailbox, kept current from EXISTS responses.
    public private(set) var exists = 0

    init(_ connection: MailConnection) { self.connection = connection }

    /// Connects with implicit TLS (port 993) and reads the greeting.
    public static func connect(host: String, port: Int = 993, trust: TLSTrust, timeout: Double = 20) async throws -> IMAPClient {
        let connection = try await MailConnection.connect(host: host, port: port, tls: trust, timeout: timeout)
        let client = IMAPClient(connection)
        do {
            let greeting = try await client.readResponse("greeting")
            guard greeting.tag == "*", greeting.status == "OK" else {
                throw MailError(connection.endpoint, "unexpected greeting: \(greeting)")
            }
        } catch {
            connection.close()
            throw error
        }
        return client
    }

    func readResponse(_ what: String, timeout: Double? = nil) async throws -> IMAPResponse {
        let response = try await connection.read(what, timeout: timeout) { try IMAPResponse.parse(&$0) }
        if let n = response.number(before: "EXISTS") { exists = n }
        return response
    }

    /// The result of one command: its untagged responses and the tagged completion.
    public struct Result: Sendable {
        public var untagged: [IMAPResponse]
        public var completion: IMAPResponse
        public var ok: Bool { completion.status == "OK" }
    }

    /// Sends one command and reads until its tagged completion.
    public func command(_ text: String, what: String? = nil) async throws -> Result {
        counter += 1
        let tag = "C\(counter)"
        let name = what ?? String(text.prefix(while: { $0 != " " }))
        try await connection.write("\(tag) \(text)\r\n")
        var untagged: [IMAPResponse] = []
        while true {
            let response = try await readResponse("reply to \(name)")
            if response.tag == tag { return Result(untagged: untagged, completion: response) }
            untagged.append(response)
        }
    }

    /// Like `command`, but anything but OK is an error quoting the server.
    @discardableResult
    public func expectOK(_ text: String, what: String? = nil) async throws -> Result {
        let name = what ?? String(text.prefix(while: { $0 != " " }))
        let result = try await command(text, what: name)
        guard result.ok else { throw MailError(endpoint, "\(name) failed: \(result.completion.text)") }
        return result
    }

    public func login(_ user: String, _ password: String) async throws -> Result {
        try await command("LOGIN \(imapQuoted(user)) \(imapQuoted(password))", what: "LOGIN")
    }

    public func loginOrThrow(_ user: String, _ password: String) async throws {
        let result = try await login(user, password)
        guard result.ok else { throw MailError(endpoint, "login as \(user) refused: \(result.completion.text)") }
    }

    public func capabilities() async throws -> [String] {
        let result = try await expectOK("CAPABILITY")
        var caps: [String] = []
        for r in result.untagged where r.text.uppercased().hasPrefix("CAPABILITY ") {
            caps += r.text.split(separator: " ").dropFirst().map { $0.uppercased() }
        }
        return caps
    }

    @discardableResult
    public func select(_ mailbox: String = "INBOX") async throws -> Int {
        try await expectOK("SELECT \(imapQuoted(mailbox))")
        return exists
    }

    /// The raw message with sequence number `n` (not marking it seen).
    public func fetch(_ n: Int) async throws -> [UInt8] {
        let result = try await expectOK("FETCH \(n) BODY.PEEK[]", what: "FETCH")
        guard let data = result.untagged.first(where: { $0.number(before: "FETCH") == n && !$0.literals.isEmpty }) else {
            throw MailError(endpoint, "FETCH \(n): no message body in the reply")
        }
        return data.literals[0]
    }

    /// Waits with IDLE (RFC 2177) until the mailbox holds at least `count` messages.
    public func waitForMessages(_ count: Int, timeout: Double) async throws {
        if exists >= count { return }
        counter += 1
        let tag = "C\(counter)"
        try await connection.write("\(tag) IDLE\r\n")
        var idling = false
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(timeout * 1000))
        let missing = MailError(endpoint, "no new message within \(Int(timeout)) s of IDLE (\(count) expected)")
        while exists < count || !idling {
            let rest = deadline - clock.now
            let left = Double(rest.components.seconds) + Double(rest.components.attoseconds) / 1e18
            guard left > 0 else { break }
            let response: IMAPResponse
            do {
                response = try await readResponse("IDLE update", timeout: left)
            } catch {
                // Only the deadline of the whole wait is worth reporting.
                if clock.now >= deadline { throw missing }
                throw error
            }
            if response.tag == "+" { idling = true }
            if response.tag == tag { throw MailError(endpoint, "IDLE ended early: \(response)") }
        }
        if idling {
            try await connection.write("DONE\r\n")
            while true {
                let response = try await readResponse("end of IDLE")
                if response.tag == tag { break }
            }
        }
        guard exists >= count else {
            throw MailError(endpoint, "no new message within \(Int(timeout)) s (\(exists) present, \(count) expected)")
        }
    }

    public func setMetadata(_ mailbox: String, _ entry: String, _ value: String) async throws -> Result {
        try await command("SETMETADATA \(imapQuoted(mailbox)) (\(entry) \(imapQuoted(value)))", what: "SETMETADATA")
    }

    public func getMetadata(_ mailbox: String, _ entry: String) async throws -> String? {
        let result = try await expectOK("GETMETADATA \(imapQuoted(mailbox)) \(entry)", what: "GETMETADATA")
        for r in result.untagged {
            if let value = r.metadataValues()[entry] { return value }
        }
        return nil
    }

    public func logout() async {
        _ = try? await command("LOGOUT")
        connection.close()
    }
}
