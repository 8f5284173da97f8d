#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read, in words an operator understands.
func fileProblem(_ path: String) -> String {
    var st = stat()
    if stat(path, &st) != 0 {
        return errno == ENOENT ? "file not found" : "cannot read: \(String(cString: strerror(errno)))"
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { return "is a directory, expected a chatmail.ini file" }
    return "cannot read: \(String(cString: strerror(errno)))"
}
