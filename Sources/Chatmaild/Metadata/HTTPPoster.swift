import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// POSTs one body to a URL and reports the HTTP status code. A deliberately
/// small HTTP/1.1 client (one request per connection, `Connection: close`):
/// the notifier needs only the status line.
final class HTTPPoster: @unchecked Sendable {
    struct Target: Equatable {
        var tls: Bool, host: String, port: Int, path: String
    }

    enum Failure: Error, CustomStringConvertible {
        case badURL(String), badResponse, timeout
        var description: String {
            switch self {
            case .badURL(let u): return "not an http(s) URL: \(u)"
            case .badResponse: return "malformed HTTP response"
            case .timeout: return "timeout"
            }
        }
    }

    let target: Target
    let group: EventLoopGroup
    let timeout: TimeAmount
    /// Made on first use: loading the system's CA roots costs memory that
    /// an idle relay without pending notifications need not hold.
    private let sslContext = NIOLockedValueBox<NIOSSLContext?>(nil)

    init(url: String, group: EventLoopGroup, timeout: TimeAmount = .seconds(60)) throws {
        guard let t = Self.parse(url) else { throw Failure.badURL(url) }
        target = t
        self.group = group
        self.timeout = timeout
    }

    private func tlsContext() throws -> NIOSSLContext {
        try sslContext.withLockedValue { ctx in
            if let ctx { return ctx }
            let made = try NIOSSLContext(configuration: .makeClientConfiguration())
            ctx = made
            return made
        }
    }

    static func parse(_ url: String) -> Target? {
        let tls: Bool
        var rest: Substring
        if url.hasPrefix("https://") { tls = true; rest = url.dropFirst(8) }
        else if url.hasPrefix("http://") { tls = false; rest = url.dropFirst(7) }
        else { return nil }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let hostPort = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        rest = hostPort
        var host = String(rest)
        var port = tls ? 443 : 80
        if rest.hasPrefix("[") {  // IPv6 literal
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()) else { return nil }; port = p }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let p = Int(rest[rest.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return Target(tls: tls, host: host, port: port, path: path)
    }

    func post(_ body: String) -> EventLoopFuture<Int> {
        let loop = group.next()
        let promise = loop.makePromise(of: Int.self)
        let target = self.target
        let ssl: NIOSSLContext?
        do {
            ssl = target.tls ? try tlsContext() : nil
        } catch {
            promise.fail(error)
            return promise.futureResult
        }
        var hostHeader = target.host.contains(":") ? "[\(target.host)]" : target.host
        if target.port != (target.tls ? 443 : 80) { hostHeader += ":\(target.port)" }
        let request = "POST \(target.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: chatmaild\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let ssl {
                        let name = target.host.first?.isNumber == true || target.host.contains(":") ? nil : target.host
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: ssl, serverHostname: name))
                    }
                    try channel.pipeline.syncOperations.addHandler(StatusLineHandler(promise: promise))
                }
            }
        bootstrap.connect(host: target.host, port: target.port).whenComplete { result in
            switch result {
            case .failure(let error): promise.fail(error)
            case .success(let channel):
                let deadline = loop.scheduleTask(in: self.timeout) {
                    promise.fail(Failure.timeout)
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in
                    deadline.cancel()
                    channel.close(promise: nil)
                }
                channel.writeAndFlush(channel.allocator.buffer(string: request), promise: nil)
            }
        }
        return promise.futureResult
    }
}

/// Reads until the status line is complete and fulfils the promise with the code.
private final class StatusLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Int>
    var received: [UInt8] = []
    var done = false

    init(promise: EventLoopPromise<Int>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var buf = unwrapInboundIn(data)
        received += buf.readBytes(length: buf.readableBytes) ?? []
        guard let end = received.firstIndex(of: UInt8(ascii: "\n")) else {
            if received.count > 8192 { finish(.failure(HTTPPoster.Failure.badResponse)) }
            return
        }
        let line = String(decoding: received[..<end], as: UTF8.self)
        let fields = line.split(separator: " ")
        if fields.count >= 2, fields[0].hasPrefix("HTTP/"), let code = Int(fields[1]) {
            finish(.success(code))
        } else {
            finish(.failure(HTTPPoster.Failure.badResponse))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(HTTPPoster.Failure.badResponse))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<Int, Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }
}
