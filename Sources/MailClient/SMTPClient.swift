import NIOCore

/// One SMTP reply (RFC 5321 §4.2): a code and its text lines.
public struct SMTPReply: Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    public var text: String { lines.joined(separator: " / ") }
    public var description: String { "\(code) \(text)" }
    public var isPositive: Bool { (200..<400).contains(code) }

    public struct SyntaxError: Error, CustomStringConvertible {
        public var line: String
        public var description: String { "not an SMTP reply line: \(line.debugDescription)" }
    }

    /// Takes one complete reply (all `NNN-` lines and the closing `NNN `
    /// line) off the front of `buffer`; nil while it is incomplete.
    /// A bare `NNN` line (no text) is a valid last line.
    public static func parse(_ buffer: inout ByteBuffer) throws -> SMTPReply? {
        var lines: [String] = []
        var code: Int?
        var view = buffer
        while let line = readLine(&view) {
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[0...2].allSatisfy({ (0x30...0x39).contains($0) }),
                  bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-")
            else { throw SyntaxError(line: line) }
            let lineCode = Int(String(decoding: bytes[0...2], as: UTF8.self))!
            if let code, code != lineCode { throw SyntaxError(line: line) }
            code = lineCode
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") {
                buffer = view
                return SMTPReply(code: lineCode, lines: lines)
            }
        }
        return nil
    }
}

/// Reads one line ending in LF (a CR before it is dropped); nil when no full line is buffered.
func readLine(_ buffer: inout ByteBuffer) -> String? {
    guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
    let length = newline - buffer.readerIndex
    var bytes = buffer.readBytes(length: length)!
    buffer.moveReaderIndex(forwardBy: 1)
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
}

/// A small SMTP client: EHLO, STARTTLS, AUTH PLAIN, one or more mail
/// transactions, VRFY. Every reply is checked by the caller or by `expect`.
public final class SMTPClient: @unchecked Sendable {
    public let connection: MailConnection
    public private(set) var greeting: SMTPReply?
    public var endpoint: String { connection.endpoint }

    init(_ connection: MailConnection) { self.connection = connection }

    /// Connects and reads the greeting. `implicitTLS` is port 465 style;
    /// otherwise the conversation starts in cleartext (call `startTLS`).
    public static func connect(host: String, port: Int, implicitTLS: Bool, trust: TLSTrust, timeout: Double = 20) async throws -> SMTPClient {
        let connection = try await MailConnection.connect(host: host, port: port, tls: implicitTLS ? trust : nil, timeout: timeout)
        let client = SMTPClient(connection)
        do {
            client.greeting = try await client.expect("greeting", 220) { nil }
        } catch {
            connection.close()
            throw error
        }
        return client
    }

    public func readReply(_ what: String) async throws -> SMTPReply {
        try await connection.read("reply to \(what)") { try SMTPReply.parse(&$0) }
    }

    /// Sends `command` (nil: only read) and returns the reply.
    public func send(_ command: String?, what: String? = nil) async throws -> SMTPReply {
        if let command { try await connection.write(command + "\r\n") }
        return try await readReply(what ?? command.map { String($0.prefix(while: { $0 != " " })) } ?? "greeting")
    }

    /// Like `send`, but a reply with another code is an error quoting it.
    @discardableResult
    public func expect(_ what: String, _ code: Int, _ command: () -> String?) async throws -> SMTPReply {
        let reply = try await send(command(), what: what)
        guard reply.code == code else {
            throw MailError(endpoint, "\(what): expected \(code), server said \(reply)")
        }
        return reply
    }

    public func ehlo(_ name: String = "cmdeploy.test") async throws {
        try await expect("EHLO", 250) { "EHLO \(name)" }
    }

    public func startTLS(_ trust: TLSTrust) async throws {
        try await expect("STARTTLS", 220) { "STARTTLS" }
        try await connection.startTLS(trust)
        try await ehlo()
    }

    /// AUTH PLAIN (RFC 4616); returns the reply so callers can test refusals.
    public func authPlain(_ user: String, _ password: String) async throws -> SMTPReply {
        let token = base64Encode(Array("\u{0}\(user)\u{0}\(password)".utf8))
        return try await send("AUTH PLAIN \(token)", what: "AUTH PLAIN")
    }

    public func login(_ user: String, _ password: String) async throws {
        let reply = try await authPlain(user, password)
        guard reply.code == 235 else { throw MailError(endpoint, "login as \(user) refused: \(reply)") }
    }

    /// The replies of one mail transaction; the first non-positive one ends it.
    public struct Transaction: Sendable {
        public var mailFrom: SMTPReply
        public var rcptTo: [SMTPReply] = []
        public var data: SMTPReply?
        public var final: SMTPReply?
        /// The reply that ended the transaction unsuccessfully, if any.
        public var failure: SMTPReply? {
            if !mailFrom.isPositive { return mailFrom }
            if let bad = rcptTo.first(where: { !$0.isPositive }) { return bad }
            if let data, !data.isPositive { return data }
            if let final, !final.isPositive { return final }
            return nil
        }
        public var accepted: Bool { failure == nil && final != nil }
    }

    /// Runs MAIL, RCPT..., DATA and the message; stops (with RSET) at the
    /// first refusal so the session stays usable.
    public func sendMail(from: String, to recipients: [String], message: [UInt8]) async throws -> Transaction {
        var t = Transaction(mailFrom: try await send("MAIL FROM:<\(from)>", what: "MAIL FROM"))
        guard t.mailFrom.isPositive else { return try await reset(t) }
        for rcpt in recipients {
            let reply = try await send("RCPT TO:<\(rcpt)>", what: "RCPT TO \(rcpt)")
            t.rcptTo.append(reply)
            guard reply.isPositive else { return try await reset(t) }
        }
        t.data = try await send("DATA")
        guard t.data?.code == 354 else { return try await reset(t) }
        try await connection.write(dotStuffed(message))
        t.final = try await readReply("end of DATA")
        return t
    }

    private func reset(_ t: Transaction) async throws -> Transaction {
        _ = try await send("RSET")
        return t
    }

    /// Sends and requires acceptance; errors quote the refusing reply.
    public func deliver(from: String, to recipients: [String], message: [UInt8]) async throws {
        let t = try await sendMail(from: from, to: recipients, message: message)
        if let failure = t.failure {
            throw MailError(endpoint, "mail from \(from) to \(recipients.joined(separator: ",")) refused: \(failure)")
        }
    }

    public func quit() async {
        _ = try? await send("QUIT")
        connection.close()
    }
}

/// The DATA body: CRLF line ends, leading dots doubled, closing dot line.
func dotStuffed(_ message: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(message.count + 64)
    var atLineStart = true
    var previous: UInt8 = 0
    for byte in message {
        if byte == UInt8(ascii: "\n"), previous != UInt8(ascii: "\r") { out.append(UInt8(ascii: "\r")) }
        if atLineStart, byte == UInt8(ascii: ".") { out.append(byte) }
        out.append(byte)
        atLineStart = byte == UInt8(ascii: "\n")
        previous = byte
    }
    if !atLineStart { out += Array("\r\n".utf8) }
    out += Array(".\r\n".utf8)
    return out
}

public func base64Encode(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i < bytes.count {
        let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
        out.append(alphabet[Int(b0 >> 2)])
        out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
        out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
        out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}
