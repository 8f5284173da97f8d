import Dispatch
import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A graceful stop for the long-running services. On SIGTERM (systemd's
/// stop and restart) the listeners close, open connections are no longer
/// read (a request not read yet is the client's to retry: Postfix keeps the
/// message queued, Dovecot asks again), and the process waits until every
/// request it did read has been answered, then exits. So a restart under
/// load neither drops a message filtermail accepted nor answers Postfix
/// after re-injecting it (which would deliver it twice).
public final class Drain: @unchecked Sendable {
    private let lock = NIOLock()
    private var open: [ObjectIdentifier: Channel] = [:]
    private var inFlight = 0
    private var draining = false

    public init() {}

    /// Requests read and not yet answered.
    public var pending: Int { lock.withLock { inFlight } }

    func opened(_ channel: Channel) {
        let late = lock.withLock { () -> Bool in
            if draining { return true }
            open[ObjectIdentifier(channel)] = channel
            return false
        }
        if late { stopReading(channel) }
    }

    func closed(_ channel: Channel) {
        lock.withLock { _ = open.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func begin() { lock.withLock { inFlight += 1 } }
    func end() { lock.withLock { inFlight -= 1 } }

    /// Stops reading on every open connection, then waits until no request
    /// is in flight or `timeout` seconds passed. Returns what is still
    /// unanswered (0 on a clean stop).
    public func stopReadingAndWait(timeout: Double) -> Int {
        let channels = lock.withLock { () -> [Channel] in
            draining = true
            return Array(open.values)
        }
        for channel in channels { stopReading(channel) }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while pending > 0, DispatchTime.now().uptimeNanoseconds < deadline { usleep(10_000) }
        // Replies handed to the sockets go out before the process ends.
        usleep(100_000)
        return pending
    }

    private func stopReading(_ channel: Channel) {
        channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    /// First in a connection's pipeline: tells the drain about it.
    final class Tracker: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        let drain: Drain
        init(_ drain: Drain) { self.drain = drain }

        func channelActive(context: ChannelHandlerContext) {
            drain.opened(context.channel)
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            drain.closed(context.channel)
            context.fireChannelInactive()
        }
    }
}

/// Waiting for the signal that stops a service.
public enum Termination {
    /// Blocks until SIGTERM or SIGINT arrives (true) or `closed` completes
    /// on its own (false: the listener went away).
    public static func wait(orUntil closed: EventLoopFuture<Void>) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let bySignal = NIOLockedValueBox(false)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                bySignal.withLockedValue { $0 = true }
                done.signal()
            }
            source.resume()
            sources.append(source)
        }
        closed.whenComplete { _ in done.signal() }
        done.wait()
        for source in sources { source.cancel() }
        return bySignal.withLockedValue { $0 }
    }
}
