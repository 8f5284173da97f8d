/// A small JSON value with a parser and a serializer matching Python's
/// json.dumps (ASCII-only output, key order kept). Enough for metadata.json,
/// appversions.json and the /new reply, without Foundation.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
        return nil
    }

    // MARK: serializing

    /// `compact` uses "," and ":" like `separators=(",", ":")`; otherwise ", " and ": ".
    public func serialized(compact: Bool = false) -> String {
        var out = ""
        write(to: &out, compact: compact)
        return out
    }

    private func write(to out: inout String, compact: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d):
            if d == d.rounded(), abs(d) < 1e15 { out += String(Int64(d)) } else { out += String(d) }
        case .string(let s): JSON.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += compact ? "," : ", " }
                item.write(to: &out, compact: compact)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += compact ? "," : ", " }
                JSON.quote(k, into: &out)
                out += compact ? ":" : ": "
                v.write(to: &out, compact: compact)
            }
            out += "}"
        }
    }

    /// JSON's two-character escapes, as UTF-16 unit and the letter after the
    /// backslash: the serializer writes them, the parser reads them back.
    private static let escapePairs: [(unit: UInt16, letter: UInt8)] = [
        (0x22, UInt8(ascii: "\"")), (0x5C, UInt8(ascii: "\\")), (0x0A, UInt8(ascii: "n")), (0x0D, UInt8(ascii: "r")),
        (0x09, UInt8(ascii: "t")), (0x08, UInt8(ascii: "b")), (0x0C, UInt8(ascii: "f")),
    ]
    private static let escapeLetters = Dictionary(uniqueKeysWithValues: escapePairs.map { ($0.unit, $0.letter) })
    /// The parser also takes `\/`, which the serializer never writes.
    private static let unescapes: [UInt8: UInt16] = {
        var table = Dictionary(uniqueKeysWithValues: escapePairs.map { ($0.letter, $0.unit) })
        table[UInt8(ascii: "/")] = 0x2F
        return table
    }()

    static func quote(_ s: String, into out: inout String) {
        // Fast path: printable ASCII without quote or backslash (every
        // address, path and hash doveauth sends) is copied as is.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        var bytes: [UInt8] = [0x22]
        func ascii(_ text: StaticString) {
            text.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }
        for unit in s.utf16 {
            if let letter = escapeLetters[unit] {
                bytes += [UInt8(ascii: "\\"), letter]
            } else if (0x20..<0x7F).contains(unit) {
                bytes.append(UInt8(unit))
            } else {
                let hex = Array(String(unit, radix: 16).utf8)
                ascii("\\u")
                bytes.append(contentsOf: Array(repeating: UInt8(ascii: "0"), count: 4 - hex.count) + hex)
            }
        }
        bytes.append(0x22)
        out += String(decoding: bytes, as: UTF8.self)
    }

    // MARK: parsing

    public static func parse(_ text: String) -> JSON? {
        var p = Parser(bytes: Array(text.utf8))
        guard let value = p.value(depth: 0) else { return nil }
        p.skipSpace()
        return p.pos == p.bytes.count ? value : nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var pos = 0

        mutating func skipSpace() {
            while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
        }

        mutating func literal(_ word: String, _ value: JSON) -> JSON? {
            let w = Array(word.utf8)
            guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { return nil }
            pos += w.count
            return value
        }

        mutating func value(depth: Int) -> JSON? {
            guard depth < 64 else { return nil }
            skipSpace()
            guard pos < bytes.count else { return nil }
            switch bytes[pos] {
            case UInt8(ascii: "n"): return literal("null", .null)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "\""): return string().map(JSON.string)
            case UInt8(ascii: "["):
                pos += 1
                var items: [JSON] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                while true {
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                    skipSpace()
                    guard pos < bytes.count else { return nil }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                    return nil
                }
            case UInt8(ascii: "{"):
                pos += 1
                var pairs: [(String, JSON)] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(pairs) }
                while true {
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\""), let key = string() else { return nil }
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { return nil }
                    pos += 1
                    guard let item = value(depth: depth + 1) else { return nil }
                    if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = item } else { pairs.append((key, item)) }
                    skipSpace()
                    guard pos < bytes.count else { return nil }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(pairs) }
                    return nil
                }
            default: return number()
            }
        }

        mutating func number() -> JSON? {
            let start = pos
            while pos < bytes.count, "+-0123456789.eE".utf8.contains(bytes[pos]) { pos += 1 }
            guard pos > start, let d = Double(String(decoding: bytes[start..<pos], as: UTF8.self)), d.isFinite
            else { return nil }
            return .number(d)
        }

        mutating func hex4() -> UInt16? {
            guard pos + 4 <= bytes.count,
                  let v = UInt16(String(decoding: bytes[pos..<pos + 4], as: UTF8.self), radix: 16) else { return nil }
            pos += 4
            return v
        }

        mutating func string() -> String? {
            pos += 1  // opening quote
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flushRaw() { units.append(contentsOf: String(decoding: raw, as: UTF8.self).utf16); raw.removeAll() }
            while pos < bytes.count {
                let b = bytes[pos]
                pos += 1
                if b == UInt8(ascii: "\"") {
                    flushRaw()
                    return String(decoding: units, as: UTF16.self)
                }
                if b < 0x20 { return nil }
                guard b == UInt8(ascii: "\\") else { raw.append(b); continue }
                flushRaw()
                guard pos < bytes.count else { return nil }
                let e = bytes[pos]
                pos += 1
                if let unit = JSON.unescapes[e] {
                    units.append(unit)
                } else {
                    guard e == UInt8(ascii: "u"), let v = hex4() else { return nil }
                    units.append(v)
                }
            }
            return nil
        }
    }
}
