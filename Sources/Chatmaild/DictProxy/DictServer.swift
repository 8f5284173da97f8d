import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Serves a DictService on a UNIX stream socket. One event loop per core;
/// each connection stays on one loop and its requests are answered in
/// order, as Dovecot's dict client expects. Most service calls are short
/// file operations and run on the loop thread; the slow ones (a crypt()
/// when doveauth creates an account) go to a thread pool.
public final class DictServer {
    public let socketPath: String
    let group: MultiThreadedEventLoopGroup
    /// Runs the lookups of services that allow it (doveauth: a crypt() per
    /// new account) off the event loops, so one Dovecot connection with
    /// pipelined requests still uses every core.
    let pool: NIOThreadPool
    var channel: Channel?
    /// The listening socket came from systemd (socket activation): it is
    /// systemd's to keep, never unlinked here.
    private(set) var activated = false
    /// For a graceful stop (SIGTERM): connections and requests in flight.
    public let drain = Drain()

    /// Dovecot lines are at most 64 KiB; anything longer is not Dovecot.
    static let maxLineLength = 64 * 1024

    public init(socketPath: String, threads: Int = System.coreCount) {
        self.socketPath = socketPath
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        self.pool = NIOThreadPool(numberOfThreads: max(1, threads))
    }

    /// Binds the socket (replacing a stale one) and starts serving.
    public func start(service: DictService) throws {
        let pool = self.pool
        let drain = self.drain
        if service.concurrentLookups { pool.start() }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1000)
            // Request/reply traffic: one read per wake-up saves the read()
            // that would only return EAGAIN.
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The tracker sees the raw reads (activity for the drain);
                    // the handler sees whole request lines.
                    try channel.pipeline.syncOperations.addHandlers(
                        Drain.Tracker(drain),
                        ByteToMessageHandler(DictLineDecoder()),
                        DictConnectionHandler(service: service, pool: service.concurrentLookups ? pool : nil, drain: drain))
                }
            }
        if let fd = try SocketActivation.listener(for: socketPath) {
            activated = true
            channel = try bootstrap.withBoundSocket(fd).wait()
        } else {
            channel = try bootstrap.bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).wait()
        }
    }

    /// Blocks until the server is closed.
    public func wait() throws {
        try channel?.closeFuture.wait()
    }

    /// Stops on SIGTERM: no new connections, and the open ones are served
    /// until their clients close them or they fall quiet (at most `timeout`
    /// seconds), then returns. Also returns if the listener closes by itself.
    public func serveUntilTerminated(name: String, timeout: Double = 20) {
        guard let channel, Termination.wait(orUntil: channel.closeFuture) else { return }
        if !activated {
            // Bound here: the socket file goes first, so a new connect fails
            // at once (a temporary failure Dovecot reports as such);
            // connections already in the listen queue are still accepted and
            // served in the pause before the listener closes (closing it
            // would reset them). Under socket activation systemd keeps the
            // socket and its queue for the next process.
            unlink(socketPath)
            usleep(100_000)
        }
        // Stop accepting first and let the connections already accepted
        // register on their event loops: closing the listener in the middle
        // of an accept drops a connection NIO took but had not set up yet
        // (Dovecot sees a reset). What is still queued stays in the listen
        // queue: for the next process under socket activation.
        try? channel.setOption(ChannelOptions.autoRead, value: false).wait()
        usleep(50_000)
        try? channel.close().wait()
        let left = drain.serveOpenUntilQuiet(timeout: timeout)
        if left == 0 {
            Log.info("\(name) stopped: every request read was answered")
        } else {
            Log.warning("\(name) stopped with \(left) request(s) unanswered after \(Int(timeout)) s")
        }
    }

    public func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
    }
}

/// Feeds the request lines of one connection (framed by DictLineDecoder)
/// to a DictSession. Replies leave in request order even when lookups
/// finish out of order (offloaded to the pool, or answered later like TURN):
/// each one gets a slot, and slots are written from the front as they fill.
final class DictConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    private var session: DictSession
    private let pool: NIOThreadPool?
    private let drain: Drain?
    private var queued: [DictRequest] = []
    /// Replies not yet written, in request order; nil while still pending.
    private var slots: [String?] = []
    /// Request index of `slots[0]`.
    private var firstSlot = 0
    private var output = ""
    /// Set when a line broke the length limit: nothing more is read.
    private var closing = false
    /// Pipelined requests in flight per connection; more wait in `queued`.
    static let maxInFlight = 256

    init(service: DictService, pool: NIOThreadPool?, drain: Drain? = nil) {
        session = DictSession(service: service)
        self.pool = pool
        self.drain = drain
    }

    /// Only queues: the lines of one read are handled at its end, so an
    /// over-long line anywhere in a read drops the requests before it
    /// unhandled (the decoder reports it after passing those on).
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        queued.append(DictRequest.parse(bytes: unwrapInboundIn(data)))
        drain?.begin(context.channel)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard !closing else { return }
        process(context: context)
        flush(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let tooLong = error as? DictLineDecoder.TooLong, !closing {
            Log.warning("dict request line longer than \(tooLong.limit) bytes; closing connection")
            closing = true
            for _ in queued { drain?.end(context.channel) }
            queued.removeAll()
        }
        context.close(promise: nil)
    }

    private func process(context: ChannelHandlerContext) {
        while slots.count < Self.maxInFlight, !queued.isEmpty {
            let request = queued.removeFirst()
            switch session.handle(request, offload: pool != nil) {
            case .none:
                drain?.end(context.channel)
            case .reply(let text):
                if slots.isEmpty { output += text } else { slots.append(text) }
                drain?.end(context.channel)
            case .later(let pending):
                let slot = reserveSlot()
                let loop = context.eventLoop
                let ctx = NIOLoopBound(context, eventLoop: loop)
                let me = NIOLoopBound(self, eventLoop: loop)
                pending.start { result in
                    loop.execute { me.value.fill(slot, result.line, context: ctx.value) }
                }
            case .offload(let work):
                let slot = reserveSlot()
                let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
                let me = NIOLoopBound(self, eventLoop: context.eventLoop)
                pool!.runIfActive(eventLoop: context.eventLoop, work).whenComplete { result in
                    me.value.fill(slot, (try? result.get()) ?? "F\n", context: ctx.value)
                }
            }
        }
    }

    private func reserveSlot() -> Int {
        slots.append(nil)
        return firstSlot + slots.count - 1
    }

    /// Stores a finished reply and writes every reply that is now complete
    /// at the front, then takes more queued requests.
    private func fill(_ slot: Int, _ text: String, context: ChannelHandlerContext) {
        slots[slot - firstSlot] = text
        drain?.end(context.channel)
        var done = 0
        while done < slots.count, let reply = slots[done] {
            output += reply
            done += 1
        }
        slots.removeFirst(done)
        firstSlot += done
        process(context: context)
        flush(context: context)
    }

    private func flush(context: ChannelHandlerContext) {
        guard !output.isEmpty, context.channel.isActive else { return }
        let buffer = context.channel.allocator.buffer(string: output)
        output = ""
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
