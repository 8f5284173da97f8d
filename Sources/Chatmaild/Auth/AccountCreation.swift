import ChatmailConfig
#if canImport(Glibc)
import Glibc
#endif

/// Creating an address on its first login: the folder, then
/// `enforceE2EEincoming`, then `password` (a temporary file renamed into
/// place), so a folder with a password always has the flag. The caller has
/// checked the name and the password and made the hash before any of this:
/// a refusal touches nothing.
extension Mailboxes {
    enum Creation: Equatable {
        /// This call wrote the password.
        case created
        /// Another login created the address first; its password stays.
        case exists
        /// Nothing of this call is left behind (see the log).
        case failed
    }

    /// Writes the temporary password file's bytes. A parameter so tests can
    /// make the write fail halfway; the default is a plain write loop.
    typealias Writer = @Sendable (_ fd: Int32, _ bytes: [UInt8]) -> Bool

    static let passwordFile = "password"
    static let flagFile = HostLayout.enforceE2EEFlag

    func create(_ addr: String, hash: String, lockTimeout: Double = 5,
                write: Writer = { Files.writeAll($0, $1) }) -> Creation {
        guard let home = path(addr) else { return .failed }
        // mailboxes_dir itself may be missing on a fresh host (Python's mkdir -p).
        guard Files.makeDirectories(dir) else {
            Log.error("could not write password for: \(addr) (cannot create \(dir): \(Files.errorText))")
            return .failed
        }
        let lock: MailboxLock
        switch MailboxLock.acquire(home, timeout: lockTimeout) {
        case .success(let l): lock = l
        case .failure(let reason):
            Log.error("could not write password for: \(addr) (\(reason))")
            return .failed
        }
        // Everything below happens inside the locked folder (the *at calls
        // use its descriptor), so it cannot land in a folder that replaced it.
        let dfd = lock.fd
        if Self.hasPassword(dfd) { return .exists }

        var madeFlag = false
        let tmp = Self.passwordFile + ".tmp-\(UInt32.random(in: 0..<10_000_000))"
        var madeTmp = false
        func fail(_ what: String) -> Creation {
            let error = Files.errorText
            if madeTmp { unlinkat(dfd, tmp, 0) }
            if madeFlag { unlinkat(dfd, Self.flagFile, 0) }
            // rmdir only removes an empty folder: never anything of others.
            if lock.created, rmdir(home) != 0 {
                Log.error("could not remove \(home) after a failed creation: \(Files.errorText)")
            }
            Log.error("could not write password for: \(addr) (\(what): \(error))")
            return .failed
        }

        let flag = openat(dfd, Self.flagFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if flag >= 0 {
            close(flag)
            madeFlag = true
        } else if errno != EEXIST {
            return fail(Self.flagFile)
        }

        let fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return fail(tmp) }
        madeTmp = true
        var ok = write(fd, Array(hash.utf8))
        if ok && fchmod(fd, 0o600) != 0 { ok = false }
        if close(fd) != 0 { ok = false }
        guard ok else { return fail("writing \(tmp)") }
        guard renameat(dfd, tmp, dfd, Self.passwordFile) == 0 else { return fail("renaming \(tmp)") }
        return .created
    }

    /// True if the folder has a non-empty password (as `storedHash` counts it).
    static func hasPassword(_ dfd: Int32) -> Bool {
        let fd = openat(dfd, passwordFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buf, buf.count)
        return n > 0 && buf[0..<n].contains { $0 != 10 && $0 != 13 && $0 != 32 }
    }
}

/// An exclusive flock on a mailbox folder itself (no lock file, so a failed
/// creation can remove the folder it made). After the flock, the folder at
/// the path must still be the one locked: a creation that failed may have
/// removed it meanwhile, and then we start over with a new mkdir.
final class MailboxLock {
    let fd: Int32
    /// True if this lock's mkdir made the folder.
    let created: Bool

    private init(fd: Int32, created: Bool) {
        self.fd = fd
        self.created = created
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func acquire(_ home: String, timeout: Double) -> Result<MailboxLock, Failure> {
        var waited = 0.0
        for _ in 0..<100 {
            let made = mkdir(home, 0o700) == 0
            if !made && errno != EEXIST {
                return .failure(Failure(description: "mkdir \(home): \(Files.errorText)"))
            }
            // O_NOFOLLOW: a symlink with the address's name is not a mailbox.
            let fd = open(home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT { continue }  // removed since our mkdir: again
                let error = Files.errorText
                if made { rmdir(home) }
                return .failure(Failure(description: "open \(home): \(error)"))
            }
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                if waited >= timeout {
                    close(fd)
                    // Only if still empty: whoever holds the lock keeps its files.
                    if made { rmdir(home) }
                    return .failure(Failure(description: "timeout waiting for the lock on \(home)"))
                }
                usleep(2000)
                waited += 0.002
            }
            var locked = Glibc.stat(), current = Glibc.stat()
            if fstat(fd, &locked) == 0, lstat(home, &current) == 0,
               locked.st_dev == current.st_dev, locked.st_ino == current.st_ino {
                return .success(MailboxLock(fd: fd, created: made))
            }
            flock(fd, LOCK_UN)
            close(fd)
        }
        return .failure(Failure(description: "\(home) keeps disappearing"))
    }
}
