/// Checks that an ASCII-armored OpenPGP message (RFC 9580 §6) holds nothing
/// but encrypted data: zero or more session-key packets (PKESK, tag 1, or
/// SKESK, tag 3) followed by exactly one SEIPD packet (tag 18) that ends the
/// payload. Literal, compressed or signed data in the clear never passes.
enum OpenPGPPayload {
    static let begin = Array("-----BEGIN PGP MESSAGE-----".utf8)
    static let end = Array("-----END PGP MESSAGE-----".utf8)
    static let versionPrefix = Array("Version: ".utf8)

    /// `outgoing`: a `Version:` armor header is refused (our clients never
    /// write one); incoming mail may carry one (ProtonMail adds it).
    static func isEncryptedArmor(_ body: ArraySlice<UInt8>, outgoing: Bool) -> Bool {
        var lines: [ArraySlice<UInt8>] = []
        var index = body.startIndex
        while index < body.endIndex {
            let (line, next) = Lines.line(in: body, from: index)
            lines.append(line)
            index = next
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard lines.count >= 2, lines[0].elementsEqual(begin),
              lines[lines.count - 1].elementsEqual(end)
        else { return false }
        var inner = lines[1..<(lines.count - 1)]
        if let first = inner.first, first.starts(with: versionPrefix) {
            if outgoing { return false }
            inner = inner.dropFirst()
        }
        while let first = inner.first, first.isEmpty { inner = inner.dropFirst() }
        // The optional CRC24 line "=XXXX" closes the data; base64 data lines
        // never start with "=".
        if let last = inner.last, last.first == UInt8(ascii: "=") {
            guard last.count == 5 else { return false }
            inner = inner.dropLast()
        }
        var encoded: [UInt8] = []
        encoded.reserveCapacity(inner.reduce(0) { $0 + $1.count })
        for line in inner { encoded.append(contentsOf: line) }
        guard let packets = Base64.decode(encoded[...]), !packets.isEmpty else { return false }
        return isEncryptedPacketSequence(packets[...])
    }

    /// The packet walk. New-format headers (RFC 9580 §4.2.1) for any packet;
    /// legacy headers only for the session-key packets (tags below 16 cannot
    /// be SEIPD). Partial body lengths only for SEIPD, the one data packet
    /// allowed here.
    static func isEncryptedPacketSequence(_ data: ArraySlice<UInt8>) -> Bool {
        var i = data.startIndex
        let n = data.endIndex
        guard i < n else { return false }
        while i < n {
            let header = data[i]
            i += 1
            guard header & 0x80 != 0 else { return false }
            let tag: UInt8
            var bodyStart: Int
            var bodyLength: Int
            if header & 0x40 != 0 {
                tag = header & 0x3F
                guard let (start, length) = newFormatBody(data, at: i, partialAllowed: tag == 18) else { return false }
                bodyStart = start
                bodyLength = length
            } else {
                tag = (header >> 2) & 0x0F
                let octets: Int
                switch header & 0x03 {
                case 0: octets = 1
                case 1: octets = 2
                case 2: octets = 4
                default: return false  // indeterminate length: data packets only
                }
                guard n - i >= octets else { return false }
                bodyLength = 0
                for k in 0..<octets { bodyLength = bodyLength << 8 | Int(data[i + k]) }
                bodyStart = i + octets
            }
            guard bodyLength <= n - bodyStart else { return false }
            i = bodyStart + bodyLength
            if i == n {
                // SEIPD version 1 (RFC 4880) or 2 (RFC 9580), never empty.
                guard tag == 18, header & 0x40 != 0 else { return false }
                return true
            }
            guard tag == 1 || tag == 3 else { return false }
        }
        return false
    }

    /// Reads a new-format length at `i`. Returns where the last body chunk
    /// starts and its length; partial chunks before it are skipped. Also
    /// checks the SEIPD version octet, which is the first body octet.
    private static func newFormatBody(_ data: ArraySlice<UInt8>, at start: Int, partialAllowed: Bool) -> (Int, Int)? {
        var i = start
        let n = data.endIndex
        var firstBodyOctet: Int? = nil
        while true {
            guard i < n else { return nil }
            let b = Int(data[i])
            var length: Int
            if b < 192 {
                length = b
                i += 1
            } else if b < 224 {
                guard n - i >= 2 else { return nil }
                length = ((b - 192) << 8) + Int(data[i + 1]) + 192
                i += 2
            } else if b == 255 {
                guard n - i >= 5 else { return nil }
                length = Int(data[i + 1]) << 24 | Int(data[i + 2]) << 16 | Int(data[i + 3]) << 8 | Int(data[i + 4])
                i += 5
            } else {
                guard partialAllowed else { return nil }
                let chunk = 1 << (b & 0x1F)
                i += 1
                guard chunk <= n - i else { return nil }
                if firstBodyOctet == nil { firstBodyOctet = i }
                i += chunk
                continue
            }
            if partialAllowed {
                let versionAt = firstBodyOctet ?? i
                if firstBodyOctet == nil, length < 1 { return nil }
                guard versionAt < n, data[versionAt] == 1 || data[versionAt] == 2 else { return nil }
            }
            return (i, length)
        }
    }
}

/// Strict standard base64 (RFC 4648 §4): only the alphabet, padding only at
/// the end, length a multiple of four.
enum Base64 {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            t[Int(c)] = UInt8(i)
        }
        return t
    }()

    static func decode(_ input: ArraySlice<UInt8>) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        guard !input.isEmpty else { return [] }
        var padding = 0
        if input.last == UInt8(ascii: "=") { padding += 1 }
        if input.count >= 2, input[input.endIndex - 2] == UInt8(ascii: "=") { padding += 1 }
        var out = [UInt8](repeating: 0, count: input.count / 4 * 3)
        let ok = input.withUnsafeBufferPointer { source -> Bool in
            out.withUnsafeMutableBufferPointer { target -> Bool in
                let quads = source.count / 4
                var o = 0
                for q in 0..<quads {
                    let i = q * 4
                    let last = q == quads - 1
                    // Padding counts as zero bits, and only in the last quad.
                    let a = table[Int(source[i])], b = table[Int(source[i + 1])]
                    let c = last && padding == 2 ? 0 : table[Int(source[i + 2])]
                    let d = last && padding >= 1 ? 0 : table[Int(source[i + 3])]
                    if (a | b | c | d) & 0xC0 != 0 { return false }
                    let word = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    target[o] = UInt8(truncatingIfNeeded: word >> 16)
                    target[o + 1] = UInt8(truncatingIfNeeded: word >> 8)
                    target[o + 2] = UInt8(truncatingIfNeeded: word)
                    o += 3
                }
                return true
            }
        }
        guard ok else { return nil }
        out.removeLast(padding)
        return out
    }
}
