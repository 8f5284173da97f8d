/// Checks on e-mail addresses before they become paths under mailboxes_dir.
/// All comparisons are on UTF-8 bytes: Swift's `String` compares by
/// canonical equivalence and splits on grapheme clusters, so a combining
/// mark after `@`, `/` or `.` would otherwise hide or fake a separator.
enum Address {
    /// The longest file name Linux allows (NAME_MAX).
    static let maxBytes = 255

    /// True if `addr` ends in `@domain` byte for byte, with something before it.
    static func hasDomain(_ addr: String, _ domain: String) -> Bool {
        let a = addr.utf8, suffix = Array(("@" + domain).utf8)
        return a.count > suffix.count && a.suffix(suffix.count).elementsEqual(suffix)
    }

    /// True if `addr` is usable as one directory name inside mailboxes_dir:
    /// ends with `@domain`, at most 255 bytes, no `/`, no NUL or control
    /// characters, no leading dot (so never `.` or `..`). This guards every
    /// file access; creation applies the stricter rules of `CreateRules` on
    /// top.
    static func isSafeMailbox(_ addr: String, domain: String) -> Bool {
        guard hasDomain(addr, domain), addr.utf8.count <= maxBytes, addr.utf8.first != UInt8(ascii: ".") else {
            return false
        }
        return !addr.utf8.contains { $0 == UInt8(ascii: "/") || $0 < 0x20 || $0 == 0x7F }
    }
}

/// `text` for a log line: control characters and backslashes escaped as
/// Python escapes them, so a hostile name cannot forge or split journal
/// lines, and cut after `limit` characters.
func logEscaped(_ text: some StringProtocol, limit: Int = 200) -> String {
    var out = ""
    var count = 0
    for s in text.unicodeScalars {
        if count == limit { out += "..."; break }
        count += 1
        switch s {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0):
            let hex = String(s.value, radix: 16)
            out += "\\x" + (hex.count < 2 ? "0" : "") + hex
        default: out.unicodeScalars.append(s)
        }
    }
    return out
}

/// Python's `repr()` of a string for the log texts that used `%r`:
/// `'abc'`, with quotes and control characters escaped.
func logQuoted(_ text: some StringProtocol) -> String {
    "'" + logEscaped(text).replacingQuote() + "'"
}

private extension String {
    func replacingQuote() -> String {
        guard contains("'") else { return self }
        var out = ""
        for s in unicodeScalars { if s == "'" { out += "\\'" } else { out.unicodeScalars.append(s) } }
        return out
    }
}
