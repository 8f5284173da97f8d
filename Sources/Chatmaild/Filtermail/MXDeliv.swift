import NIOCore
import NIOHTTP1
import NIOPosix

/// `POST /mxdeliv`: other chatmail relays (and Madmail) deliver over HTTPS
/// instead of SMTP; nginx terminates TLS and forwards here. The wire format
/// is filtermail 0.7.4's: `X-MAIL-FROM` (absent: the null sender), one
/// `X-MAIL-TO` per recipient, the body is SMTP DATA (CRLF lines,
/// dot-stuffed, without the final "." line). Answers 200 `250 OK`, 400 with
/// the SMTP refusal, 413 `552 …` over the size limit.
///
/// Port 25 has Postfix in front of the gate; here nothing is, so this
/// handler also enforces what Postfix would: only local recipients of
/// mail_domain, the recipient and size limits. Accepted mail goes to
/// Postfix's incoming re-inject port, where OpenDKIM verifies it.
final class MXDelivHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let route: GateRoute
    private var settings: FiltermailSettings { route.settings }
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    /// A response is outstanding: the request parts after it are ignored.
    private var busy = false

    init(route: GateRoute) {
        self.route = route
    }

    /// The body may be a little bigger than the message: dot-stuffing.
    var maxBody: Int { settings.maxMessageSize + settings.maxMessageSize / 32 + 1024 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
            body = context.channel.allocator.buffer(capacity: 0)
            tooLarge = false
        case .body(var chunk):
            guard !tooLarge, body != nil else { return }
            if body!.readableBytes + chunk.readableBytes > maxBody {
                tooLarge = true
                body = nil
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard let request = head, !busy else { return }
            head = nil
            busy = true
            let message = body
            body = nil
            handle(request, message, context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, !busy {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func handle(_ request: HTTPRequestHead, _ data: ByteBuffer?, _ context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard path == "/mxdeliv" else { return respond(context, request, .notFound, "404 Not Found") }
        guard request.method == .POST else { return respond(context, request, .methodNotAllowed, "405 Method Not Allowed") }
        if tooLarge { return respond(context, request, .payloadTooLarge, "552 Message exceeds maximum size") }
        let decision = MXDelivRequest.envelope(request.headers, mailDomain: settings.mailDomain,
                                                maxRecipients: settings.maxRecipients)
        let envelope: Envelope
        switch decision {
        case .failure(let refusal): return respond(context, request, .badRequest, refusal.oneLine)
        case .success(let value): envelope = value
        }
        var body = data ?? ByteBuffer()
        let message: [UInt8]
        switch MXDelivRequest.unstuff(body.readBytes(length: body.readableBytes) ?? []) {
        case .failure(let refusal): return respond(context, request, .badRequest, refusal.oneLine)
        case .success(let bytes): message = bytes
        }
        guard message.count <= settings.maxMessageSize else {
            return respond(context, request, .payloadTooLarge, "552 Message exceeds maximum size")
        }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        route.submit(envelope, ByteBuffer(bytes: message), on: context.eventLoop) { reply in
            handler.value.respond(contextBox.value, request, reply.isPositive ? .ok : .badRequest, reply.oneLine)
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead,
                         _ status: HTTPResponseStatus, _ text: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(text.utf8.count + 1))
        let keepAlive = request.isKeepAlive && status != .payloadTooLarge
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text + "\n")))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
        busy = false
    }
}

/// The pure parts of a /mxdeliv request, unit-tested without a socket.
enum MXDelivRequest {
    /// The envelope from the headers, holding Postfix's port-25 rules: every
    /// recipient a plain address of mail_domain (never relayed elsewhere),
    /// at most `maxRecipients`, a readable sender or none.
    static func envelope(_ headers: HTTPHeaders, mailDomain: String, maxRecipients: Int) -> Result<Envelope, SMTPReply> {
        let senders = headers["X-MAIL-FROM"]
        guard senders.count <= 1 else { return .failure(SMTPReply(503, "5.5.1 Error: nested MAIL command")) }
        var sender = ASCII.lowercased(senders.first?.trimmingBlanks() ?? "")
        if sender.hasPrefix("<"), sender.hasSuffix(">") { sender = String(sender.dropFirst().dropLast()) }
        if !sender.isEmpty {
            // It becomes "MAIL FROM:<sender>" towards Postfix: no blanks,
            // controls or angle brackets.
            guard MailPath.parse(sender) != nil,
                  !sender.utf8.contains(where: { $0 <= 32 || $0 == 127 || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") })
            else {
                return .failure(SMTPReply(501, "5.1.7 Bad sender address syntax"))
            }
        }
        var recipients: [String] = []
        for value in headers["X-MAIL-TO"] {
            var rcpt = ASCII.lowercased(value.trimmingBlanks())
            if rcpt.hasPrefix("<"), rcpt.hasSuffix(">") { rcpt = String(rcpt.dropFirst().dropLast()) }
            guard let path = MailPath.parse(rcpt), path.isPlain, ASCII.same(path.domain, ASCII.lowercased(mailDomain)),
                  path.isSafeMailboxName
            else {
                return .failure(SMTPReply(550, "5.1.1 <\(rcpt)>: Recipient address rejected: not a local address"))
            }
            guard recipients.count < maxRecipients else { return .failure(SMTPReply(452, "4.5.3 Error: too many recipients")) }
            recipients.append(path.canonical)
        }
        guard !recipients.isEmpty else { return .failure(SMTPReply(503, "5.5.1 Error: need RCPT command")) }
        return .success(Envelope(sender: sender, recipients: recipients))
    }

    /// SMTP DATA without its final "." line → the message. Every line ends
    /// in CRLF; a line that is only "." would have ended the data in SMTP.
    /// Bare CR/LF and NUL are judged later by DataCheck, as for SMTP.
    static func unstuff(_ data: [UInt8]) -> Result<[UInt8], SMTPReply> {
        guard data.isEmpty || data.suffix(2).elementsEqual([13, 10]) else { return .failure(DataCheck.invalidData) }
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var lineStart = 0
        while lineStart < data.count {
            let lf = data[lineStart...].firstIndex(of: 10) ?? (data.count - 1)
            let line = data[lineStart...lf]
            if line.first == UInt8(ascii: ".") {
                if line.elementsEqual([46, 13, 10]) { return .failure(DataCheck.invalidData) }
                out.append(contentsOf: line.dropFirst())
            } else {
                out.append(contentsOf: line)
            }
            lineStart = lf + 1
        }
        return .success(out)
    }
}

extension SMTPReply {
    /// `code text` on one line: the body of a /mxdeliv answer.
    var oneLine: String { "\(code) \(lines.joined(separator: " "))" }
}
