/// A one-request HTTPS client (HTTP/1.0, so the body ends when the server
/// closes): enough for the relay's `/new` account endpoint.
public enum HTTPSClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public static func request(_ method: String, host: String, port: Int = 443, path: String,
                               trust: TLSTrust, timeout: Double = 20) async throws -> Response {
        let connection = try await MailConnection.connect(host: host, port: port, tls: trust, timeout: timeout)
        defer { connection.close() }
        try await connection.write("\(method) \(path) HTTP/1.0\r\nHost: \(host)\r\nContent-Length: 0\r\nUser-Agent: cmdeploy-test\r\n\r\n")
        let raw = try await connection.readUntilClosed("HTTP response to \(method) \(path)")
        return try parse(raw, endpoint: connection.endpoint)
    }

    /// Splits status line, headers and body.
    static func parse(_ raw: [UInt8], endpoint: String) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var split = raw.count
        if raw.count >= 4 {
            for i in 0...(raw.count - 4) where Array(raw[i..<i + 4]) == separator { split = i; break }
        }
        let head = String(decoding: raw[..<split], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let status = Int(fields[1]) else {
            throw MailError(endpoint, "not an HTTP response: \(statusLine.prefix(80).debugDescription)")
        }
        let body = split + 4 <= raw.count ? Array(raw[(split + 4)...]) : []
        return Response(status: status, body: body)
    }
}
