import ChatmailConfig

/// The account-creation rules of the Python relay, in its order and with
/// its log texts. Returns nil if the address may be created.
struct CreateRules {
    let config: ChatmailConfig
    var nocreatePath = "/etc/chatmail-nocreate"
    var limits = SystemLimits()

    func refusal(addr: String, password: String) -> String? {
        if Files.exists(nocreatePath) {
            return "blocked account creation because '\(nocreatePath)' exists."
        }
        if password.unicodeScalars.count < config.passwordMinLength {
            return "Password needs to be at least \(config.passwordMinLength) characters long"
        }
        let parts = addr.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return "user '\(addr)' is not a proper e-mail address"
        }
        let local = parts[0]
        let length = local.unicodeScalars.count
        if length < config.usernameMinLength || length > config.usernameMaxLength {
            return "localpart \(local) has to be between \(config.usernameMinLength) and \(config.usernameMaxLength) chars long"
        }
        let allowed = local.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
        if !allowed || local.isEmpty {
            return "localpart '\(local)' contains invalid characters"
        }
        return limits.refusal(config: config)
    }
}
