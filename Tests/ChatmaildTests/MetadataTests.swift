import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Chatmaild

@Suite struct TokenStoreTests {
    static let user = "abcdefgh1@example.org"

    func store(_ dir: TempDir) -> TokenStore {
        dir.write("mail/\(Self.user)/password", "x")
        return TokenStore(mailboxes: Mailboxes(dir: dir.path + "/mail", domain: "example.org"))
    }

    @Test func addsRefreshesAndRemoves() throws {
        let dir = TempDir()
        let tokens = store(dir)
        #expect(tokens.tokens(Self.user) == [])
        #expect(tokens.add(Self.user, token: "t1"))
        #expect(tokens.add(Self.user, token: "t2"))
        #expect(tokens.add(Self.user, token: "t1"))
        #expect(tokens.tokens(Self.user) == ["t1", "t2"])
        let json = try #require(JSON.parse(dir.read("mail/\(Self.user)/metadata.json") ?? ""))
        guard case .object(let pairs)? = json["devicetoken"] else { Issue.record("format"); return }
        #expect(pairs.map(\.0) == ["t1", "t2"])
        tokens.remove(Self.user, token: "t1")
        #expect(tokens.tokens(Self.user) == ["t2"])
    }

    @Test func readsPythonFilesLegacyListsAndDropsExpired() {
        let dir = TempDir()
        let tokens = store(dir)
        let now = Date().timeIntervalSince1970
        dir.write("mail/\(Self.user)/metadata.json",
                  #"{"devicetoken": {"old": \#(now - 91 * 86400), "fresh": \#(now - 10), "future": \#(now + 3600)}}"#)
        #expect(tokens.tokens(Self.user) == ["fresh"])
        #expect(dir.read("mail/\(Self.user)/metadata.json")?.contains("old") == false)
        dir.write("mail/\(Self.user)/metadata.json", #"{"devicetoken": ["a", "b"]}"#)
        #expect(tokens.tokens(Self.user) == ["a", "b"])
        dir.write("mail/\(Self.user)/metadata.json", "{corrupt")
        #expect(tokens.tokens(Self.user) == [])
        #expect(tokens.add(Self.user, token: "c"))
        #expect(tokens.tokens(Self.user) == ["c"])
    }
}

@Suite struct NotifierTests {
    static let user = "abcdefgh1@example.org"

    /// A notifier whose POSTs answer from `statuses` (token → list of codes).
    final class Endpoint: @unchecked Sendable {
        let lock = NSLock()
        var statuses: [String: [Int]] = [:]
        var posted: [String] = []
        func answer(_ token: String) -> Int {
            lock.lock(); defer { lock.unlock() }
            posted.append(token)
            if var list = statuses[token], !list.isEmpty {
                let code = list.removeFirst()
                statuses[token] = list
                return code
            }
            return 200
        }
        var count: Int { lock.lock(); defer { lock.unlock() }; return posted.count }
    }

    func setup(_ dir: TempDir, endpoint: Endpoint, loop: EventLoop) -> (Notifier, TokenStore) {
        dir.write("mail/\(Self.user)/password", "x")
        let tokens = TokenStore(mailboxes: Mailboxes(dir: dir.path + "/mail", domain: "example.org"))
        try? FileManager.default.createDirectory(atPath: dir.path + "/queue", withIntermediateDirectories: true)
        let notifier = Notifier(queueDir: dir.path + "/queue", tokens: tokens, loop: loop, delayScale: 0.001) { token in
            loop.makeSucceededFuture(endpoint.answer(token))
        }
        return (notifier, tokens)
    }

    func waitUntil(_ condition: () -> Bool) async {
        for _ in 0..<3000 where !condition() { try? await Task.sleep(nanoseconds: 10_000_000) }
    }

    @Test func retriesThenSucceedsAnd410DropsTheToken() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let dir = TempDir()
        let endpoint = Endpoint()
        endpoint.statuses = ["retry": [500, 503], "gone": [410]]
        let (notifier, tokens) = setup(dir, endpoint: endpoint, loop: group.next())
        _ = tokens.add(Self.user, token: "retry")
        _ = tokens.add(Self.user, token: "gone")
        notifier.newMessage(for: Self.user)
        await waitUntil { endpoint.count >= 4 && (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/queue"))?.isEmpty == true }
        #expect(endpoint.posted.filter { $0 == "retry" }.count == 3)
        #expect(endpoint.posted.filter { $0 == "gone" }.count == 1)
        #expect(tokens.tokens(Self.user) == ["retry"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/queue") == [])
    }

    @Test func givesUpAfterFiveLevels() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let dir = TempDir()
        let endpoint = Endpoint()
        endpoint.statuses = ["down": Array(repeating: 500, count: 10)]
        let (notifier, tokens) = setup(dir, endpoint: endpoint, loop: group.next())
        _ = tokens.add(Self.user, token: "down")
        notifier.newMessage(for: Self.user)
        await waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/queue"))?.isEmpty == true }
        // Levels 0-4 each try once: the Python relay's max_tries of 5.
        #expect(endpoint.posted.count == 5)
    }

    @Test func recoversQueueAfterRestartAndDropsJunk() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let dir = TempDir()
        let endpoint = Endpoint()
        let (notifier, _) = setup(dir, endpoint: endpoint, loop: group.next())
        let now = Date().timeIntervalSince1970
        dir.write("queue/aaaa", "\(Self.user)\n\(now - 60)\nkept-token")
        dir.write("queue/bbbb", "\(Self.user)\n\(now - 6 * 3600)\nexpired-token")
        dir.write("queue/cccc.tmp", "half written")
        dir.write("queue/dddd", "junk")
        notifier.recover()
        await waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/queue"))?.isEmpty == true }
        #expect(endpoint.posted == ["kept-token"])
    }

    @Test func retryDelaysMatchThePythonRelay() {
        #expect((0..<5).map { Notifier.delay(level: $0) } == [0, 8, 64, 512, 4096])
    }
}

@Suite struct HTTPPosterTests {
    @Test func parsesURLs() {
        #expect(HTTPPoster.parse("https://notifications.delta.chat/notify")
                == .init(tls: true, host: "notifications.delta.chat", port: 443, path: "/notify"))
        #expect(HTTPPoster.parse("http://127.0.0.1:8080") == .init(tls: false, host: "127.0.0.1", port: 8080, path: "/"))
        #expect(HTTPPoster.parse("http://[::1]:81/x") == .init(tls: false, host: "::1", port: 81, path: "/x"))
        #expect(HTTPPoster.parse("ftp://x/") == nil)
        #expect(HTTPPoster.parse("http://host:99999/") == nil)
    }

