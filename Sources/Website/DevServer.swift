import Support
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The small HTTP server behind `cmdeploy webdev`: serves one folder over
/// plain HTTP/1.0 (GET and HEAD, one request per connection) and the live
/// reload endpoints. It is a development aid for one browser, so each
/// connection gets a thread; it binds to loopback unless told otherwise.
public final class DevServer: @unchecked Sendable {
    public let root: String
    public let port: Int
    public let host: String
    private let listener: Int32
    private let lock = NSLock()
    private var generation = 0

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Binds at once so the caller can print the URL; `port` 0 picks a free one.
    public init(root: String, host: String = "127.0.0.1", port: Int) throws(Failure) {
        self.root = root
        self.host = host
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw Failure(description: "--bind \(host): not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "cannot listen on \(host):\(port): \(reason)"
                          + (port != 0 ? " (choose another with --port, or --port 0 for any free port)" : ""))
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.listener = fd
    }

    public var url: String { "http://\(host):\(port)/" }

    /// Tells open pages to reload (they poll the generation number).
    public func pagesChanged() {
        lock.lock(); generation += 1; lock.unlock()
    }

    private var currentGeneration: Int {
        lock.lock(); defer { lock.unlock() }
        return generation
    }

    /// Accepts connections on a background thread until the process ends.
    public func start() {
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return
                }
                Thread.detachNewThread { [self] in
                    handle(client)
                    close(client)
                }
            }
        }
    }

    private func handle(_ fd: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = readRequestHead(fd) else { return }
        let parts = request.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET" || parts[0] == "HEAD" else {
            respond(fd, status: "405 Method Not Allowed", type: "text/plain", body: Array("only GET and HEAD\n".utf8))
            return
        }
        let head = parts[0] == "HEAD"
        let target = String(parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        switch target {
        case "/__webdev/generation":
            respond(fd, status: "200 OK", type: "text/plain", body: Array("\(currentGeneration)".utf8), head: head)
        case "/__webdev/reload.js":
            respond(fd, status: "200 OK", type: "text/javascript", body: Array(Self.reloadScript.utf8), head: head)
        default:
            serveFile(fd, target: target, head: head)
        }
    }

    private func serveFile(_ fd: Int32, target: String, head: Bool) {
        var rel = target.removingPercentEncoding ?? target
        if rel.hasSuffix("/") { rel += "index.html" }
        // Refuse anything that could leave the served folder.
        let components = rel.split(separator: "/")
        guard !components.contains(where: { $0 == ".." || $0.hasPrefix(".") }) else {
            respond(fd, status: "404 Not Found", type: "text/plain", body: Array("not found\n".utf8), head: head)
            return
        }
        let path = root + "/" + components.joined(separator: "/")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let data = FileManager.default.contents(atPath: path) else {
            respond(fd, status: "404 Not Found", type: "text/plain", body: Array("not found: \(rel)\n".utf8), head: head)
            return
        }
        respond(fd, status: "200 OK", type: Self.contentType(path), body: Array(data), head: head)
    }

    private func readRequestHead(_ fd: Int32) -> String? {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while buffer.count < 16384 {
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return nil }
            buffer += chunk[0..<n]
            if let end = buffer.firstRange(of: [13, 10, 13, 10]) ?? buffer.firstRange(of: [10, 10]) {
                let line = buffer[..<end.lowerBound].split(separator: 10).first ?? []
                return String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return nil
    }

    private func respond(_ fd: Int32, status: String, type: String, body: [UInt8], head: Bool = false) {
        let header = "HTTP/1.0 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        var out = Array(header.utf8)
        if !head { out += body }
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "txt", "md": return "text/plain; charset=utf-8"
        case "json": return "application/json"
        case "xml": return "application/xml"
        default: return "application/octet-stream"
        }
    }

    /// Polls the generation number and reloads the page when it moves.
    /// While the server is down it keeps quiet and waits.
    static let reloadScript = """
        (function () {
          var seen = null;
          function poll() {
            fetch("/__webdev/generation", { cache: "no-store" })
              .then(function (r) { return r.text(); })
              .then(function (g) {
                if (seen !== null && g !== seen) { location.reload(); return; }
                seen = g;
                setTimeout(poll, 250);
              })
              .catch(function () { setTimeout(poll, 1000); });
          }
          poll();
        })();

        """
}
