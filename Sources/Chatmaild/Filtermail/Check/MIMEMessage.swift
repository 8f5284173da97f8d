#if canImport(Glibc)
import Glibc
#endif

/// A minimal RFC 5322 / RFC 2046 reader: just enough structure for the
/// encryption gate. It never copies or decodes the message; parts are index
/// ranges into the original bytes. Both CRLF and bare LF line ends are read
/// (the SMTP layer has already decided which it lets through).
struct MIMEEntity {
    /// Unfolded header fields in order; names lower-cased, values trimmed.
    var headers: [(name: String, value: String)]
    /// The body bytes (after the blank line that ends the header block).
    var body: ArraySlice<UInt8>

    /// All values of a header field, compared case-insensitively.
    func values(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headers.filter { $0.name == lower }.map(\.value)
    }

    func first(_ name: String) -> String? { values(name).first }

    /// The Content-Type, defaulting to text/plain (RFC 2045 §5.2). A field
    /// given twice, or one whose syntax readers could take apart
    /// differently, is reported as nil: callers treat the entity as not
    /// encrypted.
    var contentType: ContentType? {
        let all = values("Content-Type")
        switch all.count {
        case 0: return ContentType(type: "text/plain", parameters: [:])
        case 1: return ContentType(strict: all[0])
        default: return nil
        }
    }

    var isMultipart: Bool { contentType?.type.hasPrefix("multipart/") ?? false }

    /// Parses header block and body. Fails on a header line that is
    /// neither a field nor a continuation, and on header lines that mail
    /// readers split differently (a bare CR, a NUL, a line of blanks that
    /// one reader takes for the end of the header).
    static func parse(_ bytes: ArraySlice<UInt8>) throws -> MIMEEntity {
        var headers: [(name: String, value: String)] = []
        var index = bytes.startIndex
        var lineNumber = 0
        while index < bytes.endIndex {
            let (line, next) = Lines.line(in: bytes, from: index)
            lineNumber += 1
            index = next
            if line.isEmpty { return MIMEEntity(headers: headers, body: bytes[index...]) }
            if line.contains(where: { $0 == 13 || $0 == 0 }) { throw MIMEError.ambiguous(line: lineNumber) }
            let firstByte = line[line.startIndex]
            if firstByte == UInt8(ascii: " ") || firstByte == UInt8(ascii: "\t") {
                guard !headers.isEmpty else { throw MIMEError.continuationFirst(line: lineNumber) }
                guard !Lines.trimmed(line).isEmpty else { throw MIMEError.ambiguous(line: lineNumber) }
                let more = Lines.trimmedString(line)
                headers[headers.count - 1].value += headers[headers.count - 1].value.isEmpty ? more : " " + more
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw MIMEError.malformedHeader(line: lineNumber)
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw MIMEError.malformedHeader(line: lineNumber)
            }
            headers.append((ASCII.lowercased(String(decoding: name, as: UTF8.self)),
                            Lines.trimmedString(line[(colon + 1)...])))
        }
        return MIMEEntity(headers: headers, body: bytes[bytes.endIndex...])
    }

