import NIOCore
import NIOPosix
import NIOSSL

/// An error of a mail or web conversation. `endpoint` is "host:port"; the
/// text says which step failed and quotes the server's reply when there is one.
public struct MailError: Error, CustomStringConvertible, Sendable {
    public var endpoint: String
    public var message: String
    public init(_ endpoint: String, _ message: String) {
        self.endpoint = endpoint
        self.message = message
    }
    public var description: String { "\(endpoint): \(message)" }
}

/// Which certificates a client accepts.
public struct TLSTrust: Sendable {
    /// Extra CA certificates (PEM file) trusted beside the system store.
    public var caFile: String?
    /// Accept any certificate, as Delta Chat does for `_`-prefixed domains
    /// and IP relays, which cannot have a WebPKI certificate.
    public var acceptInvalid: Bool

    public init(caFile: String? = nil, acceptInvalid: Bool = false) {
        self.caFile = caFile
        self.acceptInvalid = acceptInvalid
    }

    /// The client's rule for a mail domain: self-signed relays are
    /// recognised by the leading underscore or an IP address.
    public static func forDomain(_ domain: String, caFile: String?) -> TLSTrust {
        let bare = domain.strippingCharacters("[]")
        let isIP = bare.contains(":") || (bare.split(separator: ".").count == 4 && bare.allSatisfy { $0.isNumber || $0 == "." })
        return TLSTrust(caFile: caFile, acceptInvalid: bare.hasPrefix("_") || isIP)
    }

    func context() throws -> NIOSSLContext {
        var config = TLSConfiguration.makeClientConfiguration()
        if acceptInvalid {
            config.certificateVerification = .none
        } else if let caFile {
            config.additionalTrustRoots = [.file(caFile)]
        }
        return try NIOSSLContext(configuration: config)
    }
}

extension String {
    public func strippingCharacters(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// One TCP connection (optionally TLS from the start or after STARTTLS)
/// read through incremental parsers. Received bytes collect in a buffer on
/// the channel's event loop; a read waits until its parser finds a
/// complete unit there, the peer closes, or its deadline passes.
public final class MailConnection: @unchecked Sendable {
    public let host: String
    public let port: Int
    public var endpoint: String { "\(host):\(port)" }
    /// Seconds any single step may take.
    public let timeout: Double
    let channel: Channel
    private let receiver: Receiver

    static let group: MultiThreadedEventLoopGroup = .singleton

    private init(host: String, port: Int, timeout: Double, channel: Channel, receiver: Receiver) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.channel = channel
        self.receiver = receiver
    }

    /// Connects; with `tls` the handshake starts at once (implicit TLS).
    public static func connect(host: String, port: Int, tls: TLSTrust?, timeout: Double) async throws -> MailConnection {
        let endpoint = "\(host):\(port)"
        let receiver = Receiver()
        let ssl = try tls.map { trust -> NIOSSLContext in
            do { return try trust.context() } catch { throw MailError(endpoint, "TLS setup: \(error)") }
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let ssl {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: ssl, serverHostname: sniName(host)))
                    }
                    try channel.pipeline.syncOperations.addHandler(receiver)
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw MailError(endpoint, "cannot connect: \(error)")
        }
        return MailConnection(host: host, port: port, timeout: timeout, channel: channel, receiver: receiver)
    }

    /// SNI only for names; IP addresses must not be sent (RFC 6066 §3).
    static func sniName(_ host: String) -> String? {
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        return isIP ? nil : host
    }

    /// Puts TLS under the conversation (after the server agreed to STARTTLS).
    public func startTLS(_ trust: TLSTrust) async throws {
        let ssl: NIOSSLContext
        do { ssl = try trust.context() } catch { throw MailError(endpoint, "TLS setup: \(error)") }
        let name = Self.sniName(host)
        let channel = self.channel
        // The handler is made and added on the event loop: it is not Sendable.
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: ssl, serverHostname: name), position: .first)
        }.get()
    }

    public func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }

    public func write(_ bytes: [UInt8]) async throws {
        do {
            try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get()
        } catch {
            throw MailError(endpoint, "write failed: \(receiver.failureText ?? "\(error)")")
        }
    }

    /// Waits for `parse` to find a complete unit in the received bytes.
    /// `parse` consumes what it returns and returns nil while data is missing.
    public func read<T>(_ what: String, timeout: Double? = nil, untilClosed: Bool = false,
                        _ parse: @escaping (inout ByteBuffer) throws -> T?) async throws -> T {
        let loop = channel.eventLoop
        let seconds = timeout ?? self.timeout
        let endpoint = self.endpoint
        let receiver = self.receiver
        let promise = loop.makePromise(of: T.self)
        loop.execute {
            receiver.wait(parse: parse, untilClosed: untilClosed, promise: promise, endpoint: endpoint, what: what)
            let deadline = loop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
                receiver.expire(promise: promise, error: MailError(endpoint, "no \(what) within \(Int(seconds)) s"))
            }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
        }
        return try await promise.futureResult.get()
    }

    /// Everything the server sends until it closes the connection.
    public func readUntilClosed(_ what: String, timeout: Double? = nil) async throws -> [UInt8] {
        try await read(what, timeout: timeout, untilClosed: true) { buffer in buffer.readBytes(length: buffer.readableBytes) }
    }

    public func close() {
        channel.close(promise: nil)
    }
}

/// Holds the bytes received so far and at most one pending read. Touched
/// only on the channel's event loop.
final class Receiver: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var buffer = ByteBuffer()
    private var closed = false
    private(set) var failureText: String?
    private var pending: (() -> Bool)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        poll()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        poll()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if failureText == nil { failureText = "\(error)" }
        closed = true
        poll()
        context.close(promise: nil)
    }

    /// Runs the pending read; it returns true once it completed its promise.
    private func poll() {
        if let pending, pending() { self.pending = nil }
    }

    func wait<T>(parse: @escaping (inout ByteBuffer) throws -> T?, untilClosed: Bool,
                 promise: EventLoopPromise<T>, endpoint: String, what: String) {
        pending = { [unowned self] in
            if untilClosed, !self.closed { return false }
            do {
                var copy = self.buffer
                if let value = try parse(&copy) {
                    self.buffer = copy
                    promise.succeed(value)
                    return true
                }
            } catch {
                promise.fail(MailError(endpoint, "bad \(what): \(error)"))
                return true
            }
            if self.closed {
                let reason = self.failureText.map { "connection failed (\($0))" } ?? "connection closed by server"
                promise.fail(MailError(endpoint, "\(reason) while waiting for \(what)"))
                return true
            }
            return false
        }
        poll()
    }

    func expire<T>(promise: EventLoopPromise<T>, error: Error) {
        pending = nil
        promise.fail(error)
    }
}