    @Test func postsTheTokenAsBodyAndReadsTheStatus() async throws {
        let server = try OneShotHTTPServer(status: "410 Gone")
        defer { server.close() }
        let group = MultiThreadedEventLoopGroup.singleton
        let poster = try HTTPPoster(url: "http://127.0.0.1:\(server.port)/notify", group: group)
        let code = try await poster.post("the-token").get()
        #expect(code == 410)
        let request = await server.received()
        #expect(request.hasPrefix("POST /notify HTTP/1.1\r\n"))
        #expect(request.hasSuffix("\r\n\r\nthe-token"))
    }

    @Test func refusedConnectionIsAnError() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        // A port that was bound but never listened on refuses connections.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let port = OneShotHTTPServer.bindLoopback(fd)
        defer { Glibc.close(fd) }
        let poster = try HTTPPoster(url: "http://127.0.0.1:\(port)/", group: group)
        await #expect(throws: (any Error).self) { try await poster.post("x").get() }
    }
}

/// A loopback TCP server answering one request with a fixed status. Its
/// thread owns the socket until it ends; `close` waits for that, so a
/// closed descriptor number (reused by another test) is never touched.
final class OneShotHTTPServer: @unchecked Sendable {
    let fd: Int32
    let port: Int
    private var request = ""
    private let done = DispatchGroup()

    init(status: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        port = Self.bindLoopback(fd)
        listen(fd, 4)
        done.enter()
        Thread.detachNewThread { [self] in
            defer { done.leave() }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) == 1 else { return }
            let conn = accept(fd, nil, nil)
            guard conn >= 0 else { return }
            defer { Glibc.close(conn) }
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var data = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(conn, &buf, buf.count)
                if n <= 0 { break }
                data += buf[0..<n]
                let text = String(decoding: data, as: UTF8.self)
                if let r = text.range(of: "\r\n\r\n"),
                   let lenLine = text.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                   let n = Int(lenLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)),
                   text[r.upperBound...].utf8.count >= n { break }
            }
            request = String(decoding: data, as: UTF8.self)
            let reply = "HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = reply.withCString { write(conn, $0, strlen($0)) }
        }
    }

    /// Binds to 127.0.0.1 on a free port and returns the port.
    static func bindLoopback(_ fd: Int32) -> Int {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// The request, once answered (waits off the Swift concurrency pool).
    func received() async -> String {
        await withCheckedContinuation { c in
            Thread.detachNewThread { self.done.wait(); c.resume(returning: self.request) }
        }
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        done.wait()
        Glibc.close(fd)
    }
}
