import CCrypt
#if canImport(Glibc)
import Glibc
#endif

/// SHA512-CRYPT through libxcrypt, the same `$6$` hashes Python's crypt
/// module made, with a fresh random salt and the default rounds. Dovecot
/// reads the `{SHA512-CRYPT}` prefix to pick the scheme.
public enum PasswordHash {
    public static let scheme = "{SHA512-CRYPT}"
    /// libxcrypt refuses (ERANGE) a passphrase of CRYPT_MAX_PASSPHRASE_SIZE
    /// (512) bytes or more, and Dovecot's own crypt() call would too.
    public static let maxBytes = Int(CRYPT_MAX_PASSPHRASE_SIZE) - 1

    /// False for what crypt(3) cannot hash as given: it takes a C string, so
    /// a NUL would cut the password short, and it refuses 512 bytes or more.
    public static func isHashable(_ password: String) -> Bool {
        password.utf8.count <= maxBytes && !password.utf8.contains(0)
    }

    /// `{SHA512-CRYPT}$6$<salt>$<hash>`, or nil if libcrypt fails or the
    /// password is not hashable as a whole.
    public static func make(_ password: String) -> String? {
        guard isHashable(password) else { return nil }
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$6$", 0, nil, 0, &salt, Int32(salt.count)) != nil else { return nil }
        guard let hash = crypt(password, salt: salt) else { return nil }
        return scheme + hash
    }

    /// True if `password` matches a stored `{SHA512-CRYPT}$6$...` value.
    /// A password with a NUL never matches (only its prefix would be hashed).
    public static func verify(_ password: String, stored: String) -> Bool {
        guard isHashable(password) else { return false }
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
