import NIOCore

/// One SMTP client connection to Postfix's re-inject listener. Replies are
/// matched to requests in order; each wait has a deadline after which the
/// connection is closed, which fails every outstanding wait.
final class ReinjectConnection {
    let channel: Channel
    private let handler: ReinjectClientHandler
    private let timeout: TimeAmount
    /// False once Postfix said 421 or a wait failed: never reuse then.
    private(set) var reusable = true
    /// The server offered PIPELINING in its EHLO reply.
    var pipelining = false

    init(channel: Channel, handler: ReinjectClientHandler, timeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
    }

    /// Sends `lines` in one write (pipelined) and waits for one reply each.
    func send(_ lines: [String]) -> EventLoopFuture<[SMTPReply]> {
        var buffer = channel.allocator.buffer(capacity: lines.reduce(0) { $0 + $1.utf8.count + 2 })
        for line in lines { buffer.writeString(line); buffer.writeString("\r\n") }
        let replies = lines.map { _ in expect() }
        channel.writeAndFlush(buffer, promise: nil)
        return EventLoopFuture.whenAllSucceed(replies, on: channel.eventLoop)
    }

    /// Sends the message dot-stuffed (RFC 5321 §4.5.2) with the final dot.
    func sendMessage(_ message: ByteBuffer) -> EventLoopFuture<SMTPReply> {
        var out = channel.allocator.buffer(capacity: message.readableBytes + message.readableBytes / 64 + 8)
        Self.stuff(message, into: &out)
        let reply = expect()
        channel.writeAndFlush(out, promise: nil)
        return reply
    }

    /// Waits for the next reply, such as the greeting.
    func expect() -> EventLoopFuture<SMTPReply> {
        if let early = handler.unclaimed.popFirst() {
            return channel.eventLoop.makeSucceededFuture(early)
        }
        guard channel.isActive else {
            reusable = false
            return channel.eventLoop.makeFailedFuture(ReinjectError.connectionClosed)
        }
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        let channel = self.channel
        let handler = self.handler
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            handler.failAll(ReinjectError.timeout)
            channel.close(promise: nil)
        }
        handler.waiting.append(promise)
        return promise.futureResult.always { result in
            deadline.cancel()
            switch result {
            case .success(let reply) where reply.code != 421: break
            default: self.reusable = false
            }
        }
    }

    /// Closes without QUIT, so an open DATA phase is never completed.
    func abandon() {
        reusable = false
        channel.close(promise: nil)
    }

    func close() {
        reusable = false
        channel.writeAndFlush(ByteBuffer(string: "QUIT\r\n")).whenComplete { _ in
            self.channel.close(promise: nil)
        }
    }

    /// Adds a dot before every line that starts with one, and ends the data
    /// with CRLF "." CRLF.
    static func stuff(_ message: ByteBuffer, into out: inout ByteBuffer) {
        let view = message.readableBytesView
        var runStart = view.startIndex
        var atLineStart = true
        var i = view.startIndex
        while i < view.endIndex {
            let byte = view[i]
            if atLineStart, byte == UInt8(ascii: ".") {
                out.writeBytes(view[runStart..<i])
                out.writeInteger(UInt8(ascii: "."))
                runStart = i
            }
            atLineStart = byte == 10
            i += 1
        }
        out.writeBytes(view[runStart..<view.endIndex])
        if !view.isEmpty, !atLineStart { out.writeString("\r\n") }
        out.writeString(".\r\n")
    }
}

/// Hands decoded replies to the waiting promises, in order.
final class ReinjectClientHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPReply
    var waiting = CircularBuffer<EventLoopPromise<SMTPReply>>()
    /// Replies that came before anyone waited (the greeting can).
    var unclaimed = CircularBuffer<SMTPReply>()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let promise = waiting.popFirst() else {
            // More than a greeting nobody asked for: the dialogue is out of step.
            guard unclaimed.isEmpty else { return context.close(promise: nil) }
            unclaimed.append(reply)
            return
        }
        promise.succeed(reply)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ReinjectError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func failAll(_ error: Error) {
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}
