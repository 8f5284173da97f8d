/// Addresses as the gate compares them. Two rules hold everywhere:
/// only ASCII A–Z is lower-cased (Unicode case mapping would make the
/// Kelvin sign equal "k"), and addresses are compared byte for byte (Swift's
/// `==` on String treats canonically equivalent Unicode as equal).
enum ASCII {
    static func lowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) else { return text }
        return String(decoding: text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// Letters, digits and `._+-`: the local parts chatmail creates.
    static func isPlainLocalByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 95 || b == 43 || b == 45
    }

    static func isPlainDomainByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 45 || b == 95
    }

    /// Dot-separated non-empty runs of `allowed` bytes.
    static func isDotAtom(_ text: String, _ allowed: (UInt8) -> Bool) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, first != 46, last != 46 else { return false }
        var previous: UInt8 = 0
        for b in bytes {
            guard allowed(b), !(b == 46 && previous == 46) else { return false }
            previous = b
        }
        return true
    }
}

/// An SMTP path as received after `MAIL FROM:` or `RCPT TO:` (RFC 5321
/// §4.1.2), reduced to the mailbox Postfix and Dovecot deliver to: a source
/// route dropped, a quoted local part unquoted, one trailing dot of the
/// domain dropped, ASCII lower-cased. `isPlain` tells whether the text as
/// received already was that plain form; every other spelling is one that
/// some program on the path may resolve differently.
struct MailPath: Equatable {
    var local: String
    var domain: String
    var isPlain: Bool

    /// `local@domain`, the name of the mailbox folder.
    var canonical: String { "\(local)@\(domain)" }

    /// The canonical address without a `+extension` (Postfix's
    /// recipient_delimiter), or nil when there is none.
    var withoutExtension: String? {
        guard let plus = local.utf8.firstIndex(of: UInt8(ascii: "+")) else { return nil }
        return "\(String(local[..<plus]))@\(domain)"
    }

    /// Safe as a folder name below mailboxes_dir.
    var isSafeMailboxName: Bool {
        !local.isEmpty && !domain.isEmpty && !canonical.utf8.contains(where: { $0 == 47 || $0 < 32 || $0 == 127 })
            && !local.utf8.contains(UInt8(ascii: "@")) && local != "." && local != ".."
    }

    /// nil for text that is no address at all (also for the null path "").
    static func parse(_ raw: String) -> MailPath? {
        var bytes = Array(raw.utf8)[...]
        var plain = true
        // Controls and unquoted blanks are never part of a path.
        if bytes.first == UInt8(ascii: "@") {
            // Source route "@a,@b:" (RFC 5321 §4.1.2, obsolete): dropped, as Postfix does.
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            bytes = bytes[(colon + 1)...]
            plain = false
        }
        var local: [UInt8] = []
        if bytes.first == UInt8(ascii: "\"") {
            plain = false
            var i = bytes.startIndex + 1
            var closed = false
            while i < bytes.endIndex {
                let b = bytes[i]
                if b == UInt8(ascii: "\\") {
                    guard i + 1 < bytes.endIndex else { return nil }
                    local.append(bytes[i + 1])
                    i += 2
                    continue
                }
                if b == UInt8(ascii: "\"") { closed = true; i += 1; break }
                local.append(b)
                i += 1
            }
            guard closed, i < bytes.endIndex, bytes[i] == UInt8(ascii: "@") else { return nil }
            bytes = bytes[i...]
        } else {
            guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return nil }
            local = Array(bytes[..<at])
            bytes = bytes[at...]
        }
        bytes = bytes.dropFirst()  // "@"
        var domain = Array(bytes)
        if domain.last == UInt8(ascii: ".") { domain.removeLast(); plain = false }
        guard !local.isEmpty, !domain.isEmpty,
              !local.contains(where: { $0 < 32 || $0 == 127 }),
              !domain.contains(where: { $0 <= 32 || $0 == 127 || $0 == UInt8(ascii: "@") })
        else { return nil }
        if !plain || local.contains(where: { $0 == 32 }) { plain = false }
        let localText = ASCII.lowercased(String(decoding: local, as: UTF8.self))
        let domainText = ASCII.lowercased(String(decoding: domain, as: UTF8.self))
        if plain {
            plain = ASCII.isDotAtom(localText, ASCII.isPlainLocalByte)
                && ASCII.isDotAtom(domainText, ASCII.isPlainDomainByte)
        }
        return MailPath(local: localText, domain: domainText, isPlain: plain)
    }
}

/// The one mailbox of a `From:` header (RFC 5322 §3.4), parsed by the
/// grammar rather than by looking for the last `<`. Refuses, rather than
/// guesses, wherever two mail readers could pick different addresses:
/// address lists and groups, specials in an unquoted display name, and
/// comments that look like addresses.
enum FromHeader {
    enum Token: Equatable {
        case atom(String)
        case quoted(String)
        case literal(String)
        case special(UInt8)
    }

