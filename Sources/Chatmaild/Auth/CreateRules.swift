import ChatmailConfig

/// The account-creation rules of the Python relay, in its order and with
/// its log texts, plus the checks that keep a hostile name or password from
/// leaving anything half-made. Returns nil if the address may be created.
/// Everything here is decided before the disk is touched.
struct CreateRules {
    let config: ChatmailConfig
    var nocreatePath = HostLayout.nocreatePath
    var limits = SystemLimits()

    func refusal(addr: String, password: String) -> String? {
        if Files.exists(nocreatePath) {
            return "blocked account creation because '\(nocreatePath)' exists."
        }
        // Python's len(): code points.
        if password.unicodeScalars.count < config.passwordMinLength {
            return "Password needs to be at least \(config.passwordMinLength) characters long"
        }
        if let reason = Self.passwordRefusal(password) { return reason }
        let parts = addr.utf8.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return "user \(logQuoted(addr)) is not a proper e-mail address"
        }
        let local = Substring(parts[0])
        let length = local.unicodeScalars.count
        if length < config.usernameMinLength || length > config.usernameMaxLength {
            return "localpart \(logEscaped(local)) has to be between \(config.usernameMinLength) and \(config.usernameMaxLength) chars long"
        }
        // ^[a-z0-9._-]+$ (without Python's `$` also matching before a final "\n").
        let allowed = local.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
        if !allowed || local.isEmpty {
            return "localpart \(logQuoted(local)) contains invalid characters"
        }
        // Past the Python rules, only a leading dot, a foreign domain or a
        // name over 255 bytes (with a large username_max_length) is left.
        if !Address.isSafeMailbox(addr, domain: config.mailDomain) {
            return "user \(logQuoted(addr)) cannot be a mailbox name under \(config.mailboxesDir)"
        }
        return limits.refusal(config: config)
    }

    /// What refuses a password for every passdb lookup, existing user or
    /// not: crypt(3) would hash only the part before a NUL, and refuses 512
    /// bytes or more. The Python relay failed on both (a NUL raised in
    /// crypt(), dropping the connection; a long one stored a failure token).
    /// Other control characters hash and verify like any byte, as before.
    static func passwordRefusal(_ password: String) -> String? {
        if password.utf8.contains(0) {
            return "Password must not contain a NUL character"
        }
        if password.utf8.count > PasswordHash.maxBytes {
            return "Password needs to be at most \(PasswordHash.maxBytes) bytes long"
        }
        return nil
    }
}
