#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Minimal POSIX file helpers: ChatmailConfig is shared with the static
// chatmaild binary, so it stays free of Foundation.

public func readTextFile(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count {
            if ferror(f) != 0 { return nil }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Why a file could not be read, in words an operator understands.
func fileProblem(_ path: String) -> String {
    var st = stat()
    if stat(path, &st) != 0 {
        return errno == ENOENT ? "file not found" : "cannot read: \(String(cString: strerror(errno)))"
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { return "is a directory, expected a chatmail.ini file" }
    return "cannot read: \(String(cString: strerror(errno)))"
}

public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}
