import NIOCore

/// Reads SMTP replies (RFC 5321 §4.2): `250-first`, ..., `250 last`.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    /// Bounds a reply from a broken peer.
    static let maxLine = 4096, maxLines = 100
    private var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: 10) else {
            if view.count > Self.maxLine { throw ReinjectError.badReply("line too long") }
            return .needMoreData
        }
        var line = buffer.readBytes(length: lf - view.startIndex + 1)!
        line.removeLast()
        if line.last == 13 { line.removeLast() }
        guard line.count >= 3, let code = Int(String(decoding: line[0..<3], as: UTF8.self)),
              line.count == 3 || line[3] == UInt8(ascii: " ") || line[3] == UInt8(ascii: "-")
        else { throw ReinjectError.badReply(String(decoding: line.prefix(80), as: UTF8.self)) }
        lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
        if line.count > 3, line[3] == UInt8(ascii: "-") {
            if lines.count > Self.maxLines { throw ReinjectError.badReply("too many lines") }
            return .continue
        }
        context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
        lines = []
        return .continue
    }
}

enum ReinjectError: Error, CustomStringConvertible {
    case badReply(String)
    case connectionClosed
    case timeout
    case cannotConnect(String)

    var description: String {
        switch self {
        case .badReply(let text): return "unreadable reply from Postfix: \(text)"
        case .connectionClosed: return "connection to Postfix closed"
        case .timeout: return "Postfix did not answer in time"
        case .cannotConnect(let address): return "cannot connect to Postfix at \(address)"
        }
    }
}
