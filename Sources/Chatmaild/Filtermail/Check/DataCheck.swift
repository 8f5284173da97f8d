/// The line-level check of DATA (after dot-unstuffing), before any MIME
/// reading. Every line must end in CRLF: a bare LF or CR is where SMTP
/// smuggling starts and where readers split lines differently, and a NUL
/// ends a C string early in some of them.
enum DataCheck {
    enum Problem: Equatable {
        /// NUL, bare LF, or a bare CR in a body: `500 Invalid DATA`.
        case invalidData
        /// A bare CR in a header section (the message's or a part's): one
        /// reader ends the field there, another does not. Refused as
        /// ambiguous with 523.
        case bareCRInHeader
    }

    static let invalidData = SMTPReply(500, "Invalid DATA")

    static func problem(in bytes: [UInt8]) -> Problem? {
        bytes.withUnsafeBufferPointer { problem(in: $0) }
    }

    private static func problem(in bytes: UnsafeBufferPointer<UInt8>) -> Problem? {
        let n = bytes.count
        var invalid = false
        // Whether the current line lies in a header section: the message
        // starts with one, and every line that could be a MIME delimiter
        // opens one (conservative: it only decides between two refusals).
        var inHeader = true
        var lineStart = 0
        var i = 0
        while i < n {
            let b = bytes[i]
            if b > 13 { i += 1; continue }
            switch b {
            case 0:
                invalid = true
            case 10:
                // CR LF ends a line; an LF alone is invalid.
                guard i > 0, bytes[i - 1] == 13 else { invalid = true; break }
                let length = i - 1 - lineStart
                if inHeader, length == 0 {
                    inHeader = false
                } else if !inHeader, length > 2, bytes[lineStart] == 45, bytes[lineStart + 1] == 45,
                          !startsWithArmorLine(bytes, lineStart, length) {
                    // "--b" opens a part's header; "--b--" closes the
                    // multipart, and what follows is epilogue.
                    let closing = length > 4 && bytes[i - 2] == 45 && bytes[i - 3] == 45
                    inHeader = !closing
                }
                lineStart = i + 1
            case 13:
                if i + 1 < n, bytes[i + 1] == 10 { break }
                if inHeader { return .bareCRInHeader }
                invalid = true
            default:
                break
            }
            i += 1
        }
        // A message that does not end with CRLF (SMTP always adds one) is
        // not a message SMTP could carry.
        if n > 0, lineStart != n { invalid = true }
        return invalid ? .invalidData : nil
    }

    private static let armorDashes = Array("-----BEGIN PGP".utf8), armorEnd = Array("-----END PGP".utf8)

    private static func startsWithArmorLine(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ length: Int) -> Bool {
        func has(_ prefix: [UInt8]) -> Bool {
            length >= prefix.count && prefix.indices.allSatisfy { bytes[start + $0] == prefix[$0] }
        }
        return has(armorDashes) || has(armorEnd)
    }
}
