import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening side: binds the loopback port and gives every connection
/// its session handler, with the re-injector of the connection's loop.
public final class FiltermailServer: @unchecked Sendable {
    public let settings: FiltermailSettings
    private let channel: Channel
    private let httpChannel: Channel?
    private let checkPool: NIOThreadPool
    /// Connections and messages in flight, for a graceful stop.
    public let drain: Drain

    /// The bound port (the configured one, or the one picked for port 0).
    public var port: Int { channel.localAddress?.port ?? settings.listenPort }
    /// The bound `/mxdeliv` port, if there is a listener.
    public var httpPort: Int? { httpChannel?.localAddress?.port }

    private init(settings: FiltermailSettings, channel: Channel, httpChannel: Channel?, checkPool: NIOThreadPool,
                 drain: Drain) {
        self.drain = drain
        self.settings = settings
        self.channel = channel
        self.httpChannel = httpChannel
        self.checkPool = checkPool
    }

    public static func start(settings: FiltermailSettings, group: MultiThreadedEventLoopGroup,
                             log: @escaping @Sendable (String) -> Void = { Log.info($0) })
        -> EventLoopFuture<FiltermailServer>
    {
        let gate = FilterGate(settings: settings, log: log)
        // One re-injector per loop, created up front; the map is read-only
        // afterwards, and each re-injector is only touched on its own loop.
        var reinjectors: [ObjectIdentifier: Reinjector] = [:]
        for loop in group.makeIterator() {
            reinjectors[ObjectIdentifier(loop)] = Reinjector(eventLoop: loop, settings: settings)
        }
        let byLoop = UncheckedBox(reinjectors)
        let drain = Drain()
        // Checks of large messages run here, off the event loops.
        let checkPool = NIOThreadPool(numberOfThreads: 1)
        checkPool.start()
        // Every connection's route, with the re-injector of its own loop.
        let route: @Sendable (Channel) -> GateRoute = { channel in
            GateRoute(settings: settings, gate: gate, reinjector: byLoop.value[ObjectIdentifier(channel.eventLoop)]!,
                      checkPool: checkPool, drain: drain)
        }
        let smtp = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        Drain.Tracker(drain),
                        IdleStateHandler(readTimeout: settings.idleTimeout),
                        SMTPSessionHandler(route: route(channel)))
                }
            }
            .bind(host: settings.listenHost, port: settings.listenPort)
        let http: EventLoopFuture<Channel?> = smtp.flatMap { _ in
            guard settings.mode == .incoming, let port = settings.httpListenPort else {
                return group.next().makeSucceededFuture(nil)
            }
            return ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.addHandler(Drain.Tracker(drain)).flatMap {
                        channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    }.flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandlers(
                            IdleStateHandler(readTimeout: settings.idleTimeout),
                            MXDelivHandler(route: route(channel)))
                    }
                }
                .bind(host: settings.listenHost, port: port)
                .map { Optional($0) }
        }
        return smtp.and(http)
            .map { FiltermailServer(settings: settings, channel: $0.0, httpChannel: $0.1, checkPool: checkPool, drain: drain) }
            .flatMapError { error in
                smtp.whenSuccess { $0.close(promise: nil) }
                checkPool.shutdownGracefully { _ in }
                return group.next().makeFailedFuture(error)
            }
    }

    /// Completes when the listener is closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Closes the listeners only (a graceful stop then drains the
    /// connections). Accepting stops first and the connections already
    /// accepted get to register: closing mid-accept would drop one.
    public func closeListeners() {
        let listeners = [channel] + (httpChannel.map { [$0] } ?? [])
        for l in listeners { try? l.setOption(ChannelOptions.autoRead, value: false).wait() }
        usleep(50_000)
        for l in listeners { try? l.close().wait() }
    }

    public func close() -> EventLoopFuture<Void> {
        let pool = checkPool
        httpChannel?.close(promise: nil)
        return channel.close().always { _ in pool.shutdownGracefully { _ in } }
    }
}

/// Hands a value that is only read after creation across threads.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
