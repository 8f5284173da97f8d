import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// Remembers password hashes between lookups, keyed by address and checked
/// against the file's inode, size and ctime on every use: one stat()
/// instead of open/fstat/read/close per lookup. Any change to the file (a
/// rename, a hand edit, the daily last-login utime) changes the ctime and
/// makes the next lookup read the file again.
final class HashCache: @unchecked Sendable {
    private struct Entry {
        var inode: UInt
        var size: Int
        var ctime: timespec
        var hash: String
    }

    private let lock = NIOLock()
    private var entries: [String: Entry] = [:]
    /// Bounds memory (about 200 bytes an entry); the cache restarts when full.
    let capacity: Int

    init(capacity: Int = 100_000) { self.capacity = capacity }

    func hash(for addr: String, file st: stat) -> String? {
        lock.withLock {
            guard let e = entries[addr], e.inode == UInt(st.st_ino), e.size == Int(st.st_size),
                  e.ctime.tv_sec == st.st_ctim.tv_sec, e.ctime.tv_nsec == st.st_ctim.tv_nsec else { return nil }
            return e.hash
        }
    }

    func store(_ hash: String, for addr: String, file st: stat) {
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[addr] = Entry(inode: UInt(st.st_ino), size: Int(st.st_size), ctime: st.st_ctim, hash: hash)
        }
    }
}
