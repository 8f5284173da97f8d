import Foundation
import Testing
@testable import Chatmaild

/// A blocking UNIX-socket client speaking raw dict protocol lines.
final class DictClient {
    let fd: Int32
    var pending = [UInt8]()

    init?(path: String) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if ok != 0 { close(fd); return nil }
    }
    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }
    func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            // MSG_NOSIGNAL: the server may close first; no SIGPIPE for the test process.
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// The next reply line, or nil on EOF/timeout.
    func line() -> String? {
        while true {
            if let nl = pending.firstIndex(of: 10) {
                let l = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                return l
            }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &buf, buf.count)
            if n <= 0 { return nil }
            pending += buf[0..<n]
        }
    }
}

@Suite(.serialized) struct DictServerTests {
    static let user = "abcdefgh1@example.org"

    func withServer(_ body: (String, TempDir) throws -> Void) throws {
        let dir = TempDir()
        let socket = dir.path + "/auth.socket"
        let server = DictServer(socketPath: socket, threads: 2)
        try server.start(service: testAuth(testConfig(dir), dir: dir))
        defer { server.stop() }
        try body(socket, dir)
    }

    /// SIGTERM's graceful stop: a request already read is answered before
    /// the drain returns (a doveauth creating an account finishes it).
    @Test func gracefulStopAnswersWhatWasRead() throws {
        let dir = TempDir()
        let socket = dir.path + "/slow.socket"
        let server = DictServer(socketPath: socket, threads: 2)
        try server.start(service: SlowLookups())
        defer { server.stop() }
        let client = try #require(DictClient(path: socket))
        client.send("H3\t2\t0\t\tslow\nLshared/a\n")
        let deadline = Date().addingTimeInterval(5)
        while server.drain.pending == 0, Date() < deadline { usleep(1000) }
        #expect(server.drain.pending == 1)
        server.channel?.close(promise: nil)
        #expect(server.drain.stopReadingAndWait(timeout: 5) == 0)
        #expect(client.line() == "Oslow answer")
    }

    @Test func answersInOrderOnManyConnections() throws {
        try withServer { socket, dir in
            let first = try #require(DictClient(path: socket))
            first.send("H3\t2\t0\t\tauth\nLshared/passdb/password123\"\(Self.user)\t\(Self.user)\n")
            #expect(first.line()?.hasPrefix("O{\"addr\": \"\(Self.user)\"") == true)
            let clients = (0..<16).compactMap { _ in DictClient(path: socket) }
            #expect(clients.count == 16)
            for c in clients { c.send("Lshared/userdb/\(Self.user)\t\(Self.user)\nLshared/userdb/nobody123@example.org\nI0\t0\tshared/userdb/\n") }
            for c in clients {
                #expect(c.line()?.hasPrefix("O{") == true)
                #expect(c.line() == "N")
                #expect(c.line() == "Oshared/userdb/\(Self.user)\t")
                #expect(c.line() == "")
            }
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try withServer { socket, dir in
            let client = try #require(DictClient(path: socket))
            // Creations (slow: crypt) run on the pool and finish in any
            // order; the replies must still come back as requested.
            var lines = ""
            let users = (0..<30).map { "pipe\(String(format: "%05d", $0))@example.org" }
            for (i, u) in users.enumerated() {
                lines += "Lshared/passdb/password123\"\(u)\t\(u)\n"
                if i % 3 == 0 { lines += "Lshared/userdb/nobody123@example.org\n" }
                if i % 5 == 0 { lines += "B\(i)\tu\nC\(i)\n" }
            }
            client.send(lines)
            for (i, u) in users.enumerated() {
                #expect(client.line()?.hasPrefix("O{\"addr\": \"\(u)\"") == true, "reply \(i)")
                if i % 3 == 0 { #expect(client.line() == "N") }
                if i % 5 == 0 { #expect(client.line() == "O") }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/mail").count == 30)
        }
    }

    @Test func junkAndHugeLinesDoNotDisturbOtherClients() throws {
        try withServer { socket, dir in
            let good = try #require(DictClient(path: socket))
            let junk = try #require(DictClient(path: socket))
            junk.send([0, 255, 254, 1, 9, 10] + Array("Lshared/passdb/x\\\nZ\nB\nC\nS1\tk\tv\nL\nI\n".utf8))
            junk.send("Lshared/userdb/\(Self.user)\n")
            #expect(junk.line() == "F")  // the lone backslash
            #expect(junk.line() == "F")  // commit of nothing
            #expect(junk.line() == "F")  // "L" with an empty key
            #expect(junk.line() == "N")  // the user does not exist yet
            let huge = try #require(DictClient(path: socket))
            huge.send(Array(repeating: UInt8(ascii: "L"), count: 200_000))
            #expect(huge.line() == nil)  // closed: longer than Dovecot ever sends
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<50 {
                guard let c = DictClient(path: socket) else { continue }
                c.send((0..<Int.random(in: 1..<3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            good.send("Lshared/passdb/password123\"\(Self.user)\t\(Self.user)\n")
            #expect(good.line()?.hasPrefix("O{") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/mail") == [Self.user])
        }
    }
}

/// Every lookup takes 300 ms on the pool.
struct SlowLookups: DictService {
    func lookup(key: String, user: String?) -> DictLookupResult {
        usleep(300_000)
        return .found("slow answer")
    }
    func iterate(path: String, user: String?) -> [(String, String)]? { nil }
    func set(user: String?, key: String, value: String) -> Bool { false }
    func asyncLookup(key: String, user: String?) -> AsyncLookup? { nil }
    var concurrentLookups: Bool { true }
    func isSlow(key: String, user: String?) -> Bool { true }
}
