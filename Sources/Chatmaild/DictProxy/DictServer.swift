import NIOCore
import NIOPosix

/// Serves a DictService on a UNIX stream socket. One event loop per core;
/// each connection stays on one loop and its requests are answered in
/// order, as Dovecot's dict client expects. Service calls run on the loop
/// thread: they are short file operations (or a crypt() on account
/// creation), and connections spread over the loops so both cores work.
public final class DictServer {
    public let socketPath: String
    let group: MultiThreadedEventLoopGroup
    var channel: Channel?

    /// Dovecot lines are at most 64 KiB; anything longer is not Dovecot.
    static let maxLineLength = 64 * 1024

    public init(socketPath: String, threads: Int = System.coreCount) {
        self.socketPath = socketPath
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
    }

    /// Binds the socket (replacing a stale one) and starts serving.
    public func start(service: DictService) throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1000)
            // Request/reply traffic: one read per wake-up saves the read()
            // that would only return EAGAIN.
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DictConnectionHandler(service: service))
                }
            }
        channel = try bootstrap.bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).wait()
    }

    /// Blocks until the server is closed.
    public func wait() throws {
        try channel?.closeFuture.wait()
    }

    public func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Splits the byte stream into lines and feeds them to a DictSession,
/// keeping replies in request order even when a lookup answers later.
final class DictConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: DictSession
    private var input: ByteBuffer?
    private var queued: [String] = []
    private var waiting = false
    private var output = ""

    init(service: DictService) {
        session = DictSession(service: service)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if input == nil { input = incoming } else { input!.writeBuffer(&incoming) }
        while let line = nextLine() { queued.append(line) }
        if let buffered = input?.readableBytes, buffered > DictServer.maxLineLength {
            Log.warning("dict request line longer than \(DictServer.maxLineLength) bytes; closing connection")
            input = nil
            queued.removeAll()
            context.close(promise: nil)
            return
        }
        process(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func nextLine() -> String? {
        guard var buf = input, let nl = buf.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = nl - buf.readerIndex
        var bytes = buf.readBytes(length: length)!
        buf.moveReaderIndex(forwardBy: 1)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if buf.readableBytes == 0 { input = nil } else {
            if buf.readerIndex > 65536 { buf.discardReadBytes() }
            input = buf
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func process(context: ChannelHandlerContext) {
        while !waiting, !queued.isEmpty {
            let line = queued.removeFirst()
            if line.isEmpty { continue }
            switch session.handle(DictRequest.parse(Substring(line))) {
            case .none: break
            case .reply(let text): output += text
            case .later(let pending):
                waiting = true
                let loop = context.eventLoop
                let ctx = NIOLoopBound(context, eventLoop: loop)
                let me = NIOLoopBound(self, eventLoop: loop)
                pending.start { result in
                    loop.execute {
                        let handler = me.value
                        handler.output += result.line
                        handler.waiting = false
                        handler.process(context: ctx.value)
                        handler.flush(context: ctx.value)
                    }
                }
            }
        }
    }

    private func flush(context: ChannelHandlerContext) {
        guard !output.isEmpty, context.channel.isActive else { return }
        let buffer = context.channel.allocator.buffer(string: output)
        output = ""
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
