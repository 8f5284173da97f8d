import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Chatmaild

/// A UNIX listener that answers one connection with `reply`, or never
/// answers when `reply` is nil. `close` waits for its thread, so the
/// descriptor is never used after another test got its number.
final class UnixListener: @unchecked Sendable {
    let fd: Int32
    private let done = DispatchGroup()
    init(path: String, reply: String?) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(fd, 4)
        guard let reply else { return }
        done.enter()
        Thread.detachNewThread { [done] in
            defer { done.leave() }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 10_000) == 1 else { return }
            let conn = accept(fd, nil, nil)
            guard conn >= 0 else { return }
            _ = reply.withCString { write(conn, $0, strlen($0)) }
            Glibc.close(conn)
        }
    }
    func close() { shutdown(fd, Int32(SHUT_RDWR)); done.wait(); Glibc.close(fd) }
}

@Suite struct TurnClientTests {
    let group = MultiThreadedEventLoopGroup.singleton

    @Test func readsOneCredentialsLine() async throws {
        let dir = TempDir()
        let listener = UnixListener(path: dir.path + "/turn.socket", reply: "testuser:testpass\nignored\n")
        defer { listener.close() }
        let creds = try await TurnClient(socketPath: dir.path + "/turn.socket", group: group).credentials().get()
        #expect(creds == "testuser:testpass")
    }

    @Test func silentSocketTimesOut() async throws {
        let dir = TempDir()
        let listener = UnixListener(path: dir.path + "/turn.socket", reply: nil)
        defer { listener.close() }
        var client = TurnClient(socketPath: dir.path + "/turn.socket", group: group)
        client.timeout = .milliseconds(300)
        let start = Date()
        await #expect(throws: TurnClient.Failure.self) { try await client.credentials().get() }
        // Generous bound: the point is that a silent peer cannot pin the
        // lookup forever; exact timing belongs in benchmarks (a loaded CI
        // machine took 6.7 s for the 0.3 s timeout).
        #expect(Date().timeIntervalSince(start) < 60)
    }

    @Test func missingSocketFails() async {
        let dir = TempDir()
        await #expect(throws: (any Error).self) {
            try await TurnClient(socketPath: dir.path + "/none.socket", group: group).credentials().get()
        }
    }

    @Test func metadataAnswersTurnOrNotFound() async throws {
        let dir = TempDir()
        let config = testConfig(dir, extra: "turn_socket_path = \(dir.path)/turn.socket")
        let service = try MetadataService.make(config: config)
        let key = "shared/x/" + MetadataService.serverPrefix + "turn"
        func ask() async -> DictLookupResult {
            await withCheckedContinuation { c in service.asyncLookup(key: key, user: nil)!.start { c.resume(returning: $0) } }
        }
        #expect(await ask() == .notFound)  // no TURN server
        let listener = UnixListener(path: dir.path + "/turn.socket", reply: "u:p\n")
        defer { listener.close() }
        #expect(await ask() == .found("example.org:3478:u:p"))
        #expect(service.lookup(key: "shared/x/" + MetadataService.serverPrefix + "maxsmtprecipients", user: nil) == .found("1000"))
        #expect(service.lookup(key: "shared/x/" + MetadataService.serverPrefix + "appversions", user: nil) == .notFound)
        #expect(service.lookup(key: "shared/x/other", user: nil) == .notFound)
    }
}
