#if canImport(Glibc)
import Glibc
#endif

// Small POSIX file helpers. chatmaild avoids Foundation to stay small in
// memory and in size as a static binary.
enum Files {
    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // Sized from fstat: password and metadata files are small, and
        // doveauth reads one per lookup.
        var st = Glibc.stat()
        let expected = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
        var out = [UInt8](repeating: 0, count: max(expected + 1, 256))
        var used = 0
        while true {
            if used == out.count { out.append(contentsOf: [UInt8](repeating: 0, count: out.count)) }
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + used, $0.count - used) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            used += n
            // Our files are replaced by rename, never grown in place: once
            // fstat's size is read, skip the extra read() that reports EOF.
            if expected > 0 && used >= expected { break }
        }
        out.removeSubrange(used...)
        return out
    }

    static func readString(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes `bytes` to `path.tmp-<random>` and renames it over `path`, so
    /// readers see the old or the new content, never a partial file.
    @discardableResult
    static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) -> Bool {
        let tmp = path + ".tmp-\(UInt32.random(in: 0..<10_000_000))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        var ok = writeAll(fd, bytes)
        if fchmod(fd, mode) != 0 { ok = false }
        close(fd)
        if ok && rename(tmp, path) == 0 { return true }
        unlink(tmp)
        return false
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    static func stat(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return posixStat(path, &st) == 0 ? st : nil
    }

    static func lstat(_ path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return posixLstat(path, &st) == 0 ? st : nil
    }

    static func exists(_ path: String) -> Bool { stat(path) != nil }

    static func isDirectory(_ path: String) -> Bool {
        guard let st = stat(path) else { return false }
        return st.st_mode & S_IFMT == S_IFDIR
    }

    /// mkdir -p. Returns false if the directory does not exist afterwards.
    @discardableResult
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) -> Bool {
        if isDirectory(path) { return true }
        var prefix = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + part
            if mkdir(prefix, mode) != 0 && errno != EEXIST { return false }
        }
        return isDirectory(path)
    }

    /// Names in a directory, without "." and "..".
    static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Sets atime and mtime to `seconds` since the epoch.
    static func setTimes(_ path: String, _ seconds: Int) -> Bool {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        return utimensat(AT_FDCWD, path, &times, 0) == 0
    }

    static func touch(_ path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    /// Deletes a file or a whole tree; does not follow symlinks.
    @discardableResult
    static func removeTree(_ path: String) -> Bool {
        guard let st = lstat(path) else { return false }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in list(path) ?? [] { removeTree(path + "/" + name) }
            return rmdir(path) == 0
        }
        return unlink(path) == 0
    }

    static var errorText: String { String(cString: strerror(errno)) }
}

private func posixStat(_ path: String, _ st: UnsafeMutablePointer<stat>) -> Int32 { stat(path, st) }
private func posixLstat(_ path: String, _ st: UnsafeMutablePointer<stat>) -> Int32 { lstat(path, st) }

/// An exclusive flock on a lock file, waiting at most `timeout` seconds.
/// flock conflicts between separate open() calls, so it also serialises
/// threads of this process, not only separate processes.
final class FileLock {
    private let fd: Int32

    init?(path: String, timeout: Double = 5) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        var waited = 0.0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if waited >= timeout { close(fd); return nil }
            usleep(2000)
            waited += 0.002
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Seconds since the epoch, as Python's time.time().
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
