/// Standard base64 (RFC 4648), as used in key files and known_hosts.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8: UInt8] = {
        var table: [UInt8: UInt8] = [:]
        for (i, c) in alphabet.enumerated() { table[c] = UInt8(i) }
        return table
    }()

    public static func encode<C: Collection>(_ bytes: C, padding: Bool = true) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var it = bytes.makeIterator()
        while let a = it.next() {
            let b = it.next(), c = it.next()
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 3) << 4 | (b ?? 0) >> 4)])
            if let b { out.append(alphabet[Int((b & 15) << 2 | (c ?? 0) >> 6)]) } else if padding { out.append(61) }
            if let c { out.append(alphabet[Int(c & 63)]) } else if padding { out.append(61) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil for anything that is not valid base64.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var acc: UInt32 = 0, bits = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { break }
            guard let v = values[c] else { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
