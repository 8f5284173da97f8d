import NIOCore
import NIOPosix

/// Re-injects accepted messages into Postfix over SMTP with the original
/// envelope. One per event loop, used only from that loop; it keeps a few
/// idle connections so a busy relay does not pay for a TCP handshake and
/// a greeting per message.
final class Reinjector {
    private let eventLoop: EventLoop
    private let settings: FiltermailSettings
    private var idle: [ReinjectConnection] = []

    init(eventLoop: EventLoop, settings: FiltermailSettings) {
        self.eventLoop = eventLoop
        self.settings = settings
    }

    /// The reply to give the client: Postfix's own reply to the message,
    /// or its reply to MAIL/RCPT/DATA when one of those failed, or 451 when
    /// Postfix could not be reached at all.
    func deliver(_ envelope: Envelope, _ message: ByteBuffer) -> EventLoopFuture<SMTPReply> {
        deliver(envelope, message, mayRetry: true)
    }

    private func deliver(_ envelope: Envelope, _ message: ByteBuffer, mayRetry: Bool) -> EventLoopFuture<SMTPReply> {
        idle.removeAll { !$0.channel.isActive }
        let reused = idle.popLast()
        let connection = reused.map { eventLoop.makeSucceededFuture($0) } ?? connect()
        // Set and read on this event loop only.
        let messageSent = NIOLoopBoundBox(false, eventLoop: eventLoop)
        return connection.flatMap { connection in
            self.transaction(connection, envelope, message, messageSent: { messageSent.value = true })
                .flatMap { reply in
                    // A 4xx from a kept connection may be stale session state:
                    // Postfix keeps answering 451 on a session whose milter
                    // (OpenDKIM, restarted daily) went away. 4xx means nothing
                    // was accepted, so one retry on a fresh connection is safe.
                    if (400..<500).contains(reply.code) {
                        connection.close()
                        if reused != nil, mayRetry {
                            return self.deliver(envelope, message, mayRetry: false)
                        }
                        return self.eventLoop.makeSucceededFuture(reply)
                    }
                    self.release(connection)
                    return self.eventLoop.makeSucceededFuture(reply)
                }
                .flatMapErrorThrowing { error in
                    connection.close()
                    throw error
                }
        }.flatMapError { error in
            // A kept connection may have been closed by Postfix meanwhile
            // (smtpd_timeout). Retrying is safe only before the message went
            // out, else it could be delivered twice.
            if reused != nil, mayRetry, !messageSent.value {
                return self.deliver(envelope, message, mayRetry: false)
            }
            return self.eventLoop.makeSucceededFuture(SMTPReply(451, "4.3.0 Re-injection failed: \(error)"))
        }
    }

    private func transaction(_ connection: ReinjectConnection, _ envelope: Envelope, _ message: ByteBuffer,
                             messageSent: @escaping () -> Void) -> EventLoopFuture<SMTPReply> {
        let commands = ["MAIL FROM:<\(envelope.sender)>"] + envelope.recipients.map { "RCPT TO:<\($0)>" }
        // With PIPELINING (Postfix always offers it) DATA goes in the same
        // write: one round trip less per message.
        let pipelined = connection.pipelining
        return connection.send(pipelined ? commands + ["DATA"] : commands).flatMapThrowing { replies in
            // 421: Postfix is closing this (kept) connection; try a new one.
            if replies.first?.code == 421 { throw ReinjectError.connectionClosed }
            return replies
        }.flatMap { replies in
            let envelopeReplies = pipelined ? replies.dropLast() : replies[...]
            if let refusal = envelopeReplies.first(where: { !$0.isPositive }) {
                if pipelined, replies.last?.code == 354 {
                    // DATA was taken although a recipient was refused: never
                    // send a partial delivery, drop the transaction instead.
                    connection.abandon()
                    return self.eventLoop.makeSucceededFuture(refusal)
                }
                return connection.send(["RSET"]).map { _ in refusal }
            }
            let data = pipelined ? self.eventLoop.makeSucceededFuture(replies[replies.count - 1])
                : connection.send(["DATA"]).map { $0[0] }
            return data.flatMap { reply in
                guard reply.code == 354 else { return connection.send(["RSET"]).map { _ in reply } }
                messageSent()
                return connection.sendMessage(message)
            }
        }
    }

    private func release(_ connection: ReinjectConnection) {
        if connection.reusable, connection.channel.isActive, idle.count < settings.maxIdleReinjectConnections {
            idle.append(connection)
        } else {
            connection.close()
        }
    }

    private func connect() -> EventLoopFuture<ReinjectConnection> {
        let handler = ReinjectClientHandler()
        let timeout = settings.reinjectTimeout
        return ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(SMTPReplyDecoder()), handler)
                }
            }
            .connect(host: settings.reinjectHost, port: settings.reinjectPort)
            .flatMapErrorThrowing { [settings] _ in
                throw ReinjectError.cannotConnect("\(settings.reinjectHost):\(settings.reinjectPort)")
            }
            .flatMap { channel in
                let connection = ReinjectConnection(channel: channel, handler: handler, timeout: timeout)
                return connection.expect().flatMap { greeting in
                    guard greeting.code == 220 else {
                        connection.close()
                        return self.eventLoop.makeFailedFuture(ReinjectError.badReply(greeting.wire))
                    }
                    return connection.send(["EHLO filtermail"]).flatMapThrowing { replies in
                        guard replies[0].code == 250 else {
                            connection.close()
                            throw ReinjectError.badReply(replies[0].wire)
                        }
                        connection.pipelining = replies[0].lines.contains { $0.uppercased() == "PIPELINING" }
                        return connection
                    }
                }
            }
    }
}
