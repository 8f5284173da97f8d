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
    /// given twice is ambiguous (a reader might use either), so it is
    /// reported as nil and callers treat the entity as not encrypted.
    var contentType: ContentType? {
        let all = values("Content-Type")
        switch all.count {
        case 0: return ContentType(type: "text/plain", parameters: [:])
        case 1: return ContentType(parsing: all[0])
        default: return nil
        }
    }

    var isMultipart: Bool { contentType?.type.hasPrefix("multipart/") ?? false }

    /// Parses header block and body. Fails only on a header line that is
    /// neither a field nor a continuation, which is not a message at all.
    static func parse(_ bytes: ArraySlice<UInt8>) throws -> MIMEEntity {
        var headers: [(name: String, value: String)] = []
        var index = bytes.startIndex
        var lineNumber = 0
        while index < bytes.endIndex {
            let (line, next) = Lines.line(in: bytes, from: index)
            lineNumber += 1
            index = next
            if line.isEmpty { return MIMEEntity(headers: headers, body: bytes[index...]) }
            let firstByte = line[line.startIndex]
            if firstByte == UInt8(ascii: " ") || firstByte == UInt8(ascii: "\t") {
                guard !headers.isEmpty else { throw MIMEError.continuationFirst(line: lineNumber) }
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
            headers.append((String(decoding: name, as: UTF8.self).lowercased(),
                            Lines.trimmedString(line[(colon + 1)...])))
        }
        return MIMEEntity(headers: headers, body: bytes[bytes.endIndex...])
    }

    /// The parts of a multipart entity, or nil when this is not a multipart
    /// with a usable boundary and a closing delimiter. Preamble and epilogue
    /// are skipped as RFC 2046 says.
    func parts() throws -> [MIMEEntity]? {
        guard let type = contentType, type.type.hasPrefix("multipart/"),
              let boundary = type.parameters["boundary"], !boundary.isEmpty,
              boundary.utf8.count <= 200
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
            guard line.count >= dash.count, line.starts(with: dash) else { continue }
            var rest = line[(line.startIndex + dash.count)...]
            let isClose = rest.starts(with: [45, 45])
            if isClose { rest = rest.dropFirst(2) }
            // Transport padding (trailing blanks) is allowed after a delimiter.
            guard rest.allSatisfy({ $0 == 32 || $0 == 9 }) else { continue }
            if let start = partStart {
                // The line break before a delimiter belongs to the delimiter.
                ranges.append(start..<Lines.endBeforeLineBreak(body, lineStart, floor: start))
            }
            if isClose { closed = true; break }
            partStart = index
        }
        guard closed else { return nil }
        return try ranges.map { try MIMEEntity.parse(body[$0]) }
    }
}

enum MIMEError: Error, Equatable, CustomStringConvertible {
    case malformedHeader(line: Int)
    case continuationFirst(line: Int)

    var description: String {
        switch self {
        case .malformedHeader(let line): return "malformed header field on line \(line)"
        case .continuationFirst(let line): return "continuation line without a header field on line \(line)"
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

    init(parsing value: String) {
        let scalars = Array(value.unicodeScalars)
        var i = 0
        var typeText = ""
        while i < scalars.count, scalars[i] != ";" { typeText.unicodeScalars.append(scalars[i]); i += 1 }
        type = typeText.trimmingBlanks().lowercased()
        parameters = [:]
        while i < scalars.count {
            i += 1  // skip ';'
            var name = ""
            while i < scalars.count, scalars[i] != "=", scalars[i] != ";" { name.unicodeScalars.append(scalars[i]); i += 1 }
            guard i < scalars.count, scalars[i] == "=" else { continue }
            i += 1
            while i < scalars.count, scalars[i] == " " || scalars[i] == "\t" { i += 1 }
            var paramValue = ""
            if i < scalars.count, scalars[i] == "\"" {
                i += 1
                while i < scalars.count, scalars[i] != "\"" {
                    if scalars[i] == "\\", i + 1 < scalars.count { i += 1 }
                    paramValue.unicodeScalars.append(scalars[i]); i += 1
                }
                while i < scalars.count, scalars[i] != ";" { i += 1 }
            } else {
                while i < scalars.count, scalars[i] != ";" { paramValue.unicodeScalars.append(scalars[i]); i += 1 }
                paramValue = paramValue.trimmingBlanks()
            }
            let key = name.trimmingBlanks().lowercased()
            if !key.isEmpty, parameters[key] == nil { parameters[key] = paramValue }
        }
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
