import NIOCore
import NIOPosix

/// Asks chatmail-turn for ephemeral credentials: connect to its UNIX
/// socket, read one `username:password` line, give up after `timeout`.
struct TurnClient: Sendable {
    let socketPath: String
    let group: EventLoopGroup
    var timeout: TimeAmount = .seconds(5)

    enum Failure: Error { case timeout, empty }

    func credentials() -> EventLoopFuture<String> {
        let loop = group.next()
        let promise = loop.makePromise(of: String.self)
        let timeout = self.timeout
        let guardTask = loop.scheduleTask(in: timeout) { promise.fail(Failure.timeout) }
        promise.futureResult.whenComplete { _ in guardTask.cancel() }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineReader(promise: promise))
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .whenComplete { result in
                switch result {
                case .failure(let error): promise.fail(error)
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        return promise.futureResult
    }
}

private final class LineReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<String>
    var bytes: [UInt8] = []

    init(promise: EventLoopPromise<String>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buf = unwrapInboundIn(data)
        bytes += buf.readBytes(length: buf.readableBytes) ?? []
        if let nl = bytes.firstIndex(of: UInt8(ascii: "\n")) { deliver(Array(bytes[..<nl])) }
        else if bytes.count > 4096 { promise.fail(TurnClient.Failure.empty) }
    }

    func channelInactive(context: ChannelHandlerContext) { deliver(bytes) }

    func errorCaught(context: ChannelHandlerContext, error: Error) { promise.fail(error) }

    private func deliver(_ line: [UInt8]) {
        var text = String(decoding: line, as: UTF8.self)
        while text.last == "\r" || text.last == " " { text.removeLast() }
        if text.isEmpty { promise.fail(TurnClient.Failure.empty) } else { promise.succeed(text) }
    }
}