    /// The mailbox `local@domain` as written (compare it after
    /// `ASCII.lowercased`); nil when the value is not exactly one
    /// unambiguous mailbox.
    static func mailbox(_ value: String) -> String? {
        guard let (tokens, spaced) = tokenize(value) else { return nil }
        var addrSpec = tokens[...]
        if let open = tokens.firstIndex(of: .special(UInt8(ascii: "<"))) {
            // name-addr: a phrase of words (and the dots of obs-phrase), then <addr-spec>.
            for token in tokens[..<open] {
                switch token {
                case .atom, .quoted, .special(UInt8(ascii: ".")): continue
                default: return nil
                }
            }
            guard let close = tokens.firstIndex(of: .special(UInt8(ascii: ">"))), close > open,
                  close == tokens.count - 1
            else { return nil }
            addrSpec = tokens[(open + 1)..<close]
            // No blanks or comments inside the brackets (obs-route and friends).
            guard !spaced[(open + 1)...close].contains(true) else { return nil }
        } else {
            guard !spaced.dropFirst().contains(true) else { return nil }
        }
        return addressSpec(addrSpec)
    }

    /// local-part "@" domain, each a dot-atom (or a quoted local part, or a
    /// domain literal).
    private static func addressSpec(_ tokens: ArraySlice<Token>) -> String? {
        guard let at = tokens.firstIndex(of: .special(UInt8(ascii: "@"))) else { return nil }
        let localTokens = tokens[..<at], domainTokens = tokens[(at + 1)...]
        var local = ""
        if localTokens.count == 1, case .quoted(let text) = localTokens.first! {
            local = text
        } else {
            guard let text = dotAtom(localTokens) else { return nil }
            local = text
        }
        var domain = ""
        if domainTokens.count == 1, case .literal(let text) = domainTokens.first! {
            domain = "[\(text)]"
        } else {
            guard let text = dotAtom(domainTokens) else { return nil }
            domain = text
        }
        guard !local.isEmpty else { return nil }
        return "\(local)@\(domain)"
    }

    private static func dotAtom(_ tokens: ArraySlice<Token>) -> String? {
        var out = ""
        var expectAtom = true
        for token in tokens {
            switch token {
            case .atom(let text) where expectAtom: out += text; expectAtom = false
            case .special(UInt8(ascii: ".")) where !expectAtom: out += "."; expectAtom = true
            default: return nil
            }
        }
        return expectAtom ? nil : out
    }

    private static let specials: [Bool] = (0..<256).map { "()<>[]:;@\\,.\"".utf8.contains(UInt8($0)) }
    private static let commentRefused: [Bool] = (0..<256).map { $0 < 32 || "<>@,;:\"".utf8.contains(UInt8($0)) }

    /// Tokens, and for each whether blanks or a comment came before it.
    static func tokenize(_ value: String) -> ([Token], [Bool])? {
        let bytes = Array(value.utf8)
        var tokens: [Token] = []
        var spaced: [Bool] = []
        var sawSpace = false
        var i = 0
        func isSpecial(_ b: UInt8) -> Bool { specials[Int(b)] }
        func emit(_ token: Token) { tokens.append(token); spaced.append(sawSpace); sawSpace = false }
        while i < bytes.count {
            let b = bytes[i]
            if b == 32 || b == 9 { sawSpace = true; i += 1; continue }
            if b < 32 || b == 127 { return nil }
            switch b {
            case UInt8(ascii: "("):
                // Nested comment; its text must not look like an address.
                var depth = 0
                repeat {
                    let c = bytes[i]
                    // A quoted-pair could hide any of the characters refused below.
                    if c == UInt8(ascii: "\\") { return nil }
                    if c == UInt8(ascii: "(") { depth += 1 }
                    else if c == UInt8(ascii: ")") { depth -= 1 }
                    else if commentRefused[Int(c)] { return nil }
                    i += 1
                } while depth > 0 && i < bytes.count
                guard depth == 0 else { return nil }
                sawSpace = true
            case UInt8(ascii: "\""):
                var text: [UInt8] = []
                i += 1
                var closed = false
                while i < bytes.count {
                    let c = bytes[i]
                    // No controls, not even a TAB: the mailbox is compared
                    // and logged.
                    if c < 32 || c == 127 { return nil }
                    if c == UInt8(ascii: "\\") {
                        guard i + 1 < bytes.count, bytes[i + 1] >= 32, bytes[i + 1] != 127 else { return nil }
                        text.append(bytes[i + 1]); i += 2; continue
                    }
                    if c == UInt8(ascii: "\"") { closed = true; i += 1; break }
                    text.append(c); i += 1
                }
                guard closed else { return nil }
                emit(.quoted(String(decoding: text, as: UTF8.self)))
            case UInt8(ascii: "["):
                guard let close = bytes[i...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
                let inner = bytes[(i + 1)..<close]
                guard !inner.contains(where: { $0 <= 32 || $0 >= 127 || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "\\") })
                else { return nil }
                emit(.literal(String(decoding: inner, as: UTF8.self)))
                i = close + 1
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "\\"):
                return nil
            default:
                if isSpecial(b) { emit(.special(b)); i += 1; continue }
                let start = i
                while i < bytes.count, !isSpecial(bytes[i]), bytes[i] > 32, bytes[i] != 127 { i += 1 }
                emit(.atom(String(decoding: bytes[start..<i], as: UTF8.self)))
            }
        }
        return (tokens, spaced)
    }
}
