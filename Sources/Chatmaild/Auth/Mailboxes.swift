#if canImport(Glibc)
import Glibc
#endif

/// The per-address folders under mailboxes_dir and the files doveauth owns
/// in them. Every path goes through `Address.isSafeMailbox` first.
struct Mailboxes: Sendable {
    let dir: String
    let domain: String
    /// Set for doveauth, which reads hashes on every login.
    var cache: HashCache? = nil

    func path(_ addr: String) -> String? {
        Address.isSafeMailbox(addr, domain: domain) ? dir + "/" + addr : nil
    }

    /// The stored `{SHA512-CRYPT}...` value, nil if there is no user.
    func storedHash(_ addr: String) -> String? {
        guard let home = path(addr) else { return nil }
        let file = home + "/password"
        var st: stat?
        if let cache {
            guard let s = Files.stat(file) else { return nil }
            if let hash = cache.hash(for: addr, file: s) { return hash }
            st = s
        }
        guard let bytes = Files.read(file) else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last == "\n" || text.last == "\r" || text.last == " " { text.removeLast() }
        if text.isEmpty {
            Log.warning("password is empty for: \(addr)")
            return nil
        }
        // The stat taken before the read: if the file changed in between,
        // the next lookup sees a different ctime and reads it again.
        if let cache, let st { cache.store(text, for: addr, file: st) }
        return text
    }

    /// Entries of mailboxes_dir that look like addresses.
    func addresses() -> [String] {
        (Files.list(dir) ?? []).filter { $0.contains("@") }.sorted()
    }
}
