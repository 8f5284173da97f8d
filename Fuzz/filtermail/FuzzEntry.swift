// libFuzzer entry for filtermail's pure parts, built by scripts/fuzz-filtermail
// together with Sources/Chatmaild/Filtermail/Check/*.swift (not by SwiftPM).
// The first input byte picks the target; the rest is the data:
//   0  whole message through both policies (must not crash)
//   1  OpenPGP packet walk, compared with an independent oracle
//   2  SMTP command parser; parsed addresses must be clean
//   3  the data armored as a PGP/MIME message: the verdict must match the oracle
//   4  SMTP path canonicalisation: a plain address is its own canonical form
//   5  From: header parser: a mailbox found is one clean addr-spec

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 6 {
    case 0:
        for mode in FilterMode.allCases {
            let policy = MailPolicy(mode: mode, flags: MailboxFlags(enforcesE2EE: { $0.hasPrefix("e") }, isDisabled: { $0.hasPrefix("d") }))
            let envelope = Envelope(sender: "alice@c.test", recipients: ["bob@c.test", "e@c.test"])
            _ = policy.judge(envelope, message: input)
        }
        if let message = try? MIMEEntity.parse(input[...]),
           MessageKinds.isEncrypted(message, outgoing: false) {
            // Whatever passed must at least carry an armored message.
            precondition(input.contains(subsequence: Array("-----BEGIN PGP MESSAGE-----".utf8)))
        }
    case 1:
        precondition(OpenPGPPayload.isEncryptedPacketSequence(input[...]) == Oracle.onlyEncrypted(input),
                     "packet walk disagrees with the oracle")
    case 2:
        switch SMTPCommand.parse(input[...]) {
        case .mail(let address), .rcpt(let address):
            precondition(address == ASCII.lowercased(address))
            precondition(!address.contains { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" })
        default: break
        }
    case 4:
        let raw = String(decoding: input, as: UTF8.self)
        if let path = MailPath.parse(raw) {
            precondition(!path.local.isEmpty && !path.domain.isEmpty)
            if path.isPlain {
                precondition(ASCII.same(path.canonical, ASCII.lowercased(raw)), "plain but not canonical")
                precondition(path.canonical.utf8.allSatisfy { ASCII.isPlainLocalByte($0) || $0 == UInt8(ascii: "@") })
                precondition(path.isSafeMailboxName)
            }
        }
    case 5:
        if let mailbox = FromHeader.mailbox(String(decoding: input, as: UTF8.self)) {
            precondition(mailbox.utf8.filter { $0 == UInt8(ascii: "@") }.count >= 1)
            precondition(!mailbox.utf8.contains { $0 < 32 || $0 == 127 }, "control character in a mailbox")
        }
    default:
        let message = Oracle.pgpMIME(payload: input)
        guard let parsed = try? MIMEEntity.parse(message[...]) else { preconditionFailure("own message unparsable") }
        precondition(MessageKinds.isEncrypted(parsed, outgoing: true) == Oracle.onlyEncrypted(input),
                     "armored verdict disagrees with the oracle")
    }
    return 0
}

/// A second, independently written reading of the rule "session-key packets,
/// then one SEIPD (version 1 or 2) that ends the data" (RFC 9580 §4.2).
enum Oracle {
    struct Packet { var tag: Int; var newFormat: Bool; var firstBodyByte: UInt8? }

    static func onlyEncrypted(_ bytes: [UInt8]) -> Bool {
        guard let packets = split(bytes), let last = packets.last else { return false }
        return packets.dropLast().allSatisfy { $0.tag == 1 || $0.tag == 3 }
            && last.tag == 18 && last.newFormat
            && (last.firstBodyByte == 1 || last.firstBodyByte == 2)
    }

    static func split(_ bytes: [UInt8]) -> [Packet]? {
        var packets: [Packet] = []
        var rest = bytes[...]
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, rest.count >= n else { return nil }
            defer { rest = rest.dropFirst(n) }
            return rest.prefix(n)
        }
        func number(_ octets: ArraySlice<UInt8>) -> Int { octets.reduce(0) { $0 * 256 + Int($1) } }
        while let head = take(1)?.first {
            guard head >= 0x80 else { return nil }
            if head >= 0xC0 {
                let tag = Int(head - 0xC0)
                var body: [UInt8] = []
                while true {
                    guard let first = take(1)?.first else { return nil }
                    if first <= 191 {
                        guard let chunk = take(Int(first)) else { return nil }
                        body += chunk; break
                    } else if first <= 223 {
                        guard let second = take(1)?.first,
                              let chunk = take((Int(first) - 192) * 256 + Int(second) + 192) else { return nil }
                        body += chunk; break
                    } else if first == 255 {
                        guard let octets = take(4), let chunk = take(number(octets)) else { return nil }
                        body += chunk; break
                    } else {
                        guard tag == 18, let chunk = take(1 << Int(first & 31)) else { return nil }
                        body += chunk
                    }
                }
                packets.append(Packet(tag: tag, newFormat: true, firstBodyByte: body.first))
            } else {
                let tag = Int((head & 0x3C) >> 2)
                let sizes = [1, 2, 4]
                guard Int(head & 3) < 3, let octets = take(sizes[Int(head & 3)]),
                      let body = take(number(octets)) else { return nil }
                packets.append(Packet(tag: tag, newFormat: false, firstBodyByte: body.first))
            }
        }
        return packets
    }

    /// A PGP/MIME message whose armor carries `payload`.
    static func pgpMIME(payload: [UInt8]) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var encoded: [UInt8] = []
        var i = 0
        while i < payload.count {
            let chunk = Array(payload[i..<min(i + 3, payload.count)])
            let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
            for k in 0..<4 {
                encoded.append(k <= chunk.count ? alphabet[(value >> (18 - 6 * k)) & 63] : UInt8(ascii: "="))
            }
            i += 3
        }
        var lines: [UInt8] = []
        for (n, byte) in encoded.enumerated() {
            lines.append(byte)
            if n % 64 == 63 { lines += Array("\r\n".utf8) }
        }
        let head = "From: <alice@c.test>\r\nContent-Type: multipart/encrypted; boundary=\"B\"\r\n\r\n"
            + "--B\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
            + "--B\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n"
        let tail = "\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n--B--\r\n"
        return Array(head.utf8) + lines + Array(tail.utf8)
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { self[$0..<($0 + subsequence.count)].elementsEqual(subsequence) }
    }
}
