import Support
import CLibSSH2
#if canImport(Glibc)
import Glibc
#endif

let libssh2Ready: Void = {
    _ = libssh2_init(0)
}()

/// A libssh2 session in non-blocking mode on a TCP socket. Every libssh2
/// call goes through `retry`, which waits with poll() in the direction
/// libssh2 asks for whenever the call would block, so nothing spins and
/// every wait ends at its deadline. The same waits send keepalives and
/// notice a peer that stopped answering them.
final class SSHSession {
    let socket: Int32
    let raw: OpaquePointer
    let label: String
    private(set) var dead: String?
    private var lastInbound = monotonicSeconds()
    private var keepaliveInterval: Double = 0
    private var keepaliveCountMax = 3

    init(socket: Int32, label: String) throws {
        _ = libssh2Ready
        guard let raw = cssh_session_init() else {
            Glibc.close(socket)
            throw RemoteError.ssh(host: label, detail: "libssh2 could not create a session")
        }
        self.socket = socket
        self.raw = raw
        self.label = label
        libssh2_session_set_blocking(raw, 0)
    }

    deinit {
        libssh2_session_free(raw)
        Glibc.close(socket)
    }

    /// Sends a keepalive after `interval` idle seconds; the connection is
    /// declared lost after `countMax` intervals without any inbound data.
    func enableKeepalive(interval: Double, countMax: Int) {
        guard interval > 0 else { return }
        keepaliveInterval = interval
        keepaliveCountMax = max(1, countMax)
        libssh2_keepalive_config(raw, 1, UInt32(max(1, interval.rounded())))
        lastInbound = monotonicSeconds()
    }

    /// Starts the keepalive clock afresh for a new operation: time spent
    /// idle between commands is not silence from the server.
    func beginOperation() {
        lastInbound = monotonicSeconds()
    }

    /// Why a wait gave up, before it is turned into an operator's message.
    enum WaitFailure: Error {
        case deadline
        case lost(String)
    }

    /// Blocks until the socket is ready in the direction libssh2 last
    /// needed, or the deadline passes.
    func waitSocket(deadline: Deadline) throws {
        if let dead { throw WaitFailure.lost(dead) }
        var events = Int16(POLLIN)
        if libssh2_session_block_directions(raw) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
            events |= Int16(POLLOUT)
        }
        var cap: Int32? = nil
        if keepaliveInterval > 0 {
            var next: Int32 = 0
            _ = libssh2_keepalive_send(raw, &next)
            cap = Int32(max(1, next)) * 1000
        }
        var fd = pollfd(fd: socket, events: events, revents: 0)
        let ready = poll(&fd, 1, deadline.pollMilliseconds(cap: cap))
        let now = monotonicSeconds()
        if ready > 0 {
            if fd.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { lastInbound = now }
            if fd.revents & Int16(POLLNVAL) != 0 { throw markDead("socket closed") }
            return
        }
        if ready < 0 && errno != EINTR { throw markDead("poll: \(String(cString: strerror(errno)))") }
        if deadline.expired { throw WaitFailure.deadline }
        if keepaliveInterval > 0, now - lastInbound > keepaliveInterval * Double(keepaliveCountMax) {
            throw markDead("no answer to keepalives for \(formatSeconds((now - lastInbound).rounded())) s")
        }
    }

    func markDead(_ reason: String) -> WaitFailure {
        if dead == nil { dead = reason }
        return .lost(dead!)
    }

    /// Calls `body` until it stops returning EAGAIN; returns its final result.
    func retry(deadline: Deadline, _ body: () -> Int32) throws -> Int32 {
        while true {
            let rc = body()
            if rc != LIBSSH2_ERROR_EAGAIN { return rc }
            try waitSocket(deadline: deadline)
        }
    }

    /// The same for calls that return a pointer and signal EAGAIN by errno.
    func retryPointer<T>(deadline: Deadline, _ body: () -> T?) throws -> T? {
        while true {
            if let value = body() { return value }
            if libssh2_session_last_errno(raw) != LIBSSH2_ERROR_EAGAIN { return nil }
            try waitSocket(deadline: deadline)
        }
    }

    /// libssh2's message for its last error.
    var lastError: String {
        var message: UnsafeMutablePointer<CChar>? = nil
        var length: Int32 = 0
        let code = libssh2_session_last_error(raw, &message, &length, 0)
        let text = message.map { String(cString: $0) } ?? "unknown error"
        return "\(text) (libssh2 error \(code))"
    }

    /// True for error codes that mean the TCP connection is gone.
    static func isConnectionError(_ code: Int32) -> Bool {
        [LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_DISCONNECT,
         LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_SOCKET_NONE, LIBSSH2_ERROR_BANNER_RECV,
         LIBSSH2_ERROR_KEX_FAILURE, LIBSSH2_ERROR_DECRYPT].contains(code)
    }
}

/// Opens a TCP connection to host:port, trying each address in turn, each
/// attempt bounded by `deadline`. Errors name the host and say what failed.
func openTCP(host: String, port: Int, deadline: Deadline, label: String) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>? = nil
    let rc = getaddrinfo(host, String(port), &hints, &list)
    guard rc == 0, let first = list else {
        throw RemoteError.resolveFailed(host: host, detail: String(cString: gai_strerror(rc)))
    }
    defer { freeaddrinfo(list) }
    var failures: [String] = []
    var next: UnsafeMutablePointer<addrinfo>? = first
    while let ai = next {
        next = ai.pointee.ai_next
        let address = numericAddress(ai.pointee.ai_addr, ai.pointee.ai_addrlen)
        let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { failures.append("\(address): \(String(cString: strerror(errno)))"); continue }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var error: Int32 = 0
        if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 {
            error = errno
            if error == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready: Int32
                repeat { ready = poll(&p, 1, deadline.pollMilliseconds()) } while ready < 0 && errno == EINTR
                if ready == 0 {
                    error = ETIMEDOUT
                } else {
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                }
            }
        }
        if error == 0 {
            var one: Int32 = 1
            // Small request/response exchanges: do not let Nagle delay them.
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        Glibc.close(fd)
        let reason = error == ETIMEDOUT ? "timed out" : String(cString: strerror(error))
        failures.append("\(address) port \(port): \(reason)")
        if deadline.expired { break }
    }
    throw RemoteError.connectFailed(host: label, detail: failures.joined(separator: "; "))
}

private func numericAddress(_ addr: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> String {
    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    guard let addr, getnameinfo(addr, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else {
        return "?"
    }
    return String(cString: buffer)
}
