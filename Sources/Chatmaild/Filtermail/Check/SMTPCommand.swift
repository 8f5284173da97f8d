/// One SMTP command line as the filter understands it (RFC 5321 §4.1).
/// Parsing is pure and total: every byte string maps to a command.
enum SMTPCommand: Equatable {
    case hello(extended: Bool)
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
        // ASCII only: Unicode upper-casing turns "ı" into "I".
        let verb = ASCII.lowercased(String(text.prefix { $0 != " " && $0 != ":" }))
        switch verb {
        case "helo": return .hello(extended: false)
        case "ehlo", "lhlo": return .hello(extended: true)
        case "data": return text.count == 4 ? .data : .unknown
        case "rset": return .reset
        case "noop": return .noop
        case "quit": return .quit
        case "mail":
            guard let address = address(after: "MAIL FROM:", in: text) else { return .badMailAddress }
            return .mail(address)
        case "rcpt":
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
        let head = text.utf8.prefix(prefix.utf8.count)
        guard head.count == prefix.utf8.count, ASCII.same(ASCII.lowercased(String(decoding: head, as: UTF8.self)),
                                                          ASCII.lowercased(prefix))
        else { return nil }
        var rest = Substring(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
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
        return ASCII.lowercased(String(address))
    }
}
