import NIOCore
import NIOPosix

/// The listening side: binds the loopback port and gives every connection
/// its session handler, with the re-injector of the connection's loop.
public final class FiltermailServer: @unchecked Sendable {
    public let settings: FiltermailSettings
    private let channel: Channel
    private let checkPool: NIOThreadPool

    /// The bound port (the configured one, or the one picked for port 0).
    public var port: Int { channel.localAddress?.port ?? settings.listenPort }

    private init(settings: FiltermailSettings, channel: Channel, checkPool: NIOThreadPool) {
        self.settings = settings
        self.channel = channel
        self.checkPool = checkPool
    }

    public static func start(settings: FiltermailSettings, group: MultiThreadedEventLoopGroup,
                             log: @escaping @Sendable (String) -> Void = { ServiceLog.info($0) })
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
        // Checks of large messages run here, off the event loops.
        let checkPool = NIOThreadPool(numberOfThreads: 1)
        checkPool.start()
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let reinjector = byLoop.value[ObjectIdentifier(channel.eventLoop)]!
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: settings.idleTimeout),
                        SMTPSessionHandler(settings: settings, gate: gate, reinjector: reinjector,
                                           checkPool: checkPool))
                }
            }
            .bind(host: settings.listenHost, port: settings.listenPort)
            .map { FiltermailServer(settings: settings, channel: $0, checkPool: checkPool) }
            .flatMapError { error in
                checkPool.shutdownGracefully { _ in }
                return group.next().makeFailedFuture(error)
            }
    }

    /// Completes when the listener is closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    public func close() -> EventLoopFuture<Void> {
        let pool = checkPool
        return channel.close().always { _ in pool.shutdownGracefully { _ in } }
    }
}

/// Hands a value that is only read after creation across threads.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
