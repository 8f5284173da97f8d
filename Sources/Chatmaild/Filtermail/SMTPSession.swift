import NIOCore
import NIOPosix

/// One SMTP session of the filter (RFC 5321 server side, as filtermail 0.7.4):
/// reads pipelined commands in order, collects DATA with dot-unstuffing
/// under the size limit, asks the gate for a verdict and hands accepted
/// messages to the re-injector. While a message is being re-injected, later
/// pipelined commands wait in the input buffer.
final class SMTPSessionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case command, data, waiting, closed }

    /// Longest command line accepted (RFC 5321 §4.5.3.1.4 says 512; ESMTP
    /// parameters can make it longer).
    static let maxCommandLine = 4096

    private let route: GateRoute
    private var settings: FiltermailSettings { route.settings }
    private var state = State.command
    /// Unread input. The framing stays in this handler rather than in a
    /// ByteToMessageDecoder because it depends on the session state: commands
    /// and DATA share this buffer and switch mid-read at "DATA"; while a
    /// message is re-injected the pipelined rest must stay unread (bounded,
    /// 421 past it) and is taken up when the verdict arrives, which is no
    /// read that would run a decoder again; and DATA's size limit drops the
    /// unfinished tail of a line. A decoder would need the session's state
    /// shared into it and a way to be re-run, i.e. the same logic split in two.
    private var input: ByteBuffer?
    private var sender: String?
    private var recipients: [String] = []
    private var message = ByteBuffer()
    /// DATA reading: the previous line ended in CRLF (only then can ".")
    /// end the data), the current line's start was discarded, the message
    /// went over the size limit (the rest is read and dropped, then 552).
    private var previousEndedCRLF = true
    private var partialLine = false
    private var oversize = false
    /// Inside `process`: a reply that is ready at once must not start a
    /// second input loop.
    private var processing = false
    private var sessionTimer: Scheduled<Void>?

    init(route: GateRoute) {
        self.route = route
    }

    func channelActive(context: ChannelHandlerContext) {
        reply(context, SMTPReply(220, "filtermail SMTP"))
        context.flush()
        let channel = context.channel
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        sessionTimer = context.eventLoop.scheduleTask(in: settings.sessionTimeout) {
            handler.value.closeWith(SMTPReply(421, "4.4.2 filtermail session time limit reached"), channel: channel)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        sessionTimer?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input == nil {
            input = bytes
        } else {
            input!.writeBuffer(&bytes)
        }
        if state == .waiting, input!.readableBytes > 64 * Self.maxCommandLine {
            // Only a few pipelined commands may wait behind a message.
            return closeWith(SMTPReply(421, "4.7.0 Too much pipelined input"), channel: context.channel)
        }
        process(context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client is silent while it waits for a re-injection reply;
        // that wait has its own timeout.
        if event is IdleStateHandler.IdleStateEvent, state != .waiting {
            closeWith(SMTPReply(421, "4.4.2 filtermail idle timeout"), channel: context.channel)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state = .closed
        context.close(promise: nil)
    }

    // MARK: input

    private func process(_ context: ChannelHandlerContext) {
        processing = true
        defer { processing = false }
        while input != nil {
            switch state {
            case .waiting, .closed:
                return
            case .command:
                guard let line = takeLine() else {
                    if (input?.readableBytes ?? 0) > Self.maxCommandLine {
                        closeWith(SMTPReply(500, "5.5.2 Line too long"), channel: context.channel)
                    }
                    return
                }
                // Also when the whole line came in one read.
                guard line.count <= Self.maxCommandLine + 1 else {
                    return closeWith(SMTPReply(500, "5.5.2 Line too long"), channel: context.channel)
                }
                var end = line.count
                if end > 0, line[end - 1] == 13 { end -= 1 }
                handle(SMTPCommand.parse(line[0..<end]), context)
            case .data:
                guard readData(context) else { return }
            }
        }
    }

    /// One step of DATA: the end is only CRLF "." CRLF (RFC 5321 §4.1.1.4);
    /// "\n.\r\n" or "\r.\r\n" never end it, so the message ends where Postfix
    /// saw it end. Line-level validity (bare CR/LF, NUL) is judged on the
    /// whole message by DataCheck.
    /// False when no complete line is buffered.
    private func readData(_ context: ChannelHandlerContext) -> Bool {
        guard var line = takeRawLine() else {
            let pending = input?.readableBytes ?? 0
            if oversize || message.readableBytes + pending > settings.maxMessageSize + 3 {
                // Too big already: drop what came, keeping the last byte (a
                // CR there pairs with an LF still to come).
                oversize = true
                message.clear()
                if pending > 1 {
                    input!.moveReaderIndex(forwardBy: pending - 1)
                    partialLine = true
                }
            }
            return false
        }
        let view = line.readableBytesView
        let endsCRLF = view.count >= 2 && view[view.endIndex - 2] == 13
        let atLineStart = !partialLine
        partialLine = false
        if atLineStart, previousEndedCRLF, view.count == 3, view.first == UInt8(ascii: "."), endsCRLF {
            state = .waiting
            finishMessage(context)
            return true
        }
        previousEndedCRLF = endsCRLF
        if oversize { return true }
        if atLineStart, view.first == UInt8(ascii: ".") { line.moveReaderIndex(forwardBy: 1) }
        guard message.readableBytes + line.readableBytes <= settings.maxMessageSize else {
            oversize = true
            message.clear()
            return true
        }
        message.writeBuffer(&line)
        return true
    }

    /// Next line including its LF, or nil when none is complete yet.
    private func takeRawLine() -> ByteBuffer? {
        guard let view = input?.readableBytesView, let lf = view.firstIndex(of: 10) else { return nil }
        let line = input!.readSlice(length: lf - view.startIndex + 1)
        if input!.readableBytes == 0 { input = nil }
        return line
    }

    /// Next command line without its LF, as bytes.
    private func takeLine() -> [UInt8]? {
        guard var line = takeRawLine() else { return nil }
        return line.readBytes(length: line.readableBytes - 1)
    }

    // MARK: commands

    private func handle(_ command: SMTPCommand, _ context: ChannelHandlerContext) {
        switch command {
        case .hello(let extended):
            resetTransaction()
            reply(context, SMTPReply(code: 250, lines: extended ? ["filtermail", "8BITMIME", "OK"] : ["filtermail", "OK"]))
        case .noop:
            reply(context, .ok)
        case .reset:
            resetTransaction()
            reply(context, .ok)
        case .quit:
            closeWith(SMTPReply(221, "OK"), channel: context.channel)
        case .mail(let address):
            guard sender == nil else { return reply(context, SMTPReply(503, "5.5.1 Error: nested MAIL command")) }
            switch route.gate.checkSender(address) {
            case .failure(let refusal):
                reply(context, refusal)
            case .success(let canonical):
                sender = canonical
                reply(context, .ok)
            }
        case .badMailAddress:
            reply(context, SMTPReply(500, "Invalid address in MAIL FROM"))
        case .rcpt(let address):
            guard sender != nil else { return reply(context, SMTPReply(503, "5.5.1 Error: need MAIL command")) }
            guard recipients.count < settings.maxRecipients else {
                return reply(context, SMTPReply(452, "4.5.3 Error: too many recipients"))
            }
            recipients.append(address)
            reply(context, .ok)
        case .badRecipientAddress:
            reply(context, SMTPReply(501, "5.1.3 Bad recipient address syntax"))
        case .data:
            guard sender != nil, !recipients.isEmpty else {
                return reply(context, SMTPReply(503, "5.5.1 Error: need RCPT command"))
            }
            if message.capacity > 1 << 20 { message = context.channel.allocator.buffer(capacity: 8192) }
            message.clear()
            previousEndedCRLF = true
            partialLine = false
            oversize = false
            state = .data
            reply(context, SMTPReply(354, "End data with <CR><LF>.<CR><LF>"))
        case .unknown:
            reply(context, SMTPReply(500, "Command not recognized"))
        }
    }

    private func finishMessage(_ context: ChannelHandlerContext) {
        if oversize {
            return endTransaction(context, SMTPReply(552, "Message exceeds maximum size"))
        }
        let envelope = Envelope(sender: sender ?? "", recipients: recipients)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        route.submit(envelope, message, on: context.eventLoop) { reply in
            let session = handler.value
            guard session.state == .waiting else { return }
            session.endTransaction(contextBox.value, reply)
            // A refusal of a small message comes back at once, inside
            // the input loop, which then goes on by itself.
            if !session.processing {
                session.process(contextBox.value)
                contextBox.value.flush()
            }
        }
    }

    private func endTransaction(_ context: ChannelHandlerContext, _ outcome: SMTPReply) {
        reply(context, outcome)
        resetTransaction()
        state = .command
    }

    private func resetTransaction() {
        sender = nil
        recipients = []
        message.clear()
        oversize = false
    }

    // MARK: output

    private func reply(_ context: ChannelHandlerContext, _ reply: SMTPReply) {
        guard state != .closed else { return }
        context.write(wrapOutboundOut(ByteBuffer(string: reply.wire)), promise: nil)
    }

    private func closeWith(_ reply: SMTPReply, channel: Channel) {
        guard state != .closed else { return }
        state = .closed
        input = nil
        channel.writeAndFlush(ByteBuffer(string: reply.wire)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
