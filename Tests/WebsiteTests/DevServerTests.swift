import Foundation
import Testing
import TestSupport
@testable import Website
import Support
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.0 request over a loopback socket; returns status line and body.
func httpGet(port: Int, _ target: String) throws -> (status: String, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw DevServer.Failure(description: "connect failed") }
    let request = Array("GET \(target) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        response += buf[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return (text, "") }
    let status = String(text[..<split.lowerBound].split(separator: "\r\n").first ?? "")
    return (status, String(text[split.upperBound...]))
}

@Suite struct DevServerTests {
    @Test func servesTheFolderAndNothingOutsideIt() throws {
        let root = try scratchDir("serve")
        try "<h1>hello</h1>".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        try "secret".write(toFile: root + "/.env", atomically: true, encoding: .utf8)
        let server = try DevServer(root: root, port: 0)
        server.start()
        #expect(server.port > 0)
        #expect(server.url == "http://127.0.0.1:\(server.port)/")

        let index = try httpGet(port: server.port, "/")
        #expect(index.status == "HTTP/1.0 200 OK")
        #expect(index.body == "<h1>hello</h1>")
        #expect(try httpGet(port: server.port, "/index.html?x=1").body == "<h1>hello</h1>")
        #expect(try httpGet(port: server.port, "/missing.html").status == "HTTP/1.0 404 Not Found")
        #expect(try httpGet(port: server.port, "/../etc/passwd").status == "HTTP/1.0 404 Not Found")
        #expect(try httpGet(port: server.port, "/%2e%2e/etc/passwd").status == "HTTP/1.0 404 Not Found")
        #expect(try httpGet(port: server.port, "/.env").status == "HTTP/1.0 404 Not Found")
    }

    @Test func generationMovesWhenPagesChange() throws {
        let server = try DevServer(root: try scratchDir("gen"), port: 0)
        server.start()
        let before = try httpGet(port: server.port, "/__webdev/generation").body
        server.pagesChanged()
        let after = try httpGet(port: server.port, "/__webdev/generation").body
        #expect(before == "0")
        #expect(after == "1")
        #expect(try httpGet(port: server.port, "/__webdev/reload.js").body.contains("location.reload()"))
    }

    @Test func busyPortIsAClearError() throws {
        let first = try DevServer(root: try scratchDir("busy"), port: 0)
        #expect { try DevServer(root: "/", port: first.port) } throws: {
            "\($0)".hasPrefix("cannot listen on 127.0.0.1:\(first.port):") && "\($0)".contains("--port")
        }
    }

    @Test func watcherSeesAddsEditsAndRemovals() throws {
        let dir = try scratchDir("watch")
        let watcher = SourceWatcher(paths: [dir])
        let empty = watcher.snapshot()
        try "a".write(toFile: dir + "/a.md", atomically: true, encoding: .utf8)
        try "x".write(toFile: dir + "/.a.md.swp", atomically: true, encoding: .utf8)
        let one = watcher.snapshot()
        #expect(SourceWatcher.changes(from: empty, to: one) == [dir + "/a.md"])
        try "ab".write(toFile: dir + "/a.md", atomically: true, encoding: .utf8)
        let two = watcher.snapshot()
        #expect(SourceWatcher.changes(from: one, to: two) == [dir + "/a.md"])
        try FileManager.default.removeItem(atPath: dir + "/a.md")
        #expect(SourceWatcher.changes(from: two, to: watcher.snapshot()) == [dir + "/a.md"])
    }
}
