/// One SMTP command line as the filter understands it (RFC 5321 §4.1).
/// Parsing is pure and total: every byte string maps to a command.
enum SMTPCommand: Equatable {
    case hello
    case mail(String)
    case rcpt(String)
    case data
    case reset
    case noop
    case quit
    /// MAIL or RCPT whose address could not be read.
    case badMailAddress
    case badRecipientAddress
    case unknown

    /// `line` is one command without its line break.
    static func parse(_ line: ArraySlice<UInt8>) -> SMTPCommand {
        let text = String(decoding: line, as: UTF8.self)
        let verb = text.prefix { $0 != " " && $0 != ":" }.uppercased()
        switch verb {
        case "HELO", "EHLO": return .hello
        case "DATA": return text.count == 4 ? .data : .unknown
        case "RSET": return .reset
        case "NOOP": return .noop
        case "QUIT": return .quit
        case "MAIL":
            guard let address = address(after: "MAIL FROM:", in: text) else { return .badMailAddress }
            return .mail(address)
        case "RCPT":
            guard let address = address(after: "RCPT TO:", in: text), !address.isEmpty else {
                return .badRecipientAddress
            }
            return .rcpt(address)
        default: return .unknown
        }
    }

    /// The lower-cased address after `MAIL FROM:` / `RCPT TO:`, with or
    /// without angle brackets, ignoring ESMTP parameters. `<>` gives "".
    static func address(after prefix: String, in text: String) -> String? {
        guard text.count >= prefix.count, text.prefix(prefix.count).uppercased() == prefix else { return nil }
        var rest = text.dropFirst(prefix.count)
        while rest.first == " " { rest = rest.dropFirst() }
        let address: Substring
        if rest.first == "<" {
            guard let close = rest.firstIndex(of: ">") else { return nil }
            address = rest[rest.index(after: rest.startIndex)..<close]
        } else {
            address = rest.prefix { $0 != " " }
        }
        guard !address.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0.asciiValue.map { $0 < 32 } ?? false })
        else { return nil }
        return address.lowercased()
    }
}
