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
///
/// Dict services stop differently (`serveOpenUntilQuiet`): Dovecot's dict
/// client does not retry a lookup whose connection closes after it was
/// written, and turns that into an internal login failure. So open dict
/// connections keep being served until their client closes them (Dovecot
/// disconnects right after each reply) or they fall quiet.
public final class Drain: @unchecked Sendable {
    private let lock = NIOLock()
    private var open: [ObjectIdentifier: Channel] = [:]
    /// Per connection: when it last delivered bytes, requests not answered.
    private var lastRead: [ObjectIdentifier: UInt64] = [:]
    private var busy: [ObjectIdentifier: Int] = [:]
    private var inFlight = 0
    private var draining = false
    private var keepReading = false

    public init() {}

    /// Requests read and not yet answered.
    public var pending: Int { lock.withLock { inFlight } }

    func opened(_ channel: Channel) {
        let late = lock.withLock { () -> Bool in
            if draining && !keepReading { return true }
            let id = ObjectIdentifier(channel)
            open[id] = channel
            lastRead[id] = Self.now()
            return false
        }
        if late { stopReading(channel) }
    }

    func closed(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        lock.withLock {
            open.removeValue(forKey: id)
            lastRead.removeValue(forKey: id)
            busy.removeValue(forKey: id)
        }
    }

    func read(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        lock.withLock { if open[id] != nil { lastRead[id] = Self.now() } }
    }

    /// A request was read (`channel`: on which connection, when known).
    func begin(_ channel: Channel? = nil) {
        lock.withLock {
            inFlight += 1
            if let channel, open[ObjectIdentifier(channel)] != nil { busy[ObjectIdentifier(channel), default: 0] += 1 }
        }
    }

    /// A request was answered (or dropped with its connection).
    func end(_ channel: Channel? = nil) {
        lock.withLock {
            inFlight -= 1
            if let channel, let n = busy[ObjectIdentifier(channel)] { busy[ObjectIdentifier(channel)] = n - 1 }
        }
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

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

    /// Keeps serving the open connections (and those still accepted from
    /// the listen queue) until none is left or `timeout` seconds passed.
    /// A connection with nothing in flight that delivered no bytes for
    /// `quiet` seconds is closed by us (Dovecot closes its dict connections
    /// after each reply, so a quiet one is rare; closing it races with a
    /// request being written). Returns the requests still
    /// unanswered (0 on a clean stop).
    public func serveOpenUntilQuiet(timeout: Double, quiet: Double = 2) -> Int {
        lock.withLock {
            draining = true
            keepReading = true
        }
        let deadline = Self.now() + UInt64(timeout * 1e9)
        let quietNanos = UInt64(quiet * 1e9)
        while Self.now() < deadline {
            let now = Self.now()
            let (idle, left) = lock.withLock { () -> ([Channel], Int) in
                let idle = open.filter { id, _ in
                    (busy[id] ?? 0) == 0 && now &- (lastRead[id] ?? 0) >= quietNanos
                }.map(\.value)
                return (idle, open.count)
            }
            if left == 0 {
                // None open: make sure twice, a connection may just be registering.
                usleep(20_000)
                if lock.withLock({ open.isEmpty }) { break }
                continue
            }
            for channel in idle { channel.close(promise: nil) }
            usleep(10_000)
        }
        // Past the deadline: nothing more is read; replies already handed
        // to the sockets go out before the process ends.
        let rest = lock.withLock { Array(open.values) }
        for channel in rest { stopReading(channel) }
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

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            drain.read(context.channel)
            context.fireChannelRead(data)
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
