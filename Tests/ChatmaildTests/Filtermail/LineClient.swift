#if canImport(Glibc)
import Glibc
import Foundation
#endif

/// A blocking SMTP client on a plain socket: the test side talks bytes,
/// so pipelining and malformed input are exactly what the test writes.
final class LineClient {
    private let fd: Int32
    private var buffer: [UInt8] = []

    struct Reply: Equatable {
        var code: Int
        var text: String
    }

    init(port: Int, readTimeoutSeconds: Int = 10) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(rc == 0, "connect to 127.0.0.1:\(port) failed")
        var timeout = timeval(tv_sec: readTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(bytes: Array(text.utf8)) }

    func send(bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Sends DATA-ready message bytes dot-stuffed, with the final dot.
    func sendMessage(_ message: [UInt8]) {
        send(bytes: Self.dotStuffed(message) + Array(".\r\n".utf8))
    }

    /// RFC 5321 §4.5.2, written apart from filtermail's own code.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var atLineStart = true
        for byte in message {
            if atLineStart, byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == 10
        }
        return out
    }

    /// The next reply (multi-line joined by "\n"), nil on EOF or timeout.
    func reply() -> Reply? {
        var lines: [String] = []
        while let line = readLine() {
            guard line.count >= 3, let code = Int(line.prefix(3)) else { return nil }
            lines.append(String(line.dropFirst(4)))
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " {
                return Reply(code: code, text: lines.joined(separator: "\n"))
            }
        }
        return nil
    }

    /// True when the server closed the connection: EOF, or a reset when
    /// it closed with our bytes still unread. A read timeout is not.
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        guard buffer.isEmpty else { return false }
        let n = read(fd, &byte, 1)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    /// One HTTP/1.1 response: status code and body (by Content-Length).
    func httpResponse() -> (status: Int, body: String)? {
        guard let statusLine = readLine(), statusLine.hasPrefix("HTTP/1."),
              let status = Int(statusLine.split(separator: " ")[1]) else { return nil }
        var length = 0
        while let line = readLine(), !line.isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                length = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        while buffer.count < length {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
        }
        let body = String(decoding: buffer.prefix(length), as: UTF8.self)
        buffer.removeFirst(length)
        return (status, body.trimmingCharacters(in: .newlines))
    }

    private func readLine() -> String? {
        while true {
            if let lf = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<lf])
                buffer.removeFirst(lf + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
        }
    }
}