    /// `--anything` or `Field-Name:`.
    static func looksLikeDelimiterOrField(_ line: ArraySlice<UInt8>) -> Bool {
        if line.starts(with: [45, 45]) { return true }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return false }
        return line[..<colon].allSatisfy { $0 > 32 && $0 < 127 }
    }

    /// A multipart may not be transfer-encoded (RFC 2045 §6.4); a reader
    /// that decodes it anyway would see a different structure.
    var hasIdentityEncoding: Bool {
        let encodings = values("Content-Transfer-Encoding")
        guard encodings.count <= 1 else { return false }
        guard let encoding = encodings.first else { return true }
        return ["7bit", "8bit", "binary"].contains(ASCII.lowercased(encoding))
    }

    /// The parts of a multipart entity, or nil when this is not a multipart
    /// whose parts every reader finds alike: the boundary is a plain RFC
    /// 2046 one, every line that starts like a delimiter is exactly one,
    /// the closing delimiter is there, and the epilogue is blank.
    func parts() throws -> [MIMEEntity]? {
        guard let type = contentType, type.type.hasPrefix("multipart/"), hasIdentityEncoding,
              let boundary = type.parameters["boundary"], ContentType.isPlainBoundary(boundary)
        else { return nil }
        let dash = Array("--\(boundary)".utf8)
        var ranges: [Range<Int>] = []
        var partStart: Int? = nil
        var index = body.startIndex
        var closed = false
        while index < body.endIndex {
            let lineStart = index
            let (line, next) = Lines.line(in: body, from: index)
            index = next
            if closed {
                // Epilogue: blank only, so nothing hides behind the end.
                guard Lines.trimmed(line).isEmpty else { return nil }
                continue
            }
            guard line.count >= dash.count, line.starts(with: dash) else {
                // The preamble is never shown, but a reader that found a
                // different boundary would show it: no delimiter-like or
                // header-like line may hide there.
                if partStart == nil, Self.looksLikeDelimiterOrField(line) { return nil }
                continue
            }
            let rest = line[(line.startIndex + dash.count)...]
            let isClose = rest.elementsEqual([45, 45])
            // "--boundaryX", "--boundary " or "--boundary--x": a delimiter
            // to a reader that matches prefixes or allows padding, text to
            // one that does not.
            guard rest.isEmpty || isClose else { return nil }
            if let start = partStart {
                // The line break before a delimiter belongs to the delimiter.
                ranges.append(start..<Lines.endBeforeLineBreak(body, lineStart, floor: start))
            }
            if isClose { closed = true; continue }
            partStart = index
        }
        guard closed else { return nil }
        return try ranges.map { try MIMEEntity.parse(body[$0]) }
    }
}

enum MIMEError: Error, Equatable, CustomStringConvertible {
    case malformedHeader(line: Int)
    case continuationFirst(line: Int)
    case ambiguous(line: Int)

    var description: String {
        switch self {
        case .malformedHeader(let line): return "malformed header field on line \(line)"
        case .continuationFirst(let line): return "continuation line without a header field on line \(line)"
        case .ambiguous(let line): return "header line \(line) is read differently by different mail readers"
        }
    }
}

/// `type/subtype; name=value; name="quoted value"` with the type and the
/// parameter names lower-cased.
struct ContentType: Equatable {
    var type: String
    var parameters: [String: String]

    init(type: String, parameters: [String: String]) {
        self.type = type
        self.parameters = parameters
    }

