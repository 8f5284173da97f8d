#if canImport(Glibc)
import Glibc
#endif

/// systemd socket activation (sd_listen_fds): the dict services' .socket
/// units hold the listening socket, so it stays open while a service
/// restarts. Dovecot's lookups then wait in the listen queue for the new
/// process instead of failing (a failed userdb lookup after a good password
/// check becomes an internal login failure, and the client is dropped).
enum SocketActivation {
    /// The first descriptor systemd passes.
    static let firstDescriptor: CInt = 3

    /// The listening socket systemd passed for `path`, nil when the process
    /// was started without one. Throws when what was passed does not fit:
    /// more than one socket, or a socket bound to another path.
    static func listener(for path: String) throws -> CInt? {
        guard let pid = getenv("LISTEN_PID").map({ String(cString: $0) }),
              let count = getenv("LISTEN_FDS").map({ String(cString: $0) }),
              pid == String(getpid())
        else { return nil }
        // Not for children (a service starts none, but the variables are
        // meant for this process only).
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        guard count == "1" else {
            throw ServiceError("systemd passed \(count) sockets (LISTEN_FDS); the .socket unit must have exactly one ListenStream=")
        }
        let fd = firstDescriptor
        let bound = boundPath(fd)
        guard let bound else {
            throw ServiceError("the socket systemd passed (descriptor 3) is not a listening UNIX stream socket")
        }
        guard bound == path else {
            throw ServiceError("the socket systemd passed is bound to \(bound), but the service was told \(path); make ListenStream= and the service's socket argument the same")
        }
        return fd
    }

    /// The path a listening UNIX stream socket is bound to, nil for anything else.
    private static func boundPath(_ fd: CInt) -> String? {
        var type: CInt = 0, listening: CInt = 0
        var len = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0, type == CInt(SOCK_STREAM.rawValue) else { return nil }
        len = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0, listening != 0 else { return nil }
        var addr = sockaddr_un()
        var addrLen = socklen_t(MemoryLayout<sockaddr_un>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &addrLen) == 0 }
        }
        guard ok, addr.sun_family == sa_family_t(AF_UNIX) else { return nil }
        return withUnsafeBytes(of: addr.sun_path) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
