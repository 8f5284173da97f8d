import CCrypt
#if canImport(Glibc)
import Glibc
#endif

/// SHA512-CRYPT through libxcrypt, the same `$6$` hashes Python's crypt
/// module made, with a fresh random salt and the default rounds. Dovecot
/// reads the `{SHA512-CRYPT}` prefix to pick the scheme.
public enum PasswordHash {
    public static let scheme = "{SHA512-CRYPT}"

    /// `{SHA512-CRYPT}$6$<salt>$<hash>`, or nil if libcrypt fails.
    public static func make(_ password: String) -> String? {
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$6$", 0, nil, 0, &salt, Int32(salt.count)) != nil else { return nil }
        guard let hash = crypt(password, salt: salt) else { return nil }
        return scheme + hash
    }

    /// True if `password` matches a stored `{SHA512-CRYPT}$6$...` value.
    public static func verify(_ password: String, stored: String) -> Bool {
        let setting = stored.hasPrefix(scheme) ? String(stored.dropFirst(scheme.count)) : stored
        guard let again = crypt(password, salt: Array(setting.utf8CString)) else { return false }
        return again == setting
    }

    private static func crypt(_ password: String, salt: [CChar]) -> String? {
        // crypt_data is large (~32 KiB); keep it off the stack.
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let out = crypt_r(password, salt, data) else { return nil }
        let text = String(cString: out)
        // libxcrypt signals failure with a string starting with "*".
        return text.hasPrefix("$6$") ? text : nil
    }
}