    /// RFC 2045 §5.1 syntax and nothing more lenient: tokens, quoted
    /// strings without quoted-pairs, blanks only around `;`. nil for a
    /// parameter given twice (readers differ on first or last), RFC 2231
    /// parameters (`name*=`, `name*0=`: not every reader joins or decodes
    /// them), comments, and anything else readers could take apart
    /// differently.
    init?(strict value: String) {
        // A cursor over the bytes; plain loops, no captured closures (this
        // runs for every part of every message).
        var cursor = ByteCursor(Array(value.utf8))
        cursor.skipBlanks()
        guard let major = cursor.token(), cursor.take(UInt8(ascii: "/")), let minor = cursor.token() else { return nil }
        type = ASCII.lowercased(major + "/" + minor)
        parameters = [:]
        while true {
            cursor.skipBlanks()
            if cursor.atEnd { return }
            guard cursor.take(UInt8(ascii: ";")) else { return nil }
            cursor.skipBlanks()
            if cursor.atEnd { return }  // a trailing ";" is common and harmless
            guard let rawName = cursor.token(), cursor.take(UInt8(ascii: "=")) else { return nil }
            let name = ASCII.lowercased(rawName)
            guard !name.utf8.contains(UInt8(ascii: "*")), parameters[name] == nil else { return nil }
            var parameterValue: String
            if cursor.take(UInt8(ascii: "\"")) {
                guard let inner = cursor.upTo(UInt8(ascii: "\"")) else { return nil }
                // Delta Chat's parser (mailparse) decodes encoded words and
                // splits at ";" before it looks at quotes, and keeps
                // backslashes: such values mean different things to it.
                guard !inner.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: ";") || $0 < 32 || $0 == 127 }),
                      !Self.hasEncodedWordStart(inner)
                else { return nil }
                parameterValue = String(decoding: inner, as: UTF8.self)
            } else {
                guard let text = cursor.token() else { return nil }
                parameterValue = text
            }
            parameters[name] = parameterValue
        }
    }

    static func hasEncodedWordStart(_ bytes: ArraySlice<UInt8>) -> Bool {
        var i = bytes.startIndex
        while i + 1 < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "="), bytes[i + 1] == UInt8(ascii: "?") { return true }
            i += 1
        }
        return false
    }

    /// RFC 2045 token characters: printable ASCII except tspecials.
    static func isTokenByte(_ b: UInt8) -> Bool { tokenBytes[Int(b)] }

    /// 1–70 of RFC 2046's bcharsnospace, and no "=?" that a reader could
    /// decode as an encoded word.
    static func isPlainBoundary(_ boundary: String) -> Bool {
        let bytes = Array(boundary.utf8)
        guard (1...70).contains(bytes.count), bytes.allSatisfy({ boundaryBytes[Int($0)] }) else { return false }
        return !hasEncodedWordStart(bytes[...])
    }

    private static let tokenBytes: [Bool] = (0..<256).map { (b: Int) -> Bool in
        b > 32 && b < 127 && !"()<>@,;:\\\"/[]?=".utf8.contains(UInt8(b))
    }
    private static let boundaryBytes: [Bool] = (0..<256).map { (b: Int) -> Bool in
        let byte = UInt8(b)
        let alphanumeric = (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
        return alphanumeric || "'()+_,-./:=?".utf8.contains(byte)
    }
}

/// A read position in a header value.
struct ByteCursor {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { i == bytes.count }

    mutating func skipBlanks() { while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 { i += 1 } }

    /// Consumes `byte` if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    mutating func token() -> String? {
        let start = i
        while i < bytes.count, ContentType.isTokenByte(bytes[i]) { i += 1 }
        return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
    }

    /// The bytes before the next `byte`, consuming both; nil if none.
    mutating func upTo(_ byte: UInt8) -> ArraySlice<UInt8>? {
        guard let end = bytes[i...].firstIndex(of: byte) else { return nil }
        defer { i = end + 1 }
        return bytes[i..<end]
    }
}

/// Line helpers over byte slices; a line ends at LF, a CR before it is
/// not part of the line.
enum Lines {
    /// The line starting at `from` without its line break, and the index
    /// after the line break.
    static func line(in bytes: ArraySlice<UInt8>, from: Int) -> (ArraySlice<UInt8>, Int) {
        guard let lf = nextLineFeed(in: bytes, from: from) else {
            return (bytes[from...], bytes.endIndex)
        }
        var end = lf
        if end > from, bytes[end - 1] == 13 { end -= 1 }
        return (bytes[from..<end], lf + 1)
    }

    /// memchr: the generic firstIndex(of:) is the checker's hot spot.
    static func nextLineFeed(in bytes: ArraySlice<UInt8>, from: Int) -> Int? {
        bytes[from...].withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress, buffer.count > 0,
                  let hit = memchr(base, 10, buffer.count)
            else { return nil }
            return from + (UnsafeRawPointer(hit) - UnsafeRawPointer(base))
        }
    }

    /// `index` moved back over one CRLF or LF, but not below `floor`.
    static func endBeforeLineBreak(_ bytes: ArraySlice<UInt8>, _ index: Int, floor: Int) -> Int {
        var end = index
        if end > floor, bytes[end - 1] == 10 { end -= 1 }
        if end > floor, bytes[end - 1] == 13 { end -= 1 }
        return end
    }

    static func trimmedString(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: trimmed(bytes), as: UTF8.self)
    }

    static func isBlank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }
}

extension String {
    func trimmingBlanks() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" || c == "\n" || c == "\r\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\n" || c == "\r\n" { s = s.dropLast() }
        return String(s)
    }
}
