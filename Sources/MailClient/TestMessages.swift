/// Messages for online tests, built here rather than read from fixtures so
/// each one is unique. The encrypted one is shaped like Delta Chat's
/// PGP/MIME mail (RFC 3156): the relay's filter only checks the structure
/// and the OpenPGP packet sequence (session-key packets, then one SEIPD
/// packet), so random packet bodies pass as ciphertext.
public enum TestMessage {
    public static func encrypted(from: String, to: [String], subject: String = "[...]", extraHeaders: [String] = []) -> [UInt8] {
        let boundary = "cm" + randomToken(16)
        let body = """
            --\(boundary)
            Content-Type: application/pgp-encrypted
            Content-Description: PGP/MIME version identification

            Version: 1

            --\(boundary)
            Content-Type: application/octet-stream; name="encrypted.asc"
            Content-Description: OpenPGP encrypted message
            Content-Disposition: inline; filename="encrypted.asc";

            \(armor(fakeCiphertext()))
            --\(boundary)--

            """
        return message(headers(from: from, to: to, subject: subject) + extraHeaders + [
            "Chat-Version: 1.0",
            "MIME-Version: 1.0",
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";",
            " boundary=\"\(boundary)\"",
        ], body: body)
    }

    /// A cleartext message, which the relay refuses (523) in both directions
    /// for accounts that enforce encryption.
    public static func plain(from: String, to: [String], subject: String = "Unencrypted subject") -> [UInt8] {
        message(headers(from: from, to: to, subject: subject) + [
            "Chat-Version: 1.0", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        ], body: "Hi! This message is not encrypted.\n")
    }

    /// A Secure-Join `vc-request`, the one cleartext message Delta Chat must
    /// send before keys are exchanged.
    public static func secureJoinRequest(from: String, to: [String]) -> [UInt8] {
        let boundary = "sj" + randomToken(16)
        return message(headers(from: from, to: to, subject: "[...]") + [
            "Chat-Version: 1.0", "Secure-Join: vc-request", "Secure-Join-Invitenumber: \(randomToken(16))",
            "MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=\"\(boundary)\"",
        ], body: "--\(boundary)\nContent-Type: text/plain; charset=utf-8\n\nSecure-Join: vc-request\n--\(boundary)--\n")
    }

    static func headers(from: String, to: [String], subject: String) -> [String] {
        [
            "From: <\(from)>",
            "To: " + to.map { "<\($0)>" }.joined(separator: ", "),
            "Subject: \(subject)",
            "Date: Sun, 22 Nov 2026 02:30:00 +0000",
            "Message-ID: <\(randomToken(20))@cmdeploy.test>",
        ]
    }

    static func message(_ headers: [String], body: String) -> [UInt8] {
        Array((headers.joined(separator: "\r\n") + "\r\n\r\n" + body.split(separator: "\n", omittingEmptySubsequences: false)
            .joined(separator: "\r\n")).utf8)
    }

    /// Two PKESK packets (tag 1) and one SEIPD packet (tag 18, version 1),
    /// new-format headers, random contents.
    static func fakeCiphertext() -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<2 {
            // version 3, 8-byte key id, algorithm 18 (ECDH), then key material
            out += packet(tag: 1, body: [3] + randomBytes(8) + [18] + randomBytes(80))
        }
        out += packet(tag: 18, body: [1] + randomBytes(300))
        return out
    }

    static func packet(tag: UInt8, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0xC0 | tag]
        let n = body.count
        if n < 192 {
            out.append(UInt8(n))
        } else {
            precondition(n < 8384)
            let m = n - 192
            out += [UInt8(m >> 8 + 192), UInt8(m & 0xFF)]
        }
        return out + body
    }

    /// ASCII armor (RFC 9580 §6.2) with 76-column lines and the CRC24 checksum line.
    static func armor(_ data: [UInt8]) -> String {
        let encoded = Array(base64Encode(data))
        var lines: [String] = []
        var i = 0
        while i < encoded.count {
            lines.append(String(encoded[i..<min(i + 76, encoded.count)]))
            i += 76
        }
        let crc = crc24(data)
        let crcText = base64Encode([UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        return (["-----BEGIN PGP MESSAGE-----", ""] + lines + ["=" + crcText, "-----END PGP MESSAGE-----"]).joined(separator: "\n")
    }

    static func crc24(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xB704CE
        for byte in data {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x1000000 != 0 { crc ^= 0x1864CFB }
            }
        }
        return crc & 0xFFFFFF
    }
}

public func randomBytes(_ n: Int) -> [UInt8] {
    var rng = SystemRandomNumberGenerator()
    return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

/// Lower-case letters and digits, as chatmail user names allow.
public func randomToken(_ n: Int) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var rng = SystemRandomNumberGenerator()
    return String((0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
}
