#if canImport(Glibc)
import Glibc
#endif

/// The per-address folders under mailboxes_dir and the files doveauth owns
/// in them. Every path goes through `Address.isSafeMailbox` first.
struct Mailboxes: Sendable {
    let dir: String
    let domain: String

    func path(_ addr: String) -> String? {
        Address.isSafeMailbox(addr, domain: domain) ? dir + "/" + addr : nil
    }

    /// The stored `{SHA512-CRYPT}...` value, nil if there is no user.
    func storedHash(_ addr: String) -> String? {
        guard let home = path(addr), let bytes = Files.read(home + "/password") else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last == "\n" || text.last == "\r" || text.last == " " { text.removeLast() }
        if text.isEmpty {
            Log.warning("password is empty for: \(addr)")
            return nil
        }
        return text
    }

    /// Writes the hash atomically and marks the new address as accepting
    /// only encrypted incoming mail.
    func setPassword(_ addr: String, hash: String) -> Bool {
        guard let home = path(addr), Files.makeDirectories(home) else {
            Log.error("could not write password for: \(addr)")
            return false
        }
        guard Files.writeAtomically(home + "/password", Array(hash.utf8)),
              Files.touch(home + "/enforceE2EEincoming") else {
            Log.error("could not write password for: \(addr) (\(Files.errorText))")
            return false
        }
        return true
    }

    /// Entries of mailboxes_dir that look like addresses.
    func addresses() -> [String] {
        (Files.list(dir) ?? []).filter { $0.contains("@") }.sorted()
    }
}
