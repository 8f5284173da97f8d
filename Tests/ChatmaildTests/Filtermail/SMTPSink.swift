import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A small independent SMTP server standing in for Postfix's re-inject
/// listener: records every envelope and the unstuffed message bytes, and
/// refuses recipients that start with "reject".
final class SMTPSink: @unchecked Sendable {
    struct Message: Equatable {
        var sender: String
        var recipients: [String]
        var data: [UInt8]
    }

    let state = NIOLockedValueBox<(messages: [Message], connections: Int)>(([], 0))
    private let open = NIOLockedValueBox<[Channel]>([])
    /// Connections numbered up to this answer 451 to MAIL FROM.
    let poisonedUpTo = NIOLockedValueBox<Int>(0)
    private var channel: Channel!

    var port: Int { channel.localAddress!.port! }
    var messages: [Message] { state.withLockedValue { $0.messages } }
    var connections: Int { state.withLockedValue { $0.connections } }

    init(group: EventLoopGroup) throws {
        let state = self.state
        let open = self.open
        let poisoned = self.poisonedUpTo
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                let number = state.withLockedValue { $0.connections += 1; return $0.connections }
                open.withLockedValue { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SinkHandler(state: state, number: number, poisonedUpTo: poisoned))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func close() { try? channel.close().wait() }

    /// Closes every client connection, as Postfix does after smtpd_timeout.
    func dropConnections() {
        for channel in open.withLockedValue({ $0 }) { try? channel.close().wait() }
    }

    /// Open connections answer 451 from now on but stay open, as a Postfix
    /// session does whose milter went away.
    func poisonConnections() {
        let count = connections
        poisonedUpTo.withLockedValue { $0 = count }
    }
}

private final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let state: NIOLockedValueBox<(messages: [SMTPSink.Message], connections: Int)>
    var pending: [UInt8] = []
    var inData = false
    var current = SMTPSink.Message(sender: "", recipients: [], data: [])
    let number: Int
    let poisonedUpTo: NIOLockedValueBox<Int>

    init(state: NIOLockedValueBox<(messages: [SMTPSink.Message], connections: Int)>, number: Int, poisonedUpTo: NIOLockedValueBox<Int>) {
        self.state = state
        self.number = number
        self.poisonedUpTo = poisonedUpTo
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context, "220 sink ESMTP")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes)!
        while let lf = pending.firstIndex(of: 10) {
            let line = Array(pending[...lf])
            pending.removeFirst(lf + 1)
            handle(line, context)
        }
    }

    func handle(_ line: [UInt8], _ context: ChannelHandlerContext) {
        if inData {
            if line == Array(".\r\n".utf8) {
                inData = false
                let message = current
                current = SMTPSink.Message(sender: "", recipients: [], data: [])
                // A recipient named "stall..." makes the sink go silent.
                if message.recipients.contains(where: { $0.hasPrefix("stall") }) { return }
                state.withLockedValue { $0.messages.append(message) }
                // ... and one named "slow..." makes it answer after half a second.
                if message.recipients.contains(where: { $0.hasPrefix("slow") }) {
                    let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                    let me = NIOLoopBound(self, eventLoop: context.eventLoop)
                    context.eventLoop.scheduleTask(in: .milliseconds(500)) {
                        me.value.send(ctx.value, "250 2.0.0 Ok: queued as SINK")
                    }
                    return
                }
                return send(context, "250 2.0.0 Ok: queued as SINK")
            }
            current.data += line.first == UInt8(ascii: ".") ? Array(line.dropFirst()) : line
            return
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: "\r\n")
        let upper = text.uppercased()
        if upper.hasPrefix("EHLO") {
            send(context, "250-sink\r\n250 PIPELINING")
        } else if upper.hasPrefix("MAIL FROM:"), number <= poisonedUpTo.withLockedValue({ $0 }) {
            send(context, "451 4.7.1 Service unavailable - try again later")
        } else if upper.hasPrefix("MAIL FROM:") {
            current.sender = String(text.dropFirst(10)).trimmingCharacters(in: "<>")
            send(context, "250 2.1.0 Ok")
        } else if upper.hasPrefix("RCPT TO:") {
            let address = String(text.dropFirst(8)).trimmingCharacters(in: "<>")
            if address.hasPrefix("reject") {
                send(context, "550 5.1.1 <\(address)>: Recipient address rejected")
            } else {
                current.recipients.append(address)
                send(context, "250 2.1.5 Ok")
            }
        } else if upper == "DATA" {
            inData = true
            send(context, "354 End data with <CR><LF>.<CR><LF>")
        } else if upper == "RSET" {
            current = SMTPSink.Message(sender: "", recipients: [], data: [])
            send(context, "250 2.0.0 Ok")
        } else if upper == "QUIT" {
            send(context, "221 2.0.0 Bye")
            context.close(promise: nil)
        } else {
            send(context, "502 5.5.2 Error: command not recognized")
        }
    }

    func send(_ context: ChannelHandlerContext, _ text: String) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) || c == "\r\n" { s = s.dropFirst() }
        while let c = s.last, set.contains(c) || c == "\r\n" { s = s.dropLast() }
        return String(s)
    }
}
